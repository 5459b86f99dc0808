"""The report's plot sections: one function per section, each returning a :class:`Section` (title, picture, or the
words saying there is nothing to draw), so a new section is one function added to :data:`PLOT_SECTIONS` and drawn
by the template's one section block.

Every section calls the analyses through :mod:`chatlens.plotting`; when a plot has nothing to draw in the period it
says so in words (:func:`chatlens.plotting.empty_reason`), and the report shows those words instead of empty axes.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Section", "Period", "PLOT_SECTIONS", "plot_sections"]


@dataclass(frozen=True, kw_only=True)
class Period:
    """What every section is drawn over: the counted messages, the report's ``[since, until)`` in UTC, its zone,
    the plots' frequency and their optional lead-in (a length drawn before ``since`` for context)."""

    messages: pd.DataFrame
    since: pd.Timestamp
    until: pd.Timestamp
    tz: str = "UTC"
    freq: str = "D"
    lead_in: str | None = None

    def lead_in_note(self) -> tuple[str, ...]:
        """The sentence under a plot drawn with the lead-in."""
        if self.lead_in is None:
            return ()
        return (
            f"Shaded: the {_length_words(self.lead_in)} before the period, for context; the figures above cover "
            "the period only.",
        )


def _length_words(length: str) -> str:
    """A lead-in as people say it: "28 days", "12 weeks" (whole weeks), "36 hours"."""
    td = pd.Timedelta(length)
    days = td / pd.Timedelta(days=1)
    if days == int(days) and days >= 1:
        days = int(days)
        if days % 7 == 0 and days >= 14:
            return f"{days // 7} weeks"
        return "day" if days == 1 else f"{days} days"
    hours = td / pd.Timedelta(hours=1)
    return f"{hours:g} hours"


@dataclass(frozen=True, kw_only=True)
class Section:
    """One section of the report: a title, then a picture (a PNG data URI) or, when there is nothing to show, the
    words saying so (``empty``); ``notes`` are sentences shown under it, ``table`` an optional small table (column
    names and rows of text, already formatted)."""

    key: str
    title: str
    alt: str = ""
    image: str | None = None
    empty: str | None = None
    notes: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default=())
    #: How many leading columns are text (left-aligned); the rest are numbers (right-aligned).
    text_columns: int = 1


def _png(ax: Any) -> str:
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _picture(key: str, title: str, alt: str, ax: Any, **extra: Any) -> Section:
    """A section of the plot on ``ax``, or of the words it drew instead of data."""
    from ..plotting import empty_reason

    words = empty_reason(ax)
    if words is not None:
        import matplotlib.pyplot as plt

        plt.close(ax.figure)
        return Section(key=key, title=title, alt=alt, empty=words, **extra)
    return Section(key=key, title=title, alt=alt, image=_png(ax), **extra)


_PERIOD_WORDS = {"D": "day", "W": "week", "MS": "month", "QS": "quarter"}


def activity_section(p: Period) -> Section:
    """Messages per period by conversation (top six and "other")."""
    from ..plotting import plot_timeline

    ax = plot_timeline(
        p.messages, freq=p.freq, by="conversation", tz=p.tz, since=p.since, until=p.until, top=6, lead_in=p.lead_in
    )
    alt = f"Messages per {_PERIOD_WORDS.get(p.freq, p.freq)} by conversation in the report's period"
    return _picture("timeline", "Activity", alt, ax, notes=p.lead_in_note())


def active_section(p: Period) -> Section:
    """Members posting in the trailing 1, 7 and 28 days."""
    from ..plotting import plot_active_members

    ax = plot_active_members(p.messages, tz=p.tz, since=p.since, until=p.until, lead_in=p.lead_in)
    alt = "Members posting in the trailing 1, 7 and 28 days"
    return _picture("active", "Members posting", alt, ax, notes=p.lead_in_note())


def rhythm_section(p: Period) -> Section:
    """Messages by weekday and hour."""
    from ..plotting import plot_rhythm

    ax = plot_rhythm(p.messages, tz=p.tz, since=p.since, until=p.until)
    return _picture("rhythm", "Weekly rhythm", "Messages by weekday and hour", ax)


