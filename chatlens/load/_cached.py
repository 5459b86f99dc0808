"""A load's use of the cache: what is cached is read, what is not is fetched and saved as it completes; refreshes
(the activity feed, or the thread-complete refresh of :mod:`chatlens.threadsync`) and their bookkeeping."""

from __future__ import annotations

import dataclasses
import time
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

from .._stack import user_stacklevel
from ..cache import AccountCache, now_iso
from ..chatapi import ChatAPI
from ..schema import coerce_frame
from ..threadsync import (
    ThreadState,
    _calls_since,
    load_state,
    refresh_all,
    save_state,
    state_from_frame,
    supports_thread_refresh,
)
from ._columns import (
    _empty_table,
    _finish,
    _message_columns,
    _newest_key,
    _newest_keys,
    _stored_columns,
    _stored_frame,
    _to_pandas,
    _upsert,
)
from ._fetch import (
    PAGE_SIZE,
    Refresh,
    _fetch_bulk,
    _fetch_many,
    _patiently,
)


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
    before = dict(api.calls) if refresh and kind == "conversations" and supports_thread_refresh(api) else None
    frame = fetch()
    if before is not None:
        # Listing conversations (and their members) again is part of what a refresh costs: its budget pays for it.
        listed = _LISTING_CALLS.setdefault(api, {})
        for kind_, n in _calls_since(api, before).items():
            listed[kind_] = listed.get(kind_, 0) + n
    return frame if store is None else _store_named(store, kind, frame)


