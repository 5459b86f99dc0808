"""Members posting: per period, trailing windows (DAU/WAU/MAU), new versus returning, and cohort retention.

Everything here counts *posting* members (people who sent at least one message counted by the analysis): message
data cannot see readers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import day_numbers, factorize_text, fill_periods, local_times, member_codes, select_columns, to_utc
from ._distributed import distributed
from ._docs import shared_docs

__all__ = ["active_members", "dau_wau_mau", "new_vs_returning", "cohort_retention"]


@distributed
@shared_docs
def active_members(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Series:
    """Distinct members posting per calendar period (zeros for empty periods).

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(since_until)s
    %(include)s

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("abc"), "sender_id": ["u", "u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-03"], utc=True)})
    >>> active_members(m).tolist()
    [1, 0, 1]
    """
    picked = select_columns(
        messages,
        ("created", "sender_id"),
        include_bots=include_bots,
        include_system=include_system,
        since=since,
        until=until,
    )
    if picked.empty:
        return pd.Series([], index=pd.DatetimeIndex([], tz=tz, name="period"), dtype="int64", name="members")
    frame = pd.DataFrame({"period": local_times(picked, tz), "member": member_codes(picked["sender_id"])})
    counts = frame.groupby(pd.Grouper(key="period", freq=freq))["member"].nunique()
    return fill_periods(counts, freq).astype("int64").rename("members")


def _member_days(picked: pd.DataFrame, tz: str, until: Any = None) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """(every local day from first to last, member codes, day positions) of each distinct (member, day), sorted
    by member then day; members without an id are left out. With ``until``, the calendar runs to the local day
    before it, quiet days after the last message included."""
    days = day_numbers(picked["created"], tz)
    first, last = int(np.argmin(days)), int(np.argmax(days))
    ends = local_times(picked.iloc[[first, last]], tz).dt.normalize()
    end = ends.iloc[1]
    if until is not None:
        final = (to_utc(until, "until") - pd.Timedelta(microseconds=1)).tz_convert(tz).normalize()
        end = max(end, final)
    calendar = pd.date_range(ends.iloc[0], end, freq="D", tz=tz, name="day")
    codes, _ = factorize_text(picked["sender_id"])
    span = int(days[last] - days[first]) + 1
    keys = pd.unique((codes * span + (days - days[first]))[codes >= 0])
    keys.sort()
    members, offsets = keys // span, keys % span
    # Local midnights can be 23 or 25 hours apart across DST: position by calendar date, not by elapsed time.
    # (Looked up once per distinct date.)
    dates, which = np.unique(offsets, return_inverse=True)
    midnights = pd.DatetimeIndex((dates + days[first]).astype("datetime64[D]").astype("datetime64[us]"))
    at = calendar.get_indexer(midnights.tz_localize(tz, ambiguous=True, nonexistent="shift_forward"))
    pos = at[which]
    return calendar, members[pos >= 0], pos[pos >= 0]


@distributed
@shared_docs
def dau_wau_mau(
    messages: pd.DataFrame,
    *,
    tz: str = "UTC",
    windows: tuple[int, int, int] = (1, 7, 28),
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Members posting in the trailing 1, 7 and 28 days (the Slack admin dashboard's windows), per local day.

    Columns ``dau``, ``wau``, ``mau`` and ``stickiness`` (dau / mau). A day's windows end with that day; windows
    reaching before the first message count only what is loaded. The days run from the first counted message's to
    the last's, or with ``until`` to the day before it, so the quiet days that end a period are in it.

    Parameters
    ----------
    %(messages)s
    %(tz)s
    windows
        The trailing windows in days, named ``dau``, ``wau``, ``mau`` in that order.
    %(since_until)s
    %(include)s

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("abc"), "sender_id": ["u", "v", "u"],
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-09"], utc=True)})
    >>> t = dau_wau_mau(m)
    >>> t.loc["2026-01-08", ["dau", "wau", "mau"]].tolist()
    [0, 1, 2]
    """
    picked = select_columns(
        messages,
        ("created", "sender_id"),
        include_bots=include_bots,
        include_system=include_system,
        since=since,
        until=until,
    )
    columns = ["dau", "wau", "mau", "stickiness"]
    if picked.empty:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz=tz, name="day"))
    calendar, codes, pos = _member_days(picked, tz, until)
    n_days = len(calendar)
    # A member counts on day x of a w-day window when one of their days falls in x-w+1..x: each active day
    # covers itself and the w-1 days after it, up to the member's next active day (so overlaps count once).
    same_next = np.r_[codes[1:] == codes[:-1], False]
    next_day = np.where(same_next, np.r_[pos[1:], 0], n_days)
    out = {}
    for name, w in zip(("dau", "wau", "mau"), windows):
        end = np.minimum(np.minimum(pos + w, next_day), n_days)
        change = np.bincount(pos, minlength=n_days + 1) - np.bincount(end, minlength=n_days + 1)
        out[name] = np.cumsum(change)[:n_days].astype("int64")
    table = pd.DataFrame(out, index=calendar)
    table["stickiness"] = (table["dau"] / table["mau"].where(table["mau"] > 0)).astype("float64")
    return table


