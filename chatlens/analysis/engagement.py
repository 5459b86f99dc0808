"""Engagement summaries: one table per member and one per conversation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._common import day_numbers, factorize_text, micros, str_array, text_of
from ._docs import shared_docs
from .threads import _thread_table, _whole, counted_mask, reply_rows

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
    member, index = _keys(frame["sender_id"], picked)
    all_codes, _labels = factorize_text(frame["sender_id"])
    k = len(index)
    who = member[picked]
    rows, who = picked[who >= 0], who[who >= 0]
    table = pd.DataFrame({"messages": np.bincount(who, minlength=k)}, index=index)
    if "sender_name" in frame:
        table["name"] = _first_text(frame["sender_name"], rows, who, index)
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


def _keys(values: pd.Series, picked: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Per row of the frame, the code of its value's text among those the ``picked`` rows hold, numbered in order
    of first appearance there (as a groupby without sorting numbers them), -1 for the others; and those texts."""
    all_codes, labels = factorize_text(values)
    codes = all_codes[picked]
    present = codes >= 0
    first = np.full(len(labels), len(picked), dtype=np.int64)
    np.minimum.at(first, codes[present], np.flatnonzero(present))
    order = np.argsort(first, kind="stable")[: int((first < len(picked)).sum())]
    renumber = np.full(len(labels) + 1, -1, dtype=np.int64)  # code -1 reads the last entry
    renumber[order] = np.arange(len(order))
    return renumber[all_codes], pd.Index(labels[order], dtype="str")


def _first_text(values: pd.Series, rows: np.ndarray, who: np.ndarray, index: pd.Index) -> pd.Series:
    """Per key, the text of ``values`` at the first of its ``rows`` where it is not missing (as groupby's first()
    takes it), NaN where none."""
    k = len(index)
    texts = text_of(values).take(pa.array(rows))
    valid = texts.is_valid().to_numpy(zero_copy_only=False)
    first = np.full(k, len(rows), dtype=np.int64)
    np.minimum.at(first, who[valid], np.flatnonzero(valid))
    got = first < len(rows)
    return pd.Series(str_array(texts.take(pa.array(np.where(got, first, 0), mask=~got))), index=index)


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
    frame = _whole(messages)
    picked = np.flatnonzero(counted_mask(frame, since=since, until=until, **options))
    conv, index = _keys(frame["conversation_id"], picked)
    k = len(index)
    where = conv[picked]
    rows, where = picked[where >= 0], where[where >= 0]
    table = pd.DataFrame({"messages": np.bincount(where, minlength=k)}, index=index)
    if "conversation_name" in frame:
        table["name"] = _first_text(frame["conversation_name"], rows, where, index)
    else:
        table["name"] = table.index.to_series()
    senders, _ = factorize_text(frame["sender_id"])
    sender = senders[rows]
    posting = pd.unique((where * (int(senders.max(initial=0)) + 1) + sender)[sender >= 0])
    table["members_posting"] = np.bincount(posting // (int(senders.max(initial=0)) + 1), minlength=k)
    threads, roots = _thread_table(frame, since=since, until=until, **options)
    of = conv[roots]
    answered = ~threads["unanswered"].to_numpy()
    table["threads"] = _count(of, k)
    answered_count = _count(of[answered], k)
    table["unanswered"] = table["threads"] - answered_count
    table["reply_rate"] = (answered_count / table["threads"].where(table["threads"] > 0)).astype("float64")
    waited = threads["time_to_first_reply"].to_numpy().view(np.int64)
    median = _median_times(of[answered], waited[answered], k)
    table["median_time_to_first_reply"] = pd.Series(median, index=index)
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
