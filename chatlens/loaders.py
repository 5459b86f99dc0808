"""Loaders: page through any Chat API backend into tidy DataFrames, cached on disk and refreshed incrementally.

- :func:`load_conversations`, :func:`load_members`, :func:`load_messages` return frames whose columns and dtypes
  are declared in :mod:`chatlens.schema`;
- :func:`iter_messages` yields a conversation's raw message objects lazily.

Caching (see :mod:`chatlens.cache`): the first call fetches and stores each conversation as it completes; the next
call reads the cache and makes no request. ``refresh=True`` fetches only messages newer than the newest cached one
(listings are newest first, so paging stops at the first known message) and replays the activity feed, where the
account may read it, to apply edits and deletions; ``refresh="full"`` fetches everything again. An interrupted
load keeps the conversations that finished and the next call fetches only the rest.

Conversations are fetched concurrently (a bounded thread pool); ``RateLimited`` is waited out, never fatal.
"""

from __future__ import annotations

import gc
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from ._links import resolve_chains, take_ids
from .accounts import connect
from .cache import AccountCache, CacheWarning, now_iso
from .chatapi import ChatAPI, iter_items
from .errors import PermissionDenied, RateLimited
from .schema import COLUMNS, TEXT_FREE, coerce_frame, dtype_of, empty_frame, text_free
from .threadsync import (
    ThreadState,
    load_state,
    parse_budget,
    parse_window,
    refresh_all,
    save_state,
    state_from_frame,
    supports_thread_refresh,
    thread_table,
)

__all__ = [
    "load_conversations",
    "load_members",
    "load_messages",
    "load_users",
    "load_groups",
    "add_sender_details",
    "load_thread_status",
    "RefreshIncompleteWarning",
    "iter_messages",
    "MAX_RATE_LIMIT_WAITS",
]

PAGE_SIZE = 1000
MAX_RATE_LIMIT_WAITS = 30
_MAX_WAIT = 120.0

Refresh = bool | Literal["full"]

# What a page yields per message, and what the cache stores per conversation: the page's columns plus the
# derived ones, computed once when a conversation is saved so that a warm load is only a read and a concat.
_FETCHED = [
    "id",
    "sender_id",
    "sender_name",
    "created",
    "modified",
    "text",
    "parent",
    "is_bot",
    "is_system",
    "subtype",
    "mentions",
    "raw",
]
_STORED = [
    "id",
    "sender_id",
    "sender_name",
    "created",
    "modified",
    "text",
    "text_length",
    "is_question",
    "parent",
    "thread_id",
    "is_reply",
    "edited",
    "is_bot",
    "is_system",
    "subtype",
    "mentions",
    "raw",
]
_ARROW_LIST = pd.ArrowDtype(pa.list_(pa.string()))
_ARROW_STRING = pd.ArrowDtype(pa.string())
#: Arrow types of the fetched columns (the rest are strings; raw is the service's JSON as UTF-8 bytes).
_ARROW_TYPES = {"is_bot": pa.bool_(), "is_system": pa.bool_(), "mentions": _ARROW_LIST.pyarrow_dtype}


# -- account and rate limits ---------------------------------------------------------------------------------


def _account(account: ChatAPI | str | None) -> ChatAPI:
    if isinstance(account, ChatAPI):
        return account
    if account is None or isinstance(account, str):
        return connect(account)
    raise TypeError(f"account must be a ChatAPI backend or an account name, got {type(account).__name__}")


