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


def test_loading_shows_its_progress_apart_from_the_tabs_and_clears_it(frame, monkeypatch):
    """What loading an account displays or prints (tqdm's bars) goes to the dashboard's progress area, never to a
    tab: the load runs while that area captures, text written meanwhile is flushed before the capture ends (a
    kernel sends buffered text later, to whichever output captures then), and the area is emptied afterwards."""
    import io
    import sys

    import ipywidgets
    from tqdm.auto import tqdm

    from chatlens.widgets.view import Dashboard

    capturing: list = []

    def enter(out):
        capturing.append(out)

    def leave(out, *exc):
        assert capturing.pop() is out
        return False

    monkeypatch.setattr(ipywidgets.Output, "__enter__", enter)
    monkeypatch.setattr(ipywidgets.Output, "__exit__", leave)
    events: list = []

    class Stream(io.StringIO):
        def write(self, text):
            events.append("write")
            return super().write(text)

        def flush(self):
            events.append(("flush", capturing[-1] if capturing else None))

    err = Stream()
    monkeypatch.setattr(sys, "stderr", err)
    during: list = []

    def load(name):
        during.append(list(capturing))
        for _ in tqdm(range(3), desc="loading messages", file=sys.stderr, disable=False):
            pass
        print("loaded 1,000 messages", file=sys.stderr)  # buffered, not flushed by the loader
        return frame

    board = Dashboard(["demo"], load=load)
    assert list(board.widget.children).index(board.progress) == list(board.widget.children).index(board.tabs) - 1
    board.account.value = "demo"
    assert during == [[board.progress]]  # loaded while the progress area captured, no tab
    assert "loading messages" in err.getvalue()
    last_write = max(i for i, e in enumerate(events) if e == "write")
    assert ("flush", board.progress) in events[last_write:] and capturing == []
    assert board.progress.outputs == ()
    assert board.state.error is None and board.drawn["overview"] == 1