#: Start-anchored frequencies (the ones the timeline and the report use) -> the period frequency they name.
_PERIOD_OF = {"MS": "M", "QS": "Q", "YS": "Y", "AS": "Y"}


def _period_alias(freq: str) -> str:
    """A frequency as a period frequency: "MS" (month start, as the timelines take it) means the month, "M"."""
    head, _, anchor = str(freq).partition("-")
    period = _PERIOD_OF.get(head.lstrip("0123456789"))
    if period is None:
        return freq
    count = head[: len(head) - len(head.lstrip("0123456789"))]
    return f"{count}{period}" + (f"-{anchor}" if anchor else "")


def _member_periods(picked: pd.DataFrame, freq: str, tz: str) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """(member codes, period ordinals) of each distinct (member, local calendar period), members without an id
    left out, and the picked messages' periods (a PeriodArray: ordinals, never a Period object per message)."""
    local = local_times(picked, tz).dt.tz_localize(None)
    periods = local.dt.to_period(_period_alias(freq))
    ordinals = periods.array.asi8
    codes, _ = factorize_text(picked["sender_id"])
    low = int(ordinals.min())
    span = int(ordinals.max()) - low + 1
    keys = pd.unique((codes * span + (ordinals - low))[codes >= 0])
    return keys // span, keys % span + low, periods


def _period_index(ordinals: np.ndarray, like: pd.Series, name: str) -> pd.PeriodIndex:
    return pd.PeriodIndex.from_ordinals(ordinals, freq=like.dtype.freq, name=name)


@shared_docs
def new_vs_returning(
    messages: pd.DataFrame,
    *,
    freq: str = "M",
    tz: str = "UTC",
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Per period: members posting, of whom ``new`` (first post in the loaded data falls in this period) and
    ``returning`` (posted in an earlier period).

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(include)s

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("abc"), "sender_id": ["u", "u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-02-02"], utc=True)})
    >>> new_vs_returning(m).to_dict("list")
    {'members': [1, 2], 'new': [1, 1], 'returning': [0, 1]}
    """
    picked = select_columns(
        messages, ("created", "sender_id"), include_bots=include_bots, include_system=include_system
    )
    if picked.empty:
        return pd.DataFrame(columns=["members", "new", "returning"], dtype="int64")
    members, ordinals, periods = _member_periods(picked, freq, tz)
    first = np.full(int(members.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, members, ordinals)
    low = int(periods.array.asi8.min())  # picked is not empty
    span = int(periods.array.asi8.max()) - low + 1
    posting = np.bincount(ordinals - low, minlength=span)
    new = np.bincount((ordinals - low)[ordinals == first[members]], minlength=span)
    full = _period_index(np.arange(low, low + span), periods, "period")
    table = pd.DataFrame({"members": posting, "new": new, "returning": posting - new}, index=full)
    return table.astype("int64")


@shared_docs
def cohort_retention(
    messages: pd.DataFrame,
    *,
    freq: str = "M",
    tz: str = "UTC",
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Share of each cohort (members by period of first post) posting k periods later; column 0 is 1.0.

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(include)s

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("abcd"), "sender_id": ["u", "v", "u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-02-01", "2026-03-01"],
    ...                                             utc=True)})
    >>> cohort_retention(m).iloc[0].tolist()
    [1.0, 0.5, 0.5]
    """
    picked = select_columns(
        messages, ("created", "sender_id"), include_bots=include_bots, include_system=include_system
    )
    if picked.empty:
        return pd.DataFrame(dtype="float64")
    members, ordinals, periods = _member_periods(picked, freq, tz)
    cohort_of = np.full(int(members.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(cohort_of, members, ordinals)
    cohort = cohort_of[members]
    later = ordinals - cohort
    # Rows: the cohorts that exist; columns: the offsets that occur (as a groupby-unstack gives them).
    cohorts, row = np.unique(cohort, return_inverse=True)
    offsets, col = np.unique(later, return_inverse=True)
    counts = np.zeros((len(cohorts), len(offsets)), dtype=np.int64)
    np.add.at(counts, (row, col), 1)
    sizes = counts[:, 0]  # offset 0: every member posts in their own cohort's period
    table = pd.DataFrame(
        counts / sizes[:, None],
        index=_period_index(cohorts, periods, "cohort"),
        columns=pd.Index(offsets, dtype="int64", name="periods_later"),
    )
    # Periods after the last loaded one have not happened yet: leave them empty, not zero.
    horizon = int(ordinals.max()) - cohorts
    table = table.mask(offsets[None, :] > horizon[:, None])
    return table.astype("float64")
