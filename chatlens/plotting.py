"""Plots of the analyses: each takes a frame (or graph), draws on ``ax`` (a new figure only when none is given),
labels axes with units and returns the Axes. matplotlib is imported inside each function, so the rest of chatlens
works without it. Plots stay readable with many conversations or members by showing the top N and "other".

Every text drawn from data (names, conversation names, group values, zones) passes through :func:`literal_label`,
so a member called ``$x^2$`` is drawn as those five characters, never as mathematics (nor as an error).

Names in any script: names are drawn with a chain of font families (:func:`font_chain`: the configured font, then
every installed font of :data:`FALLBACK_FAMILIES`, covering CJK, Arabic, Cyrillic and emoji where such fonts are
installed; matplotlib takes each glyph from the first font of the chain that has it). A name with a character no
font of the chain has is drawn as the member's (or conversation's) id instead of empty boxes (:func:`drawable`,
checked once per name against the fonts' character maps).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._durations import duration_words
from .analysis import (
    activity_timeline,
    dau_wau_mau,
    hour_weekday_table,
    interaction_graph,
    mark_partial,
    reply_times,
    thread_depth,
)

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from matplotlib.axes import Axes

__all__ = [
    "plot_timeline",
    "plot_active_members",
    "plot_rhythm",
    "plot_thread_depth",
    "plot_reply_times",
    "plot_time_to_first_reply",
    "plot_interaction_graph",
    "top_n",
    "literal_label",
    "empty_reason",
    "font_chain",
    "drawable",
    "name_label",
    "FALLBACK_FAMILIES",
]

#: Font families tried after the configured one, in order, for names drawn from data (the first that has a glyph
#: draws it). Only those installed and drawable by matplotlib (outline fonts: not bitmap colour emoji) are used.
#: Debian: fonts-noto-cjk, fonts-symbola (and DejaVu, which matplotlib ships: Latin, Greek, Cyrillic, Arabic,
#: Hebrew); macOS and Windows: their own CJK and symbol fonts.
FALLBACK_FAMILIES = (
    "DejaVu Sans",
    "Noto Sans",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans Thai",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "Hiragino Sans",
    "PingFang SC",
    "Apple SD Gothic Neo",
    "Microsoft YaHei",
    "Yu Gothic",
    "Malgun Gothic",
    "Segoe UI",
    "Arial Unicode MS",
    "Noto Emoji",
    "Symbola",
    "Segoe UI Emoji",
    "Segoe UI Symbol",
)

#: What a plot says, in words, when its period has nothing to draw (instead of empty axes). The report and the
#: dashboard show the same words in place of the plot (:func:`empty_reason`).
NOTHING = {
    "timeline": "No messages in this period.",
    "active": "No messages in this period.",
    "rhythm": "No messages in this period.",
    "thread_depth": "No messages in this period.",
    "reply_times": "No replies in this period.",
    "first_reply": "No thread of this period was answered by someone other than its author.",
    "network": "No replies or mentions between members in this period.",
}
_EMPTY_GID = "chatlens-nothing-to-draw"


_PERIOD_NAMES = {"h": "hour", "D": "day", "W": "week", "MS": "month", "ME": "month", "M": "month", "QS": "quarter"}


# TeX's special characters, for text.usetex (where the whole label is TeX): each as TeX writes it literally.
_TEX_LITERALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}


def literal_label(value: Any) -> str:
    """``value`` as a label matplotlib draws as it is: ``$`` escaped (``\\$``) so it never starts mathtext (``$x^2$``
    would be drawn as maths, and ``a$b $c`` fails to parse), and a label starting with ``_`` (or an empty one),
    which legends take to mean "leave me out", led by a zero-width space so it stays in the legend. With
    ``rcParams["text.usetex"]`` on, where every label is TeX, TeX's special characters are escaped instead.

    Examples
    --------
    >>> print(literal_label("50% $off$"))
    50% \\$off\\$
    >>> literal_label("_under_")
    '\\u200b_under_'
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> ax.set_title(literal_label("$x^2$")).get_text() == r"\\$x^2\\$"
    True
    """
    import matplotlib

    text = str(value)
    if matplotlib.rcParams["text.usetex"]:
        return "".join(_TEX_LITERALS.get(c, c) for c in text)
    text = text.replace("$", r"\$")
    return "\u200b" + text if not text or text.startswith("_") else text


def font_chain() -> list[str]:
    """The font families names are drawn with: the configured default font first, then every family of
    :data:`FALLBACK_FAMILIES` that is installed and that matplotlib can draw (pass it as ``fontfamily``).

    Examples
    --------
    >>> chain = font_chain()
    >>> "DejaVu Sans" in chain  # matplotlib ships it
    True
    """
    import matplotlib

    rc = (tuple(matplotlib.rcParams["font.family"]), tuple(matplotlib.rcParams["font.sans-serif"]))
    return list(_chain(FALLBACK_FAMILIES, rc))


@functools.lru_cache(maxsize=8)
def _chain(families: tuple[str, ...], rc: tuple[Any, ...]) -> tuple[str, ...]:
    from matplotlib import font_manager, ft2font

    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    default = font_manager.findfont(font_manager.FontProperties(), fallback_to_default=True)
    chain, files = [ft2font.FT2Font(default).family_name], {str(default)}
    for family in families:
        if family in chain or family not in installed:
            continue
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            font = ft2font.FT2Font(path)
            font.set_size(10, 72)  # bitmap-only fonts (colour emoji) fail here: matplotlib cannot draw them
        except (ValueError, RuntimeError, OSError):
            continue
        if str(path) not in files:  # one file holds several families (Noto CJK's JP, SC, KR... share glyphs)
            chain.append(family)
            files.add(str(path))
    return tuple(chain)


@functools.lru_cache(maxsize=8)
def _covered(chain: tuple[str, ...]) -> frozenset[int]:
    """Every character some font of ``chain`` has a glyph for (the union of their character maps)."""
    from matplotlib import font_manager, ft2font

    points: set[int] = set()
    for family in chain:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            points.update(ft2font.FT2Font(path).get_charmap())
        except (ValueError, RuntimeError, OSError):
            continue
    return frozenset(points)


def _invisible(char: str) -> bool:
    """Characters that draw nothing by design: format controls (zero-width joiners and spaces, direction marks),
    spaces, and variation selectors (which pick an emoji's presentation)."""
    point = ord(char)
    return (
        unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp")
        or 0xFE00 <= point <= 0xFE0F
        or 0xE0100 <= point <= 0xE01EF
    )


def drawable(text: str) -> bool:
    """Whether some font of :func:`font_chain` has a glyph for every character of ``text`` (checked once per text
    and chain, then remembered).

    Examples
    --------
    >>> drawable("Ольга"), drawable("\U000f0001 private use")
    (True, False)
    """
    return _drawable(str(text), tuple(font_chain()))


@functools.lru_cache(maxsize=65536)
def _drawable(text: str, chain: tuple[str, ...]) -> bool:
    covered = _covered(chain)
    return all(ord(c) in covered or _invisible(c) for c in text)


def name_label(name: Any, fallback: Any) -> str:
    """A name as a label (:func:`literal_label`), or ``fallback`` (the member's or conversation's id) when no
    installed font can draw the name: an id reads better than a row of empty boxes.

    Examples
    --------
    >>> name_label("Ada", "U1"), name_label("\U000f0001", "U1")
    ('Ada', 'U1')
    """
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return literal_label(fallback)
    return literal_label(name if drawable(str(name)) else fallback)


def _axes(ax: Axes | None, figsize: tuple[float, float] = (9, 4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _nothing_to_draw(ax: Axes, what: str) -> Axes:
    """Say on ``ax``, in words, that there is nothing to draw (no ticks, no frame: empty axes read as zeros)."""
    ax.text(0.5, 0.5, NOTHING[what], transform=ax.transAxes, ha="center", va="center", color="#5a6070", gid=_EMPTY_GID)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def empty_reason(ax: Axes) -> str | None:
    """The words a plot drew instead of data (:data:`NOTHING`), or None when it drew data.

    The report and the dashboard show these words in place of the plot.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a"], "parent": [None], "sender_id": ["u"], "sender_name": ["Ada"],
    ...                   "conversation_id": ["C"], "created": pd.to_datetime(["2026-01-01 10:00"], utc=True)})
    >>> empty_reason(plot_reply_times(m))
    'No replies in this period.'
    >>> empty_reason(plot_rhythm(m)) is None
    True
    """
    return next((t.get_text() for t in ax.texts if t.get_gid() == _EMPTY_GID), None)


def top_n(table: pd.DataFrame, n: int, *, other: str = "other") -> pd.DataFrame:
    """Keep the ``n`` columns with the largest totals and sum the rest into one ``other`` column.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [5, 5], "b": [1, 0], "c": [2, 2]})
    >>> top_n(t, 1).columns.tolist(), top_n(t, 1)["other"].tolist()
    (['a', 'other'], [3, 2])
    """
    if table.shape[1] <= n:
        return table
    order = table.sum().sort_values(ascending=False).index
    kept = table[order[:n]].copy()
    kept[other] = table[order[n:]].sum(axis=1)
    return kept


def auto_freq(since: Any, until: Any) -> str:
    """The period of a timeline over ``[since, until)``: days for up to two months, weeks up to half a year,
    months up to five years, quarters beyond (the report's and the dashboard's default; ``--freq`` overrides it).

    Examples
    --------
    >>> auto_freq("2026-07-03", "2026-07-31"), auto_freq("2026-01-01", "2026-07-01"), auto_freq("2024-01", "2026-07")
    ('D', 'W', 'MS')
    """
    span = pd.Timestamp(until) - pd.Timestamp(since)
    if span <= pd.Timedelta(days=62):
        return "D"
    if span <= pd.Timedelta(days=184):
        return "W"
    if span <= pd.Timedelta(days=5 * 366):
        return "MS"
    return "QS"


def plot_timeline(
    messages: pd.DataFrame,
    *,
    freq: str = "W",
    by: str | None = None,
    tz: str = "UTC",
    top: int = 8,
    lead_in: str | None = None,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Messages per period as lines (one per group with ``by``, top ``top`` groups of the period and "other").

    ``lead_in`` (a length such as ``"28D"``, with ``since``) also draws that much time before ``since`` for
    context, shaded and labelled "before the period", its lines paler (off by default).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> ax = plot_timeline(load_messages("demo", ["general"], progress=False), freq="W")
    >>> ax.get_ylabel()
    'messages per week'
    """
    since, start = _lead_in_start(kwargs.get("since"), lead_in)
    table = activity_timeline(messages, freq=freq, by=by, tz=tz, **{**kwargs, "since": start})
    before = _rows_before(table, since if lead_in is not None else None)
    if by is not None and before.any() and table.shape[1] > top:
        # The groups busiest in the period itself, not in the lead-in.
        order = table[~before].sum().sort_values(ascending=False, kind="stable").index
        kept = table[order[:top]].copy()
        kept["other"] = table[order[top:]].sum(axis=1)
        table = kept
    elif by is not None:
        table = top_n(table, top)
    ax = _axes(ax)
    if not table[~before].to_numpy().sum():
        ax.set_title(literal_label("Activity" + (f" by {by}" if by else "")))
        return _nothing_to_draw(ax, "timeline")
    partial = _partial_periods(messages, table, freq, tz, start, kwargs.get("until"))
    # Complete periods as solid lines; a period the data covers only in part (usually the first and the last)
    # dashed with a hollow marker, so a half-observed week never reads as a drop.
    near = (
        partial
        | np.roll(partial, 1) & (np.arange(len(partial)) > 0)
        | np.roll(partial, -1) & (np.arange(len(partial)) < len(partial) - 1)
    )
    labels = _group_labels(messages, by, table.columns)
    if before.any():
        _shade_lead_in(ax, table.index[0], since)
    for column in table.columns:
        y = table[column].to_numpy(dtype=float)
        (line,) = ax.plot(table.index, np.where(partial | before, np.nan, y), label=labels[column])
        if before.any():
            _pale_line(ax, table.index, y, before, line.get_color())
        if partial.any():
            ax.plot(table.index, np.where(near, y, np.nan), linestyle="--", color=line.get_color())
            ax.plot(
                table.index[partial],
                y[partial],
                linestyle="none",
                marker="o",
                markerfacecolor="none",
                color=line.get_color(),
            )
    ax.set_xlabel(literal_label(f"period start ({tz})"))
    ax.set_ylabel(literal_label(f"messages per {_PERIOD_NAMES.get(freq, freq)}"))
    title = "Activity" + (f" by {by}" if by else "")
    ax.set_title(literal_label(title + (" (dashed: partly covered periods)" if partial.any() else "")))
    if by is not None:
        ax.legend(loc="upper left", ncols=2, prop={"family": font_chain(), "size": "small"})
    return ax


def _lead_in_start(since: Any, lead_in: str | None) -> tuple[Any, Any]:
    """``since`` as given, and where the drawing starts: ``lead_in`` before it (``since`` itself without one)."""
    if lead_in is None:
        return since, since
    if since is None:
        raise ValueError("lead_in needs since: the lead-in is the time before the period's start")
    try:
        length = pd.Timedelta(lead_in)
    except (TypeError, ValueError):
        raise ValueError(f"lead_in: expected a length such as 28D or 12W, got {lead_in!r}") from None
    if pd.isna(length) or length <= pd.Timedelta(0):
        raise ValueError(f"lead_in: must be a positive length, got {lead_in!r}")
    since = pd.Timestamp(since)
    since = since.tz_localize("UTC") if since.tzinfo is None else since
    return since, since - length


def _rows_before(table: pd.DataFrame, since: Any) -> np.ndarray:
    """Which rows of a table indexed by period start begin before ``since`` (the lead-in's rows); none without a
    lead-in (``since`` None): a calendar period that starts before ``since`` and holds its first days is a partly
    covered period, not context."""
    if since is None or not len(table):
        return np.zeros(len(table), dtype=bool)
    since = pd.Timestamp(since)
    since = since.tz_localize("UTC") if since.tzinfo is None else since
    return np.asarray(table.index < since, dtype=bool)


#: The gid of everything drawn for the lead-in (shading, its label, its pale lines): tests and styles find them.
LEAD_IN_GID = "chatlens-lead-in"


def _shade_lead_in(ax: Axes, start: Any, since: Any) -> None:
    ax.axvspan(start, since, color="#e9e9ef", zorder=0, gid=LEAD_IN_GID)
    ax.text(
        since, 0.98, "before the period ", transform=ax.get_xaxis_transform(), ha="right", va="top",
        fontsize="small", color="#5a6070", gid=LEAD_IN_GID,
    )  # fmt: skip


def _pale_line(ax: Axes, x: Any, y: np.ndarray, before: np.ndarray, colour: Any) -> None:
    """The lead-in part of a line, paler, joined to the period's first point."""
    joined = before | np.roll(before, 1) & (np.arange(len(before)) > 0)
    ax.plot(x, np.where(joined, y, np.nan), color=colour, alpha=0.35, linewidth=1, gid=LEAD_IN_GID)


_GROUP_IDS = {"conversation": ("conversation_name", "conversation_id"), "member": ("sender_name", "sender_id")}


def _group_labels(messages: pd.DataFrame, by: str | None, columns: pd.Index) -> dict[Any, str]:
    """Each timeline column's legend label: its name, or its id where no installed font draws the name."""
    labels = {c: literal_label(c) for c in columns}
    undrawable = [c for c in columns if not drawable(str(c))]
    name, key = _GROUP_IDS.get(by or "", (None, None))
    if undrawable and name in messages.columns and key in messages.columns:
        # Only the names that need it are looked up (a few columns, not every message).
        pairs = messages.loc[messages[name].astype(str).isin([str(c) for c in undrawable]).to_numpy(), [name, key]]
        ids = pairs.drop_duplicates(name).astype(str).set_index(name)[key]
        labels.update({c: literal_label(ids.get(str(c), c)) for c in undrawable})
    return labels


def _partial_periods(
    messages: pd.DataFrame, table: pd.DataFrame, freq: str, tz: str, since: Any, until: Any
) -> np.ndarray:
    """Which rows of a timeline cover a period the data only partly observes (``[since, until)``, or from the
    first message to just after the last)."""
    if not len(table) or not len(messages):
        return np.zeros(len(table), dtype=bool)
    start = since if since is not None else messages["created"].min()
    end = until if until is not None else messages["created"].max() + pd.Timedelta(microseconds=1)
    try:
        return mark_partial(table, freq, start, end, tz=tz)["partial"].to_numpy(dtype=bool)
    except ValueError:  # a frequency mark_partial cannot cut (e.g. "2W"): nothing marked
        return np.zeros(len(table), dtype=bool)


def plot_active_members(
    messages: pd.DataFrame, *, tz: str = "UTC", lead_in: str | None = None, ax: Axes | None = None, **kwargs: Any
) -> Axes:
    """Members posting in the trailing 1, 7 and 28 days, per day.

    ``lead_in`` (with ``since``) also draws that much time before ``since``, shaded and labelled "before the
    period", as :func:`plot_timeline` does.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> ax = plot_active_members(load_messages("demo", ["general"], progress=False))
    >>> [line.get_label() for line in ax.lines]
    ['1 day', '7 days', '28 days']
    """
    since, start = _lead_in_start(kwargs.get("since"), lead_in)
    table = dau_wau_mau(messages, tz=tz, **{**kwargs, "since": start})
    before = _rows_before(table, since if lead_in is not None else None)
    ax = _axes(ax)
    if not len(table) or not table["mau"][~before].to_numpy().sum():
        ax.set_title("Members posting")
        return _nothing_to_draw(ax, "active")
    if before.any():
        _shade_lead_in(ax, table.index[0], since)
    for column, label in (("dau", "1 day"), ("wau", "7 days"), ("mau", "28 days")):
        y = table[column].to_numpy(dtype=float)
        (line,) = ax.plot(table.index, np.where(before, np.nan, y), label=label)
        if before.any():
            _pale_line(ax, table.index, y, before, line.get_color())
    ax.set_xlabel(literal_label(f"day ({tz})"))
    ax.set_ylabel("members posting (trailing window)")
    ax.set_title("Members posting")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_rhythm(messages: pd.DataFrame, *, tz: str = "UTC", ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Heatmap of messages by weekday and hour in ``tz`` (``"member"``: each sender's own zone, see
    :func:`chatlens.analysis.hour_weekday_table`).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> ax = plot_rhythm(load_messages("demo", ["general"], progress=False), tz="Europe/Berlin")
    >>> ax.images[0].get_array().shape
    (7, 24)
    """
    table = hour_weekday_table(messages, tz=tz, **kwargs)
    ax = _axes(ax, (10, 3.5))
    if not table.to_numpy().sum():
        ax.set_title("Weekly rhythm")
        return _nothing_to_draw(ax, "rhythm")
    image = ax.imshow(table.to_numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(7), table.index)
    ax.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)])
    ax.set_xlabel(literal_label("hour of day (each sender's own zone)" if tz == "member" else f"hour of day ({tz})"))
    ax.set_ylabel("weekday")
    ax.set_title("Weekly rhythm")
    ax.figure.colorbar(image, ax=ax, label="messages")
    return ax


def plot_thread_depth(messages: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bar chart: how many messages sit at each depth of their reply chain (0 = root).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> ax = plot_thread_depth(load_messages("demo", ["general"], progress=False))
    >>> ax.get_xlabel()
    'depth (parent links to the root)'
    """
    counts = thread_depth(messages, warn=False)["depth"].value_counts().sort_index()
    ax = _axes(ax, (6, 4))
    if not len(counts):
        ax.set_title("Thread depth")
        return _nothing_to_draw(ax, "thread_depth")
    ax.bar(counts.index.to_numpy(), counts.to_numpy())
    ax.set_yscale("log")
    ax.set_xlabel("depth (parent links to the root)")
    ax.set_ylabel("messages (log scale)")
    ax.set_title("Thread depth")
    return ax


def plot_reply_times(messages: pd.DataFrame, *, bins: int = 40, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Histogram of reply times (to other people's messages), in hours on a log axis, median marked.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> ax = plot_reply_times(load_messages("demo", ["general"], progress=False))
    >>> ax.get_xscale()
    'log'
    """
    times = reply_times(messages, **kwargs)
    hours = times.loc[~times["self_reply"], "reply_time"].dt.total_seconds().to_numpy() / 3600
    hours = hours[hours > 0]
    ax = _axes(ax, (7, 4))
    ax.set_title("Reply times")
    if not len(hours):
        return _nothing_to_draw(ax, "reply_times")
    edges = np.logspace(np.log10(hours.min()), np.log10(hours.max()), bins + 1)
    edges[0], edges[-1] = hours.min(), hours.max()  # rounding in logspace would drop the extreme values
    ax.hist(hours, bins=edges)
    median = float(np.median(hours))
    ax.axvline(median, color="black", linestyle="--", label=f"median {duration_words(pd.Timedelta(hours=median))}")
    ax.legend(loc="upper right", fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel("time to reply (hours, log scale)")
    ax.set_ylabel("replies")
    return ax


#: How each kind of interaction is drawn in the network (colour, line style) and named in its legend.
_EDGE_STYLES = {
    "reply": ("#1f5fa8", "solid", "replies"),
    "mention": ("#d9822b", "dashed", "mentions"),
    "coparticipation": ("#5c9e5c", "dotted", "in the same thread"),
}


def plot_time_to_first_reply(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    bins: int = 40,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of the time to first reply of each thread someone other than its author answered, in hours on a
    log axis, the median marked: the median is :func:`chatlens.analysis.median_time_to_first_reply` of the same
    frame and period (the report's key figure), so the picture and the number beside it agree.

    Threads answered within a second are drawn at one second (a log axis has no zero); they are counted.

    Examples
    --------
    >>> from chatlens.analysis import median_time_to_first_reply
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> ax = plot_time_to_first_reply(m)
    >>> ax.lines[0].get_xdata()[0] == median_time_to_first_reply(m).total_seconds() / 3600
    True
    """
    from .analysis import median_time_to_first_reply, time_to_first_reply

    options = dict(since=since, until=until, include_bots=include_bots, include_system=include_system)
    times = time_to_first_reply(messages, **options)["time_to_first_reply"]
    hours = times.dropna().dt.total_seconds().to_numpy() / 3600
    ax = _axes(ax, (7, 4))
    ax.set_title("Time to first reply")
    if not len(hours):
        return _nothing_to_draw(ax, "first_reply")
    second = 1 / 3600
    shown = np.maximum(hours, second)
    low, high = shown.min(), max(shown.max(), shown.min() * 1.01)
    edges = np.logspace(np.log10(low), np.log10(high), bins + 1)
    edges[0], edges[-1] = low, high  # rounding in logspace would drop the extreme values
    ax.hist(shown, bins=edges)
    median = median_time_to_first_reply(messages, **options).total_seconds() / 3600
    # Written as the report's card writes it (a duration in words), so both read the same.
    label = f"median {duration_words(pd.Timedelta(hours=median))}"
    ax.axvline(max(median, second), color="black", linestyle="--", label=label)
    ax.legend(loc="upper right", fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel("time to first reply (hours, log scale)")
    ax.set_ylabel("threads")
    return ax


def plot_interaction_graph(
    data: pd.DataFrame | nx.DiGraph,
    *,
    top: int = 30,
    labels: int = 15,
    links: int | None = None,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """The interaction network: the ``top`` members by degree (how many people they reply to, mention or hear
    from), a "+K others" note for the rest; node size by messages; one line style per kind of interaction (the
    legend names them), line width by how often, the ``links`` strongest links among them (default three per
    member drawn; the note says how many of how many); the ``labels`` most central members named, labels beside
    their node and moved apart so none overlaps another. Takes messages or a graph from ``interaction_graph``.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> ax = plot_interaction_graph(load_messages("demo", ["general"], progress=False), top=10)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['replies', 'mentions']
    """
    import networkx as nx
    from matplotlib.lines import Line2D

    graph = data if isinstance(data, nx.Graph) else interaction_graph(data)
    degree = dict(graph.degree())
    strength = dict(graph.degree(weight="weight"))
    # Members who neither replied to, mentioned nor heard from anyone have no place in a picture of who answers
    # whom: they are among the "others", not a ring of lone dots.
    keep = sorted((m for m in graph.nodes if degree[m]), key=lambda m: (-degree[m], -strength[m], str(m)))[:top]
    sub = graph.subgraph(keep)
    others = graph.number_of_nodes() - len(keep)
    ax = _axes(ax, (9, 8))
    ax.set_axis_off()
    ax.set_title(f"Who replies to and mentions whom (top {len(keep)} members by interactions)")
    if sub.number_of_edges() == 0:
        return _nothing_to_draw(ax, "network")
    pos = _network_layout(nx, sub, seed)
    every = sorted(sub.edges(data=True), key=lambda e: (-e[2].get("weight", 1), str(e[0]), str(e[1])))
    edges = every[: 3 * len(keep) if links is None else links]
    most = max(d.get("weight", 1) for _, _, d in edges)
    kinds = [k for k in _EDGE_STYLES if any(d.get(k, 0) for _, _, d in edges)]
    handles = []
    for kind in kinds:
        colour, style, name = _EDGE_STYLES[kind]
        these = [(u, v, d[kind]) for u, v, d in edges if d.get(kind, 0)]
        width = [0.4 + 4 * w / most for _, _, w in these]
        nx.draw_networkx_edges(
            sub, pos, edgelist=[(u, v) for u, v, _ in these], width=width, edge_color=colour, style=style,
            alpha=0.55, arrows=False, ax=ax,
        )  # fmt: skip
        handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=2, label=name))
    size = np.array([sub.nodes[m].get("messages", 0) for m in sub.nodes], dtype=float)
    nx.draw_networkx_nodes(
        sub, pos, ax=ax, node_size=30 + 600 * size / max(size.max(), 1), node_color="#6b7a99", alpha=0.85
    )
    ax.legend(handles=handles, title="line width: how often", loc="lower left", fontsize="small")
    note = [f"+{others} others not shown"] if others else []
    if len(edges) < len(every):
        note.append(f"the {len(edges)} strongest of {len(every)} links drawn")
    if note:
        ax.text(1, 0, "; ".join(note), transform=ax.transAxes, ha="right", va="bottom", color="#5a6070")
    ax.margins(0.12)
    rank = nx.pagerank(sub, weight="weight")
    named = sorted(rank, key=lambda m: (-rank[m], str(m)))[:labels]
    chain = font_chain()
    texts = [
        ax.annotate(
            name_label(sub.nodes[m].get("name", m), m), pos[m], xytext=(0, 7), textcoords="offset points",
            ha="center", va="bottom", fontsize=8, fontfamily=chain,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
        )
        for m in named
    ]  # fmt: skip
    _spread_labels(ax, texts)
    return ax


def _network_layout(nx: Any, sub: Any, seed: int) -> dict[Any, Any]:
    """Node positions: a spring layout (twice networkx's default spacing), then stress majorization from there
    (:func:`_stress_layout`), which spaces nodes by how many hops apart they are. A spring layout alone lets a few
    loosely tied members stretch the picture and squeeze the busy core into a knot of labels (seen on the
    haskell-jp archive). Hops, not weights: the weights count how often, not how far. Members with no path between
    them are put one hop further apart than the farthest connected pair."""
    pos = nx.spring_layout(sub, seed=seed, weight="weight", k=2 / np.sqrt(sub.number_of_nodes()), iterations=100)
    if sub.number_of_nodes() < 3:
        return pos
    nodes = list(sub)
    hops = dict(nx.shortest_path_length(sub.to_undirected(as_view=True)))
    far = max(max(d.values()) for d in hops.values()) + 1
    dist = np.array([[hops[u].get(v, far) for v in nodes] for u in nodes], dtype=float)
    start = np.array([pos[n] for n in nodes], dtype=float)
    return dict(zip(nodes, _stress_layout(dist, start)))


def _stress_layout(dist: np.ndarray, start: np.ndarray, iterations: int = 300) -> np.ndarray:
    """Positions whose distances best match ``dist`` (weighted stress, weights 1/d², as Kamada-Kawai's energy),
    by stress majorization from ``start`` (Gansner, Koren and North, "Graph drawing by stress majorization",
    2004): each step solves the weighted Laplacian against the current layout, so stress never rises. A few
    milliseconds for the network's 40 members, and no scipy.optimize to import (0.3 s in a fresh process)."""
    n = len(dist)
    with np.errstate(divide="ignore"):
        weight = np.where(dist > 0, dist**-2.0, 0.0)
    laplacian = np.diag(weight.sum(axis=1)) - weight
    inverse = np.linalg.pinv(laplacian)
    # Start at the scale of the distances, so the first steps move shapes, not sizes.
    x = start - start.mean(axis=0)
    span = np.sqrt((x**2).sum(axis=1)).max() or 1.0
    x = x * (dist.max() / 2 / span)
    last = np.inf
    for _ in range(iterations):
        apart = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1))
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(apart > 0, -weight * dist / apart, 0.0)
        b[np.arange(n), np.arange(n)] = -b.sum(axis=1)
        x = inverse @ (b @ x)
        stress = float((weight * (apart - dist) ** 2).sum())
        if last - stress < 1e-6 * last:
            break
        last = stress
    return x


def _spread_labels(ax: Axes, texts: list[Any]) -> None:
    """Move labels up, one at a time from the lowest, until none overlaps one placed before it (greedy; labels
    start just above their node)."""
    if len(texts) < 2:
        return
    fig = ax.figure
    fig.draw_without_rendering()  # settle the layout first: extents are measured in display units
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = []
    for text in sorted(texts, key=lambda t: (t.xy[1], t.xy[0])):
        for _ in range(60):
            box = text.get_window_extent(renderer)
            clash = next((p for p in placed if box.overlaps(p)), None)
            if clash is None:
                break
            dx, dy = text.get_position()
            # Just above the box it overlaps, in points (the offset's unit): 72 points per inch.
            text.set_position((dx, dy + (clash.y1 - box.y0 + 1) * 72 / fig.dpi))
        placed.append(text.get_window_extent(renderer))
