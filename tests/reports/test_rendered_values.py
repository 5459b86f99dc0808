"""The report's values as a reader sees them (issue 24 §3): read back from the HTML and from the JSON
(``build_report(...).to_dict()`` and ``chatlens report --json``) for a small account whose every figure is worked
out by hand below: percentages, changes in per cent and in points, the dash of a value that does not exist, the
unanswered list's waiting days and its 200-character text cut.

The account (UTC; the report period is 8 to 15 January 2026, a Thursday to a Thursday, compared with 1 to 8
January), people U1 ada, U2 grace, U3 linus:

- before: p1 (U1, Fri 2 Jan 10:00, general), p2 (U1, Sat 3 Jan, general), p3 (U3, Sun 4 Jan, random); o1 (U3,
  20 Dec, conversation "old"), before both periods.
- in the period: t2 (U1, Fri 9 Jan 10:00, general) answered by U2 at 13:00 (3 h); t1 (U1, Sat 10 Jan 07:12,
  general, a 250-character text) never answered; t3 (U2, Sun 11 Jan 10:00, random) answered by U1 at 11:00 (1 h);
  t4 (U1, Tue 13 Jan 00:00, general) and t5 (U2, Wed 14 Jan 12:00, general) never answered; r1 (U1, Fri 9 Jan
  09:30) replies to o1 in "old".
"""

from __future__ import annotations

import json
import os

import orjson
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from chatlens.backends.sqlite import Workspace
from chatlens.cli import main
from chatlens.reports import build_report, render_report

DASH = "–"
SINCE, UNTIL = "2026-01-08", "2026-01-15"
LONG = "é<&>" * 62 + "TAIL"  # 252 characters; markup characters, so the cut is checked after escaping too
USERS = {"U1": "ada", "U2": "grace", "U3": "linus"}
CONVERSATIONS = {"C1": "general", "C2": "random", "C3": "old"}
# (id, conversation, sender, created (UTC), text, parent)
ROWS = [
    ("o1", "C3", "U3", "2025-12-20 10:00", "old root", None),
    ("p1", "C1", "U1", "2026-01-02 10:00", "p1", None),
    ("p2", "C1", "U1", "2026-01-03 10:00", "p2", None),
    ("p3", "C2", "U3", "2026-01-04 10:00", "p3", None),
    ("r1", "C3", "U1", "2026-01-09 09:30", "late answer", "o1"),
    ("t2", "C1", "U1", "2026-01-09 10:00", "is the build green?", None),
    ("r2", "C1", "U2", "2026-01-09 13:00", "yes", "t2"),
    ("t1", "C1", "U1", "2026-01-10 07:12", LONG, None),
    ("t3", "C2", "U2", "2026-01-11 10:00", "lunch?", None),
    ("r3", "C2", "U1", "2026-01-11 11:00", "sure", "t3"),
    ("t4", "C1", "U1", "2026-01-13 00:00", "t4", None),
    ("t5", "C1", "U2", "2026-01-14 12:00", "t5", None),
]

