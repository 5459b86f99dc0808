"""Thread-complete incremental refresh for the service connectors (Slack, Teams), whose listings give roots.

Paging a channel's history newest first and stopping at the first known message finds new *roots* only: a new
reply to a months-old thread is not in the history listing, and rescanning every thread to find such replies
costs hours under Slack's limits (one ``conversations.history`` or ``conversations.replies`` call a minute, 15
messages a page, for apps outside the Marketplace since 2025). This module refreshes a conversation with few
requests and says exactly what it rests on:

1. **new roots**: ``conversations.history`` with ``oldest`` at the newest root already known, and the replies of
   those that have any;
2. **recent roots**: the roots younger than ``window`` are listed again and their threads fetched again (new,
   edited and deleted replies all show); edited roots are replaced and roots gone from the listing are deleted.
   Older threads are fetched again only when their ``reply_count`` or ``latest_reply`` changed;
3. **old threads with new replies**: search (Slack's ``search.messages`` with a user token) names the threads
   with a message since the last refresh; their replies are fetched again. Where the token cannot search, threads
   older than the window are re-checked only by a rescan (``refresh="full"``), and their rows say so (below). (Graph
   needs no search: its channels are listed in full, its chats by what changed, below.)

Per thread the state keeps ``reply_count``, ``latest_reply`` and how many replies were fetched; a thread is
*complete* when ``replies_fetched == reply_count`` at a check the conversation's last refresh made, and *unknown*
when that refresh did not look at it. :func:`thread_table` exposes that per thread so metrics can say what they
rest on; it is never wrong about a thread it calls complete.

A :class:`Budget` caps the requests (or simulated minutes) a refresh may spend: conversations are refreshed most
recent and most active first, and when the budget runs out the rest keep their previous state, so the result is
partial, marked as such, and the next refresh resumes where this one stopped: with the conversation the budget
stopped in, whose pages listed, threads fetched and cursor were kept (:class:`PartialPass`, in
``RefreshResult.states``), so that one costing more than a whole budget completes over several refreshes.
:func:`plan_refresh` estimates the requests and minutes before anything is fetched.

A connector whose listing of a conversation gives what *changed* since a time (``lists_changes``: Graph's chats,
filtered by last modification) is asked for what changed since the last refresh: a message it does not list is
unchanged, and one it lists without ``raw`` was deleted. A record without ``raw`` from any listing stands for a
message the service lists as deleted (Graph keeps soft-deleted messages listed).

A connector declares ``thread_refresh`` (see :class:`chatlens.chatapi.ChatAPI`) and provides ``history_page`` and
``thread_replies``, which hand up :class:`chatlens.chatapi.ThreadRecord` (key, thread key, reply count, latest
reply, and the service's object, which only the connector reads), ``to_messages``, ``threads_active_since``,
``lists_changes``, ``rate_limits`` and a ``calls`` counter whose names its ``request_kinds`` maps to this module's
three kinds of request: ``history`` (listing roots), ``replies`` and ``search``; budgets, plans and results count
those kinds, whatever the service calls them. The Teams connector declares ``replies_inline``: Graph lists a
channel's posts with their replies, so any thread listed is refreshed with no extra request. A connector whose
listing has no order to stop at (Graph documents none for channel messages) lists every root whatever
``oldest_us`` says: roots older than asked tell this module so, and roots missing from such a listing are gone
whatever their age (except in a pass continued across refreshes: a root changed meanwhile may have moved to pages
already read). ``threads_by_reference`` lets search name roots by reference (``thread_key`` turns them into keys).
Threads are keyed by their root's creation time (:func:`chatlens._time.key_from_us`, Slack's ``ts`` format), which
the cached frames also carry, so a state can always be rebuilt.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from ._time import key_from_us, us_from_key
from .cache import _atomic_write
from .chatapi import ChatAPI, ThreadRecord
from .errors import InvalidRequest

__all__ = [
    "Budget",
    "BudgetExhausted",
    "PartialPass",
    "RefreshPlan",
    "RefreshResult",
    "refresh_all",
    "ThreadedHistory",
    "ThreadCheck",
    "ThreadState",
    "load_state",
    "parse_budget",
    "parse_window",
    "plan_refresh",
    "save_state",
    "refresh_conversation",
    "state_from_frame",
    "supports_thread_refresh",
    "thread_table",
]

DAY_US = 86_400_000_000
_TS = re.compile(r"\d+\.\d{6}")  # a thread key (Slack's ts), as opposed to a connector's reference
SEARCH_LAG_US = 3_600_000_000  # how far back each search looks before the last refresh (index delay)


class ThreadedHistory(Protocol):
    """What a connector offers for thread-complete refreshes (the Slack and Teams connectors implement it)."""

    calls: Any
    history_limit: int

    def history_page(
        self, conversation_id: str, *, oldest_us: int | None = None, cursor: str | None = None
    ) -> tuple[list[ThreadRecord], str | None]: ...

    def thread_replies(self, conversation_id: str, root_key: str) -> list[ThreadRecord]: ...

    def to_messages(self, records: list[ThreadRecord], conversation_id: str) -> list[dict[str, Any]]: ...

    def threads_active_since(self, since_us: int) -> dict[str, set[str]] | None: ...

    # Whether ``history_page(oldest_us=T)`` lists every message of the conversation created *or changed* since T
    # (Graph's chats, filtered by last modification), rather than the roots created since T: absence then means
    # unchanged, never deleted (a deletion is a record without ``raw``).
    def lists_changes(self, conversation_id: str) -> bool: ...

    # With ``threads_by_reference``: ``thread_key(conversation_id, ref, known) -> str | None`` turns what
    # ``threads_active_since`` named into thread keys, after the conversation's recent roots are listed; ``known``
    # maps cached roots' message ids to their keys (the Teams connector names roots by Graph id).
    request_kinds: Any
    replies_inline: bool
    threads_by_reference: bool

    def rate_limits(self) -> dict[str, float]: ...


def supports_thread_refresh(api: Any) -> bool:
    """Whether ``api`` declares the thread-complete refresh (``thread_refresh``) that :func:`refresh_conversation`
    needs.

    Examples
    --------
    >>> import chatlens
    >>> supports_thread_refresh(chatlens.connect("demo"))  # the embedded workspace has an activity feed instead
    False
    """
    return isinstance(api, ChatAPI) and api.thread_refresh


class BudgetExhausted(Exception):
    """The refresh's budget is spent; what finished is kept and the next refresh resumes. Raised by
    :func:`refresh_conversation` with ``state``: the conversation's state holding what it fetched before the budget
    ran out (:class:`PartialPass`), or None when it fetched nothing."""

    def __init__(self, message: str, state: ThreadState | None = None) -> None:
        super().__init__(message)
        self.state = state


@dataclass
class Budget:
    """A cap on a refresh: ``requests`` (Web API calls) and/or ``minutes`` (simulated from the connector's rate
    limits, so a plan can be checked without waiting). None means no cap.

    Examples
    --------
    >>> b = Budget(requests=2)
    >>> b.charge({"history": 1}, {"history": 1.0}); b.exhausted
    False
    >>> b.charge({"history": 1}, {"history": 1.0}); b.exhausted
    True
    """

    requests: int | None = None
    minutes: float | None = None
    spent_requests: int = 0
    spent_minutes: float = 0.0

    def charge(self, calls: dict[str, int], rates: dict[str, float]) -> None:
        self.spent_requests += sum(calls.values())
        self.spent_minutes += sum(n / rates.get(kind, 50.0) for kind, n in calls.items())

    @property
    def exhausted(self) -> bool:
        return (self.requests is not None and self.spent_requests >= self.requests) or (
            self.minutes is not None and self.spent_minutes >= self.minutes
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadCheck:
    """What the last check of one thread found: the service's ``reply_count`` and ``latest_reply_us``, how many
    replies were fetched, and when (``checked_us``). The thread is complete when ``replies_fetched == reply_count``.
    """

    reply_count: int
    latest_reply_us: int
    replies_fetched: int
    checked_us: int

    @property
    def complete(self) -> bool:
        return self.replies_fetched == self.reply_count


class _Converted:
    """A record's service object, already turned into a Chat API message by its connector (a saved
    :class:`PartialPass` keeps messages, never a service's objects, which only the connector may read)."""

    __slots__ = ("message",)

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Converted) and other.message == self.message

    __hash__ = None  # type: ignore[assignment]


