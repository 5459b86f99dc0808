"""Fetching from a backend: accounts, rate limits, the paging walk (threads, one conversation each) and the bulk
reads, and the pause of the cyclic garbage collector while either runs."""

from __future__ import annotations

import gc
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from .._progress import progress_bar
from ..accounts import connect
from ..chatapi import ChatAPI
from ..errors import PermissionDenied, RateLimited
from ._columns import (
    _FETCHED,
    _joined,
    _message_columns,
    _page_arrays,
    _stored_batch,
    _stored_frame,
)

PAGE_SIZE = 1000

MAX_RATE_LIMIT_WAITS = 30

_MAX_WAIT = 120.0

Refresh = bool | Literal["full"]

# What a page yields per message, and what the cache stores per conversation: the page's columns plus the
# derived ones, computed once when a conversation is saved so that a warm load is only a read and a concat.


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
    bar = progress_bar(total=len(ids), desc=f"{api.account_id}", unit="conv", progress=progress)
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
            fresh = [m for m in objects if (m["created"], str(m["id"])) > stop_after]
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
    bar = progress_bar(total=len(ids), desc=f"{api.account_id}", unit="conv", progress=progress)
    counted = [0]

    def count(n: int) -> None:
        counted[0] += n

    workers = min(max_workers, len(ids))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chatlens-load")
    waiting = iter(ids)
    # A few conversations per worker in flight, more submitted as they finish: wait() registers a waiter on every
    # pending future, so submitting 5,000 at once made each wait cost 5,000 (most of a refresh's time).
    window = 2 * workers

    def submit_more() -> None:
        for cid in itertools.islice(waiting, window - len(pending)):
            pending[pool.submit(_fetch_conversation, api, cid, (stop_after or {}).get(cid), count, text)] = cid

    try:
        with _cyclic_gc_paused():
            pending: dict[Any, str] = {}
            submit_more()
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
                submit_more()
                bar.set_postfix(messages=f"{counted[0]:,}", refresh=False)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
        raise
    pool.shutdown()
    bar.close()
    return out