#: Key figures by hand: (value as shown, previous as shown, change as shown, verdict).
CARDS = {
    # 8 messages against 3: +166.7% shows +167%.
    "message_count": ("8", "3", "+167%", "better"),
    # U1 and U2 against U1 and U3.
    "member_count": ("2", "2", "±0%", "same"),
    # t1..t5 against p1..p3: +66.7%.
    "threads_started": ("5", "3", "+67%", "better"),
    # r2, r3 and r1 answer someone else; nothing did before, and a change from 0 has no per cent.
    "replies_to_others": ("3", "0", DASH, None),
    # t2 and t3 answered of five; none of three before: +40 points, not per cent.
    "reply_rate": ("40%", "0%", "+40 pp", "better"),
    # First replies after 3 h and 1 h: median 2 h; nothing answered before, so no previous value and no change.
    "median_time_to_first_reply": ("2 h", DASH, DASH, None),
    # p90 of (1 h, 3 h), linear: 1 + 0.9 * 2 = 2.8 h = 2 h 48 min.
    "p90_time_to_first_reply": ("2 h 48 min", DASH, DASH, None),
    # Outside 09:00-18:00 on weekdays: t1, t3, r3 (weekend), t4 (midnight): 4 of 8 against p2, p3: 2 of 3;
    # 50% - 66.7% = -16.7 points, and less after-hours posting is better.
    "after_hours_share": ("50%", "67%", "-17 pp", "better"),
    # U1 wrote 5 of 8 (and 2 of 3 before): one member for half, both times.
    "members_for_half": ("1", "1", "±0%", "same"),
}
VALUES = {
    "message_count": (8, 3),
    "member_count": (2, 2),
    "threads_started": (5, 3),
    "replies_to_others": (3, 0),
    "reply_rate": (0.4, 0.0),
    "median_time_to_first_reply": (2.0, None),
    "p90_time_to_first_reply": (2.8, None),
    "after_hours_share": (0.5, 2 / 3),
    "members_for_half": (1, 1),
}
CHANGES = {
    "message_count": (pytest.approx(166.7), "%"),
    "member_count": (0.0, "%"),
    "threads_started": (pytest.approx(66.7), "%"),
    "replies_to_others": (None, "%"),
    "reply_rate": (pytest.approx(40.0), "pp"),
    "median_time_to_first_reply": (None, "%"),
    "p90_time_to_first_reply": (None, "%"),
    "after_hours_share": (pytest.approx(-16.7), "pp"),
    "members_for_half": (0.0, "%"),
}
#: Top conversations by hand: messages, members posting, threads, reply rate, unanswered, median first reply,
#: answered within 24 h. "old" has one message in the period, a reply to a thread started before it: no thread of
#: its own, so no rate, no reply time and no share to show.
CONVERSATION_ROWS = {
    "general": ["5", "2", "4", "25%", "3", "3 h", "25%"],
    "random": ["2", "2", "1", "100%", "0", "1 h", "100%"],
    "old": ["1", "1", "0", DASH, "0", DASH, DASH],
}
#: Unanswered over 24 h at 15 January 00:00, oldest first: t1 (4 days 16.8 hours = 4.7 days), t4 (2.0 days); t5
#: has waited 12 hours only.
UNANSWERED = [("t1", "2026-01-10 07:12", "general", "ada", 4.7), ("t4", "2026-01-13 00:00", "general", "ada", 2.0)]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [r[0] for r in ROWS],
            "conversation_id": [r[1] for r in ROWS],
            "conversation_name": [CONVERSATIONS[r[1]] for r in ROWS],
            "sender_id": [r[2] for r in ROWS],
            "sender_name": [USERS[r[2]] for r in ROWS],
            "created": pd.to_datetime([r[3] for r in ROWS], utc=True).astype("datetime64[us, UTC]"),
            "text": [r[4] for r in ROWS],
            "parent": pd.array([r[5] for r in ROWS], dtype="string"),
            "is_bot": False,
            "is_system": False,
            "mentions": [[] for _ in ROWS],
        }
    )


@pytest.fixture(scope="module")
def data():
    return build_report(
        frame(), account="hand", service="slack", since=SINCE, until=UNTIL, include_text=True, plots=False
    )


@pytest.fixture(scope="module")
def page(data) -> BeautifulSoup:
    return BeautifulSoup(render_report(data), "html.parser")