def _record_json(record: ThreadRecord, message: dict[str, Any] | None) -> list[Any]:
    return [record.key, record.thread_key, record.reply_count, record.latest_reply, message]


def _record_from_json(item: list[Any]) -> ThreadRecord:
    key, thread_key, reply_count, latest_reply, message = item
    raw = None if message is None else _Converted(dict(message))
    return ThreadRecord(
        key=str(key), thread_key=str(thread_key), reply_count=int(reply_count), latest_reply=latest_reply, raw=raw
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialPass:
    """What a refresh that a spent budget stopped part-way through one conversation had fetched, saved with the
    conversation's state so that the next refresh continues it instead of starting again (a conversation whose
    listing costs more than a whole budget would otherwise never complete).

    ``started_us`` is when the pass began: the refresh that completes it counts as made then, so whatever changed
    since is the next refresh's to find. ``oldest_us`` is what it lists down to, ``cursor`` the next page to ask
    for (``listed_all`` once the listing is done), ``listed`` the records listed so far and ``threads`` each
    fetched thread's records (by root key), as records whose service object the connector already turned into a
    Chat API message. ``frame_key`` names the cached frame the pass began from (:func:`_frame_key`): it is
    continued only on that frame (after a full reload, what it kept may be older than what the frame holds).

    Examples
    --------
    >>> p = PartialPass(started_us=7, oldest_us=None, cursor="c2", listed_all=False, listed=[], threads={},
    ...                 frame_key="0.0")
    >>> PartialPass.from_json(p.to_json()) == p
    True
    """

    started_us: int
    oldest_us: int | None
    cursor: str | None
    listed_all: bool
    listed: list[ThreadRecord]
    threads: dict[str, list[ThreadRecord]]
    frame_key: str = ""

    def to_json(self) -> dict[str, Any]:
        def dump(records: list[ThreadRecord]) -> list[list[Any]]:
            return [_record_json(r, r.raw.message if isinstance(r.raw, _Converted) else None) for r in records]

        return {
            "started_us": self.started_us,
            "oldest_us": self.oldest_us,
            "cursor": self.cursor,
            "listed_all": self.listed_all,
            "listed": dump(self.listed),
            "threads": {ts: dump(records) for ts, records in self.threads.items()},
            "frame_key": self.frame_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartialPass:
        oldest = data["oldest_us"]
        return cls(
            started_us=int(data["started_us"]),
            oldest_us=None if oldest is None else int(oldest),
            cursor=None if data["cursor"] is None else str(data["cursor"]),
            listed_all=bool(data["listed_all"]),
            listed=[_record_from_json(item) for item in data["listed"]],
            threads={str(ts): [_record_from_json(item) for item in items] for ts, items in data["threads"].items()},
            frame_key=str(data.get("frame_key") or ""),
        )


@dataclass
class ThreadState:
    """What a refresh knows of one conversation: the newest root, when it was last refreshed, and a
    :class:`ThreadCheck` per thread (keyed by the root's thread key). Saved as JSON, each check as a list
    ``[reply_count, latest_reply_us, replies_fetched, checked_us]``.

    ``attempted_us`` is when a refresh last set out to refresh it, later than ``refreshed_us`` when a spent budget
    never reached it: what was known before may have changed since, so :func:`thread_table` calls it unknown.
    ``resume`` is the :class:`PartialPass` a spent budget interrupted, which the next refresh continues.
    """

    watermark_us: int = 0
    refreshed_us: int = 0
    threads: dict[str, ThreadCheck] = field(default_factory=dict)
    attempted_us: int = 0
    resume: PartialPass | None = None

    @property
    def as_of_us(self) -> int:
        """The time a thread's check must be as recent as for its completeness to be known."""
        return max(self.refreshed_us, self.attempted_us)

    def to_json(self) -> dict[str, Any]:
        threads = {
            key: [c.reply_count, c.latest_reply_us, c.replies_fetched, c.checked_us] for key, c in self.threads.items()
        }
        return {
            "watermark_us": self.watermark_us,
            "refreshed_us": self.refreshed_us,
            "attempted_us": self.attempted_us,
            "threads": threads,
            "resume": self.resume.to_json() if self.resume is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ThreadState:
        if not data:
            return cls()
        threads = {key: ThreadCheck(**dict(zip(_CHECK_FIELDS, map(int, v)))) for key, v in data["threads"].items()}
        return cls(
            int(data.get("watermark_us") or 0),
            int(data.get("refreshed_us") or 0),
            threads,
            int(data.get("attempted_us") or 0),
            PartialPass.from_json(data["resume"]) if data.get("resume") else None,
        )


_CHECK_FIELDS = ("reply_count", "latest_reply_us", "replies_fetched", "checked_us")


@dataclass
class RefreshPlan:
    """The estimate of a refresh: requests and minutes per method, and the conversations in the order they run."""

    order: list[str]
    requests: dict[str, int]
    minutes: float

    def __str__(self) -> str:
        total = sum(self.requests.values())
        per = ", ".join(f"{m} {n}" for m, n in sorted(self.requests.items()))
        return f"about {total} requests ({per}), {self.minutes:.1f} min under the rate limits"


def plan_refresh(
    api: ThreadedHistory,
    frames: dict[str, pd.DataFrame],
    states: dict[str, ThreadState],
    *,
    now_us: int,
    window_us: int,
    active: dict[str, set[str]] | None = None,
    searched: int | None = None,
) -> RefreshPlan:
    """Estimate a refresh from what is cached: per conversation one history call for new roots and one per page
    of roots younger than the window, one replies call per recent thread that had replies (an upper bound: only
    changed threads are fetched) and one per older thread search named (``active``), and the search requests
    made (``searched``; else one page per 100 recent messages). Conversations run most recently active first,
    then by how many messages they had in the window.
    """
    limit = max(1, int(api.history_limit))
    history = replies = recent_total = 0
    activity: dict[str, tuple[int, int]] = {}
    for cid, frame in frames.items():
        state = states.get(cid) or ThreadState()
        created = frame["created"] if len(frame) else pd.Series([], dtype="datetime64[us, UTC]")
        recent = created >= pd.Timestamp(now_us - window_us, unit="us", tz="UTC")
        recent_roots = int((recent & ~frame["is_reply"]).sum()) if len(frame) else 0
        history += 1 + math.ceil(recent_roots / limit)
        if not api.replies_inline:
            replies += sum(
                1 for ts, check in state.threads.items() if check.reply_count and us_from_key(ts) >= now_us - window_us
            )
        # Threads search named: keys (Slack ts) younger than the window are counted above; references (Graph ids)
        # are of any age.
        replies += sum(
            1 for ref in (active or {}).get(cid, ()) if not _TS.fullmatch(ref) or us_from_key(ref) < now_us - window_us
        )
        recent_total += int(recent.sum()) if len(frame) else 0
        newest = int(created.max().value // 1000) if len(frame) else 0
        activity[cid] = (newest, int(recent.sum()) if len(frame) else 0)
    order = sorted(frames, key=lambda c: (-activity[c][0], -activity[c][1], c))
    requests = {
        "history": history,
        "replies": replies,
        "search": searched if searched is not None else 1 + recent_total // 100,
    }
    rates = api.rate_limits()
    minutes = sum(n / rates.get(m, 50.0) for m, n in requests.items())
    return RefreshPlan(order, requests, minutes)


def refresh_conversation(
    api: ThreadedHistory,
    conversation_id: str,
    frame: pd.DataFrame,
    state: ThreadState,
    *,
    now_us: int,
    window_us: int,
    active: dict[str, set[str]] | None,
    to_frame: Callable[[list[dict[str, Any]]], pd.DataFrame],
    upsert: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
    drop: Callable[[pd.DataFrame, Iterable[str]], pd.DataFrame],
    budget: Budget | None = None,
    refetch_unchanged: bool = True,
) -> tuple[pd.DataFrame, ThreadState]:
    """One conversation's refresh (module docs); returns the new frame and state. Raises
    :class:`BudgetExhausted` before a request the budget cannot pay for, leaving ``frame`` and ``state`` as they
    were (the caller keeps the previous ones) and carrying the state to save instead: ``state`` with what this
    refresh fetched (:class:`PartialPass`), which the next refresh continues from where this one stopped.

    A pass continued from ``state.resume`` keeps its start as ``now_us``. A root missing from the listing is gone
    (module docs), except where the connector lists changes (absence means unchanged there; a deletion is a
    record without ``raw``), and in a pass continued across refreshes of a listing in no documented order (a root
    changed meanwhile may have moved to pages already read: the next pass sees it)."""
    cid = conversation_id
    resume = state.resume
    if resume is not None and resume.frame_key != _frame_key(frame):
        resume = None  # the frame is not the one the pass began from (reloaded since): start again
    if resume is not None:
        now_us = resume.started_us
    threads = dict(state.threads)
    rates = api.rate_limits()
    changes = api.lists_changes(cid)
    since = now_us - window_us
    if resume is not None:
        oldest = resume.oldest_us
    elif changes and state.refreshed_us:
        # Everything changed since the last refresh, with a margin for the service's clock and indexing.
        oldest = state.refreshed_us - SEARCH_LAG_US
    else:
        oldest = min(state.watermark_us, since) if state.watermark_us else None
    listed: list[ThreadRecord] = list(resume.listed) if resume is not None else []
    cursor = resume.cursor if resume is not None else None
    listed_all = resume.listed_all if resume is not None else False
    saved = dict(resume.threads) if resume is not None else {}  # threads the interrupted pass fetched

    def spend(method: str) -> None:
        if budget is not None:
            if budget.exhausted:
                raise BudgetExhausted(f"budget spent before {method} for {cid}")
            budget.charge({method: 1}, rates)

    # Every message the refresh brings, by key: a reply also sent to the channel (Slack's thread_broadcast) is
    # listed by the history and by its thread, and must become one row.
    rows: dict[str, ThreadRecord] = {}
    fetched: dict[str, list[ThreadRecord]] = {}  # root key -> what its thread's fetch answered (for a checkpoint)
    refetched: dict[str, list[ThreadRecord]] = {}  # root key -> its replies, fetched afresh
    parents: dict[str, ThreadRecord] = {}  # root key -> the root as its thread's fetch answered it
    seen: set[str] = set()

    def fetch_thread(root: ThreadRecord) -> None:
        ts = root.key
        if ts in refetched:
            return
        if ts in saved:
            records = saved[ts]  # fetched before a spent budget stopped this pass
        else:
            # Graph lists replies with their roots: no request, except for a thread search named and no listing had.
            if not api.replies_inline or ts not in seen:
                spend("replies")
            records = api.thread_replies(cid, ts)
        fetched[ts] = records
        # A connector may answer the root too (Slack's conversations.replies does, first): its counts are the
        # service's as they are now, and its object replaces a stale root (or a root deleted since: its tombstone).
        parent = next((r for r in records if r.key == ts), None)
        replies = [r for r in records if r.key != ts]
        refetched[ts] = replies
        if parent is not None:
            parents[ts] = parent
            count, latest = parent.reply_count, us_from_key(parent.latest_reply or ts)
        else:
            count, latest = root.reply_count, us_from_key(root.latest_reply or ts)
            if count == 0 or latest == us_from_key(ts):  # named by search only: the replies say
                count = len(replies)
                latest = max((us_from_key(r.key) for r in replies), default=us_from_key(ts))
        threads[ts] = ThreadCheck(
            reply_count=count, latest_reply_us=latest, replies_fetched=len(replies), checked_us=now_us
        )

    def note(root: ThreadRecord) -> bool:
        """Record a root; True if its thread must be fetched (new replies, edits or deletions show here)."""
        ts = root.key
        count, latest = root.reply_count, us_from_key(root.latest_reply or ts)
        known = threads.get(ts)
        changed = known is None or known.reply_count != count or known.latest_reply_us != latest or not known.complete
        if not changed:
            # The service's counts are those of the replies held: none was added or deleted since (an addition
            # moves the latest reply, a deletion lowers the count unless an addition moves the latest reply).
            threads[ts] = dataclasses.replace(known, checked_us=now_us)
        elif not count:
            threads[ts] = ThreadCheck(reply_count=0, latest_reply_us=latest, replies_fetched=0, checked_us=now_us)
            if known is not None and known.replies_fetched:
                refetched[ts] = []  # its last replies were deleted: drop them, no request needed
        return changed and count > 0

    try:
        # 1 and 2 in one listing: roots newer than the watermark (all of them on a first refresh) and roots
        # younger than the window (changed threads, edited and deleted roots); or, where the connector lists
        # changes, every message created or changed since the last refresh.
        first = True
        while not listed_all:
            spend("history")
            try:
                page, cursor = api.history_page(cid, oldest_us=oldest, cursor=cursor)
            except InvalidRequest:
                if not (first and resume is not None and cursor is not None):
                    raise
                # The service no longer takes the saved cursor (page tokens may expire): start the pass again.
                fresh = dataclasses.replace(state, resume=None)
                return refresh_conversation(
                    api, cid, frame, fresh, now_us=now_us, window_us=window_us, active=active, to_frame=to_frame,
                    upsert=upsert, drop=drop, budget=budget, refetch_unchanged=refetch_unchanged,
                )  # fmt: skip
            first = False
            listed += page
            listed_all = not cursor
        deleted: set[str] = set()
        for m in listed:  # in listing order: a message listed again later (changed meanwhile) wins
            if m.is_root:
                seen.add(m.key)
            if m.raw is None:
                deleted.add(m.key)
                rows.pop(m.key, None)
            else:
                deleted.discard(m.key)
                rows[m.key] = m
        for root in listed:
            if not root.is_root or root.key in deleted or rows.get(root.key) is not root:
                continue
            # Threads started within the window are fetched again whatever their counts say (an edited reply
            # changes neither the reply count nor the latest reply), unless the caller chose to miss reply edits
            # for fewer requests (``refetch_unchanged=False``). A connector that lists replies with their roots
            # (Graph) refetches any listed thread for nothing.
            inline_or_recent = api.replies_inline or us_from_key(root.key) >= since
            recent = refetch_unchanged and root.reply_count > 0 and inline_or_recent
            if note(root) or recent:
                fetch_thread(root)
        for reply in listed:
            # A reply also sent to the channel, in a thread the listing did not cover (an old one): newer than that
            # thread's last check, it is news of the thread that costs no search.
            known = threads.get(reply.thread_key)
            news = known is None or us_from_key(reply.key) > known.checked_us
            if not reply.is_root and reply.raw is not None and reply.thread_key not in seen and news:
                fetch_thread(ThreadRecord(key=reply.thread_key, thread_key=reply.thread_key))
        # Roots missing from the listing are gone: those within the window, or of any age where the connector
        # listed roots older than it asked for (Graph's channels have no order to stop at, so every root is
        # listed). Not where absence means unchanged (a listing of changes), nor in a pass continued across
        # refreshes through a listing in no order (a root changed meanwhile may have moved to pages already read).
        every = oldest is not None and any(us_from_key(ts) < oldest for ts in seen)
        infer = not changes and not (every and resume is not None)
        gone = [
            ts
            for ts in threads
            if infer
            and state.watermark_us
            and (every or since <= us_from_key(ts))
            and us_from_key(ts) <= state.watermark_us
            and ts not in seen
        ]
        gone += [ts for ts in sorted(deleted) if ts not in gone]
        for ts in deleted:
            refetched[ts] = []  # a root the service says was deleted: its replies held go with it
        # 3. Older threads with new activity, named by search (by key; or by reference, which a connector with
        # ``thread_key`` turns into a key now that the recent roots are listed, as Graph's search names roots by
        # id).
        root_ids = _root_ids(frame)  # thread key -> the root's id in the cached frame
        named = (active or {}).get(cid, set())
        key_of = api.thread_key if api.threads_by_reference else None
        if key_of is not None:
            keys: set[str] = set()
            cached_roots = {mid: ts for ts, mid in root_ids.items()}
            for ref in sorted(named):
                # Charged after, not checked before: most lookups cost nothing (cached or just listed roots), and
                # the thread's fetch that follows checks the budget.
                before = dict(api.calls)
                key = key_of(cid, ref, cached_roots)
                if budget is not None:
                    budget.charge(_calls_since(api, before), rates)
                if key is not None:
                    keys.add(key)
            named = keys
        for ts in sorted(named - seen - set(refetched)):
            if ts in threads and us_from_key(ts) < since:
                fetch_thread(ThreadRecord(key=ts, thread_key=ts))
    except BudgetExhausted as exc:
        if not listed and not fetched and resume is None:
            raise  # nothing fetched: the state stays as it was
        if api.replies_inline:
            # The replies listed with their roots are held by the connector for this refresh only: keep them.
            for root in listed:
                if root.is_root and root.raw is not None and root.key not in fetched and root.key not in saved:
                    fetched[root.key] = api.thread_replies(cid, root.key)
        checkpoint = PartialPass(
            started_us=now_us,
            oldest_us=oldest,
            cursor=cursor,
            listed_all=listed_all,
            listed=_converted(api, cid, listed),
            threads={**saved, **{ts: _converted(api, cid, records) for ts, records in fetched.items()}},
            frame_key=_frame_key(frame),
        )
        raise BudgetExhausted(str(exc), dataclasses.replace(state, resume=checkpoint)) from None
    if changes and state.refreshed_us and oldest is not None:
        # Nothing else changed since the last refresh: what its checks knew holds now.
        for ts, check in threads.items():
            if ts not in seen and check.checked_us >= state.refreshed_us:
                threads[ts] = dataclasses.replace(check, checked_us=now_us)
    # Apply: replace refetched threads' replies, upsert listed roots, drop vanished roots.
    drop_ids: set[str] = set()
    for ts in gone:
        if ts in root_ids:
            drop_ids.add(root_ids[ts])
        threads.pop(ts, None)
    if len(frame) and refetched:
        in_threads = frame["thread_id"].astype(str).isin([root_ids[ts] for ts in refetched if ts in root_ids])
        replies_before = frame.loc[in_threads & frame["is_reply"].to_numpy(), "id"].astype(str)
        drop_ids |= set(replies_before)
    for replies in refetched.values():
        # A thread's own listing wins over the history's copy of a broadcast reply (a full load reads it there).
        rows.update((r.key, r) for r in replies if r.raw is not None)
    for ts, parent in parents.items():
        if parent.raw is not None:
            rows.setdefault(ts, parent)  # a root the history listed keeps the history's object, as in a full load
    out = frame
    if drop_ids:
        out = drop(out, drop_ids)
    if rows:
        out = upsert(out, to_frame(_messages(api, cid, list(rows.values()))))
    roots = [us_from_key(m.key) for m in listed if m.is_root and m.raw is not None]
    watermark = max([state.watermark_us, *roots])
    return out, ThreadState(watermark, now_us, threads)


def _frame_key(frame: pd.DataFrame) -> str:
    """A name of a cached frame's content (its rows' ids, edit times and texts), so that a saved pass is continued
    only on the frame it began from.

    Examples
    --------
    >>> f = pd.DataFrame({"id": ["a", "b"], "modified": [None, None], "text": ["hi", "yo"]})
    >>> _frame_key(f) == _frame_key(f.copy()), _frame_key(f) == _frame_key(f.assign(text=["hi", "yo!"]))
    (True, False)
    """
    columns = [c for c in ("id", "modified", "text") if c in frame.columns]
    if not len(frame) or not columns:
        return f"{len(frame)}.0"
    hashes = pd.util.hash_pandas_object(frame[columns].astype(str), index=False).to_numpy()
    return f"{len(frame)}.{int(np.bitwise_xor.reduce(hashes))}"


def _messages(api: ThreadedHistory, cid: str, records: list[ThreadRecord]) -> list[dict[str, Any]]:
    """Chat API messages of ``records``: the connector converts its own objects; a saved pass's are converted."""
    fresh = [r for r in records if not isinstance(r.raw, _Converted)]
    made = iter(api.to_messages(fresh, cid) if fresh else [])
    return [r.raw.message if isinstance(r.raw, _Converted) else next(made) for r in records]


def _converted(api: ThreadedHistory, cid: str, records: list[ThreadRecord]) -> list[ThreadRecord]:
    """``records`` with their service objects turned into Chat API messages (records without ``raw`` stay so)."""
    live = [r for r in records if r.raw is not None]
    messages = iter(_messages(api, cid, live))
    return [r if r.raw is None else dataclasses.replace(r, raw=_Converted(next(messages))) for r in records]


def _root_ids(frame: pd.DataFrame) -> dict[str, str]:
    """Thread key (the root's creation time as a Slack ``ts``) -> the root's message id, from a cached frame."""
    if not len(frame):
        return {}
    roots = frame[~frame["is_reply"].to_numpy()]
    created = roots["created"].astype("datetime64[us, UTC]").array.asi8
    return dict(zip((key_from_us(int(us)) for us in created), roots["id"].astype(str)))


def state_from_frame(frame: pd.DataFrame, conversation_id: str, fetched_us: int) -> ThreadState:
    """The state a complete load fetched at ``fetched_us`` implies (every thread's replies as loaded), so the first
    refresh after a cold load is already incremental. Threads are keyed by their root's creation time (Slack's
    ``ts``; the same key for Graph roots)."""
    if not len(frame):
        return ThreadState(0, fetched_us, {})
    ids = _root_ids(frame)
    is_reply = frame["is_reply"].to_numpy()
    created_us = frame["created"].astype("datetime64[us, UTC]").array.asi8
    replies = pd.DataFrame(
        {"thread_id": frame["thread_id"].astype(str).to_numpy()[is_reply], "us": created_us[is_reply]}
    )
    by_thread = replies.groupby("thread_id")["us"].agg(["size", "max"])
    threads = {}
    for ts, root in ids.items():
        if root in by_thread.index:
            n, latest = by_thread.loc[root]
            threads[ts] = ThreadCheck(
                reply_count=int(n), latest_reply_us=int(latest), replies_fetched=int(n), checked_us=fetched_us
            )
        else:
            threads[ts] = ThreadCheck(
                reply_count=0, latest_reply_us=us_from_key(ts), replies_fetched=0, checked_us=fetched_us
            )
    watermark = max((us_from_key(ts) for ts in threads), default=0)
    return ThreadState(watermark, fetched_us, threads)


@dataclass
class RefreshResult:
    """What a refresh did: the plan it started from, the requests it made (by method), the simulated minutes
    those take under the rate limits, and whether the budget ran out (``partial``: the conversations in
    ``pending`` keep their previous state and are first in line next time)."""

    plan: RefreshPlan
    requests: dict[str, int]
    minutes: float
    partial: bool
    pending: list[str]
    started_us: int = 0
    #: The states to save for the conversations in ``pending`` a spent budget stopped part-way through: their
    #: previous state with what this refresh fetched (:class:`PartialPass`), which the next refresh continues.
    states: dict[str, ThreadState] = field(default_factory=dict)


def refresh_all(
    api: ThreadedHistory,
    frames: dict[str, pd.DataFrame],
    states: dict[str, ThreadState],
    *,
    window_us: int,
    to_frame: Callable[[list[dict[str, Any]]], pd.DataFrame],
    upsert: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
    drop: Callable[[pd.DataFrame, Iterable[str]], pd.DataFrame],
    on_done: Callable[[str, pd.DataFrame, ThreadState], None],
    budget: Budget | None = None,
    progress: bool = True,
    refetch_unchanged: bool = True,
    spent: dict[str, int] | None = None,
) -> RefreshResult:
    """Refresh every conversation of ``frames`` (module docs), most recently active first; ``on_done`` saves
    each as it completes, so an interruption or a spent budget keeps everything finished.

    ``refetch_unchanged=False`` skips threads within the window whose reply count and latest reply are unchanged
    (fewer requests; edits to their replies are missed). ``spent`` counts requests already made for this refresh
    (by kind: listing the conversations and their members), charged to the budget and counted in the result.
    """
    from ._progress import progress_bar

    start = now_us()
    before = dict(api.calls)
    rates = api.rate_limits()
    if budget is not None and spent:
        budget.charge(spent, rates)
    since = min((st.refreshed_us for st in states.values() if st.refreshed_us), default=0)
    # Search first (a few requests): the plan then counts the old threads it named. Search indexes with a delay,
    # so a reply posted just before the last refresh may not have been findable then.
    broke = budget is not None and budget.exhausted
    active = api.threads_active_since(since - SEARCH_LAG_US) if since and not broke else None
    searched = _calls_since(api, before)
    if budget is not None:  # search pages
        budget.charge(searched, rates)
    plan = plan_refresh(
        api, frames, states, now_us=start, window_us=window_us, active=active, searched=sum(searched.values())
    )
    # Conversations a spent budget kept a previous refresh from go first (their frames are older, so the plan's
    # order by recent activity would put the ones refreshed last time first again, and a budget would never reach
    # the others).
    # A conversation a spent budget stopped part-way through goes first of all, to finish what it began.
    pending = sorted(plan.order, key=lambda c: (not _interrupted(states.get(c)), not _left_behind(states.get(c))))
    partial: dict[str, ThreadState] = {}
    bar = progress_bar(total=len(pending), desc=f"refresh ({plan})", unit="conv", progress=progress)
    try:
        while pending and not broke:
            cid = pending[0]
            try:
                frame, state = refresh_conversation(
                    api,
                    cid,
                    frames[cid],
                    states.get(cid) or ThreadState(),
                    now_us=start,
                    window_us=window_us,
                    active=active,
                    to_frame=to_frame,
                    upsert=upsert,
                    drop=drop,
                    budget=budget,
                    refetch_unchanged=refetch_unchanged,
                )
            except BudgetExhausted as exc:
                if exc.state is not None:
                    partial[cid] = exc.state
                break
            on_done(cid, frame, state)
            pending.pop(0)
            bar.update(1)
    finally:
        bar.close()
    made = _calls_since(api, before)
    for kind, n in (spent or {}).items():
        made[kind] = made.get(kind, 0) + n
    minutes = sum(n / rates.get(m, 50.0) for m, n in made.items())
    return RefreshResult(plan, made, minutes, bool(pending), pending, start, partial)


def _interrupted(state: ThreadState | None) -> bool:
    """Whether a spent budget stopped a refresh part-way through the conversation (its pass is saved)."""
    return state is not None and state.resume is not None


def _left_behind(state: ThreadState | None) -> bool:
    """Whether a refresh set out to refresh the conversation and a spent budget kept it from doing so."""
    return state is not None and state.attempted_us > state.refreshed_us


def _calls_since(api: ThreadedHistory, before: dict[str, int]) -> dict[str, int]:
    """Requests made since ``before`` (a copy of ``api.calls``), by kind (``history``, ``replies``, ``search``, or
    ``other``): the connector's ``request_kinds`` names the kind of each of its own calls."""
    made: dict[str, int] = {}
    for call, n in api.calls.items():
        if n > before.get(call, 0):
            kind = api.request_kinds.get(call, "other")
            made[kind] = made.get(kind, 0) + n - before.get(call, 0)
    return made


def save_state(path: Path, state: ThreadState) -> None:
    """Write a conversation's state atomically (a killed refresh leaves the old or the new file)."""
    body = orjson.dumps(state.to_json())
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(body))


def load_state(path: Path) -> ThreadState | None:
    """A saved state, or None if there is none or it cannot be read (the caller rebuilds it from the frame)."""
    try:
        return ThreadState.from_json(orjson.loads(path.read_bytes()))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def parse_budget(budget: Any) -> Budget | None:
    """``None``; an int (requests); ``"90min"``, ``"2h"`` (simulated minutes); or a :class:`Budget`.

    Examples
    --------
    >>> parse_budget(500).requests, parse_budget("2h").minutes, parse_budget("45min").minutes
    (500, 120.0, 45.0)
    """
    if budget is None or isinstance(budget, Budget):
        return budget
    if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
        return Budget(requests=budget)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(min|h)\s*", str(budget))
    if match and float(match.group(1)) > 0:
        return Budget(minutes=float(match.group(1)) * (60 if match.group(2) == "h" else 1))
    raise ValueError(f"budget: a positive number of requests, or minutes as '90min' or '2h', got {budget!r}")


def parse_window(window: Any) -> int:
    """A window as microseconds: ``"7D"``, ``"36h"`` or anything ``pd.Timedelta`` takes.

    Examples
    --------
    >>> parse_window("7D") == 7 * DAY_US
    True
    """
    try:
        delta = pd.Timedelta(window)
    except (TypeError, ValueError):
        raise ValueError(f"window: {window!r} is not a duration such as '7D'") from None
    if delta <= pd.Timedelta(0):
        raise ValueError(f"window: must be positive, got {window!r}")
    return int(delta.value // 1000)


def thread_table(states: dict[str, ThreadState], frames: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Per thread (root) of every conversation: ``thread_id`` (the root's id, from ``frames``; <NA> without them),
    ``reply_count`` (what the service said at the last check), ``replies_fetched``, ``complete`` and ``checked``
    (when last looked at).

    ``complete`` is never wrong: True when the conversation's last refresh saw the service's count of the thread's
    replies (listing its root, or fetching the thread) and it equals the replies held; False when they differ;
    <NA> (unknown) when the last refresh did not look at the thread (one older than the window, which may have
    new or deleted replies a bot token cannot see, or search does not report), or a spent budget kept the refresh
    from the conversation.

    Examples
    --------
    >>> saved = {"watermark_us": 1, "refreshed_us": 7, "threads": {"1.000001": [2, 5, 2, 7], "1.000002": [3, 9, 1, 7],
    ...          "1.000003": [1, 4, 1, 3]}}
    >>> t = thread_table({"C1": ThreadState.from_json(saved)})
    >>> t["complete"].tolist()
    [True, False, <NA>]
    """
    ids = {cid: _root_ids(frame) for cid, frame in (frames or {}).items()}
    rows = [
        (
            cid,
            ids.get(cid, {}).get(ts),
            c.reply_count,
            c.replies_fetched,
            c.complete if c.checked_us >= state.as_of_us else None,
            c.checked_us,
        )
        for cid, state in states.items()
        for ts, c in state.threads.items()
    ]
    frame = pd.DataFrame(
        rows, columns=["conversation_id", "thread_id", "reply_count", "replies_fetched", "complete", "checked"]
    )
    frame["thread_id"] = frame["thread_id"].astype(pd.ArrowDtype(pa.string()))
    frame["complete"] = frame["complete"].astype("boolean")
    frame["checked"] = pd.to_datetime(frame["checked"], unit="us", utc=True)
    return frame


def now_us() -> int:
    return time.time_ns() // 1000
