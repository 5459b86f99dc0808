"""The dashboard, driven as a user would (setting widget values) without a browser."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from chatlens.analysis._common import select
from chatlens.loaders import load_messages
from chatlens.widgets import dashboard
from chatlens.widgets.state import PARTS, DashboardState


@pytest.fixture(scope="module")
def frames():
    return {"slack": load_messages("demo", progress=False)}


@pytest.fixture
def loads(frames):
    calls = []

    def load(name):
        calls.append(name)
        if name == "broken":
            raise ConnectionError("server at 127.0.0.1:9 refused the connection")
        return frames["slack"]

    load.calls = calls
    return load


def messages(state):
    return next(f["value"] for f in state.overview() if f["key"] == "message_count")


def test_state_computes_what_the_choices_say(loads, frames):
    state = DashboardState(load=loads)
    parts = state.update(account="slack")
    assert parts == set(PARTS)
    # No dates chosen: the report's default period, the last 28 complete days.
    assert state.period() == (pd.Timestamp("2026-07-03", tz="UTC"), pd.Timestamp("2026-07-31", tz="UTC"))
    everything = messages(state)
    state.update(conversations=("general",))
    general = select(frames["slack"][frames["slack"]["conversation_name"] == "general"])
    assert messages(state) == len(select(general, since="2026-07-03", until="2026-07-31")) < everything
    state.update(since=pd.Timestamp("2026-07-01", tz="UTC"), until=pd.Timestamp("2026-07-08", tz="UTC"))
    week = select(general, since="2026-07-01", until="2026-07-08")
    assert messages(state) == len(week)
    assert state.update(account="slack") == set()
    assert loads.calls == ["slack"]  # loaded once


def test_only_dependent_parts_redraw(loads):
    state = DashboardState(load=loads)
    state.update(account="slack")
    # Without dates the period ends at the last complete day in the zone: everything follows the zone.
    assert state.update(tz="Asia/Tokyo") == set(PARTS)
    state.update(since=pd.Timestamp("2026-07-01", tz="UTC"), until=pd.Timestamp("2026-07-08", tz="UTC"))
    assert state.update(tz="Europe/Berlin") == {"overview", "timeline", "active", "rhythm", "members", "community"}
    assert state.update(include_bots=True) == {
        "overview",
        "timeline",
        "active",
        "rhythm",
        "threads",
        "network",
        "members",
        "terms",
    }
    with pytest.raises(TypeError, match="colour"):
        state.update(colour="red")


def test_errors_become_messages(loads):
    state = DashboardState(load=loads)
    state.update(account="broken")
    assert state.error == "ConnectionError: server at 127.0.0.1:9 refused the connection"
    state.update(
        account="slack", since=pd.Timestamp("2030-01-01", tz="UTC"), until=pd.Timestamp("2030-02-01", tz="UTC")
    )
    assert state.error == "No messages in the chosen conversations and dates."
    state.update(until=None)  # the default end, the last complete day of the data, is before since
    assert (
        state.error == "ValueError: since (2030-01-01 00:00:00+00:00) must be before until (2026-07-31 00:00:00+00:00)"
    )


def test_view_driven_through_its_widgets(loads):
    board = dashboard(["slack", "broken"], load=loads)
    board.account.value = "slack"
    assert any(o.startswith("general (") for o in board.conversations.options)
    board.search.value = "eng"
    assert board.conversations.options == tuple(o for o in board.conversations.options if "eng" in o)
    assert len(board.conversations.options) == 1
    before = dict(board.drawn)
    board.conversations.value = board.conversations.options[:1]
    assert {p for p in before if board.drawn[p] > before[p]} == {"overview"}  # the tab on screen, at once
    open_every_tab(board)
    assert all(board.drawn[p] == before[p] + 1 for p in before)  # the others when opened, once each
    assert board.state.conversations == ("engineering",)
    board.since.value = dt.date(2026, 7, 1)
    board.until.value = dt.date(2026, 7, 7)  # inclusive in the view: until midnight after July 7
    assert board.state.until == pd.Timestamp("2026-07-08", tz="UTC")
    before = dict(board.drawn)
    board.tz.value = "Europe/Berlin"
    open_every_tab(board)
    redrawn = {p for p in before if board.drawn[p] > before[p]}
    assert redrawn == set(PARTS)  # the picked days are Berlin's days now: every part's period moved
    assert board.state.until == pd.Timestamp("2026-07-08", tz="Europe/Berlin")
    assert board.message.value == ""


def test_view_shows_errors_escaped(loads):
    board = dashboard(["slack", "broken"], load=loads)
    board.account.value = "broken"
    assert "ConnectionError" in board.message.value and "127.0.0.1:9" in board.message.value
    board.state.error = None
    board.state.update(account="slack")
    board.state.error = "<script>alert(1)</script>"
    board._redraw(set())
    assert "<script>" not in board.message.value and "&lt;script&gt;" in board.message.value


def test_unanswered_threads_show_their_text(loads, frames):
    state = DashboardState(load=loads)
    state.update(account="slack", conversations=("random",))
    waiting = state.unanswered()
    assert list(waiting.columns) == ["started", "conversation", "author", "text"]
    assert len(waiting) == 10 and set(waiting["conversation"]) == {"random"}
    # The report's list: waiting over 24 h at the period's end, the longest-waiting first.
    assert waiting["started"].tolist() == sorted(waiting["started"])
    until = state.period()[1].tz_convert("UTC")
    started = pd.to_datetime(waiting["started"]).dt.tz_localize(state.tz)
    assert (started + pd.Timedelta("24h") <= until).all()


def test_the_community_tab_shows_the_report_s_community_section():
    """Same choices, same numbers: the dashboard's community figures and tables are the report's."""
    from chatlens.reports import build_report, load_report_messages

    frame = load_report_messages("demo", text=True, progress=False)
    state = DashboardState(load=lambda name: frame)
    state.update(account="demo")
    data = build_report(frame, plots=False)
    assert state.community().figures == data.community.figures
    shown = {t.key: t.records() for t in state.community().tables}
    assert shown["compared"] == next(t.records() for t in data.community.tables if t.key == "compared")
    terms = state.terms()
    assert list(terms.columns[:3]) == ["term", "count", "previous_count"] and len(terms) > 0


def test_the_terms_tab_says_why_a_text_free_frame_has_none(monkeypatch):
    from chatlens.reports import load_report_messages
    from chatlens.widgets.view import Dashboard
    from tests.widgets.test_dashboard_choices import shown

    frame = load_report_messages("demo", text=False, progress=False)
    board = Dashboard(["demo"], load=lambda name: frame)
    board.account.value = "demo"
    page = shown(board, "terms", monkeypatch)
    assert "needs" in page and "text" in page and "Could not draw" not in page
    community = shown(board, "community", monkeypatch)
    assert "members engaged" in community and "download this table as CSV" in community


def open_every_tab(board):
    """Open each tab in turn, as a user clicking through them (hidden tabs are drawn when opened)."""
    for i in range(len(PARTS)):
        board.tabs.selected_index = i
    board.tabs.selected_index = 0


def test_a_choice_draws_the_tab_on_screen_and_the_others_when_opened(loads):
    board = dashboard(["slack"], load=loads)
    board.account.value = "slack"
    board.tabs.selected_index = PARTS.index("members")
    open_every_tab(board)
    before = dict(board.drawn)
    board.tabs.selected_index = PARTS.index("threads")
    board.bots.value = True
    assert {p for p in PARTS if board.drawn[p] > before[p]} == {"threads"}
    # Every other tab that reads the choice is cleared at once, never left showing the earlier choice.
    assert "Drawing when opened" in str(board.outputs["members"].outputs)
    board.tabs.selected_index = PARTS.index("members")
    assert board.drawn["members"] == before["members"] + 1
    board.tabs.selected_index = PARTS.index("threads")  # opening a tab that is up to date draws nothing
    assert board.drawn["threads"] == before["threads"] + 1
