"""Sections with nothing to draw say so in words, in the report, in the plots and in the dashboard's tabs
(issue 20 §2): never empty axes that read as zeros."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from chatlens import plotting as P
from chatlens.reports import build_report, render_report
from chatlens.widgets import dashboard
from tests.widgets.test_dashboard import open_every_tab


def lonely(n: int = 3) -> pd.DataFrame:
    """``n`` root messages by ``n`` people in one channel on one day: nobody replies to or mentions anybody."""
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(n)],
            "parent": [None] * n,
            "sender_id": [f"U{i}" for i in range(n)],
            "sender_name": [f"person {i}" for i in range(n)],
            "conversation_id": "C1",
            "conversation_name": "general",
            "created": pd.date_range("2026-03-02 09:00", periods=n, freq="1h", tz="UTC"),
            "is_bot": False,
            "is_system": False,
            "mentions": [[] for _ in range(n)],
        }
    )


def test_a_report_without_replies_says_so_instead_of_drawing_empty_axes():
    data = build_report(lonely(), since="2026-03-01", until="2026-03-08")
    sections = {s.key: s for s in data.sections}
    assert list(sections) == ["timeline", "active", "rhythm", "first_reply", "network"]
    assert sections["first_reply"].image is None
    assert sections["first_reply"].empty == "No thread of this period was answered by someone other than its author."
    assert sections["network"].image is None
    assert sections["network"].empty == "No replies or mentions between members in this period."
    # The three messages are drawn where there is something to draw.
    assert all(sections[k].image and sections[k].empty is None for k in ("timeline", "active", "rhythm"))
    assert set(data.images) == {"timeline", "active", "rhythm"}
    html = render_report(data)
    for key in ("first_reply", "network"):
        block = html.split(f'<section data-key="{key}">')[1].split("</section>")[0]
        assert "<img" not in block and sections[key].empty in block
    assert html.count("<img") == 3
    assert not plt.get_fignums()  # every figure drawn, pictured or not, was closed


def test_a_report_with_replies_draws_them():
    m = lonely(2)
    m.loc[1, "parent"] = "m0"
    data = build_report(m, since="2026-03-01", until="2026-03-08")
    assert set(data.images) == {"timeline", "active", "rhythm", "first_reply", "network"}
    assert all(s.empty is None for s in data.sections)


def test_the_member_and_conversation_tables_say_when_they_are_empty():
    data = build_report(lonely(), since="2026-03-01", until="2026-03-08", plots=False)
    html = render_report(data.__class__(**{**data.__dict__, "members": data.members.iloc[0:0]}))
    assert "No member posted in this period." in html
    assert "No member posted" not in render_report(data)
    quiet = data.__class__(**{**data.__dict__, "conversations": data.conversations.iloc[0:0]})
    assert "No conversation has messages in this period." in render_report(quiet)


@pytest.mark.parametrize(
    ("plot", "key"),
    [
        (P.plot_timeline, "timeline"),
        (P.plot_active_members, "active"),
        (P.plot_rhythm, "rhythm"),
        (P.plot_reply_times, "reply_times"),
        (P.plot_time_to_first_reply, "first_reply"),
    ],
)
def test_a_plot_of_a_period_without_messages_says_so(plot, key):
    ax = plot(lonely(), since="2026-04-01", until="2026-04-08")
    assert P.empty_reason(ax) == P.NOTHING[key]
    assert not ax.lines and not ax.images and not ax.patches  # nothing drawn but the words
    assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    assert P.empty_reason(plot(lonely(), since="2026-03-01", until="2026-03-08")) is (
        P.NOTHING[key] if key in ("reply_times", "first_reply") else None
    )


def test_a_network_without_interactions_says_so():
    ax = P.plot_interaction_graph(lonely())
    assert P.empty_reason(ax) == "No replies or mentions between members in this period." and not ax.collections


def test_the_dashboards_tabs_say_so_in_words(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    board = dashboard(["quiet"], load=lambda name: lonely())
    board.since.value = pd.Timestamp("2026-03-02").date()
    board.until.value = pd.Timestamp("2026-03-02").date()  # the one day of messages
    shown.clear()
    board.account.value = "quiet"
    assert board.state.error is None
    open_every_tab(board)  # each tab is drawn when opened
    html = [getattr(o, "data", "") for o in shown if type(o).__name__ == "HTML"]
    assert any("No replies or mentions between members in this period." in h for h in html)
    # The day's messages are charts (timeline, members posting, rhythm: figures left to plt.show), not words; the
    # network's empty figure was closed rather than shown.
    assert not any("No messages in this period." in h for h in html)
    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert len(figures) == 3 and all(P.empty_reason(f.axes[0]) is None for f in figures)
