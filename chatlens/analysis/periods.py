"""Calendar periods a result covers only in part, and the range of whole periods a frame spans."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from ._common import (
    check_tz,
    options,
    select_columns,
    to_utc,
)
from ._docs import shared_docs

__all__ = ["complete_range", "mark_partial"]


_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _period_freq(freq: str) -> str | None:
    """The pandas Period frequency of calendar periods ``freq`` (None for sub-daily fixed lengths)."""
    try:
        offset = to_offset(freq)
    except ValueError:
        raise ValueError(f"freq: {freq!r} is not a pandas frequency") from None
    if offset.n != 1:
        raise ValueError(f"freq: multiples ({freq!r}) are not supported; use a single period")
    if isinstance(offset, pd.offsets.Tick):
        return None
    if isinstance(offset, pd.offsets.Day):
        return "D"
    if isinstance(offset, pd.offsets.Week) and offset.weekday is not None:
        return offset.rule_code
    if isinstance(offset, pd.offsets.MonthEnd | pd.offsets.MonthBegin):
        return "M"
    if isinstance(offset, pd.offsets.QuarterEnd):
        return f"Q-{_MONTHS[offset.startingMonth - 1]}"
    if isinstance(offset, pd.offsets.QuarterBegin):
        return f"Q-{_MONTHS[(offset.startingMonth - 2) % 12]}"
    if isinstance(offset, pd.offsets.YearEnd):
        return f"Y-{_MONTHS[offset.month - 1]}"
    if isinstance(offset, pd.offsets.YearBegin):
        return f"Y-{_MONTHS[(offset.month - 2) % 12]}"
    raise ValueError(f"freq: {freq!r} is not supported (use h, min, D, W, MS/ME, QS/QE or YS/YE)")


def _localize(naive: pd.DatetimeIndex, tz: Any) -> pd.DatetimeIndex:
    return naive.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")


def _bounds(index: pd.Index, freq: str, tz: Any) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Start and (exclusive) end, as UTC times, of the calendar period each label of ``index`` stands for."""
    if isinstance(index, pd.PeriodIndex):
        periods, zone = index, tz or "UTC"
    else:
        index = pd.DatetimeIndex(index)
        zone = index.tz or tz or "UTC"
        target = _period_freq(freq)
        if target is None:  # fixed lengths: the label is the start
            starts = index if index.tz is not None else index.tz_localize(zone)
            return starts.tz_convert("UTC"), (starts + to_offset(freq)).tz_convert("UTC")
        naive = index.tz_localize(None) if index.tz is not None else index
        periods = naive.to_period(target)
    starts = _localize(periods.start_time.as_unit("us"), zone)
    ends = _localize((periods + 1).start_time.as_unit("us"), zone)
    return starts.tz_convert("UTC"), ends.tz_convert("UTC")


def mark_partial(
    table: pd.DataFrame | pd.Series, freq: str, start: Any, end: Any, *, tz: str | None = None
) -> pd.DataFrame:
    """``table`` (a timeline indexed by period) with a boolean ``partial`` column: whether the observed window
    ``[start, end)`` leaves out part of the period.

    Parameters
    ----------
    table
        Indexed by period labels as the timelines here give them (a DatetimeIndex from ``freq`` in some zone, or a
        PeriodIndex).
    freq
        The frequency the table was made with: ``h``/``min`` (fixed lengths), ``D``, ``W``/``W-XXX``, ``MS``/``ME``,
        ``QS``/``QE``, ``YS``/``YE``.
    start, end
        The window the data covers (e.g. the ``since`` and ``until`` it was loaded with).
    tz
        The zone of a naive or PeriodIndex; a tz-aware index uses its own.

    Returns
    -------
    DataFrame
        A copy of ``table`` (a Series becomes a one-column frame) with ``partial`` added.

    Notes
    -----
    partial(p) = period_start(p) < start or period_end(p) > end, with periods as calendar periods of ``freq`` on the
    wall clock of the index's zone.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> from chatlens.analysis import activity_timeline
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> t = mark_partial(activity_timeline(m, freq="MS"), "MS", "2026-01-05", "2026-08-01")
    >>> t["partial"].tolist()
    [True, False, False, False, False, False, False]
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    lo, hi = to_utc(start, "start"), to_utc(end, "end")
    starts, ends = _bounds(frame.index, freq, tz)
    frame["partial"] = np.asarray((starts < lo) | (ends > hi), dtype=bool)
    return frame


@shared_docs
def complete_range(
    messages: pd.DataFrame,
    freq: str = "D",
    *,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The span of the whole calendar periods the data covers: (start of the first, end of the last), in ``tz``.

    The observed window is ``[since, until)``; without them, from the first counted message to just after the last
    (so the first and last periods are nearly always partial: pass the range the data was loaded for).

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(since_until)s
    %(include)s

    Returns
    -------
    (Timestamp, Timestamp) or (None, None)
        The first complete period's start and the last complete period's (exclusive) end; ``(None, None)`` if no
        period is complete.

    Notes
    -----
    complete periods = {p : start <= period_start(p) and period_end(p) <= end}; range = (min period_start,
    max period_end) over them.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> [str(t.date()) for t in complete_range(m, "MS", since="2026-01-05", until="2026-08-01")]
    ['2026-02-01', '2026-08-01']
    """
    picked = select_columns(messages, ("created",), since=since, until=until, **options(include_bots, include_system))
    if picked.empty and (since is None or until is None):
        return None, None
    lo = to_utc(since, "since") if since is not None else picked["created"].min()
    hi = to_utc(until, "until") if until is not None else picked["created"].max() + pd.Timedelta(microseconds=1)
    check_tz(tz)
    target = _period_freq(freq)
    if target is None:
        step = pd.Timedelta(to_offset(freq))
        first = lo.tz_convert(tz).ceil(step)
        last = hi.tz_convert(tz).floor(step)
        return (first, last) if first < last else (None, None)
    lo_local, hi_local = lo.tz_convert(tz).tz_localize(None), hi.tz_convert(tz).tz_localize(None)
    periods = pd.period_range(lo_local.to_period(target), hi_local.to_period(target), freq=target)
    starts, ends = _bounds(periods, freq, tz)
    whole = (starts >= lo) & (ends <= hi)
    if not whole.any():
        return None, None
    return starts[whole].min().tz_convert(tz), ends[whole].max().tz_convert(tz)