#: Requests a connector spent listing what a refresh then refreshes (conversations.list, conversations.members),
#: by kind, until that refresh charges them to its budget. Keyed weakly: a connector dropped takes its count along.
_LISTING_CALLS: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def _store_named(store: AccountCache, kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    with store.lock():
        store.write_named(kind, frame)
    return frame


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
    listing = _LISTING_CALLS.pop(api, None)  # what load_conversations(refresh=True) just spent, if it did
    if not refresh:
        manifest = store.manifest()
        # Read without the lock: a writer may be replacing a file meanwhile, so what fails here is read again
        # below, under the lock, from the manifest then current (and reported there if it is really damaged).
        tables = _read_cached(store, manifest, ids, columns, quiet=True)
        if len(tables) == len(ids):
            store.remove_temporaries()
            _recall_problems(api, manifest)
            return tables  # everything cached: no request at all
    with store.lock():
        manifest = store.manifest()
        if refresh == "full":
            manifest["conversations"] = {}
            manifest["events_cursor"] = None
            manifest["problems"] = []
        else:
            _recall_problems(api, manifest)
        tables = _read_cached(store, manifest, ids, stored)
        can_follow = "list_events" in api.rules.allowed
        if can_follow and manifest.get("events_cursor") is None:
            # Taken before fetching, so anything that changes during the load is replayed next time.
            manifest["events_cursor"] = _patiently(api.latest_cursor)
            store.write_manifest(manifest)

        def save_all(frames: dict[str, pd.DataFrame]) -> None:
            # One dataset file (unless they hold more than FILE_BYTES) and one manifest write; a conversation with
            # no messages has no rows to write and is remembered as empty.
            fetched_at = now_iso()
            parts = []
            for cid in sorted(frames):
                frame = frames[cid] if raw else frames[cid].drop(columns="raw", errors="ignore")
                if len(frame):
                    parts.append((cid, frame))
                else:
                    manifest["conversations"][cid] = _entry(0, ["", ""], raw, fetched_at, empty=True)
                    tables[cid] = _empty_table(text, stored)
            if parts:
                spans, offset = [], 0
                for cid, frame in parts:
                    spans.append((cid, offset, len(frame)))
                    offset += len(frame)
                tables_ = [_dataset_table(api, frame, cid) for cid, frame in parts]
                table, where = store.write_messages(manifest, tables_, spans)
                for (cid, offset, rows), (_, frame) in zip(spans, parts):
                    file, at = where[cid]
                    newest = list(_newest_key(frame))
                    manifest["conversations"][cid] = _entry(rows, newest, raw, fetched_at, file=file, offset=at)
                    tables[cid] = table.slice(offset, rows).select(stored)
            manifest["fetched_at"] = fetched_at
            store.write_manifest(manifest)

        def save(cid: str, frame: pd.DataFrame) -> None:
            save_all({cid: frame})

        def save_batch(frame: pd.DataFrame, spans: list[tuple[str, int, int]]) -> None:
            # One dataset file (unless the batch holds more than FILE_BYTES) and one manifest write for the batch,
            # however many conversations it holds.
            table, where = store.write_messages(manifest, [_dataset_table(api, frame)], spans)
            table = table.select(stored)
            fetched_at = now_iso()
            for (cid, offset, rows), newest in zip(spans, _newest_keys(frame, spans)):
                file, at = where[cid]
                manifest["conversations"][cid] = _entry(rows, newest, raw, fetched_at, file=file, offset=at)
                tables[cid] = table.slice(offset, rows)
            manifest["fetched_at"] = fetched_at
            store.write_manifest(manifest)

        missing = [cid for cid in ids if cid not in tables]
        if api.bulk_messages:
            _fetch_bulk(api, missing, progress=progress, text=text, raw=raw, on_batch=save_batch)
            # No messages, so in no batch: remembered as empty, with no file (a workspace of thousands of silent
            # direct conversations must not cost a file and a manifest write each).
            empty = [cid for cid in missing if cid not in tables]
            for cid in empty:
                manifest["conversations"][cid] = _entry(0, ["", ""], raw, empty=True)
                tables[cid] = _empty_table(text, stored)
            if empty:
                store.write_manifest(manifest)
        else:
            # Paged conversations complete one by one: kept for a moment and written together (a file and a
            # manifest write per conversation made a cold load of thousands cost a file each and rewrote the
            # manifest thousands of times); whatever completed is written when the fetch stops, however it stops.
            pending = _Pending(save_all)
            try:
                _fetch_many(api, missing, progress=progress, max_workers=max_workers, on_done=pending.add, text=text)
            finally:
                pending.flush()
        if refresh is True and supports_thread_refresh(api):
            known = [cid for cid in ids if cid not in missing]
            _refresh_threads(
                api, store, manifest, tables, known, save, window_us, budget, progress, text, missing, listing
            )
        elif refresh is True:
            known = [cid for cid in ids if cid not in missing]
            stop = {cid: tuple(manifest["conversations"][cid]["newest"]) for cid in known}
            new = _fetch_many(api, known, progress=progress, max_workers=max_workers, stop_after=stop, text=text)
            frames = _Frames(tables)
            changed = {cid: _upsert(frames[cid], frame) for cid, frame in new.items() if len(frame)}
            if can_follow:
                changed = _replay_events(api, store, manifest, frames, changed, text=text)
            if changed:
                save_all(changed)  # the refresh's changes as one new file
        # What the source could not read while filling the cache stays known to every later load served from it.
        recorded = list(manifest.get("problems") or [])
        fresh = [p for p in api.problems if p not in recorded]
        if fresh:
            manifest["problems"] = recorded + fresh
            store.write_manifest(manifest)
        # The directory now holds exactly the current rows, in few files (chatlens.cache, "settle").
        store.settle(manifest)
    return {cid: t.select(columns) for cid, t in tables.items()}


#: A paged load writes the conversations it completed at least this often (seconds), and at the latest when this many
#: rows wait: what a killed load can lose, and what it costs in files and manifest writes.
FLUSH_SECONDS = 2.0
FLUSH_ROWS = 200_000


class _Pending:
    """Completed conversations waiting to be written together by ``save_all``."""

    def __init__(self, save_all: Callable[[dict[str, pd.DataFrame]], None]) -> None:
        self.save_all = save_all
        self.frames: dict[str, pd.DataFrame] = {}
        self.rows = 0
        self.since = time.monotonic()

    def add(self, cid: str, frame: pd.DataFrame) -> None:
        self.frames[cid] = frame
        self.rows += len(frame)
        if self.rows >= FLUSH_ROWS or time.monotonic() - self.since >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.frames:
            self.save_all(self.frames)
        self.frames, self.rows, self.since = {}, 0, time.monotonic()


class SourceProblemWarning(UserWarning):
    """Data served from the cache was read from a source that left something out; each item is named."""


def _recall_problems(api: ChatAPI, manifest: dict[str, Any]) -> None:
    """Warn again of what the source left out when the cache was filled (a load from the cache does not read the
    source, so it cannot say it), and add it to ``api.problems`` where that is a list."""
    for problem in manifest.get("problems") or ():
        if problem in api.problems:
            continue
        warnings.warn(
            f"{api.account_id}: cached from a read of the source that left out: {problem}",
            SourceProblemWarning,
            stacklevel=user_stacklevel(),
        )
        if isinstance(api.problems, list):
            api.problems.append(problem)


class RefreshIncompleteWarning(UserWarning):
    """A refresh stopped at its budget: some conversations keep their previous data until the next refresh."""


def _state_file(store: AccountCache, cid: str) -> Any:
    return store.path / "threads" / f"{store.conversation_key(cid)}.json"


def _dataset_table(api: ChatAPI, frame: pd.DataFrame, conversation_id: str | None = None) -> pa.Table:
    """A cached frame (of one conversation, or a batch with its ``conversation_id`` column) as rows of the
    account's messages dataset: with the account, service and conversation columns the files carry."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    n = table.num_rows
    if conversation_id is not None:
        table = table.append_column("conversation_id", pa.repeat(pa.scalar(conversation_id, pa.string()), n))
    table = table.append_column("account", pa.repeat(pa.scalar(str(api.account_id), pa.string()), n))
    return table.append_column("service", pa.repeat(pa.scalar(str(api.service), pa.string()), n))


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
    loaded: Iterable[str] = (),
    spent: dict[str, int] | None = None,
) -> None:
    """The thread-complete refresh (chatlens.threadsync) of the cached conversations ``known``; ``loaded`` were
    loaded in full just before (new conversations), so their state is what that load implies; ``spent`` is what
    listing the conversations again cost, which the budget pays for too."""
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

    for cid in loaded:
        if cid in tables and load_state(_state_file(store, cid)) is None:
            entry = manifest["conversations"].get(cid) or {}
            at = pd.Timestamp(entry.get("fetched_at") or pd.Timestamp.now("UTC"))
            save_state(_state_file(store, cid), state_from_frame(frames[cid], cid, int(at.value // 1000)))
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
        # The Slack connector's choice (SlackChatAPI(refetch_unchanged_threads=False)); others always re-fetch.
        refetch_unchanged=api.refetch_unchanged_threads,
        spent=spent,
    )
    for cid in result.pending:
        # Not reached: what its state knew may have changed since this refresh began, so its threads say unknown
        # (load_thread_status), and a conversation without a state yet is listed too. One the budget stopped
        # part-way through keeps what was fetched (result.states), which the next refresh continues.
        state = result.states.get(cid, states[cid])
        save_state(_state_file(store, cid), dataclasses.replace(state, attempted_us=result.started_us))
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


def _entry(rows: int, newest: list[str], raw: bool, fetched_at: str | None = None, **where: Any) -> dict[str, Any]:
    """A conversation's manifest entry: its rows, newest (created, id), whether it keeps raw, and where its rows
    are: the dataset ``file`` and the ``offset`` of its first row there, or ``empty`` (no rows, no file)."""
    return {"rows": rows, "newest": newest, "fetched_at": fetched_at or now_iso(), "raw": raw, **where}


def _read_cached(
    store: AccountCache, manifest: dict[str, Any], ids: list[str], columns: list[str], *, quiet: bool = False
) -> dict[str, pa.Table]:
    """The cached tables (``columns``) of ``ids``: conversations not cached, cached without the service's JSON a
    load asks for (``raw`` in ``columns``), or whose file fails (:meth:`AccountCache.read_messages`) are left
    out, and the last are dropped from ``manifest`` so they are fetched again."""
    wanted, tables = [], {}
    for cid in ids:
        entry = manifest["conversations"].get(cid)
        if entry is None or ("raw" in columns and not entry.get("raw", True)):
            continue  # not cached, or cached without the service's JSON this load asks for: fetched (again)
        if entry.get("empty"):
            tables[cid] = _empty_table(store.text, columns)
        else:
            wanted.append(cid)
    tables.update(store.read_messages(manifest, wanted, columns, quiet=quiet))
    return tables


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
            # An erased object (its message was deleted later, which a later event says) counts as that delete.
            if event["type"] == "delete" or obj.get("deleted"):
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
