"""Threads: every message's root and depth, one row per thread, and reply times.

Slack and Teams threads are one level deep, but a Chat API ``parent`` may point at any message, so chains of any
depth are followed (by pointer jumping, :mod:`chatlens._links`). A parent missing from the frame (deleted, or
outside the loaded range) makes its message a root; such messages are counted and reported with one
:class:`MissingParentWarning` per call, pointing at the caller's line. A cycle of parent links raises
:class:`~chatlens._links.ReplyCycleError` naming the messages.

Reply chains are always resolved on the whole frame, bots' messages and system events included; only then are
messages left out of the statistics. So a thread belongs to its root's sender: a thread a bot started (a deploy
notice) or a system event roots (a deleted message's tombstone) is a bot's or a system thread, not a row of
:func:`thread_table` unless ``include_bots=`` / ``include_system=`` count its root, and never one thread per human
reply. Its human replies are still replies: :func:`reply_times` lists them (``parent_sender_id`` is the bot) and
reply counts per member include them. In a person's thread, bots' replies and system events are left out of
every statistic (a bot's auto-reply does not answer a question).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._links import ReplyCycleError, chain_links, resolve_chains, take_ids
from .._stack import user_stacklevel
from ._common import micros, select, select_mask, str_array, text_of, to_utc
from ._distributed import distributed
from ._docs import shared_docs

__all__ = ["thread_depth", "thread_table", "reply_times", "ReplyCycleError", "MissingParentWarning"]


class MissingParentWarning(UserWarning):
    """Some messages name a parent that is not in the frame; they were treated as roots. ``count`` says how many,
    ``ids`` names the first five."""

    count: int = 0
    ids: tuple[str, ...] = ()

    @classmethod
    def saying(cls, count: int, ids: list[str]) -> MissingParentWarning:
        shown = ", ".join(repr(str(i)) for i in ids[:5])
        warning = cls(
            f"{count} message(s) reply to a message not in the frame and count as roots: "
            f"{shown}{' ...' if count > 5 else ''}"
        )
        warning.count, warning.ids = count, tuple(ids[:5])
        return warning

    @classmethod
    def merged(cls, said: list[MissingParentWarning]) -> MissingParentWarning:
        """One warning for several parts of a frame (Dask partitions hold whole conversations, so their missing
        parents add up to the whole frame's)."""
        return cls.saying(sum(w.count for w in said), [i for w in said for i in w.ids][:5])


def _chains(messages: pd.DataFrame, warn: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(root, depth, missing) of every row, remembered for Arrow-backed ids (:func:`chatlens._links.chain_links`);
    the arrays are read-only."""
    parents = messages.get("parent")
    links, root, depth = chain_links(messages["id"], parents)
    if root is None:  # repeated ids or a cycle: resolve_chains names them
        resolve_chains(messages["id"], parents if parents is not None else [None] * len(messages))
    missing = links.missing
    if warn and missing.any():
        named = links.ids.filter(pa.array(missing)).slice(0, 5).to_pylist()
        warnings.warn(MissingParentWarning.saying(int(missing.sum()), named), stacklevel=user_stacklevel())
    return root, depth, missing


def parent_positions(messages: pd.DataFrame) -> np.ndarray:
    """Per row, the position of the message its ``parent`` names (first copy of a repeated id), -1 where none:
    :func:`chatlens._links.positions_in` of parents in ids, remembered with the chains."""
    links, _root, _depth = chain_links(messages["id"], messages["parent"])
    return links.found


def _whole(messages: pd.DataFrame) -> pd.DataFrame:
    """``messages`` itself, after select()'s checks (a DataFrame with the columns every analysis needs)."""
    select(messages.iloc[:0] if isinstance(messages, pd.DataFrame) else messages)
    return messages


def counted_mask(
    messages: pd.DataFrame, *, include_bots: bool, include_system: bool, since: Any = None, until: Any = None
) -> np.ndarray:
    """Per row of ``messages`` (by position), whether the statistics count it: :func:`select`'s rule, as a mask
    over the whole frame the chains are resolved on."""
    return select_mask(
        _whole(messages), include_bots=include_bots, include_system=include_system, since=since, until=until
    )


def counted_roots(messages: pd.DataFrame, *, include_bots: bool, include_system: bool) -> np.ndarray:
    """Per row of ``messages`` (by position), the position of its thread's root, chains resolved on the whole
    frame; -1 where the root does not count (a bot's thread, a system event's) or the message itself does not.
    No warning: for analyses that group messages by thread (:func:`~chatlens.analysis.interaction_edges`)."""
    frame = _whole(messages)
    root, _depth, _missing = _chains(frame, warn=False)
    counted = counted_mask(frame, include_bots=include_bots, include_system=include_system)
    return np.where(counted & counted[root], root, -1)


@distributed
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


@distributed
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
    ``unanswered`` (no such reply). Chains are resolved on the whole frame, bots and system events included, before
    ``since``/``until`` pick threads by their start and ``include_bots``/``include_system`` pick what counts: a
    thread whose root is a bot's message or a system event is a row only when its root counts, and bots' and
    system messages inside a person's thread are not counted in any column (see :mod:`chatlens.analysis.threads`).

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

    A bot's deploy notice and two people answering it: one bot's thread, left out unless bots count (and not two
    threads of one message each).

    >>> m = m.assign(sender_id=["deploybot", "u", "v"], is_bot=[True, False, False])
    >>> len(thread_table(m)), thread_table(m, include_bots=True)[["replies", "participants"]].values.tolist()
    (0, [[2, 3]])
    """
    return _thread_table(messages, since=since, until=until, include_bots=include_bots, include_system=include_system)[
        0
    ]


def counted_root_count(
    messages: pd.DataFrame, *, since: Any, until: Any, include_bots: bool, include_system: bool
) -> int:
    """How many rows :func:`thread_table` has: counted roots started in ``[since, until)``, no table built."""
    frame = _whole(messages)
    _root, depth, _missing = _chains(frame, warn=True)
    roots = np.flatnonzero((depth == 0) & counted_mask(frame, include_bots=include_bots, include_system=include_system))
    return int(_in_range(frame["created"].array.take(roots), since, until).sum())


def answered_by_others(
    messages: pd.DataFrame, *, since: Any, until: Any, include_bots: bool, include_system: bool
) -> np.ndarray:
    """Per row of :func:`thread_table` (same period and switches), whether someone other than the root's author
    replied (``~unanswered``), in no particular order and without building the table."""
    frame = _whole(messages)
    root, depth, _missing = _chains(frame, warn=True)
    counted = counted_mask(frame, include_bots=include_bots, include_system=include_system)
    roots = np.flatnonzero((depth == 0) & counted)
    roots = roots[_in_range(frame["created"].array.take(roots), since, until)]
    ids = frame["sender_id"]  # told apart as thread_table tells them (a sender without an id differs from all)
    codes = ids.cat.codes.to_numpy() if isinstance(ids.dtype, pd.CategoricalDtype) else pd.factorize(ids)[0]
    others = counted & counted[root] & (depth > 0) & (codes != codes[root])
    answered = np.zeros(len(frame), dtype=bool)
    answered[root[others]] = True
    return answered[roots]


def answered_roots(
    messages: pd.DataFrame, *, since: Any, until: Any, include_bots: bool, include_system: bool
) -> np.ndarray:
    """Positions of the roots of :func:`thread_table`'s threads with ``replies > 0``, in frame order: counted roots
    started in ``[since, until)`` below which a counted message sits. Nothing else of the table is built."""
    frame = _whole(messages)
    root, depth, _missing = _chains(frame, warn=True)
    counted = counted_mask(frame, include_bots=include_bots, include_system=include_system)
    drew = np.zeros(len(frame), dtype=bool)
    drew[root[counted & (depth > 0)]] = True
    drew &= counted & (depth == 0)  # (a reply below a root that does not count drew no row's reply)
    roots = np.flatnonzero(drew)
    return roots[_in_range(frame["created"].array.take(roots), since, until)]


def _thread_table(
    messages: pd.DataFrame, *, since: Any, until: Any, include_bots: bool, include_system: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`thread_table` and, per row of it, the position of its root in ``messages``."""
    frame = _whole(messages)
    root, depth, _missing = _chains(frame, warn=True)
    counted = counted_mask(frame, include_bots=include_bots, include_system=include_system)
    # A thread is a row when its root counts; its counted messages make its statistics. Messages below a root
    # that does not count (people answering a bot) belong to no row, and never become threads of their own.
    roots = np.flatnonzero((depth == 0) & counted)
    # Threads are picked by their start and sorted by it (stable) first: only their messages are aggregated.
    root_times = frame["created"].array.take(roots)
    order = np.flatnonzero(_in_range(root_times, since, until))
    roots = roots[order[np.argsort(root_times.asi8[order], kind="stable")]]  # in the column's own unit
    k = len(roots)
    # Threads are keyed by integer position, never by id strings: every statistic is a bincount or ufunc.at.
    thread = np.full(len(frame), -1, dtype=np.int32 if len(frame) < 2**31 else np.int64)
    thread[roots] = np.arange(k)
    members = np.flatnonzero(counted & counted[root] & (thread[root] >= 0))
    t = thread[root[members]].astype(np.int64)
    del thread
    depth = depth[members]
    # Senders only need telling apart: a categorical's own codes do, without a factorisation.
    ids = frame["sender_id"]
    codes = ids.cat.codes.to_numpy() if isinstance(ids.dtype, pd.CategoricalDtype) else pd.factorize(ids)[0]
    sender = codes[members]
    root_sender = codes[root[members]]
    created_all = micros(frame["created"])
    created = created_all[members]
    size = np.bincount(t, minlength=k)
    deepest = np.zeros(k, dtype=np.int64)
    np.maximum.at(deepest, t, depth)
    last = np.full(k, np.iinfo(np.int64).min)
    np.maximum.at(last, t, created)
    # Participants: the root's sender, plus the distinct others who replied (hashed: only replies by others).
    others = (depth > 0) & (sender != root_sender)
    width = int(codes.max(initial=0)) + 2  # sender codes and -1 (no id) shifted to 0..
    pairs = pd.unique(t[others] * width + (sender[others].astype(np.int64) + 1))
    participants = 1 + np.bincount(pairs // width, minlength=k)
    first = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first, t[others], created[others])
    started = created_all[roots]
    del members, t, depth, sender, root_sender, created, created_all, others, pairs  # before the columns
    unanswered = first == np.iinfo(np.int64).max
    # Microseconds become times and durations by a view (NaT is int64's minimum), not a conversion per value.
    nat = np.iinfo(np.int64).min
    as_time = lambda us: pd.array(us.view("datetime64[us]")).tz_localize("UTC")  # noqa: E731
    table = pd.DataFrame(
        {
            # take() keeps each column's dtype (categoricals stay categorical) and never materialises all n values.
            "conversation_id": (
                frame["conversation_id"].array.take(roots)
                if "conversation_id" in frame
                else np.full(len(roots), "", dtype=object)
            ),
            "root_sender_id": frame["sender_id"].array.take(roots),
            "started": as_time(started),
            "last_activity": as_time(last),
            "size": size,
            "depth": deepest,
            "participants": participants,
            "first_reply_at": as_time(np.where(unanswered, nat, first)),
            "unanswered": unanswered,
        },
        index=pd.Index(take_ids(frame["id"], roots), name="thread_id"),
        copy=False,  # every column is new
    )
    return with_derived_columns(table), roots


#: :func:`thread_table`'s columns, in order.
THREAD_COLUMNS = (
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
)
#: Its columns that follow from others (:func:`with_derived_columns`): a Dask plan ships partial tables without
#: them, a quarter fewer bytes to the client, and adds them back there.
DERIVED_COLUMNS = ("duration", "replies", "time_to_first_reply")


def with_derived_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table``, :func:`thread_table`'s columns but ``DERIVED_COLUMNS``, with those added in their places: the one
    definition of each (a thread's ``duration`` from its start to its last activity, ``replies`` its messages but
    the root, ``time_to_first_reply`` from its start to its first reply by another, NaT while unanswered)."""
    started = table["started"].array
    # In the times' own unit as integers (NaT is int64's minimum): pandas' datetime subtraction checks and masks
    # NaT in every operand, three times slower on millions of threads.
    as_duration = lambda ticks: pd.array(ticks.view(f"timedelta64[{started.unit}]"))  # noqa: E731
    start, first, nat = started.asi8, table["first_reply_at"].array.asi8, np.iinfo(np.int64).min
    derived = {
        "duration": as_duration(table["last_activity"].array.asi8 - start),
        "replies": table["size"].to_numpy() - 1,
        "time_to_first_reply": as_duration(np.where(first == nat, nat, first - start)),  # NaT while unanswered
    }
    columns = {name: derived[name] if name in derived else table[name].array for name in THREAD_COLUMNS}
    return pd.DataFrame(columns, index=table.index, copy=False)


@distributed
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

    Parents are looked up in the whole frame: a person's reply to a bot's message or to a system event (a deleted
    message's tombstone) is a reply, with the bot as ``parent_sender_id``; ``include_bots``/``include_system``
    decide only which replies are listed. ``since``/``until`` pick replies by their own time, so a parent may
    predate ``since``.

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
    >>> reply_times(m.assign(is_bot=[True, False]))[["sender_id", "parent_sender_id"]].values.tolist()
    [['v', 'u']]
    """
    frame = _whole(messages)
    if "parent" not in frame:
        raise ValueError("messages lacks the parent column")
    rows, found = reply_rows(frame, since=since, until=until, include_bots=include_bots, include_system=include_system)
    sender = text_of(frame["sender_id"])
    created = micros(frame["created"])
    rows_arrow, found_arrow = pa.array(rows), pa.array(found)
    senders, parent_senders = sender.take(rows_arrow), sender.take(found_arrow)
    # Arrow takes all the way: no Python string (or Timestamp) per reply.
    return pd.DataFrame(
        {
            "id": str_array(text_of(frame["id"]).take(rows_arrow)),
            "parent": str_array(text_of(frame["parent"]).take(rows_arrow)),
            "sender_id": str_array(senders),
            "parent_sender_id": str_array(parent_senders),
            "created": frame["created"].array.take(rows),
            "reply_time": pd.to_timedelta(created[rows] - created[found], unit="us"),
            "self_reply": pc.equal(senders, parent_senders).fill_null(False).to_numpy(zero_copy_only=False),
        }
    )


def _in_range(times: Any, since: Any, until: Any) -> np.ndarray:
    """Whether each time is in ``[since, until)`` (either may be None), as select() compares them."""
    keep = np.ones(len(times), dtype=bool)
    if since is not None:
        keep &= np.asarray(times >= to_utc(since, "since"))
    if until is not None:
        keep &= np.asarray(times < to_utc(until, "until"))
    return keep


def reply_rows(
    frame: pd.DataFrame, *, since: Any, until: Any, include_bots: bool, include_system: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the replies :func:`reply_times` lists, positions of their parents), in frame order."""
    found = parent_positions(frame)
    rows = np.flatnonzero(counted_mask(frame, include_bots=include_bots, include_system=include_system) & (found >= 0))
    if since is not None or until is not None:
        # Replies are picked by their own time, as select() picks messages.
        rows = rows[_in_range(frame["created"].array.take(rows), since, until)]
    return rows, found[rows]
