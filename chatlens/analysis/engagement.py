"""Engagement summaries: one table per member and one per conversation."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._common import local_times, select
from ._docs import shared_docs
from .threads import reply_times, thread_table

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
    picked = select(messages, since=since, until=until, **options)
    senders = picked["sender_id"].astype(str)
    grouped = picked.groupby(senders.to_numpy(), sort=False)
    table = pd.DataFrame({"messages": grouped.size()})
    table["name"] = grouped["sender_name"].first().astype(str) if "sender_name" in picked else table.index.to_series()
    # Threads resolve on the whole frame (a reply keeps its root even if that falls before `since`), then are
    # picked by their start.
    threads = thread_table(messages, since=since, until=until, **options)
    started = threads[threads["replies"] > 0].groupby("root_sender_id").size()
    table["threads_started"] = started.reindex(table.index, fill_value=0)
    replies = reply_times(messages, since=since, until=until, **options)  # parents may predate `since`
    replies = replies[~replies["self_reply"]]
    table["replies_given"] = replies.groupby("sender_id").size().reindex(table.index, fill_value=0)
    table["replies_received"] = replies.groupby("parent_sender_id").size().reindex(table.index, fill_value=0)
    table["median_reply_time"] = replies.groupby("sender_id")["reply_time"].median().reindex(table.index)
    days = local_times(picked, tz).dt.normalize()
    table["active_days"] = days.groupby(senders.to_numpy()).nunique().reindex(table.index)
    table["first_seen"] = grouped["created"].min()
    table["last_seen"] = grouped["created"].max()
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