def _patiently(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(...)``, waiting out RateLimited (as long as the server asks, capped) up to MAX_RATE_LIMIT_WAITS."""
    for _ in range(MAX_RATE_LIMIT_WAITS):
        try:
            return call(*args, **kwargs)
        except RateLimited as exc:
            time.sleep(min(max(exc.retry_after or 1.0, 0.05), _MAX_WAIT))
    return call(*args, **kwargs)


def _patiently_listing(op: Callable[..., Any]) -> Callable[..., Any]:
    """A list operation that waits out rate limits, for use with iter_items."""

    def listing(*args: Any, **kwargs: Any) -> Any:
        return _patiently(op, *args, **kwargs)

    listing.__name__ = getattr(op, "__name__", "listing")
    return listing


def _require(api: ChatAPI, operation: str, what: str) -> None:
    if operation not in api.rules.allowed:
        rules = api.rules
        raise PermissionDenied(f"cannot load {what} of {api.account_id}: {rules.why} ({operation} is refused)")


# -- raw objects -> columns ----------------------------------------------------------------------------------


def iter_messages(account: ChatAPI | str | None, conversation_id: str) -> Iterator[dict[str, Any]]:
    """A conversation's messages as Chat API dicts, newest first, fetched lazily page by page.

    Examples
    --------
    >>> import chatlens
    >>> api = chatlens.connect("demo")
    >>> conv = api.list_conversations(page_size=1)["objects"][0]["id"]
    >>> first = next(iter_messages(api, conv))
    >>> sorted(first)[:3]
    ['api', 'conversation_id', 'created']
    """
    api = _account(account)
    _require(api, "list_messages", "messages")
    page = None
    while True:
        result = _patiently(api.list_messages, conversation_id, page_size=PAGE_SIZE, page=page)
        yield from result["objects"]
        page = result.get("next_page")
        if not page:
            return


def _message_columns(objects: Iterable[dict[str, Any]]) -> dict[str, list[Any]]:
    """One pass over message dicts into column lists (the only per-message Python work of a load). The backends
    hand up the normalised fields (``is_bot``, ``is_system``, ``subtype``, ``mentions``): nothing here reads a
    service's ``raw``, which is kept as opaque JSON."""
    cols: dict[str, list[Any]] = {c: [] for c in _FETCHED}
    # Bound methods in locals: this loop runs once per message, and attribute lookups were a third of its time.
    add = {c: cols[c].append for c in _FETCHED}
    add_id, add_sid, add_sname, add_created = add["id"], add["sender_id"], add["sender_name"], add["created"]
    add_modified, add_text, add_parent, add_raw = add["modified"], add["text"], add["parent"], add["raw"]
    add_bot, add_system, add_subtype, add_mentions = add["is_bot"], add["is_system"], add["subtype"], add["mentions"]
    dumps = orjson.dumps
    for m in objects:
        sender = m.get("sender") or {}
        sid = sender.get("id")
        add_id(m["id"])
        add_sid(sid or "unknown")
        add_sname(sender.get("name") or sid or "unknown")
        add_created(m["created"])
        add_modified(m.get("modified"))
        add_text(m.get("text") or "")
        add_parent(m.get("parent") or None)
        add_bot(bool(m.get("is_bot")))
        add_system(bool(m.get("is_system")))
        add_subtype(m.get("subtype"))
        add_mentions(m.get("mentions") or [])
        add_raw(dumps(m.get("raw") or {}))  # UTF-8 bytes: Arrow takes them as strings without a decode per message
    return cols


def _page_arrays(cols: dict[str, list[Any]]) -> dict[str, pa.Array]:
    """One page's column lists as Arrow arrays. A fetch converts each page at once, so the page's Python objects
    die with it: kept as lists to the end, the strings of a 45,000-message conversation pinned the memory of every
    page's parsed JSON (about 8 KB a message, 2 GB for four conversations in flight, a third of the time spent
    by the kernel paging)."""
    return {c: _column_array(c, cols[c]) for c in _FETCHED}


def _column_array(column: str, values: Any) -> pa.Array | pa.ChunkedArray:
    """A fetched column as Arrow, of its type in ``_ARROW_TYPES`` (values already in Arrow are kept as they are)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values, type=_ARROW_TYPES.get(column, pa.string()))


def _joined(arrays: list[pa.Array]) -> pa.Array | pa.ChunkedArray:
    """A conversation's pages as one array; as chunks if a string column passes 2 GiB (Arrow's 32-bit offsets)."""
    try:
        return pa.concat_arrays(arrays)
    except (pa.ArrowInvalid, pa.ArrowCapacityError):
        return pa.chunked_array(arrays)


def _stored_frame(
    cols: dict[str, list[Any]] | dict[str, pa.Array | pa.ChunkedArray],
    *,
    text: bool = True,
    conversations: np.ndarray | None = None,
) -> pd.DataFrame:
    """Column lists or Arrow arrays (chunked too) -> the cached per-conversation frame (schema dtypes, times
    parsed vectorised, sorted, with reply chains resolved); ``text=False`` keeps the text's length and question
    flag and drops the text. ``conversations`` (codes, rows already in order) marks a frame of many
    conversations, which :func:`_finish` keeps in order and threads conversation by conversation."""
    # Each column goes straight into its final array: building an object DataFrame first and converting it after
    # costs three times as much.
    data: dict[str, Any] = {}
    for c in _FETCHED:
        if c not in cols:  # raw, when the load keeps none
            continue
        arr = _column_array(c, cols[c])
        if c in ("created", "modified"):
            data[c] = _utc_times(arr)
        elif c in ("is_bot", "is_system"):
            data[c] = arr.to_numpy(zero_copy_only=False).astype(bool)
        elif c in ("sender_id", "sender_name"):
            data[c] = _categorical(arr)
        elif c == "mentions":
            data[c] = pd.arrays.ArrowExtensionArray(arr)
        else:  # Arrow converts a list of str/None in C; pandas would first inspect every value in Python
            data[c] = pd.array(arr, dtype=dtype_of("messages", c))
    frame = pd.DataFrame(data)
    return _finish(frame if text else text_free(frame.drop(columns="raw", errors="ignore")), conversations)


def _categorical(arr: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    """Strings as a pandas categorical with sorted categories (as ``pd.Categorical(list)`` gives), encoded by
    Arrow without a Python object per value."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    encoded = arr.dictionary_encode()
    words = encoded.dictionary
    if not len(words):  # empty, or nothing but nulls
        return pd.Categorical.from_codes(np.full(len(arr), -1), categories=pd.Index([], dtype=object))
    order = np.asarray(pc.array_sort_indices(words))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    categories = pd.Index(words.take(pa.array(order)).to_pylist(), dtype=object)
    return pd.Categorical.from_codes(codes, categories=categories, validate=False)


def _stored_columns(text: bool, *, raw: bool = True) -> list[str]:
    """The columns a conversation's cached frame has (``raw``: with the raw column, if there is one). Text-free
    frames have text_length and is_question instead of text, and no raw: the service's JSON holds the text too."""
    left_out = set(TEXT_FREE) if text else {"text", "raw"}
    return [c for c in _STORED if c not in left_out and (raw or c != "raw")]