def first_reply_section(p: Period) -> Section:
    """The distribution of time to first reply, its median the key figure's (the same function, frame and
    period: :func:`chatlens.analysis.median_time_to_first_reply`)."""
    from ..plotting import plot_time_to_first_reply

    ax = plot_time_to_first_reply(p.messages, since=p.since, until=p.until)
    alt = "Distribution of the time to first reply of the threads started in the period"
    note = (
        "Each thread started in the period that someone other than its author answered, by the time its first "
        "reply took; the dashed line is the median, the key figure above."
    )
    return _picture("first_reply", "Time to first reply", alt, ax, notes=(note,))


def network_section(p: Period) -> Section:
    """Who replies to and mentions whom (one node per person: left out when people are shown only in groups)."""
    from ..analysis import interaction_graph
    from ..plotting import plot_interaction_graph

    graph = interaction_graph(p.messages, since=p.since, until=p.until)
    ax = plot_interaction_graph(graph, top=NETWORK_TOP, labels=12)
    notes = []
    members = graph.number_of_nodes()
    linked = sum(1 for _, d in graph.degree() if d)
    drawn = min(NETWORK_TOP, linked)
    if members > drawn:
        alone = f"; {members - linked:,} replied to, mentioned and heard from no one" if linked < members else ""
        notes.append(
            f"The {drawn} of the {members:,} members with the most people they reply to, mention or hear from are "
            f"drawn{alone}."
        )
    # The graph's own edges, strongest first: who answered or mentioned whom most often in the period.
    pairs = sorted(graph.edges(data=True), key=lambda e: (-e[2].get("weight", 0), str(e[0]), str(e[1])))[:PAIRS]
    rows = tuple(
        (
            str(graph.nodes[u].get("name", u)),
            str(graph.nodes[v].get("name", v)),
            f"{d.get('reply', 0):,}",
            f"{d.get('mention', 0):,}",
            f"{d.get('weight', 0):,}",
        )
        for u, v, d in pairs
    )
    if rows:
        notes.append(f"The {len(rows)} strongest pairs: replies and @mentions from one member to another.")
    return _picture(
        "network",
        "Interaction network",
        "Who replies to and mentions whom",
        ax,
        notes=tuple(notes),
        columns=("from", "to", "replies", "mentions", "total") if rows else (),
        rows=rows,
        text_columns=2,
    )


#: Members drawn in the report's network, and pairs listed under it.
NETWORK_TOP = 40
PAIRS = 10


#: The plot sections in the order the report shows them; ``people=True`` marks those drawing single people (left
#: out of a report made with a minimum group size).
PLOT_SECTIONS: tuple[tuple[Any, bool], ...] = (
    (activity_section, False),
    (active_section, False),
    (rhythm_section, False),
    (first_reply_section, False),
    (network_section, True),
)


def plot_sections(p: Period, *, people: bool = True) -> list[Section]:
    """Every plot section of :data:`PLOT_SECTIONS` over ``p`` (those drawing single people only with ``people``).

    Examples
    --------
    >>> m = pd.DataFrame({"id": ["a"], "parent": [None], "sender_id": ["u"], "sender_name": ["Ada"],
    ...                   "conversation_id": ["C"], "conversation_name": ["general"],
    ...                   "created": pd.to_datetime(["2026-01-01 10:00"], utc=True)})
    >>> s = plot_sections(Period(messages=m, since=pd.Timestamp("2026-01-01", tz="UTC"),
    ...                          until=pd.Timestamp("2026-01-02", tz="UTC")))
    >>> [(x.key, x.image is not None) for x in s]
    [('timeline', True), ('active', True), ('rhythm', True), ('first_reply', False), ('network', False)]
    >>> s[3].empty
    'No thread of this period was answered by someone other than its author.'
    >>> s[4].empty
    'No replies or mentions between members in this period.'
    """
    from . import _release_unused

    sections = []
    for make, about_people in PLOT_SECTIONS:
        if people or not about_people:
            sections.append(make(p))
            _release_unused()  # what the section's analyses freed, the allocators would keep
    return sections
