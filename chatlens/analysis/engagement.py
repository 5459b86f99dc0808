"""Engagement summaries: one table per member and one per conversation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    count_codes,
    day_numbers,
    factorize_text,
    first_text,
    keys_in_order,
    median_durations,
    micros,
    times_like,
)
from ._distributed import distributed
from ._docs import shared_docs
from .threads import _thread_table, _whole, answered_roots, counted_mask, reply_rows

__all__ = ["member_summary", "conversation_summary"]


def _keyed_table(
    frame: pd.DataFrame, picked: np.ndarray, key: str, name: str
) -> tuple[np.ndarray, pd.Index, np.ndarray, np.ndarray, pd.DataFrame]:
    """The start of a per-member or per-conversation summary: every row's key code (in order of first counted
    message), the keys, the counted rows that have a key and their codes, and a table of ``messages`` and
    ``name`` (the first counted message's ``name``, else the key itself)."""
    codes, index = keys_in_order(frame[key], picked)
    of_picked = codes[picked]
    rows, which = picked[of_picked >= 0], of_picked[of_picked >= 0]
    table = pd.DataFrame({"messages": np.bincount(which, minlength=len(index))}, index=index)
    if name in frame:
        table["name"] = first_text(frame[name], rows, which, index)
    else:
        table["name"] = table.index.to_series()
    return codes, index, rows, which, table


@distributed
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
    """Per member posting: ``name``, ``messages``, ``threads_with_replies`` (their roots that drew a reply; the
    figure :func:`threads_started` counts every root), ``replies_given`` and ``replies_received`` (to and from other
    people), ``median_reply_time`` (of their replies to others), ``active_days`` (local days with a post),
    ``first_seen``, ``last_seen``; sorted by messages.

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
    >>> member_summary(m).loc["u", ["replies_received", "threads_with_replies"]].tolist()
    [1, 1]
    """
    options = dict(include_bots=include_bots, include_system=include_system)
    frame = _whole(messages)
    picked = np.flatnonzero(counted_mask(frame, since=since, until=until, **options))
    # Members are codes (by their id's text) numbered in order of first post, as a groupby without sorting
    # numbers them; every column is a bincount or ufunc.at over those codes.
    member, index, rows, who, table = _keyed_table(frame, picked, "sender_id", "sender_name")
    k = len(index)
    # Threads resolve on the whole frame (a reply keeps its root even if that falls before `since`), then are
    # picked by their start.
    drew = answered_roots(frame, since=since, until=until, **options)
    table["threads_with_replies"] = count_codes(member[drew], k)
    replies, parents = reply_rows(frame, since=since, until=until, **options)  # parents may predate `since`
    # Self-replies compare the ids' text; a reply whose sender or parent's sender has no id is to someone else.
    # (A parent's sender outside the table is -1 here; the replier is in it, so they differ, as their ids do.)
    a, b = member[replies], member[parents]
    others = ~((a >= 0) & (a == b))
    giver, receiver = member[replies[others]], member[parents[others]]
    table["replies_given"] = count_codes(giver, k)
    table["replies_received"] = count_codes(receiver, k)
    created = micros(frame["created"])
    waited = (created[replies] - created[parents])[others]
    table["median_reply_time"] = pd.Series(median_durations(giver, waited, k), index=index)
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
    table["first_seen"] = times_like(first_seen, when, index)
    table["last_seen"] = times_like(last_seen, when, index)
    table.index.name = "member"
    columns = [
        "name",
        "messages",
        "threads_with_replies",
        "replies_given",
        "replies_received",
        "median_reply_time",
        "active_days",
        "first_seen",
        "last_seen",
    ]
    return table[columns].sort_values(["messages", "name"], ascending=[False, True], kind="stable")


@distributed
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
    conv, index, rows, where, table = _keyed_table(frame, picked, "conversation_id", "conversation_name")
    k = len(index)
    senders, _ = factorize_text(frame["sender_id"])
    sender = senders[rows]
    posting = pd.unique((where * (int(senders.max(initial=0)) + 1) + sender)[sender >= 0])
    table["members_posting"] = np.bincount(posting // (int(senders.max(initial=0)) + 1), minlength=k)
    threads, roots = _thread_table(frame, since=since, until=until, **options)
    of = conv[roots]
    answered = ~threads["unanswered"].to_numpy()
    table["threads"] = count_codes(of, k)
    answered_count = count_codes(of[answered], k)
    table["unanswered"] = table["threads"] - answered_count
    table["reply_rate"] = (answered_count / table["threads"].where(table["threads"] > 0)).astype("float64")
    waited = threads["time_to_first_reply"].to_numpy().view(np.int64)
    median = median_durations(of[answered], waited[answered], k)
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