def _utc_times(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    """ISO 8601 strings (None allowed) as datetime64[us, UTC], parsed by Arrow; pandas parses anything odd."""
    try:
        return arr.cast(pa.timestamp("us", "UTC")).to_pandas().astype("datetime64[us, UTC]")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.Series(pd.to_datetime(arr.to_pylist(), format="ISO8601", utc=True)).astype("datetime64[us, UTC]")


def _sorted_already(frame: pd.DataFrame) -> bool:
    """Whether a frame is in strictly increasing (created, id) order (a vectorised check costs a tenth of the
    sort it avoids; pages arrive newest first, so a fetch that reverses them is in order)."""
    created = frame["created"].array.asi8
    step = np.diff(created)
    if len(step) == 0 or (step > 0).all():
        return True
    if (step < 0).any():
        return False
    ties = np.flatnonzero(step == 0)
    ids = frame["id"].to_numpy(dtype=object)
    return bool((ids[ties] < ids[ties + 1]).all())


def _finish(frame: pd.DataFrame, conversations: np.ndarray | None = None) -> pd.DataFrame:
    """Sort a conversation's frame by (created, id) and derive thread_id, is_reply and edited. With
    ``conversations`` (each row's conversation code, the rows in (conversation, created, id) order), the frame
    holds many conversations and reply chains never cross from one to another, as when each is paged alone."""
    if conversations is None and not _sorted_already(frame):
        frame = frame.sort_values(["created", "id"], kind="stable", ignore_index=True)
    # Arrow-backed ids go to the chain resolution and back without a Python string per message.
    ids, parents = frame["id"], frame["parent"]
    root, _depth, _missing = resolve_chains(ids, parents)
    if conversations is not None and (conversations[root] != conversations).any():
        # A parent id found in another conversation: resolve each conversation on its own (rare, so slower).
        root = np.empty(len(frame), dtype=np.int64)
        for start, stop in _runs(conversations):
            part = slice(start, stop)
            root[part] = resolve_chains(ids.iloc[part], parents.iloc[part])[0] + start
    frame["thread_id"] = pd.array(take_ids(ids, root), dtype=dtype_of("messages", "thread_id"))
    frame["is_reply"] = frame["parent"].notna().to_numpy()
    frame["edited"] = frame["modified"].notna().to_numpy()
    return frame[[c for c in _STORED if c in frame.columns]]


def _runs(codes: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values in ``codes``."""
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], dtype=np.int64)
    stops = np.r_[starts[1:], len(codes)]
    return list(zip(starts.tolist(), stops.tolist()))


_BATCH_ORDER = [("conversation_id", "ascending"), ("created", "ascending"), ("id", "ascending")]


def _in_batch_order(table: pa.Table) -> bool:
    """Whether a bulk table is in (conversation_id, created, id) order, checked vectorised."""
    n = table.num_rows
    if n < 2:
        return True
    c, t, i = (table.column(k) for k in ("conversation_id", "created", "id"))
    c0, c1, t0, t1, i0, i1 = c.slice(0, n - 1), c.slice(1), t.slice(0, n - 1), t.slice(1), i.slice(0, n - 1), i.slice(1)
    if not pc.all(pc.less_equal(c0, c1)).as_py():
        return False
    later = pc.or_(pc.greater(t1, t0), pc.and_(pc.equal(t1, t0), pc.greater(i1, i0)))
    return bool(pc.all(pc.or_(pc.not_equal(c0, c1), later)).as_py())


def _stored_batch(table: pa.Table, *, text: bool) -> tuple[pd.DataFrame, list[tuple[str, int, int]]]:
    """A bulk table of whole conversations -> one cached frame of them all (with a ``conversation_id`` column,
    in (conversation_id, created, id) order) and each conversation's (id, offset, rows) in it. One conversion
    for thousands of conversations: per conversation, building a frame cost about 7 ms."""
    if not _in_batch_order(table):
        table = table.take(pc.sort_indices(table, sort_keys=_BATCH_ORDER))
    encoded = table.column("conversation_id").combine_chunks().dictionary_encode()
    codes = np.asarray(encoded.indices, dtype=np.int64)
    names = encoded.dictionary.to_pylist()
    frame = _stored_frame(
        {c: table.column(c) for c in _FETCHED if c in table.column_names}, text=text, conversations=codes
    )
    frame.insert(0, "conversation_id", pd.array(table.column("conversation_id"), dtype=_ARROW_STRING))
    return frame, [(names[codes[start]], start, stop - start) for start, stop in _runs(codes)]


def _fetch_bulk(
    api: ChatAPI,
    ids: list[str],
    *,
    progress: bool,
    text: bool,
    raw: bool,
    on_batch: Callable[[pd.DataFrame, list[tuple[str, int, int]]], None],
) -> set[str]:
    """Fetch conversations with the backend's bulk reads; ``on_batch`` gets each batch's frame and spans as it
    arrives (an interruption keeps the batches done). Returns the conversations that had messages."""
    seen: set[str] = set()
    if not ids:
        return seen
    bar = tqdm(total=len(ids), desc=f"{api.account_id}", unit="conv", disable=not progress)
    try:
        with _cyclic_gc_paused():
            for table in api.message_tables(ids, raw=raw):
                frame, spans = _stored_batch(table, text=text)
                on_batch(frame, spans)
                # Arrow's allocator keeps what a batch's conversion freed; handing it back keeps a million-message
                # load's peak under twice its frame (measured: 2.06x without, 1.9x with, at no cost in time).
                pa.default_memory_pool().release_unused()
                seen.update(cid for cid, _, _ in spans)
                bar.update(len(spans))
                bar.set_postfix(messages=f"{sum(n for _, _, n in spans):,}", refresh=False)
    finally:
        bar.close()
    return seen


def _newest_keys(frame: pd.DataFrame, spans: list[tuple[str, int, int]]) -> list[list[str]]:
    """:func:`_newest_key` of each span of a batch frame, vectorised."""
    last = np.array([offset + rows - 1 for _, offset, rows in spans], dtype=np.int64)
    created = frame["created"].iloc[last].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").tolist()
    return [[c, str(i)] for c, i in zip(created, frame["id"].iloc[last].tolist())]


def _fetch_conversation(
    api: ChatAPI,
    conversation_id: str,
    stop_after: tuple[str, str] | None = None,
    on_page: Callable[[int], None] | None = None,
    text: bool = True,
) -> pd.DataFrame:
    """Every message of a conversation (or only those newer than ``stop_after`` = (created, id))."""
    chunks: dict[str, list[pa.Array]] = {c: [] for c in _FETCHED}
    page = None
    while True:
        result = _patiently(api.list_messages, conversation_id, page_size=PAGE_SIZE, page=page)
        page = result.get("next_page")
        objects = result["objects"]
        if stop_after is not None:
            fresh = [m for m in objects if (m["created"], m["id"]) > stop_after]
            done = len(fresh) < len(objects)
            objects = fresh
        else:
            done = False
        part = _message_columns(objects)
        result = objects = None  # the parsed page is freed before the next one arrives
        for values in part.values():
            values.reverse()  # pages come newest first: oldest first is the frame's order, with no sort
        for c, arr in _page_arrays(part).items():
            chunks[c].append(arr)
        if on_page is not None:
            on_page(len(part["id"]))
        if done or not page:
            cols = {c: _joined(arrays[::-1]) for c, arrays in chunks.items()}  # at least one page each
            return _stored_frame(cols, text=text)


# -- conversations and members -------------------------------------------------------------------------------


def _named_or_fetch(
    api: ChatAPI,
    kind: str,
    fetch: Callable[[], pd.DataFrame],
    cache: bool,
    refresh: Refresh,
    cache_dir: str | None,
) -> pd.DataFrame:
    """A whole-account frame (conversations, users, groups): from the cache unless refreshing, else fetched and
    cached under the name of its schema kind."""
    store = AccountCache(api.identity, cache_dir=cache_dir) if cache else None
    if store is not None and not refresh:
        cached = store.read_named(kind)
        if cached is not None:
            return coerce_frame(cached, kind)
    frame = fetch()
    if store is not None:
        with store.lock():
            store.write_named(kind, frame)
    return frame


def load_conversations(
    account: ChatAPI | str | None = None,
    *,
    cache: bool = True,
    refresh: Refresh = False,
    progress: bool = True,
    cache_dir: str | None = None,
) -> pd.DataFrame:
    """The account's conversations, one row each (columns: ``chatlens.schema.COLUMNS["conversations"]``).

    Examples
    --------
    >>> df = load_conversations("demo", progress=False)
    >>> df[["label", "kind"]].head(2).values.tolist()
    [['general', 'channel'], ['random', 'channel']]
    """
    api = _account(account)
    _require(api, "list_conversations", "conversations")

    def fetch() -> pd.DataFrame:
        return _conversations_frame(
            api, list(iter_items(_patiently_listing(api.list_conversations), page_size=PAGE_SIZE))
        )

    return _named_or_fetch(api, "conversations", fetch, cache, refresh, cache_dir)


def _conversations_frame(api: ChatAPI, convs: list[dict[str, Any]]) -> pd.DataFrame:
    if not convs:
        return empty_frame("conversations")
    service = api.service
    labels = []
    for c in convs:
        if c.get("name"):
            labels.append(c["name"])
        else:
            others = [m["name"] for m in c.get("members") or [] if m.get("id") != getattr(api, "user_id", None)]
            labels.append("dm: " + ", ".join(others or [c["id"]]))
    frame = pd.DataFrame(
        {
            "account": api.account_id,
            "service": service,
            "id": [c["id"] for c in convs],
            "name": [c.get("name") for c in convs],
            "label": labels,
            "private": [bool(c.get("private")) for c in convs],
            "kind": [c.get("kind") or ("private_channel" if c.get("private") else "channel") for c in convs],
            "created": pd.to_datetime([c["created"] for c in convs], format="ISO8601", utc=True),
            "member_count": [len(c.get("members") or []) for c in convs],
        }
    )
    return coerce_frame(frame, "conversations")


def _pick(conversations_frame: pd.DataFrame, conversations: Iterable[str] | str | None) -> pd.DataFrame:
    if conversations is None:
        return conversations_frame
    wanted = [conversations] if isinstance(conversations, str) else list(conversations)
    by_id = conversations_frame["id"].astype(str)
    by_name = conversations_frame["label"].astype(str)
    keep = by_id.isin(wanted) | by_name.isin(wanted)
    unknown = sorted(set(wanted) - set(by_id[keep]) - set(by_name[keep]))
    if unknown:
        raise ValueError(f"conversations: no conversation with id or name {unknown}")
    return conversations_frame[keep.to_numpy()]


def load_members(
    account: ChatAPI | str | None = None,
    conversations: Iterable[str] | str | None = None,
    *,
    cache: bool = True,
    refresh: Refresh = False,
    progress: bool = True,
    cache_dir: str | None = None,
) -> pd.DataFrame:
    """Conversation memberships, one row per (conversation, member).

    Examples
    --------
    >>> df = load_members("demo", ["general"], progress=False)
    >>> int(df["user_id"].nunique()) >= 25
    True
    """
    api = _account(account)
    _require(api, "list_members", "members")
    convs = _pick(
        load_conversations(api, cache=cache, refresh=refresh, progress=progress, cache_dir=cache_dir), conversations
    )
    store = AccountCache(api.identity, cache_dir=cache_dir) if cache else None
    frame = store.read_named("members") if store is not None and not refresh else None
    if frame is None:
        rows: list[tuple[str, str, str, Any]] = []
        all_convs = load_conversations(api, cache=cache, progress=False, cache_dir=cache_dir)
        for cid in tqdm(all_convs["id"].astype(str), desc="members", unit="conv", disable=not progress):
            for user in iter_items(_patiently_listing(api.list_members), cid, page_size=PAGE_SIZE):
                rows.append((cid, user["id"], user.get("name") or user["id"], user.get("email")))
        frame = pd.DataFrame(rows, columns=["conversation_id", "user_id", "name", "email"])
        frame.insert(0, "account", api.account_id)
        frame = coerce_frame(frame, "members")
        if store is not None:
            with store.lock():
                store.write_named("members", frame)
    frame = frame[frame["conversation_id"].astype(str).isin(convs["id"].astype(str))]
    return coerce_frame(frame.reset_index(drop=True), "members")


# -- messages ------------------------------------------------------------------------------------------------


def load_messages(
    account: ChatAPI | str | None = None,
    conversations: Iterable[str] | str | None = None,
    *,
    since: Any = None,
    until: Any = None,
    raw: bool = False,
    text: bool = True,
    cache: bool = True,
    refresh: Refresh = False,
    progress: bool = True,
    max_workers: int = 4,
    cache_dir: str | None = None,
    window: str = "7D",
    budget: int | str | None = None,
) -> pd.DataFrame:
    """Messages, one row each, sorted by (conversation_id, created, id).

    Parameters
    ----------
    account
        A backend (e.g. ``chatlens.connect(...)``) or an account name; None for the demo.
    conversations
        Conversation ids or names (labels); None for all.
    since, until
        Keep messages created at or after ``since`` and before ``until`` (anything ``pd.Timestamp`` takes; naive
        values are UTC).
    raw
        Add the service's object as JSON text in a ``raw`` column.
    text
        Keep message bodies in a ``text`` column. ``text=False`` loads text-free: no message text in the frame or
        in the on-disk cache (which is then a separate one, see :mod:`chatlens.cache`). In its place come
        ``text_length`` (characters; Slack mrkdwn is measured as sent) and ``is_question`` (the text contains
        '?'); ``mentions`` is kept. Not with ``raw=True``: the raw JSON holds the text too.
    cache, refresh
        Use the on-disk cache; ``refresh=True`` fetches what is new, ``"full"`` everything (module docs).
    progress
        Show a progress bar (conversations and messages).
    max_workers
        Conversations fetched at once.
    window, budget
        For connectors with a thread-complete refresh (Slack and Teams, see :mod:`chatlens.threadsync`): how far back
        ``refresh=True`` lists roots again (edits, deletions, changed threads), and a cap on the refresh: a number
        of requests, or simulated minutes under the rate limits (``"90min"``, ``"2h"``). A spent budget leaves a
        partial result (a :class:`RefreshIncompleteWarning` says which conversations wait) that the next refresh
        completes. :func:`load_thread_status` says, per thread, whether its replies are complete.

    Examples
    --------
    >>> df = load_messages("demo", ["general"], progress=False)
    >>> df.dtypes["created"], bool(df["thread_id"].notna().all())
    (datetime64[us, UTC], True)
    >>> free = load_messages("demo", ["general"], text=False, progress=False)
    >>> "text" in free, free["text_length"].tolist() == df["text"].str.len().tolist()
    (False, True)
    """
    if refresh not in (False, True, "full"):
        raise ValueError(f"refresh must be False, True or 'full', got {refresh!r}")
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    if raw and not text:
        raise ValueError("raw=True cannot be combined with text=False: the raw JSON holds the message text")
    api = _account(account)
    _require(api, "list_messages", "messages")
    window_us = parse_window(window)
    if budget is not None and not supports_thread_refresh(api):
        raise ValueError(
            f"budget: {type(api).__name__} has no rate-limited refresh to cap (the Slack and Teams connectors have)"
        )
    convs = _pick(
        load_conversations(api, cache=cache, refresh=bool(refresh), progress=progress, cache_dir=cache_dir),
        conversations,
    )
    ids = sorted(convs["id"].astype(str).tolist())
    # In-process backends are pure Python: threads would only contend for the GIL.
    workers = max_workers if api.parallel_fetch else 1
    columns = _stored_columns(text, raw=raw)
    if not cache and api.bulk_messages:
        tables = {}

        def keep(frame: pd.DataFrame, spans: list[tuple[str, int, int]]) -> None:
            table = _table(frame[columns])
            for cid, offset, rows in spans:
                tables[cid] = table.slice(offset, rows)

        _fetch_bulk(api, ids, progress=progress, text=text, raw=raw, on_batch=keep)
        empty = _table(_stored_frame(_message_columns([]), text=text)[columns])
        tables.update({cid: empty for cid in ids if cid not in tables})
    elif not cache:
        fetched = _fetch_many(api, ids, progress=progress, max_workers=workers, text=text)
        tables = {cid: _table(frame[columns]) for cid, frame in fetched.items()}
    else:
        tables = _load_cached(
            api,
            ids,
            refresh=refresh,
            progress=progress,
            max_workers=workers,
            cache_dir=cache_dir,
            columns=columns,
            text=text,
            raw=raw,
            window_us=window_us,
            budget=parse_budget(budget),
        )
    return _assemble(api, convs, [(cid, tables[cid]) for cid in ids], since=since, until=until, raw=raw, text=text)


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "restore": False}


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during a bulk fetch.

    A load allocates millions of small dicts and lists (parsed JSON, column lists) that hold no reference cycles,
    so reference counting frees them all; but each allocation burst triggers generation-2 collections that scan
    every live object, which made a 500,000-message load twice as slow. The collector is restored afterwards,
    also on errors; nested and concurrent loads share one pause.
    """
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["restore"] = gc.isenabled()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0 and _gc_state["restore"]:
                gc.enable()


def _fetch_many(
    api: ChatAPI,
    ids: list[str],
    *,
    progress: bool,
    max_workers: int,
    on_done: Callable[[str, pd.DataFrame], None] | None = None,
    stop_after: dict[str, tuple[str, str]] | None = None,
    text: bool = True,
) -> dict[str, pd.DataFrame]:
    """Fetch conversations concurrently; ``on_done`` runs in this thread as each one completes (so cache writes
    are single-threaded and an interruption keeps everything completed so far)."""
    out: dict[str, pd.DataFrame] = {}
    if not ids:
        return out
    bar = tqdm(total=len(ids), desc=f"{api.account_id}", unit="conv", disable=not progress)
    counted = [0]

    def count(n: int) -> None:
        counted[0] += n

    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(ids)), thread_name_prefix="chatlens-load")
    try:
        with _cyclic_gc_paused():
            pending = {
                pool.submit(_fetch_conversation, api, cid, (stop_after or {}).get(cid), count, text): cid for cid in ids
            }
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                # Successes first: a failure in the same batch must not cost the conversations that did finish.
                for future in sorted(done, key=lambda f: f.exception() is not None):
                    cid = pending.pop(future)
                    frame = future.result()
                    out[cid] = frame
                    if on_done is not None:
                        on_done(cid, frame)
                    bar.update(1)
                bar.set_postfix(messages=f"{counted[0]:,}", refresh=False)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
        raise
    pool.shutdown()
    bar.close()
    return out


