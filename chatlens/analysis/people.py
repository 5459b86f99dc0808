"""Who posts: members posting per period, posts and replies, stickiness, messages per member, concentration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    factorize_text,
    fill_periods,
    local_times,
    member_codes,
    options,
    select_columns,
    to_utc,
)
from ._docs import shared_docs
from .activity import active_members, dau_wau_mau

__all__ = ["members_posting", "post_split", "stickiness", "messages_per_posting_member", "concentration"]


def _is_reply(picked: pd.DataFrame) -> np.ndarray:
    """Whether each message replies to another: ``parent`` set (null or "" is a root); ``is_reply`` without it."""
    if "parent" in picked:
        return (picked["parent"].fillna("").astype(str) != "").to_numpy(dtype=bool)
    if "is_reply" in picked:
        return picked["is_reply"].astype(bool).to_numpy()
    return np.zeros(len(picked), dtype=bool)


@shared_docs
def members_posting(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Series:
    """Members posting per calendar period (a wrapper of :func:`~chatlens.analysis.active_members`).

    Parameters
    ----------
    %(messages)s
    freq, tz
        Calendar periods (any pandas frequency) cut in the zone ``tz``.
    %(since_until)s
    %(include)s

    Returns
    -------
    Series
        Named ``"members posting"``, indexed by period start, zeros for empty periods.

    Notes
    -----
    members posting(p) = |{sender_id of m : m counted, created(m) in period p}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> s = members_posting(m, freq="MS")
    >>> s.name, len(s), bool((s > 0).all())
    ('members posting', 7, True)
    """
    counts = active_members(
        messages, freq=freq, tz=tz, since=since, until=until, **options(include_bots, include_system)
    )
    return counts.rename("members posting")


@shared_docs
def post_split(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Root messages ("posts" in Teams usage reports) and replies per calendar period.

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Columns ``roots``, ``replies`` and ``messages`` (their sum), indexed by period start, every period from the
        first to the last filled with zeros.

    Notes
    -----
    roots(p) = |{m in p : parent(m) is null}|; replies(p) = |{m in p : parent(m) is set}|; messages(p) = roots(p) +
    replies(p). A reply whose parent is not loaded still counts as a reply (the service says it is one).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> t = post_split(m, freq="MS")
    >>> t.columns.tolist(), bool((t["messages"] == t["roots"] + t["replies"]).all())
    (['roots', 'replies', 'messages'], True)
    """
    picked = select_columns(
        messages, ("created", "parent", "is_reply"), since=since, until=until, **options(include_bots, include_system)
    )
    columns = ["roots", "replies", "messages"]
    if picked.empty:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz=tz, name="period"), dtype="int64")
    reply = _is_reply(picked)
    frame = pd.DataFrame({"period": local_times(picked, tz), "roots": ~reply, "replies": reply})
    table = frame.groupby(pd.Grouper(key="period", freq=freq))[["roots", "replies"]].sum()
    table = fill_periods(table, freq).astype("int64")
    table["messages"] = table["roots"] + table["replies"]
    return table[columns]


@shared_docs
def stickiness(
    messages: pd.DataFrame,
    *,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    per_day: bool = False,
    include_bots: bool = False,
    include_system: bool = False,
) -> float | pd.Series:
    """Stickiness: members posting on a day over members posting in the trailing 28 days, averaged over days.

    Parameters
    ----------
    %(messages)s
    %(tz)s
    since, until
        The days averaged: local days whose midnight falls in ``[since, until)``. The 28-day windows of the first
        days reach back before ``since`` (every message before ``until`` counts for them).
    per_day
        Return the daily ratios instead of their mean.
    %(include)s

    Returns
    -------
    float or Series
        The mean over the days whose window holds a post (NaN if none), or the daily Series named
        ``"stickiness"`` (NaN on days with an empty window).

    Notes
    -----
    stickiness(d) = DAU(d) / MAU(d), with DAU(d) = members posting on local day d and MAU(d) = members posting on
    days d-27 .. d (as :func:`~chatlens.analysis.dau_wau_mau`); stickiness = mean of stickiness(d) over the days
    with MAU(d) > 0.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> value = stickiness(m, since="2026-03-01", until="2026-04-01")
    >>> 0 < value < 1, len(stickiness(m, since="2026-03-01", until="2026-04-01", per_day=True))
    (True, 31)
    """
    # A day's window holds its own day and the 27 before it: messages older than 29 days before ``since`` (a day
    # more each side for the zone's offset) are in no window of the days averaged, and need not be counted. The
    # calendar then starts at the first message counted; when that is after ``since`` (29 quiet days before the
    # period), the whole history's calendar is taken, so the period's empty-window days are rows (NaN) as always.
    start = None if since is None else to_utc(since, "since") - pd.Timedelta(days=29)
    table = dau_wau_mau(messages, tz=tz, since=start, until=until, **options(include_bots, include_system))
    if start is not None and (table.empty or table.index[0] > to_utc(since, "since")):
        table = dau_wau_mau(messages, tz=tz, until=until, **options(include_bots, include_system))
    daily = table["stickiness"].astype("float64").rename("stickiness")
    if since is not None:
        daily = daily[(daily.index >= to_utc(since, "since")).tolist()]
    if until is not None:
        daily = daily[(daily.index < to_utc(until, "until")).tolist()]
    if per_day:
        return daily
    return float(daily.mean()) if daily.notna().any() else float("nan")


