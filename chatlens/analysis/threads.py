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

from .._links import ReplyCycleError, resolve_chains, take_ids
from ._common import micros, select, to_utc
from ._docs import shared_docs

__all__ = ["thread_depth", "thread_table", "reply_times", "ReplyCycleError", "MissingParentWarning"]


class MissingParentWarning(UserWarning):
    """Some messages name a parent that is not in the frame; they were treated as roots."""


def _chains(messages: pd.DataFrame, warn: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parents = messages["parent"] if "parent" in messages else pd.Series([None] * len(messages), dtype="string")
    root, depth, missing = resolve_chains(messages["id"], parents)
    if warn and missing.any():
        shown = ", ".join(repr(str(i)) for i in messages["id"].to_numpy()[missing][:5])
        warnings.warn(
            f"{int(missing.sum())} message(s) reply to a message not in the frame and count as roots: "
            f"{shown}{' ...' if missing.sum() > 5 else ''}",
            MissingParentWarning,
            stacklevel=3,
        )
    return root, depth, missing


@shared_docs
def thread_depth(messages: pd.DataFrame, *, warn: bool = True) -> pd.DataFrame:
    """Per message: ``root`` (its thread's root id), ``depth`` (parent links up to the root; root = 0) and
    ``missing_parent``; indexed like ``messages``.

    Parameters
    ----------
    %(messages)s
    warn
        Warn (:class:`MissingParentWarning`) when a message's parent is not in the frame.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "a", "b"]})
    >>> thread_depth(m)[["root", "depth"]].values.tolist()
    [['a', 0], ['a', 1], ['a', 2]]
    """
    root, depth, missing = _chains(messages, warn)
    return pd.DataFrame(
        {"root": take_ids(messages["id"], root), "depth": depth.astype("int64"), "missing_parent": missing},
        index=messages.index,
    )


@shared_docs
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

    Parameters
    ----------
    %(messages)s
    %(thread_since_until)s
    %(include)s

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
    root, depth, _missing = _chains(picked, warn=True)
    n = len(picked)
    roots = np.flatnonzero(depth == 0)
    k = len(roots)
    # Threads are keyed by integer position, never by id strings: every statistic is a bincount or ufunc.at.
    thread = np.full(n, -1, dtype=np.int64)
    thread[roots] = np.arange(k)
    t = thread[root]
    sender, _ = pd.factorize(picked["sender_id"])
    created = micros(picked["created"])
    size = np.bincount(t, minlength=k)
    deepest = np.zeros(k, dtype=np.int64)
    np.maximum.at(deepest, t, depth)
    last = np.full(k, np.iinfo(np.int64).min)
    np.maximum.at(last, t, created)
    pairs = pd.unique(t * (int(sender.max(initial=0)) + 1) + sender)  # hash-based: no sort
    participants = np.bincount(pairs // (int(sender.max(initial=0)) + 1), minlength=k)
    others = (depth > 0) & (sender != sender[root])
    first = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first, t[others], created[others])
    unanswered = first == np.iinfo(np.int64).max
    started = created[roots]
    as_time = lambda us: pd.to_datetime(us, unit="us", utc=True)  # noqa: E731
    first_at = as_time(np.where(unanswered, 0, first)).where(~unanswered, pd.NaT)
    table = pd.DataFrame(
        {
            # take() keeps each column's dtype (categoricals stay categorical) and never materialises all n values.
            "conversation_id": (
                picked["conversation_id"].array.take(roots)
                if "conversation_id" in picked
                else np.full(k, "", dtype=object)
            ),
            "root_sender_id": picked["sender_id"].array.take(roots),
            "started": as_time(started),
            "last_activity": as_time(last),
            "duration": pd.to_timedelta(last - started, unit="us"),
            "size": size,
            "replies": size - 1,
            "depth": deepest,
            "participants": participants,
            "first_reply_at": first_at,
            "time_to_first_reply": first_at - as_time(started),
            "unanswered": unanswered,
        },
        index=pd.Index(take_ids(picked["id"], roots), name="thread_id"),
    )
    if since is not None:
        table = table[(table["started"] >= to_utc(since, "since")).to_numpy()]
    if until is not None:
        table = table[(table["started"] < to_utc(until, "until")).to_numpy()]
    return table.sort_values("started", kind="stable")


@shared_docs
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

    Parameters
    ----------
    %(messages)s
    %(since_until)s
    %(include)s

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
            "reply_time": pd.to_timedelta(micros(replies["created"]) - micros(by_id["created"])[found], unit="us"),
        }
    )
    out["self_reply"] = out["sender_id"] == out["parent_sender_id"]
    if since is not None or until is not None:
        out = select(out, include_bots=True, include_system=True, since=since, until=until)
    return out.reset_index(drop=True)