def _load_cached(
    api: ChatAPI,
    ids: list[str],
    *,
    refresh: Refresh,
    progress: bool,
    max_workers: int,
    cache_dir: str | None,
    columns: list[str],
    text: bool = True,
    raw: bool = False,
    window_us: int = 7 * 86_400_000_000,
    budget: Any = None,
) -> dict[str, pa.Table]:
    store = AccountCache(api.identity, cache_dir=cache_dir, text=text)
    # The service's JSON is most of what a cache would hold and write: kept only for loads that ask for it.
    stored = _stored_columns(text, raw=raw)
    if not refresh:
        tables = _read_cached(store, store.manifest(), ids, columns)
        if len(tables) == len(ids):
            return tables  # everything cached: no request at all
    with store.lock():
        manifest = store.manifest()
        if refresh == "full":
            manifest["conversations"] = {}
            manifest["events_cursor"] = None
        tables = _read_cached(store, manifest, ids, stored)
        can_follow = "list_events" in api.rules.allowed
        if can_follow and manifest.get("events_cursor") is None:
            # Taken before fetching, so anything that changes during the load is replayed next time.
            manifest["events_cursor"] = _patiently(api.latest_cursor)
            store.write_manifest(manifest)

        def save(cid: str, frame: pd.DataFrame) -> None:
            table = store.write_frame(
                store.message_file(cid), frame if raw else frame.drop(columns="raw", errors="ignore")
            )
            manifest["conversations"][cid] = {
                "rows": len(frame),
                "newest": list(_newest_key(frame)),
                "fetched_at": now_iso(),
                "raw": raw,
            }
            manifest["fetched_at"] = now_iso()
            store.write_manifest(manifest)
            tables[cid] = table

        def save_batch(frame: pd.DataFrame, spans: list[tuple[str, int, int]]) -> None:
            # One segment file and one manifest write for the whole batch, however many conversations it holds.
            name = store.new_segment()
            table = store.write_frame(store.path / name, frame).drop_columns(["conversation_id"])
            fetched_at = now_iso()
            for (cid, offset, rows), newest in zip(spans, _newest_keys(frame, spans)):
                entry = {"rows": rows, "newest": newest, "fetched_at": fetched_at, "file": name, "offset": offset}
                entry["raw"] = raw
                manifest["conversations"][cid] = entry
                tables[cid] = table.slice(offset, rows)
            manifest["fetched_at"] = fetched_at
            store.write_manifest(manifest)

        missing = [cid for cid in ids if cid not in tables]
        if api.bulk_messages:
            _fetch_bulk(api, missing, progress=progress, text=text, raw=raw, on_batch=save_batch)
            empty = _stored_frame(_message_columns([]), text=text)
            for cid in missing:
                if cid not in tables:  # no messages, so in no batch
                    save(cid, empty)
        else:
            _fetch_many(api, missing, progress=progress, max_workers=max_workers, on_done=save, text=text)
        if refresh is True and supports_thread_refresh(api):
            known = [cid for cid in ids if cid not in missing]
            _refresh_threads(api, store, manifest, tables, known, save, window_us, budget, progress, text)
        elif refresh is True:
            known = [cid for cid in ids if cid not in missing]
            stop = {cid: tuple(manifest["conversations"][cid]["newest"]) for cid in known}
            new = _fetch_many(api, known, progress=progress, max_workers=max_workers, stop_after=stop, text=text)
            frames = _Frames(tables)
            changed = {cid: _upsert(frames[cid], frame) for cid, frame in new.items() if len(frame)}
            if can_follow:
                changed = _replay_events(api, store, manifest, frames, changed, text=text)
            for cid, frame in changed.items():
                save(cid, frame)
        store.prune_segments(manifest)
    return {cid: t.select(columns) for cid, t in tables.items()}


