"""Threads: every message's root and depth, one row per thread, and reply times.

Slack and Teams threads are one level deep, but a Chat API ``parent`` may point at any message, so chains of any
depth are followed (by pointer jumping, :mod:`chatlens._links`). A parent missing from the frame (deleted, or
outside the loaded range) makes its message a root; such messages are counted and reported with a warning. A cycle
of parent links raises :class:`~chatlens._links.ReplyCycleError` naming the messages.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._links import ReplyCycleError, resolve_chains
from ._common import select

__all__ = ["thread_depth", "thread_table", "reply_times", "ReplyCycleError", "MissingParentWarning"]


class MissingParentWarning(UserWarning):
    """Some messages name a parent that is not in the frame; they were treated as roots."""


def thread_depth(messages: pd.DataFrame, *, warn: bool = True) -> pd.DataFrame:
    """Per message: ``root`` (its thread's root id), ``depth`` (parent links up to the root; root = 0) and
    ``missing_parent``; indexed like ``messages``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "a", "b"]})
    >>> thread_depth(m)[["root", "depth"]].values.tolist()
    [['a', 0], ['a', 1], ['a', 2]]
    """
    ids = messages["id"].astype(str).to_numpy(dtype=object)
    parents = messages["parent"].to_numpy(dtype=object, na_value=None) if "parent" in messages else [None] * len(ids)
    root, depth, missing = resolve_chains(ids, parents)
    if warn and missing.any():
        shown = ", ".join(repr(i) for i in ids[missing][:5])
        warnings.warn(
            f"{int(missing.sum())} message(s) reply to a message not in the frame and count as roots: "
            f"{shown}{' ...' if missing.sum() > 5 else ''}",
            MissingParentWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {"root": ids[root], "depth": depth.astype("int64"), "missing_parent": missing}, index=messages.index
    )


def thread_table(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """One row per thread (a root and everything below it), indexed by ``thread_id``.

    Columns: ``conversation_id``, ``root_sender_id``, ``started``, ``last_activity``, ``duration``, ``size``
    (messages including the root), ``replies``, ``depth`` (deepest chain), ``participants`` (distinct senders),
    ``first_reply_at`` and ``time_to_first_reply`` (first reply from someone other than the root's author), and
    ``unanswered`` (no such reply). Chains are resolved on the whole frame before ``since``/``until`` pick
    threads by their start.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "a", "a"], "sender_id": ["u", "u", "v"],
    ...                   "conversation_id": "C", "created": pd.to_datetime(
    ...                       ["2026-01-01 10:00", "2026-01-01 10:05", "2026-01-01 11:00"], utc=True)})
    >>> t = thread_table(m)
    >>> int(t.loc["a", "size"]), int(t.loc["a", "participants"]), bool(t.loc["a", "unanswered"])
    (3, 2, False)
    >>> str(t.loc["a", "time_to_first_reply"])
    '0 days 01:00:00'
    """
    picked = select(messages, include_bots=include_bots, include_system=include_system)
    links = thread_depth(picked)
    frame = pd.DataFrame(
        {
            "thread_id": links["root"].to_numpy(),
            "depth": links["depth"].to_numpy(),
            "sender": picked["sender_id"].astype(str).to_numpy(),
            "created": picked["created"].to_numpy(),
            "conversation_id": (
                picked["conversation_id"].astype(str).to_numpy()
                if "conversation_id" in picked
                else np.full(len(picked), "", dtype=object)
            ),
            "is_root": (links["depth"] == 0).to_numpy(),
        }
    )
    roots = frame[frame["is_root"]].set_index("thread_id")
    grouped = frame.groupby("thread_id", sort=False)
    table = pd.DataFrame(
        {
            "conversation_id": roots["conversation_id"],
            "root_sender_id": roots["sender"],
            "started": roots["created"],
        }
    )
    table["last_activity"] = grouped["created"].max()
    table["size"] = grouped.size()
    table["replies"] = table["size"] - 1
    table["depth"] = grouped["depth"].max()
    table["participants"] = grouped["sender"].nunique()
    others = frame[
        ~frame["is_root"].to_numpy()
        & (frame["sender"].to_numpy() != table["root_sender_id"].reindex(frame["thread_id"]).to_numpy())
    ]
    table["first_reply_at"] = others.groupby("thread_id")["created"].min().reindex(table.index)
    table["duration"] = table["last_activity"] - table["started"]
    table["time_to_first_reply"] = table["first_reply_at"] - table["started"]
    table["unanswered"] = table["first_reply_at"].isna()
    table.index.name = "thread_id"
    if since is not None or until is not None:
        starts = select(
            table.reset_index().rename(
                columns={"started": "created", "thread_id": "id", "root_sender_id": "sender_id"}
            ),
            include_bots=True,
            include_system=True,
            since=since,
            until=until,
        )
        table = table.loc[starts["id"].to_numpy()]
    columns = [
        "conversation_id",
        "root_sender_id",
        "started",
        "last_activity",
        "duration",
        "size",
        "replies",
        "depth",
        "participants",
        "first_reply_at",
        "time_to_first_reply",
        "unanswered",
    ]
    return table[columns].sort_values("started", kind="stable")


def reply_times(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Per reply whose parent is in the frame: ``id``, ``parent``, ``sender_id``, ``parent_sender_id``,
    ``reply_time`` (time since the parent) and ``self_reply``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b"], "parent": [None, "a"], "sender_id": ["u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:30"], utc=True)})
    >>> str(reply_times(m)["reply_time"].iloc[0])
    '0 days 00:30:00'
    """
    picked = select(messages, include_bots=include_bots, include_system=include_system)
    if "parent" not in picked:
        raise ValueError("messages lacks the parent column")
    by_id = picked.set_index(picked["id"].astype(str))
    replies = picked[picked["parent"].notna().to_numpy()]
    parent_ids = replies["parent"].astype(str).to_numpy()
    found = pd.Index(by_id.index).get_indexer(parent_ids)
    ok = found >= 0
    replies, found = replies[ok], found[ok]
    out = pd.DataFrame(
        {
            "id": replies["id"].astype(str).to_numpy(),
            "parent": parent_ids[ok],
            "sender_id": replies["sender_id"].astype(str).to_numpy(),
            "parent_sender_id": by_id["sender_id"].astype(str).to_numpy()[found],
            "created": replies["created"].to_numpy(),
            "reply_time": replies["created"].to_numpy() - by_id["created"].to_numpy()[found],
        }
    )
    out["self_reply"] = out["sender_id"] == out["parent_sender_id"]
    if since is not None or until is not None:
        out = select(out, include_bots=True, include_system=True, since=since, until=until)
    return out.reset_index(drop=True)
