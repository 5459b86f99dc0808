"""Engagement summaries: one table per member and one per conversation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._common import day_numbers, factorize_text, micros, select, str_array, text_of
from ._docs import shared_docs
from .threads import _thread_table, _whole, counted_mask, reply_rows, thread_table

__all__ = ["member_summary", "conversation_summary"]


@shared_docs
def member_summary(
    messages: pd.DataFrame,
    *,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Per member posting: ``name``, ``messages``, ``threads_started`` (roots that drew a reply),
    ``replies_given`` and ``replies_received`` (to and from other people), ``median_reply_time`` (of their
    replies to others), ``active_days`` (local days with a post), ``first_seen``, ``last_seen``; sorted by messages.

    Parameters
    ----------
    %(messages)s
    %(tz)s
    %(since_until)s
    %(include)s

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b"], "parent": [None, "a"], "sender_id": ["u", "v"],
    ...                   "sender_name": ["Ada", "Vic"],
    ...                   "created": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:10"], utc=True)})
    >>> member_summary(m).loc["u", ["replies_received", "threads_started"]].tolist()
    [1, 1]
    """
    options = dict(include_bots=include_bots, include_system=include_system)
    frame = _whole(messages)
    picked = np.flatnonzero(counted_mask(frame, since=since, until=until, **options))
    # Members are codes (by their id's text) numbered in order of first post, as a groupby without sorting
    # numbers them; every column is a bincount or ufunc.at over those codes.
    all_codes, labels = factorize_text(frame["sender_id"])
    codes = all_codes[picked]
    present = codes >= 0
    first_post = np.full(len(labels), len(frame), dtype=np.int64)
    np.minimum.at(first_post, codes[present], np.flatnonzero(present))
    order = np.argsort(first_post, kind="stable")[: int((first_post < len(frame)).sum())]
    member_of = np.full(len(labels) + 1, -1, dtype=np.int64)  # by id code; code -1 reads the last entry
    member_of[order] = np.arange(len(order))
    k = len(order)
    member = member_of[all_codes]  # per row of the frame
    rows, who = picked[present], member_of[codes[present]]
    index = pd.Index(labels[order], dtype="str")
    table = pd.DataFrame({"messages": np.bincount(who, minlength=k)}, index=index)
    if "sender_name" in frame:
        # The first name each member posted under (missing names skipped), as groupby's first() takes it.
        names = text_of(frame["sender_name"]).take(pa.array(rows))
        valid = names.is_valid().to_numpy(zero_copy_only=False)
        first_name = np.full(k, len(rows), dtype=np.int64)
        np.minimum.at(first_name, who[valid], np.flatnonzero(valid))
        got = first_name < len(rows)
        taken = names.take(pa.array(np.where(got, first_name, 0), mask=~got))
        table["name"] = pd.Series(str_array(taken), index=index)
    else:
        table["name"] = table.index.to_series()
    # Threads resolve on the whole frame (a reply keeps its root even if that falls before `since`), then are
    # picked by their start.
    threads, roots = _thread_table(frame, since=since, until=until, **options)
    drew = roots[(threads["replies"] > 0).to_numpy()]
    table["threads_started"] = _count(member[drew], k)
    replies, parents = reply_rows(frame, since=since, until=until, **options)  # parents may predate `since`
    # Self-replies compare the ids' text; a reply whose sender or parent's sender has no id is to someone else.
    a, b = all_codes[replies], all_codes[parents]
    others = ~((a >= 0) & (a == b))
    giver, receiver = member[replies[others]], member[parents[others]]
    table["replies_given"] = _count(giver, k)
    table["replies_received"] = _count(receiver, k)
    created = micros(frame["created"])
    waited = (created[replies] - created[parents])[others]
    table["median_reply_time"] = pd.Series(_median_times(giver, waited, k), index=index)
    days = day_numbers(frame["created"].iloc[rows], tz)
    if len(days):
        span = int(days.max() - days.min()) + 1
        pairs = pd.unique(who * span + (days - days.min()))  # distinct (member, local day)
        table["active_days"] = np.bincount(pairs // span, minlength=k).astype("int64")
    else:
        table["active_days"] = np.zeros(0, dtype="int64")
    when = frame["created"].array.take(rows)
    own = when.asi8  # in the column's own unit
    first_seen = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, who, own)
    last_seen = np.full(k, np.iinfo(np.int64).min)
    np.maximum.at(last_seen, who, own)
    table["first_seen"] = _times_like(first_seen, when, index)
    table["last_seen"] = _times_like(last_seen, when, index)
    table.index.name = "member"
    columns = [
        "name",
        "messages",
        "threads_started",
        "replies_given",
        "replies_received",
        "median_reply_time",
        "active_days",
        "first_seen",
        "last_seen",
    ]
    return table[columns].sort_values(["messages", "name"], ascending=[False, True], kind="stable")


