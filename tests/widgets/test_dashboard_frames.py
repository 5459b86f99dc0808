"""The dashboard on a big account (issue 20 §5): every part reads one frame of the chosen messages, so what the
analyses resolve on it (reply chains) is resolved once per choice, not once per part; and loading shows no text
progress bars in the dashboard's tabs."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens import _links
from chatlens.loaders import load_messages
from chatlens.reports import PRIVATE_KINDS
from chatlens.widgets.state import DashboardState


@pytest.fixture(scope="module")
def frame():
    """The demo with a conversation_kind column, some of its conversations private (as load_report_messages
    marks them)."""
    m = load_messages("demo", progress=False)
    names = sorted(m["conversation_name"].astype(str).unique())
    private = set(names[::3])
    kind = [next(iter(PRIVATE_KINDS)) if n in private else "channel" for n in m["conversation_name"].astype(str)]
    return m.assign(conversation_kind=pd.Categorical(kind))


def test_parts_read_one_frame_per_choice(frame, monkeypatch):
    state = DashboardState(load=lambda name: frame)
    state.update(account="demo", since=pd.Timestamp("2026-06-01", tz="UTC"), until=pd.Timestamp("2026-08-01", tz="UTC"))
    first = state.messages()
    assert state.messages() is first
    # Two thread parts resolve the chains once between them (both read the same id and parent arrays).
    _links._MEMO.clear()
    lookups = []
    original = _links._lookup
    monkeypatch.setattr(_links, "_lookup", lambda *a: lookups.append(1) or original(*a))
    members, threads = state.members(), state.threads()
    assert len(lookups) == 1
    # The same tables as from a fresh copy of the chosen messages.
    fresh = first.copy()
    assert set(fresh["conversation_kind"].astype(str)) == {"channel"}
    opts = state._opts()
    from chatlens.analysis import conversation_summary, member_summary

    pd.testing.assert_frame_equal(members, member_summary(fresh, tz=state.tz, **opts))
    pd.testing.assert_frame_equal(threads, conversation_summary(fresh, **opts))


def test_a_new_choice_picks_its_own_frame(frame):
    state = DashboardState(load=lambda name: frame)
    state.update(account="demo")
    public = state.messages()
    state.update(include_private=True)
    assert state.messages() is not public and len(state.messages()) == len(frame)
    name = str(public["conversation_name"].iloc[0])
    state.update(include_private=False, conversations=(name,))
    assert set(state.messages()["conversation_name"].astype(str)) == {name}
    state.update(conversations=())
    assert len(state.messages()) == len(public)
    other = frame.iloc[:100]
    state = DashboardState(load=lambda name: frame if name == "a" else other)
    state.update(account="a")
    assert len(state.messages()) == len(public)
    state.update(account="b")
    assert len(state.messages()) == int((other["conversation_kind"] == "channel").sum())
