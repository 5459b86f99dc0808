"""The dashboard's view: ipywidgets over a :class:`~chatlens.widgets.state.DashboardState`.

Controls: account, a searchable multi-select of conversations with message counts, a date range, a time zone and
whether bots and private conversations count. Tabs: overview, timeline, members posting, rhythm, threads, network,
members. A change redraws only the tabs that depend on it; errors appear as a message inside the dashboard.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from .state import PARTS, DashboardState

__all__ = ["Dashboard"]

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
]
TITLES = {
    "overview": "Overview",
    "timeline": "Timeline",
    "active": "Members posting",
    "rhythm": "Rhythm",
    "threads": "Threads",
    "network": "Network",
    "members": "Members",
}


class Dashboard:
    """The widget dashboard. Display it in a notebook as the last expression of a cell, or ``dashboard.widget``.

    Parameters
    ----------
    accounts
        Account names to choose from.
    load
        ``account name -> messages frame``.
    """

    def __init__(self, accounts: list[str], load: Callable[[str], pd.DataFrame]) -> None:
        import ipywidgets as w

        self.state = DashboardState(load=load)
        self.drawn: dict[str, int] = dict.fromkeys(PARTS, 0)  # how often each tab was drawn (tests read it)
        self.account = w.Dropdown(options=accounts, value=None, description="Account")
        self.search = w.Text(placeholder="filter conversations", description="Search")
        self.conversations = w.SelectMultiple(options=[], rows=8, description="Conversations")
        self.since = w.DatePicker(description="From")
        self.until = w.DatePicker(description="Until")
        self.tz = w.Dropdown(options=ZONES, value="UTC", description="Time zone")
        self.bots = w.Checkbox(value=False, description="Count bots")
        self.private = w.Checkbox(value=False, description="Count private conversations")
        self.message = w.HTML()
        self.outputs = {part: w.Output() for part in PARTS}
        self.tabs = w.Tab(children=[self.outputs[p] for p in PARTS])
        for i, part in enumerate(PARTS):
            self.tabs.set_title(i, TITLES[part])
        controls = w.VBox(
            [
                self.account,
                self.search,
                self.conversations,
                w.HBox([self.since, self.until]),
                w.HBox([self.tz, self.bots, self.private]),
            ]
        )
        self.widget = w.VBox([controls, self.message, self.tabs])
        self._labels: dict[str, str] = {}
        self.account.observe(self._on_account, names="value")
        self.search.observe(lambda _: self._fill_conversations(), names="value")
        self.private.observe(self._on_private, names="value")
        for control in (self.conversations, self.since, self.until, self.tz, self.bots):
            control.observe(self._on_choice, names="value")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- events -----------------------------------------------------------------------------------------------
    def _on_account(self, change: dict[str, Any]) -> None:
        self.message.value = "<i>Loading…</i>"
        parts = self.state.update(account=change["new"], conversations=())
        if self.state.error is None or self.state.account in self.state._frames:
            self._fill_conversations()
        self._redraw(parts)

    def _fill_conversations(self) -> None:
        try:
            counts = self.state.conversation_counts()
        except LookupError:
            return
        needle = self.search.value.strip().lower()
        self._labels = {f"{name} ({n:,})": name for name, n in counts.items() if needle in name.lower()}
        self.conversations.options = list(self._labels)

    def _on_private(self, change: dict[str, Any]) -> None:
        parts = self.state.update(include_private=change["new"])
        self._fill_conversations()  # private conversations appear in (or leave) the picker
        self._redraw(parts)

    def _on_choice(self, _: Any) -> None:
        def day(value: Any) -> pd.Timestamp | None:
            return None if value is None else pd.Timestamp(value).tz_localize(self.tz.value)

        until = day(self.until.value)
        parts = self.state.update(
            conversations=tuple(self._labels[o] for o in self.conversations.value),
            since=day(self.since.value),
            until=until + pd.Timedelta(days=1) if until is not None else None,  # the "until" day is included
            tz=self.tz.value,
            include_bots=self.bots.value,
        )
        self._redraw(parts)

    # -- drawing ----------------------------------------------------------------------------------------------
    def _redraw(self, parts: set[str]) -> None:
        error = self.state.error
        self.message.value = "" if error is None else f'<b style="color:#b42318">{html.escape(error)}</b>'
        for part in PARTS:
            if part not in parts:
                continue
            out = self.outputs[part]
            out.clear_output(wait=True)
            if error is not None:
                continue
            self.drawn[part] += 1
            with out:
                try:
                    self._draw(part)
                except Exception as exc:
                    from IPython.display import HTML, display

                    display(HTML(f"<b>Could not draw {TITLES[part]}:</b> {html.escape(str(exc))}"))

    def _draw(self, part: str) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import HTML, display

        from .. import plotting as P

        s = self.state
        opts = s._opts()
        ax = None
        if part == "overview":
            display(HTML(_overview_html(s)))
        elif part == "timeline":
            ax = P.plot_timeline(s.messages(), freq=s.freq(), by="conversation", tz=s.tz, **opts)
        elif part == "active":
            ax = P.plot_active_members(s.messages(), tz=s.tz, **opts)
        elif part == "rhythm":
            ax = P.plot_rhythm(s.messages(), tz=s.tz, **opts)
        elif part == "threads":
            _table(s.threads(), "No conversation has messages in this period.")
            display(HTML("<h4>Waiting for an answer</h4>"))
            _table(s.unanswered(), "No thread of this period has waited over 24 h for an answer.")
        elif part == "network":
            ax = P.plot_interaction_graph(s.network(), top=40)
        elif part == "members":
            _table(s.members(), "No member posted in this period.")
        words = None if ax is None else P.empty_reason(ax)
        if words is not None:  # the words, not a picture of empty axes
            plt.close(ax.figure)
            display(HTML(_nothing_html(words)))
        if plt.get_fignums():
            plt.show()


def _nothing_html(words: str) -> str:
    return f'<p class="chatlens-empty" style="color:#5a6070;font-style:italic">{html.escape(words)}</p>'


def _table(frame: pd.DataFrame, words: str) -> None:
    """A table, or the words saying it has no rows (pandas escapes HTML in cells: message text stays text)."""
    from IPython.display import HTML, display

    display(frame if len(frame) else HTML(_nothing_html(words)))


def _overview_html(state: DashboardState) -> str:
    """The key figures as the report shows them: value, previous value and change, coloured by verdict."""
    from ..reports.figures import format_change, format_value

    since, until = state.period()
    last = (until - pd.Timedelta(microseconds=1)).tz_convert(state.tz)
    colour = {"better": "#17803d", "worse": "#b42318"}
    rows = "".join(
        f"<tr><td>{html.escape(f['label'])}</td><td style='text-align:right'>{format_value(f['value'], f['unit'])}</td>"
        f"<td style='text-align:right'>{format_value(f['previous'], f['unit'])}</td>"
        f"<td style='text-align:right;color:{colour.get(f['verdict'] or '', '#5a6070')}'>{format_change(f)}</td></tr>"
        for f in state.overview()
    )
    return (
        f"<p>{since.tz_convert(state.tz):%Y-%m-%d} to {last:%Y-%m-%d} ({html.escape(state.tz)}), against the "
        "same length before it</p><table><tr><th>figure</th><th>value</th><th>previous</th><th>change</th></tr>"
        f"{rows}</table>"
    )
