"""The dashboard's view: ipywidgets over a :class:`~chatlens.widgets.state.DashboardState`.

Controls: account, a searchable multi-select of conversations with message counts, a date range, a time zone
(any IANA zone, searchable by typing), the timeline's period, whether bots and private conversations count, and
whether message text is shown (hidden by default, as in the report). Tabs: overview, timeline, members posting,
rhythm, threads, network, members, community (the report's section), rising terms. A change redraws only the tabs
that depend on it: the one on screen at once, the others when they are opened (a choice costs one tab's time, not
every tab's). A choice that fails (an account that cannot be loaded, Until before From, no messages) clears every
tab and says what is wrong; nothing of an earlier choice stays on screen. Loading an account shows its progress
(tqdm's bars) in one area above the tabs, emptied once loaded, never as text in a tab. Tables are for people
(:mod:`chatlens.widgets.tables`), each with a "download this table as CSV" link (:func:`chatlens.export.to_safe_csv`,
safe to open in a spreadsheet).
"""

from __future__ import annotations

import base64
import contextlib
import html
import sys
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from .state import FREQS, PARTS, DashboardState
from .tables import readable_table

__all__ = ["Dashboard", "ZONES"]

#: Every IANA zone this machine knows, UTC first: the time-zone box offers them as one types.
ZONES = ["UTC", *sorted(z for z in zoneinfo.available_timezones() if z != "UTC" and "/" in z)]
_KNOWN_ZONES = set(ZONES)
#: Rows shown of a long table (the caption says how many there are; the CSV holds them all).
TOP_ROWS = 20
_WIDE = {"description_width": "initial"}  # descriptions are never cut off
TITLES = {
    "overview": "Overview",
    "timeline": "Timeline",
    "active": "Members posting",
    "rhythm": "Rhythm",
    "threads": "Threads",
    "network": "Network",
    "members": "Members",
    "community": "Community",
    "terms": "Rising terms",
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
        self.account = w.Dropdown(options=accounts, value=None, description="Account", style=_WIDE)
        self.search = w.Text(placeholder="filter conversations", description="Search", style=_WIDE)
        self.conversations = w.SelectMultiple(
            options=[], rows=8, description="Conversations", style=_WIDE, layout=w.Layout(width="32em")
        )
        self.since = w.DatePicker(description="From", style=_WIDE)
        self.until = w.DatePicker(description="Until", style=_WIDE)
        # Any IANA zone: the box suggests zones as one types ("tok" -> Asia/Tokyo) and takes only real ones.
        self.tz = w.Combobox(
            options=ZONES, value="UTC", description="Time zone", ensure_option=True, continuous_update=False,
            placeholder="type to search: Asia/Tokyo", style=_WIDE,
        )  # fmt: skip
        self.freq = w.Dropdown(
            # "auto", not None: a dropdown shows a None value as an empty box.
            options=[("from the span", "auto"), *FREQS.items()],
            value="auto",
            description="Timeline per",
            style=_WIDE,
        )
        self.bots = w.Checkbox(value=False, description="Count bots", style=_WIDE)
        self.private = w.Checkbox(value=False, description="Count private conversations", style=_WIDE)
        self.text = w.Checkbox(value=False, description="Show message text", style=_WIDE)
        self.message = w.HTML()
        #: Where loading an account shows its progress (tqdm's bars, a loader's prints), cleared once it is done:
        #: never in a tab.
        self.progress = w.Output()
        self.outputs = {part: w.Output() for part in PARTS}
        self.tabs = w.Tab(children=[self.outputs[p] for p in PARTS])
        for i, part in enumerate(PARTS):
            self.tabs.set_title(i, TITLES[part])
        controls = w.VBox(
            [
                self.account,
                self.search,
                self.conversations,
                w.HBox([self.since, self.until, self.freq]),
                w.HBox([self.tz, self.bots, self.private, self.text]),
            ]
        )
        self.widget = w.VBox([controls, self.message, self.progress, self.tabs])
        self._labels: dict[str, str] = {}
        #: Tabs cleared by a failed choice: drawn again with the next choice that works, whatever it changes.
        self._stale: set[str] = set()
        #: Tabs whose choices changed while they were hidden: drawn when opened, so a choice costs one tab's time.
        self._hidden_stale: set[str] = set()
        self.tabs.observe(self._on_tab, names="selected_index")
        self.account.observe(self._on_account, names="value")
        self.search.observe(lambda _: self._fill_conversations(), names="value")
        self.private.observe(self._on_private, names="value")
        self.text.observe(lambda _: self._redraw({"threads"}), names="value")
        for control in (self.conversations, self.since, self.until, self.tz, self.bots, self.freq):
            control.observe(self._on_choice, names="value")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- events -----------------------------------------------------------------------------------------------
    def _on_account(self, change: dict[str, Any]) -> None:
        self.message.value = "<i>Loading…</i>"
        with self._loading():
            parts = self.state.update(account=change["new"], conversations=())
        self._fill_conversations()  # emptied when the account could not be loaded: never another account's
        self._redraw(parts)

    def _fill_conversations(self) -> None:
        try:
            counts = self.state.conversation_counts()
        except LookupError:
            self._labels = {}
            self.conversations.options = []
            return
        needle = self.search.value.strip().lower()
        self._labels = {f"{name} ({n:,})": name for name, n in counts.items() if needle in name.lower()}
        self.conversations.options = list(self._labels)

    def _on_private(self, change: dict[str, Any]) -> None:
        parts = self.state.update(include_private=change["new"])
        self._fill_conversations()  # private conversations appear in (or leave) the picker
        self._redraw(parts)

    def _zone(self) -> str:
        """The zone typed, once it is a real one (while one types, the last real zone stays)."""
        return self.tz.value if self.tz.value in _KNOWN_ZONES else self.state.tz

    def _on_choice(self, _: Any) -> None:
        zone = self._zone()

        def day(value: Any) -> pd.Timestamp | None:
            return None if value is None else pd.Timestamp(value).tz_localize(zone)

        until = day(self.until.value)
        parts = self.state.update(
            conversations=tuple(self._labels[o] for o in self.conversations.value if o in self._labels),
            since=day(self.since.value),
            until=until + pd.Timedelta(days=1) if until is not None else None,  # the "until" day is included
            tz=zone,
            include_bots=self.bots.value,
            freq=None if self.freq.value == "auto" else self.freq.value,
        )
        self._redraw(parts)

    @contextlib.contextmanager
    def _loading(self) -> Iterator[None]:
        """Capture what loading displays or prints (tqdm's progress bars) in :attr:`progress`, and clear it after.

        Text written to stdout or stderr is flushed before the capture ends: the kernel sends buffered text later,
        to whichever output is capturing then, which would be a tab being drawn."""
        self.progress.clear_output()
        try:
            with self.progress:
                try:
                    yield
                finally:
                    for stream in (sys.stdout, sys.stderr):
                        flush = getattr(stream, "flush", None)
                        if flush is not None:
                            flush()
        finally:
            self.progress.clear_output()
            self.progress.outputs = ()

    def _on_tab(self, change: dict[str, Any]) -> None:
        part = self.visible()
        if part in self._hidden_stale:
            self._hidden_stale.discard(part)
            self._redraw({part})

    def visible(self) -> str:
        """The part of the tab on screen."""
        index = self.tabs.selected_index
        return PARTS[index if index is not None else 0]

    # -- drawing ----------------------------------------------------------------------------------------------
    def _redraw(self, parts: set[str]) -> None:
        error = self.state.error
        self.message.value = "" if error is None else f'<b style="color:#b42318">{html.escape(error)}</b>'
        if error is not None:
            # Every tab, not only those the failed choice feeds: none may show an earlier choice's output.
            parts = set(PARTS)
        else:
            stale, self._stale = self._stale, set()
            parts = parts | stale
            # Only the tab on screen is drawn now; the others when they are opened (each cleared at once, so none
            # shows an earlier choice's output meanwhile).
            hidden = parts - {self.visible()}
            self._hidden_stale |= hidden
            parts = parts - hidden
            for part in hidden:
                _say(self.outputs[part], "Drawing when opened…")
        for part in PARTS:
            if part not in parts:
                continue
            out = self.outputs[part]
            if error is not None:
                self._stale.add(part)
                self._hidden_stale.discard(part)
                _say(out, f"Nothing to show: {error}")
                continue
            out.clear_output(wait=True)
            if not _in_kernel():
                out.outputs = ()
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
            ax = P.plot_timeline(s.messages(), freq=s.timeline_freq(), by="conversation", tz=s.tz, **opts)
        elif part == "active":
            ax = P.plot_active_members(s.messages(), tz=s.tz, **opts)
        elif part == "rhythm":
            ax = P.plot_rhythm(s.messages(), tz=s.tz, **opts)
        elif part == "threads":
            _table(s.threads(), "conversations", "No conversation has messages in this period.", s.tz)
            display(HTML("<h4>Waiting for an answer over 24 h (longest first)</h4>"))
            waiting = s.unanswered(n=None, text=self.text.value)
            _table(waiting, "threads waiting", "No thread of this period has waited over 24 h for an answer.", s.tz)
        elif part == "network":
            ax = P.plot_interaction_graph(s.network(), top=40)
        elif part == "members":
            _table(s.members(), "members", "No member posted in this period.", s.tz)
        elif part == "community":
            section = s.community()
            display(HTML(_figures_html(section.figures)))
            for t in section.tables:
                display(HTML(f"<h4>{html.escape(t.title)}</h4>"))
                shown = t.frame.reset_index()[[c for c, _, _ in t.columns]].rename(
                    columns={c: label for c, label, _ in t.columns}
                )
                _table(shown, t.key, t.empty, s.tz)
        elif part == "terms":
            try:
                terms = s.terms()
            except ValueError as exc:  # a text-free frame (the default) or a pseudonymised one
                display(HTML(_nothing_html(str(exc))))
            else:
                _table(terms, "rising terms", "No term rose in this period against the one before it.", s.tz)
        words = None if ax is None else P.empty_reason(ax)
        if words is not None:  # the words, not a picture of empty axes
            plt.close(ax.figure)
            display(HTML(_nothing_html(words)))
        if plt.get_fignums():
            plt.show()


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel, where an Output captures what is displayed inside ``with out:``."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def _say(out: Any, words: str) -> None:
    """Replace what ``out`` shows by ``words``, at once (not when the next output comes)."""
    from IPython.display import HTML, display

    if _in_kernel():
        out.clear_output()
        with out:
            display(HTML(_nothing_html(words)))
    else:  # no kernel to capture the display (tests, scripts): the words go into the widget's outputs
        out.outputs = ()
        out.append_display_data(HTML(_nothing_html(words)))


def _nothing_html(words: str) -> str:
    return f'<p class="chatlens-empty" style="color:#5a6070;font-style:italic">{html.escape(words)}</p>'


def _table(frame: pd.DataFrame, what: str, words: str, tz: str) -> None:
    """A table for people (its top rows, a caption with the count, a CSV download of all of it), or the words
    saying it has no rows. Every cell is escaped: message text stays text."""
    from IPython.display import HTML, display

    if not len(frame):
        display(HTML(_nothing_html(words)))
        return
    display(HTML(table_html(frame, what=what, tz=tz)))


def table_html(frame: pd.DataFrame, *, what: str, tz: str, n: int = TOP_ROWS) -> str:
    """The HTML of a dashboard table: caption ("top 20 of 143 members"), the readable rows, a download link.

    Examples
    --------
    >>> t = pd.DataFrame({"name": ["<b>Ada</b>", "=1+2"], "messages": [1200, 3]})
    >>> page = table_html(t, what="members", tz="UTC")
    >>> "all 2 members" in page, "&lt;b&gt;Ada&lt;/b&gt;" in page, "1,200" in page, 'download="members.csv"' in page
    (True, True, True, True)
    """
    from ..export import to_safe_csv

    shown, caption = readable_table(frame, tz=tz, n=n, what=what)
    csv = base64.b64encode(to_safe_csv(frame).encode("utf-8")).decode("ascii")
    name = what.replace(" ", "-")
    return (
        f"<p style='color:#5a6070;margin:.3em 0'>{html.escape(caption)} · <a download=\"{name}.csv\" "
        f'href="data:text/csv;charset=utf-8;base64,{csv}">download this table as CSV</a></p>'
        + shown.to_html(index=False, escape=True, border=0)
    )


def _overview_html(state: DashboardState) -> str:
    """The key figures as the report shows them: value, previous value and change, coloured by verdict."""
    since, until = state.period()
    last = (until - pd.Timedelta(microseconds=1)).tz_convert(state.tz)
    return (
        f"<p>{since.tz_convert(state.tz):%Y-%m-%d} to {last:%Y-%m-%d} ({html.escape(state.tz)}), against the "
        f"same length before it</p>{_figures_html(state.overview())}"
    )


def _figures_html(figures: list[dict[str, Any]]) -> str:
    """Figure rows (:func:`chatlens.reports.figures.key_figures`) as a table: value, previous value and change,
    coloured by verdict, as the report shows them."""
    from ..reports.figures import format_change, format_value

    colour = {"better": "#17803d", "worse": "#b42318"}
    rows = "".join(
        f"<tr><td>{html.escape(f['label'])}</td><td style='text-align:right'>{format_value(f['value'], f['unit'])}</td>"
        f"<td style='text-align:right'>{format_value(f['previous'], f['unit'])}</td>"
        f"<td style='text-align:right;color:{colour.get(f['verdict'] or '', '#5a6070')}'>{format_change(f)}</td></tr>"
        for f in figures
    )
    return f"<table><tr><th>figure</th><th>value</th><th>previous</th><th>change</th></tr>{rows}</table>"