class RefreshIncompleteWarning(UserWarning):
    """A refresh stopped at its budget: some conversations keep their previous data until the next refresh."""


def _state_file(store: AccountCache, cid: str) -> Any:
    return store.path / "threads" / store.message_file(cid).name.replace(".parquet", ".json")


def _refresh_threads(
    api: Any,
    store: AccountCache,
    manifest: dict[str, Any],
    tables: dict[str, pa.Table],
    known: list[str],
    save: Callable[[str, pd.DataFrame], None],
    window_us: int,
    budget: Any,
    progress: bool,
    text: bool,
) -> None:
    """The thread-complete refresh (chatlens.threadsync) of the cached conversations ``known``."""
    frames = _Frames(tables)
    states: dict[str, ThreadState] = {}
    for cid in known:
        state = load_state(_state_file(store, cid))
        if state is None:  # cached by a plain load: its state is what that complete load implies
            fetched = pd.Timestamp(manifest["conversations"][cid].get("fetched_at") or pd.Timestamp.now("UTC"))
            state = state_from_frame(frames[cid], cid, int(fetched.value // 1000))
        states[cid] = state

    def to_frame(objects: list[dict[str, Any]]) -> pd.DataFrame:
        return _stored_frame(_message_columns(objects), text=text)

    def drop(frame: pd.DataFrame, ids: Iterable[str]) -> pd.DataFrame:
        return _finish(frame[~frame["id"].astype(str).isin(list(ids))])

    def done(cid: str, frame: pd.DataFrame, state: ThreadState) -> None:
        save(cid, frame)
        save_state(_state_file(store, cid), state)

    result = refresh_all(
        api,
        {cid: frames[cid] for cid in known},
        states,
        window_us=window_us,
        to_frame=to_frame,
        upsert=_upsert,
        drop=drop,
        on_done=done,
        budget=budget,
        progress=progress,
    )
    manifest["last_refresh"] = {
        "plan": str(result.plan),
        "requests": result.requests,
        "minutes": round(result.minutes, 1),
        "pending": result.pending,
    }
    store.write_manifest(manifest)
    if result.partial:
        warnings.warn(
            f"refresh of {api.account_id} stopped at its budget after {sum(result.requests.values())} requests: "
            f"{len(result.pending)} conversations keep their previous data; the next refresh=True resumes with them",
            RefreshIncompleteWarning,
            stacklevel=4,
        )


def load_thread_status(
    account: ChatAPI | str | None = None, *, cache_dir: str | None = None, text: bool = True
) -> pd.DataFrame:
    """Per thread of an account refreshed with :mod:`chatlens.threadsync` (the Slack and Teams connectors):
    ``reply_count`` (what the service says), ``replies_fetched``, ``complete`` and ``checked``; what metrics on
    those threads rest on. Empty for accounts that were never refreshed that way.

    Examples
    --------
    >>> load_thread_status("demo").columns.tolist()
    ['conversation_id', 'thread_id', 'reply_count', 'replies_fetched', 'complete', 'checked']
    """
    api = _account(account)
    store = AccountCache(api.identity, cache_dir=cache_dir, text=text)
    manifest = store.manifest()
    states = {cid: state for cid in manifest["conversations"] if (state := load_state(_state_file(store, cid)))}
    # Only what names the roots: the text and the service's JSON stay on disk.
    tables = _read_cached(store, manifest, list(states), ["id", "created", "is_reply"])
    frames = {cid: table.to_pandas(ignore_metadata=True) for cid, table in tables.items()}
    return thread_table({cid: states[cid] for cid in frames}, frames)


class _Frames(dict):
    """Cached tables as pandas frames, converted only when a refresh needs one."""

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        super().__init__()
        self.tables = tables

    def __missing__(self, cid: str) -> pd.DataFrame:
        frame = self[cid] = _to_pandas(self.tables[cid])
        return frame

    def __contains__(self, cid: object) -> bool:
        return cid in self.tables


def _newest_key(frame: pd.DataFrame) -> tuple[str, str]:
    if not len(frame):
        return ("", "")
    last = frame.iloc[-1]  # frames are sorted by (created, id)
    return (last["created"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), str(last["id"]))


def _read_cached(
    store: AccountCache, manifest: dict[str, Any], ids: list[str], columns: list[str]
) -> dict[str, pa.Table]:
    tables = {}
    in_segments: dict[str, list[str]] = {}
    for cid in ids:
        entry = manifest["conversations"].get(cid)
        if entry is None or ("raw" in columns and not entry.get("raw", True)):
            continue  # not cached, or cached without the service's JSON this load asks for: fetched (again)
        if entry.get("file"):
            in_segments.setdefault(entry["file"], []).append(cid)
            continue
        table = store.read_table(store.message_file(cid), rows=int(entry["rows"]), columns=columns)
        if table is not None and not set(columns) <= set(table.column_names):
            warnings.warn(
                f"chatlens cache: {store.message_file(cid)} lacks columns of this version; fetching again",
                CacheWarning,
                stacklevel=3,
            )
            table = None
        if table is None:
            del manifest["conversations"][cid]  # reported by read_table; fetched again below
            continue
        tables[cid] = table
    for name, cids in in_segments.items():
        tables.update(_read_segment(store, manifest, name, cids, columns))
    return tables


def _read_segment(
    store: AccountCache, manifest: dict[str, Any], name: str, cids: list[str], columns: list[str]
) -> dict[str, pa.Table]:
    """The slices of one segment file that hold ``cids``: one read for all of them. A slice that does not hold
    its conversation (a damaged or foreign file) is reported and fetched again, like a bad file."""
    path = store.path / name
    table = store.read_table(path, columns=["conversation_id", *columns])
    holders = table.column("conversation_id") if table is not None else None
    view = table.drop_columns(["conversation_id"]) if table is not None else None
    out, bad = {}, []
    for cid in cids:
        entry = manifest["conversations"][cid]
        offset, rows = int(entry.get("offset", 0)), int(entry["rows"])
        fits = view is not None and offset >= 0 and offset + rows <= view.num_rows
        if not fits or (rows and {holders[offset].as_py(), holders[offset + rows - 1].as_py()} != {cid}):
            bad.append(cid)
            del manifest["conversations"][cid]
            continue
        out[cid] = view.slice(offset, rows)
    if bad and table is not None:
        warnings.warn(
            f"chatlens cache: {path} does not hold what the manifest says for {len(bad)} conversation(s); "
            "fetching them again",
            CacheWarning,
            stacklevel=4,
        )
    return out


def _upsert(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``new`` rows added or replacing rows of the same id, re-sorted and re-threaded."""
    kept = frame[~frame["id"].isin(new["id"])]
    merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    for c in ("sender_id", "sender_name"):
        merged[c] = merged[c].astype(str).astype("category")
    return _finish(merged)


def _replay_events(
    api: ChatAPI,
    store: AccountCache,
    manifest: dict[str, Any],
    frames: _Frames,
    changed: dict[str, pd.DataFrame],
    *,
    text: bool = True,
) -> dict[str, pd.DataFrame]:
    """Apply message edits and deletions from the activity feed since the stored cursor."""
    cursor = manifest.get("events_cursor")
    upserts: dict[str, list[dict[str, Any]]] = {}
    deletes: dict[str, set[str]] = {}
    while True:
        page = _patiently(api.list_events, cursor=cursor, page_size=PAGE_SIZE)
        for event in page["objects"]:
            obj = event.get("metadata") or {}
            if event.get("object_type") != "message" or obj.get("conversation_id") not in frames:
                continue
            cid = obj["conversation_id"]
            if event["type"] == "delete":
                deletes.setdefault(cid, set()).add(obj["id"])
                upserts[cid] = [o for o in upserts.get(cid, []) if o["id"] != obj["id"]]
            else:
                upserts.setdefault(cid, []).append(obj)
                deletes.get(cid, set()).discard(obj["id"])
        cursor = page["cursor"]
        if not page["objects"] or not page.get("remaining"):
            break
    for cid in set(upserts) | set(deletes):
        frame = changed.get(cid)
        if frame is None:
            frame = frames[cid]
        if upserts.get(cid):
            # The latest version of each object wins: later events come later in the list.
            latest = {o["id"]: o for o in upserts[cid]}
            frame = _upsert(frame, _stored_frame(_message_columns(latest.values()), text=text))
        if deletes.get(cid):
            frame = _finish(frame[~frame["id"].isin(list(deletes[cid]))])
        changed[cid] = frame
    manifest["events_cursor"] = cursor
    store.write_manifest(manifest)
    return changed


def _arrow_types(t: pa.DataType) -> Any:
    # Strings and lists stay Arrow-backed (no copy into Python objects); times and bools become numpy dtypes.
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_list(t):
        return pd.ArrowDtype(t)
    return None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    if "mentions" in table.column_names:
        # Parquet names a list's items "element", pandas' Arrow dtype "item": same data, one declared type.
        i = table.column_names.index("mentions")
        table = table.set_column(i, "mentions", table.column(i).cast(pa.list_(pa.string())))
    return table.to_pandas(types_mapper=_arrow_types)


def _assemble(
    api: ChatAPI,
    convs: pd.DataFrame,
    parts: list[tuple[str, pa.Table]],
    *,
    since: Any,
    until: Any,
    raw: bool,
    text: bool = True,
) -> pd.DataFrame:
    parts = [(cid, t) for cid, t in parts if t.num_rows]
    if not parts:
        return empty_frame("messages", raw=raw, text=text)
    # Concatenated in conversation-id order, each already sorted by (created, id): the frame comes out sorted.
    table = pa.concat_tables([t for _, t in parts], promote_options="permissive")
    frame = _to_pandas(table)
    labels = dict(zip(convs["id"].astype(str), convs["label"].astype(str)))
    ids = [cid for cid, _ in parts]
    codes = np.repeat(np.arange(len(parts)), [t.num_rows for _, t in parts])
    frame["conversation_id"] = pd.Categorical.from_codes(codes, categories=ids)
    frame["conversation_name"] = (
        pd.Categorical.from_codes(codes, categories=[labels[c] for c in ids], validate=False)
        if len(set(labels[c] for c in ids)) == len(ids)
        else pd.Categorical([labels[c] for c in ids])[codes]
    )
    frame["account"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[api.account_id])
    frame["service"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[api.service])
    if since is not None:
        frame = frame[(frame["created"] >= _utc(since, "since")).to_numpy()]
    if until is not None:
        frame = frame[(frame["created"] < _utc(until, "until")).to_numpy()]
    for c in ("sender_id", "sender_name", "conversation_id", "conversation_name"):
        # Only the categories present, so group-bys and plots never show people or places with no rows.
        frame[c] = _without_unused_categories(frame[c])
    for c in ("sender_id", "sender_name"):
        # Sorted, whatever order the conversations' own categories were merged in (bulk or paged, the same frame).
        if not frame[c].cat.categories.is_monotonic_increasing:
            frame[c] = frame[c].cat.reorder_categories(frame[c].cat.categories.sort_values())
    return coerce_frame(frame.reset_index(drop=True), "messages", raw=raw, text=text)


def _without_unused_categories(column: pd.Series) -> pd.Series:
    """``cat.remove_unused_categories()`` by a bincount instead of a sort (three times faster on 500k rows), and
    nothing at all when every category is used."""
    codes = column.cat.codes.to_numpy()
    categories = column.cat.categories
    used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
    if used.all():
        return column
    remap = np.full(len(categories) + 1, -1, dtype=np.int64)  # the last slot maps code -1 (missing) to -1
    remap[np.flatnonzero(used)] = np.arange(int(used.sum()))
    new = pd.Categorical.from_codes(remap[codes], categories=categories[used], validate=False)
    return pd.Series(new, index=column.index, name=column.name)


def _utc(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a date or time") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# -- Team API: users and groups --------------------------------------------------------------------------------


def load_users(
    account: ChatAPI | str | None = None,
    *,
    cache: bool = True,
    refresh: Refresh = False,
    progress: bool = True,
    cache_dir: str | None = None,
) -> pd.DataFrame:
    """The account's users (Team API), one row each, deactivated ones and bots included (columns:
    ``chatlens.schema.COLUMNS["users"]``). Cached like the other frames; ``refresh`` re-reads them.

    Examples
    --------
    >>> users = load_users("demo", progress=False)
    >>> len(users), int(users["is_bot"].sum()), int(users["deleted"].sum()), users["timezone"].nunique()
    (35, 2, 1, 7)
    """
    api = _account(account)

    def fetch() -> pd.DataFrame:
        rows = list(
            tqdm(
                iter_items(_patiently_listing(api.list_users), page_size=PAGE_SIZE),
                desc="users",
                unit="user",
                disable=not progress,
            )
        )
        if not rows:
            return empty_frame("users")
        frame = pd.DataFrame(
            {
                "account": api.account_id,
                "service": api.service,
                **{c: [u.get(c) for u in rows] for c in ("id", "name", "display_name", "email")},
                "created": pd.to_datetime([u.get("created") for u in rows], format="ISO8601", utc=True),
                "updated": pd.to_datetime([u.get("updated") for u in rows], format="ISO8601", utc=True),
                **{c: [bool(u.get(c)) for u in rows] for c in ("is_bot", "deleted", "guest")},
                "timezone": [u.get("timezone") for u in rows],
            }
        )
        return coerce_frame(frame, "users")

    return _named_or_fetch(api, "users", fetch, cache, refresh, cache_dir)


def load_groups(
    account: ChatAPI | str | None = None,
    *,
    cache: bool = True,
    refresh: Refresh = False,
    progress: bool = True,
    cache_dir: str | None = None,
) -> pd.DataFrame:
    """Group memberships (Slack user groups, Teams teams), one row per (group, member) (columns:
    ``chatlens.schema.COLUMNS["groups"]``); a group without members has no row.

    Examples
    --------
    >>> groups = load_groups("demo", progress=False)
    >>> sorted(groups["group_name"].unique())
    ['design', 'engineering', 'leadership', 'support']
    """
    api = _account(account)

    def fetch() -> pd.DataFrame:
        rows: list[tuple[str, str, str, str]] = []
        groups = list(iter_items(_patiently_listing(api.list_groups), page_size=PAGE_SIZE))
        for g in tqdm(groups, desc="groups", unit="group", disable=not progress):
            for u in iter_items(_patiently_listing(api.list_group_members), g["id"], page_size=PAGE_SIZE):
                rows.append((g["id"], g["name"], u["id"], u.get("name") or u["id"]))
        frame = pd.DataFrame(rows, columns=["group_id", "group_name", "user_id", "user_name"])
        frame.insert(0, "account", api.account_id)
        return coerce_frame(frame, "groups")

    return _named_or_fetch(api, "groups", fetch, cache, refresh, cache_dir)


def add_sender_details(messages: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """``messages`` with what the users frame knows of each sender: ``sender_known``, ``sender_deleted``,
    ``sender_guest``, ``sender_timezone`` (``chatlens.schema.COLUMNS["sender_details"]``), and ``is_bot`` also
    set for messages from users the service marks as bots. A sender missing from ``users`` (a deleted or foreign
    user) keeps every row, with ``sender_known`` False and <NA> details: nothing is dropped.

    Examples
    --------
    >>> msgs = add_sender_details(load_messages("demo", progress=False), load_users("demo", progress=False))
    >>> bool(msgs["sender_known"].all()), msgs["sender_timezone"].nunique()
    (True, 7)
    """
    by_id = users.drop_duplicates("id").set_index(users["id"].drop_duplicates().astype(str))
    sender = messages["sender_id"].astype(str)
    # Joined on the categories (one lookup per distinct sender), then spread to rows by the codes.
    senders = pd.Index(sender.astype("category").cat.categories)
    codes = pd.Categorical(sender, categories=senders).codes
    known = senders.isin(by_id.index)
    looked = by_id.reindex(senders)
    out = messages.copy()
    out["sender_known"] = known[codes]
    for column, source in (("sender_deleted", "deleted"), ("sender_guest", "guest")):
        values = pd.array(looked[source].to_numpy(dtype=object), dtype="boolean")
        out[column] = pd.array(values.take(codes), dtype="boolean")
    zones = looked["timezone"].astype(object).to_numpy()
    out["sender_timezone"] = pd.Categorical(zones[codes])
    bots = looked["is_bot"].fillna(False).to_numpy(dtype=bool)
    out["is_bot"] = out["is_bot"].to_numpy() | bots[codes]
    for column, (dtype, _) in COLUMNS["sender_details"].items():
        out[column] = out[column].astype(dtype)
    return out