@shared_docs
def messages_per_posting_member(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Series:
    """Messages per member posting, per calendar period.

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(since_until)s
    %(include)s

    Returns
    -------
    Series
        Named ``"messages per member posting"``, indexed by period start; NaN for periods nobody posted in.

    Notes
    -----
    messages per member posting(p) = |{m in p}| / |{sender_id of m : m in p}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> s = messages_per_posting_member(m, freq="MS")
    >>> bool((s >= 1).all())
    True
    """
    picked = select_columns(
        messages, ("created", "sender_id"), since=since, until=until, **options(include_bots, include_system)
    )
    name = "messages per member posting"
    if picked.empty:
        return pd.Series([], index=pd.DatetimeIndex([], tz=tz, name="period"), dtype="float64", name=name)
    frame = pd.DataFrame({"period": local_times(picked, tz), "member": member_codes(picked["sender_id"])})
    grouped = frame.groupby(pd.Grouper(key="period", freq=freq))["member"]
    table = fill_periods(pd.DataFrame({"messages": grouped.size(), "members": grouped.nunique()}), freq)
    return (table["messages"] / table["members"].where(table["members"] > 0)).astype("float64").rename(name)


@shared_docs
def concentration(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> dict[str, Any]:
    """How concentrated posting is: the fewest members who wrote half the messages, and the Gini coefficient.

    Parameters
    ----------
    %(messages)s
    %(since_until)s
    %(include)s

    Returns
    -------
    dict
        ``members`` (posting), ``messages``, ``members_for_half``, ``share_of_members_for_half`` and ``gini``
        (0 = everyone posts equally, towards 1 = one member posts everything; NaN without messages).

    Notes
    -----
    With x_1 >= x_2 >= ... >= x_n the messages per member posting and N = sum x_i: members for half = min{k :
    x_1 + ... + x_k >= N / 2}; gini = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)) = (2 sum_i i y_i) / (n N) - (n + 1)
    / n with y_1 <= ... <= y_n the same counts ascending.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> c = concentration(load_messages("demo", ["general"], progress=False))
    >>> c["members_for_half"] < c["members"], 0 < c["gini"] < 1
    (True, True)
    """
    picked = select_columns(messages, ("sender_id",), since=since, until=until, **options(include_bots, include_system))
    _codes, uniques = factorize_text(picked["sender_id"])
    counts = np.sort(np.bincount(_codes[_codes >= 0], minlength=len(uniques)))  # ascending
    n, total = len(counts), int(counts.sum())
    if n == 0:
        return {
            "members": 0,
            "messages": 0,
            "members_for_half": 0,
            "share_of_members_for_half": float("nan"),
            "gini": float("nan"),
        }
    top = np.cumsum(counts[::-1])
    half = int(np.argmax(2 * top >= total)) + 1
    gini = float(2 * np.sum(np.arange(1, n + 1) * counts) / (n * total) - (n + 1) / n)
    return {
        "members": n,
        "messages": total,
        "members_for_half": half,
        "share_of_members_for_half": half / n,
        "gini": gini,
    }