def _table_after(page: BeautifulSoup, heading: str) -> list[list[str]]:
    h2 = next(h for h in page.find_all("h2") if h.get_text().startswith(heading))
    table = h2.find_next_sibling("table")
    return [[c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]


def test_key_figure_cards_show_the_hand_computed_values(page):
    for key, (value, previous, change, verdict) in CARDS.items():
        card = page.find("div", class_="card", attrs={"data-key": key})
        assert card is not None, key
        assert card.find("div", class_="v").get_text(strip=True) == value, key
        span = card.find("span")
        note = " ".join(card.find_all("div", class_="n")[1].get_text(" ", strip=True).split())
        assert note == f"previous {previous} · {change}", key
        assert span.get_text(strip=True) == change and span["class"] == [verdict or "neutral"], key


def test_the_dict_holds_the_same_figures_as_numbers(data):
    d = json.loads(json.dumps(data.to_dict(), allow_nan=False))
    figures = {f["key"]: f for f in d["figures"]}
    for key, (value, previous) in VALUES.items():
        f = figures[key]
        assert f["value"] == pytest.approx(value) and (f["previous"] is None) == (previous is None), key
        if previous is not None:
            assert f["previous"] == pytest.approx(previous), key
        change, unit = CHANGES[key]
        assert f["change"] == change and f["change_unit"] == unit, key
        assert f["verdict"] == CARDS[key][3], key
    for key in ("message_count", "member_count", "threads_started", "replies_to_others", "members_for_half"):
        assert type(figures[key]["value"]) is int and type(figures[key]["previous"]) is int


def test_conversation_table_shows_rates_times_and_dashes(page, data):
    rows = _table_after(page, "Top conversations")
    assert rows[0][-1] == "answered within 24 h"
    shown = {r[0]: r[1:] for r in rows[1:]}
    assert shown == CONVERSATION_ROWS
    records = {r["name"]: r for r in data.to_dict()["conversations"]}
    assert records["old"]["reply_rate"] is None and records["old"]["answered_within"] is None
    assert records["old"]["median_time_to_first_reply_seconds"] is None
    assert records["general"]["reply_rate"] == 0.25 and records["random"]["answered_within"] == 1.0
    assert records["general"]["median_time_to_first_reply_seconds"] == 3 * 3600


def test_unanswered_list_waiting_days_and_text_cut(page, data):
    rows = _table_after(page, "Unanswered threads waiting over 24 h")
    assert rows[0] == ["started", "conversation", "author", "waiting (days)", "text"]
    assert [r[:4] for r in rows[1:]] == [[when, conv, who, f"{days}"] for _, when, conv, who, days in UNANSWERED]
    assert rows[1][4] == LONG[:200] and len(rows[1][4]) == 200 and rows[2][4] == "t4"
    assert "TAIL" not in str(page)
    listed = data.to_dict()["unanswered"]
    assert [r["thread_id"] for r in listed] == [t for t, *_ in UNANSWERED]
    assert [r["waiting (days)"] for r in listed] == [days for *_, days in UNANSWERED]
    assert listed[0]["text"] == LONG[:200] and listed[1]["text"] == "t4"
    assert listed[0]["started"] == "2026-01-10T07:12:00Z"


def test_text_is_left_out_unless_asked(data):
    plain = build_report(frame(), since=SINCE, until=UNTIL, plots=False)
    html = render_report(plain)
    assert "é&lt;&amp;&gt;" not in html and "text" not in plain.to_dict()["unanswered"][0]
    assert [r["waiting (days)"] for r in plain.to_dict()["unanswered"]] == [4.7, 2.0]


@pytest.fixture
def hand_account(tmp_path):
    """The same account in a SQLite workspace, named ``hand`` in the config the tests use."""
    path = tmp_path / "hand.sqlite"
    ws = Workspace(path)
    ws.add_account("T", service="slack", name="hand", user_id="U1")
    ws.add_users("T", [{"id": uid, "name": name, "tz": "UTC"} for uid, name in USERS.items()])
    ws.add_conversations(
        "T",
        [
            {"id": cid, "name": name, "private": False, "created": 1_766_000_000_000_000, "members": list(USERS)}
            for cid, name in CONVERSATIONS.items()
        ],
    )
    us = lambda t: int(pd.Timestamp(t, tz="UTC").value // 1000)  # noqa: E731
    ws.add_messages(
        "T",
        [
            (mid, cid, uid, us(t), text, parent or "", None, orjson.dumps({"type": "message", "user": uid}).decode())
            for mid, cid, uid, t, text, parent in ROWS
        ],
    )
    ws.close()
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(f'[accounts.hand]\ntype = "sqlite"\npath = {orjson.dumps(str(path)).decode()}\n')
    return path


def test_report_command_writes_the_same_values(hand_account, tmp_path):
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    args = ["report", "--account", "hand", "--since", SINCE, "--until", UNTIL, "--include-text", "--quiet"]
    assert main([*args, "--out", str(out), "--json", str(js)]) == 0
    d = json.loads(js.read_text(encoding="utf-8"))
    figures = {f["key"]: f for f in d["figures"]}
    for key, (value, _previous) in VALUES.items():
        assert figures[key]["value"] == pytest.approx(value), key
        assert figures[key]["change"] == CHANGES[key][0], key
    assert [(r["thread_id"], r["waiting (days)"]) for r in d["unanswered"]] == [(t, days) for t, *_, days in UNANSWERED]
    assert d["unanswered"][0]["text"] == LONG[:200]
    page = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    for key, (value, _previous, change, _verdict) in CARDS.items():
        card = page.find("div", class_="card", attrs={"data-key": key})
        assert card.find("div", class_="v").get_text(strip=True) == value and card.find("span").get_text() == change
    assert {r[0]: r[1:] for r in _table_after(page, "Top conversations")[1:]} == CONVERSATION_ROWS


def test_stickiness_counts_the_quiet_days_at_the_end_of_a_period(page, data):
    # DAU/MAU per day, MAU over the 28 days to the day. Period: 8-14 January; MAU is 2 (U1, U3; U3's 20 December
    # post is in the window) on the 8th, 3 after U2's first post: 0, 2/3, 1/3, 2/3, 0, 1/3, 1/3: mean 1/3.
    # Before: 1-7 January, MAU 1 on the 1st, then 2: 0, 1/2, 1/2, 1/2, 0, 0, 0: mean 1.5/7 = 21%; +11.9 points.
    figure = next(f for f in data.to_dict()["figures"] if f["key"] == "stickiness")
    assert figure["value"] == pytest.approx(1 / 3)
    assert figure["previous"] == pytest.approx(1.5 / 7)
    assert figure["change"] == pytest.approx(11.9) and figure["verdict"] == "better"
    card = page.find("div", class_="card", attrs={"data-key": "stickiness"})
    assert card.find("div", class_="v").get_text(strip=True) == "33%"
    assert card.find("span").get_text(strip=True) == "+12 pp"
