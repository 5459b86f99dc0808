"""The dashboard for people (issue 20 §3): a failing choice clears every tab and says what is wrong; tables with
readable names, durations in words, thousands separators, times in the chosen zone, top rows with a count and a
safe CSV of all of them; message text hidden by default; any IANA zone; the timeline's period chosen."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pandas as pd
import pytest

from chatlens.export import to_safe_csv
from chatlens.loaders import load_messages
from chatlens.widgets import dashboard
from chatlens.widgets.state import PARTS, DashboardState
from chatlens.widgets.tables import duration_words, readable_table
from chatlens.widgets.view import TOP_ROWS, ZONES, table_html
from tests.widgets.test_dashboard import open_every_tab


@pytest.fixture(scope="module")
def frame():
    return load_messages("demo", progress=False)


@pytest.fixture
def board(frame):
    def load(name):
        if name == "broken":
            raise ConnectionError("server at 127.0.0.1:9 refused the connection")
        return frame

    return dashboard(["slack", "broken"], load=load)


def shown(board, part, monkeypatch) -> str:
    """The HTML a tab displays when drawn (outside a kernel an Output captures nothing, so display is recorded)."""
    seen = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: seen.extend(objs))
    board._draw(part)
    return "".join(getattr(o, "data", "") for o in seen if type(o).__name__ == "HTML")


def tab_html(board, part) -> str:
    return "".join(o["data"].get("text/html", "") for o in board.outputs[part].outputs)


def test_a_failing_account_clears_every_tab_and_the_picker(board):
    board.account.value = "slack"
    assert board.conversations.options and board.state.error is None
    board.account.value = "broken"
    assert "ConnectionError" in board.message.value
    for part in PARTS:
        page = tab_html(board, part)
        assert "Nothing to show: ConnectionError: server at 127.0.0.1:9 refused the connection" in page
        assert "<img" not in page and len(board.outputs[part].outputs) == 1
    assert board.conversations.options == ()  # never the other account's conversations
    board.since.value = dt.date(2026, 7, 1)  # any later choice still says why the account is not there
    assert board.state.error == "ConnectionError: server at 127.0.0.1:9 refused the connection"
    assert "refused the connection" in tab_html(board, "members")


def test_until_before_from_says_so_and_every_tab_comes_back_when_fixed(board):
    board.account.value = "slack"
    board.since.value = dt.date(2026, 7, 10)
    board.until.value = dt.date(2026, 7, 2)
    assert board.state.error == "Until (2026-07-02) is before From (2026-07-10): choose an Until on or after From."
    assert all("Until (2026-07-02) is before From" in tab_html(board, p) for p in PARTS)
    before = dict(board.drawn)
    board.freq.value = "W"  # a choice only the timeline reads: still failing, still cleared
    assert board.drawn == before and "is before From" in tab_html(board, "members")
    board.until.value = dt.date(2026, 7, 20)
    assert board.state.error is None and board.message.value == ""
    open_every_tab(board)
    assert all(board.drawn[p] == before[p] + 1 for p in PARTS)  # every cleared tab drawn again
    assert all(board.outputs[p].outputs == () for p in PARTS)  # the error's words are gone


def test_no_messages_is_said_in_every_tab(board):
    board.account.value = "slack"
    board.since.value = dt.date(2030, 1, 1)
    board.until.value = dt.date(2030, 1, 31)
    assert all("No messages in the chosen conversations and dates." in tab_html(board, p) for p in PARTS)


def test_tables_are_for_people(board, frame, monkeypatch):
    board.account.value = "slack"
    board.tz.value = "Asia/Tokyo"
    board.since.value, board.until.value = dt.date(2026, 1, 1), dt.date(2026, 7, 30)
    members = board.state.members()
    page = shown(board, "members", monkeypatch)
    assert f"top {TOP_ROWS} of {len(members)} members" in page and len(members) > TOP_ROWS
    assert page.count("<tr") == TOP_ROWS + 1  # the header and the top rows
    for label in ("threads with replies", "replies to others", "median reply time", "first message"):
        assert f"<th>{label}</th>" in page
    top = members.iloc[0]
    assert f"<td>{top['messages']:,}</td>" in page and top["messages"] >= 1000  # thousands separators
    assert f"<td>{duration_words(top['median_reply_time'])}</td>" in page
    assert re.fullmatch(r"(\d+ h )?\d+ min|\d+ h|under a minute", duration_words(top["median_reply_time"]))
    assert f"<td>{top['first_seen'].tz_convert('Asia/Tokyo'):%Y-%m-%d %H:%M}</td>" in page  # the chosen zone
    # The download holds the whole table, safe for a spreadsheet.
    link = re.search(r'download="members.csv" href="data:text/csv;charset=utf-8;base64,([^"]+)"', page)
    assert base64.b64decode(link.group(1)).decode("utf-8") == to_safe_csv(members)
    assert "download this table as CSV" in page


def test_readable_table_words():
    t = pd.DataFrame(
        {
            "reply_rate": [0.4567, float("nan")],
            "median_time_to_first_reply": pd.to_timedelta(["3h57min20s", "2 days 04:10:00"]),
            "last_seen": pd.to_datetime(["2026-07-01 23:30", "2026-07-02 00:10"], utc=True),
            "is_bot": [True, False],
        }
    )
    out, caption = readable_table(t, tz="Europe/Berlin", what="conversations")
    assert out.to_dict("list") == {
        "reply rate": ["46%", "–"],
        "median time to first reply": ["3 h 57 min", "2 d 4 h"],
        "last message": ["2026-07-02 01:30", "2026-07-02 02:10"],
        "is bot": ["yes", "no"],
    }
    assert caption == "all 2 conversations"
    assert readable_table(t.iloc[0:0], what="members")[1] == "no members"


def test_message_text_is_hidden_until_asked_for(board, frame, monkeypatch):
    board.account.value = "slack"
    waiting = board.state.unanswered(n=None)
    assert len(waiting) and waiting["text"].str.len().gt(0).all()
    hidden = shown(board, "threads", monkeypatch)
    assert "<th>text</th>" not in hidden and not any(t in hidden for t in waiting["text"].head(3))
    assert f"of {len(waiting)} threads waiting" in hidden or f"all {len(waiting)} threads waiting" in hidden
    board.text.value = True
    visible = shown(board, "threads", monkeypatch)
    assert "<th>text</th>" in visible


def test_any_iana_zone_can_be_chosen_by_typing(board):
    assert {"Pacific/Chatham", "America/Argentina/Ushuaia", "Asia/Kathmandu"} <= set(ZONES) and ZONES[0] == "UTC"
    assert board.tz.ensure_option and not board.tz.continuous_update
    board.account.value = "slack"
    board.tz.value = "Asia/Kath"  # half typed: not a zone yet, nothing changes
    assert board.state.tz == "UTC" and board.state.error is None
    board.tz.value = "Asia/Kathmandu"
    assert board.state.tz == "Asia/Kathmandu"


def test_the_timelines_period_can_be_chosen(board):
    board.account.value = "slack"
    assert board.state.timeline_freq() == "D"  # 28 days: per day, as the report
    board.tabs.selected_index = PARTS.index("timeline")
    open_every_tab(board)
    board.tabs.selected_index = PARTS.index("timeline")
    before = dict(board.drawn)
    board.freq.value = "W"
    assert board.state.timeline_freq() == "W"
    assert {p for p in PARTS if board.drawn[p] > before[p]} == {"timeline"}
    assert board.state.timeline().index.freqstr.startswith("W")
    with pytest.raises(ValueError, match="freq"):
        DashboardState(load=lambda _: None).update(freq="fortnight")


def test_table_html_escapes_every_cell():
    page = table_html(pd.DataFrame({"name": ["<script>x</script>"], "messages": [1]}), what="members", tz="UTC")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_default_loader_opens_an_export_by_its_path(tmp_path):
    import chatlens
    from chatlens.widgets import load_account

    path = chatlens.write_slack_export(chatlens.connect("demo"), tmp_path / "acme export.zip")
    messages = load_account(str(path))
    assert len(messages) == len(chatlens.load_messages("demo", text=False, progress=False))
    assert "text" in messages.columns and "conversation_kind" in messages.columns