def _count(codes: np.ndarray, k: int) -> np.ndarray:
    """How often each of 0..k-1 occurs in ``codes`` (-1, not a member of the table, is left out)."""
    return np.bincount(codes[codes >= 0], minlength=k).astype("int64")


def _median_times(codes: np.ndarray, us: np.ndarray, k: int) -> np.ndarray:
    """Per code 0..k-1, the median of its microsecond durations (NaT for none), as groupby's median() computes
    it: the mean of the two middle values in float64, truncated to whole microseconds."""
    keep = codes >= 0
    codes, us = codes[keep], us[keep]
    order = np.lexsort((us, codes))
    codes, us = codes[order], us[order]
    counts = np.bincount(codes, minlength=k)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    has = counts > 0
    lo = us[np.where(has, start + (counts - 1) // 2, 0)] if len(us) else np.zeros(k, dtype=np.int64)
    hi = us[np.where(has, start + counts // 2, 0)] if len(us) else np.zeros(k, dtype=np.int64)
    median = ((lo.astype(np.float64) + hi.astype(np.float64)) / 2).astype(np.int64).view("timedelta64[us]")
    return np.where(has, median, np.timedelta64("NaT", "us"))


def _times_like(values: np.ndarray, like: Any, index: pd.Index) -> pd.Series:
    """Integers in the unit of the datetime array ``like``, as a Series of its dtype (tz included)."""
    naive = values.view(f"datetime64[{like.unit}]")
    return pd.Series(naive, index=index).dt.tz_localize("UTC").dt.tz_convert(like.tz)


@shared_docs
def conversation_summary(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Per conversation: ``name``, ``messages``, ``members_posting``, ``threads`` (roots), ``reply_rate`` (share
    of roots answered by someone else), ``unanswered`` (roots nobody else answered) and
    ``median_time_to_first_reply``; sorted by messages.

    Parameters
    ----------
    %(messages)s
    %(since_until)s
    %(include)s

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "a", None], "sender_id": ["u", "v", "u"],
    ...                   "conversation_id": ["C", "C", "C"], "conversation_name": ["general"] * 3,
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True)})
    >>> row = conversation_summary(m).loc["C"]
    >>> int(row["threads"]), float(row["reply_rate"]), int(row["unanswered"])
    (2, 0.5, 1)
    """
    options = dict(include_bots=include_bots, include_system=include_system)
    picked = select(messages, since=since, until=until, **options)
    convs = picked["conversation_id"].astype(str).to_numpy()
    grouped = picked.groupby(convs, sort=False)
    table = pd.DataFrame({"messages": grouped.size()})
    table["name"] = (
        grouped["conversation_name"].first().astype(str) if "conversation_name" in picked else table.index.to_series()
    )
    table["members_posting"] = grouped["sender_id"].nunique()
    threads = thread_table(messages, since=since, until=until, **options).groupby("conversation_id")
    table["threads"] = threads.size().reindex(table.index, fill_value=0)
    answered = threads["unanswered"].agg(lambda s: int((~s).sum())).reindex(table.index, fill_value=0)
    table["unanswered"] = table["threads"] - answered
    table["reply_rate"] = (answered / table["threads"].where(table["threads"] > 0)).astype("float64")
    table["median_time_to_first_reply"] = threads["time_to_first_reply"].median().reindex(table.index)
    table.index.name = "conversation_id"
    columns = [
        "name",
        "messages",
        "members_posting",
        "threads",
        "reply_rate",
        "unanswered",
        "median_time_to_first_reply",
    ]
    return table[columns].sort_values(["messages", "name"], ascending=[False, True], kind="stable")
