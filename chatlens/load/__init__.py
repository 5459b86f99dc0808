"""Loaders: any Chat API backend into tidy DataFrames, cached on disk and refreshed incrementally.

- :func:`load_conversations`, :func:`load_members`, :func:`load_messages`, :func:`load_users`,
  :func:`load_groups` return frames whose columns and dtypes are declared in :mod:`chatlens.schema`;
- :func:`iter_messages` yields a conversation's message objects lazily.

A backend that declares ``bulk_messages`` hands over whole conversations as Arrow tables (a few SQL queries, or
an export's day files parsed straight into columns); every other backend is paged, conversations fetched
concurrently (a bounded thread pool) and ``RateLimited`` waited out, never fatal.

Caching (see :mod:`chatlens.cache`): the first call fetches and stores conversations as they complete (as files
of the account's messages dataset); the next call reads the cache and makes no request. ``refresh=True`` fetches only
messages newer than the newest cached one (listings are newest first, so paging stops at the first known message)
and replays the activity feed, where the account may read it, to apply edits and deletions (the Slack and Teams
connectors refresh thread by thread, :mod:`chatlens.threadsync`); ``refresh="full"`` fetches everything again. An
interrupted load keeps the conversations that finished and the next call fetches only the rest.

The package: :mod:`._fetch` (accounts, rate limits, the paging walk and bulk reads), :mod:`._columns` (message
dicts and bulk tables to frames, and back), :mod:`._cached` (the cache's use, refreshes); the public functions are
here, and :mod:`chatlens.loaders` re-exports them under their long-standing name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._progress import progress_bar
from ..backends._tables import string_array
from ..cache import AccountCache
from ..chatapi import ChatAPI, iter_items
from ..schema import COLUMNS, coerce_frame, empty_frame, to_utc
from ..threadsync import (
    load_state,
    parse_budget,
    parse_window,
    supports_thread_refresh,
    thread_table,
)
from ._cached import (
    RefreshIncompleteWarning,
    SourceProblemWarning,
    _load_cached,
    _named_or_fetch,
    _read_cached,
    _recall_problems,
    _state_file,
)
from ._columns import (
    _assemble,
    _empty_table,
    _stored_columns,
    _table,
)
from ._fetch import (
    MAX_RATE_LIMIT_WAITS,
    PAGE_SIZE,
    Refresh,
    _account,
    _fetch_bulk,
    _fetch_many,
    _patiently_listing,
    _require,
    iter_messages,
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
    "SourceProblemWarning",
    "iter_messages",
    "MAX_RATE_LIMIT_WAITS",
]


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
    # A direct conversation is known by its kind, never by its name: it is labelled by its members (the service's
    # own name for it, as Slack's "mpdm-ada--bob-1", is people's handles, and stays only in raw).
    labels, names = [], []
    for c in convs:
        direct = c.get("kind") in ("direct", "group_direct") or not c.get("name")
        names.append(None if direct else c["name"])
        if direct:
            others = [m["name"] for m in c.get("members") or [] if m.get("id") != api.user_id]
            labels.append("dm: " + ", ".join(map(str, others or [c.get("name") or c["id"]])))
        else:
            labels.append(c["name"])
    frame = pd.DataFrame(
        {
            "account": api.account_id,
            "service": service,
            "id": _texts([c["id"] for c in convs], "conversation id"),
            "name": _texts(names, "conversation name"),
            "label": _texts(labels, "conversation name"),
            "private": [bool(c.get("private")) for c in convs],
            "kind": [c.get("kind") or ("private_channel" if c.get("private") else "channel") for c in convs],
            "created": pd.to_datetime([c["created"] for c in convs], format="ISO8601", utc=True),
            "member_count": [len(c.get("members") or []) for c in convs],
        }
    )
    return coerce_frame(frame, "conversations")


def _texts(values: Any, field: str) -> list[str | None]:
    """Ids and names of objects a backend handed up, as strings: ints and UUIDs as their text, anything else a
    ServiceError naming ``field`` (:func:`chatlens.backends._tables.string_array`), so a frame's ids are always
    strings and a bad value is named here rather than failing inside Arrow or pandas later."""
    return string_array(list(values), field).to_pylist()


def _pick(conversations_frame: pd.DataFrame, conversations: Iterable[str] | str | None) -> pd.DataFrame:
    if conversations is None:
        return conversations_frame
    wanted = [conversations] if isinstance(conversations, str) else list(conversations)
    by_id = conversations_frame["id"].astype(str)
    by_name = conversations_frame["label"].astype(str)
    # "#general" is how people write a channel's name: the "#" is not part of it.
    bare = [w[1:] if isinstance(w, str) and w.startswith("#") else w for w in wanted]
    keep = by_id.isin(wanted) | by_name.isin(wanted) | by_name.isin(bare)
    ids, labels = set(by_id), set(by_name)
    unknown = sorted(
        w for w, b in zip(wanted, bare, strict=True) if w not in ids and w not in labels and b not in labels
    )
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
        for cid in progress_bar(all_convs["id"].astype(str), desc="members", unit="conv", progress=progress):
            for user in iter_items(_patiently_listing(api.list_members), cid, page_size=PAGE_SIZE):
                rows.append((cid, user["id"], user.get("name") or user["id"], user.get("email")))
        names = ["conversation_id", "user_id", "name", "email"]
        columns = list(zip(*rows)) or [()] * len(names)
        frame = pd.DataFrame({c: _texts(v, f"member {c.replace('user_', '')}") for c, v in zip(names, columns)})
        frame.insert(0, "account", api.account_id)
        frame = coerce_frame(frame, "members")
        if store is not None:
            with store.lock():
                store.write_named("members", frame)
    frame = frame[frame["conversation_id"].astype(str).isin(convs["id"].astype(str))]
    return coerce_frame(frame.reset_index(drop=True), "members")


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
    engine: str = "pandas",
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
    engine
        ``"dask"``: the cache is filled as usual (not read at all when it holds every conversation asked for and
        no refresh is asked), then its messages dataset comes back as a Dask DataFrame whose partitions hold whole
        conversations, read by the workers (:func:`chatlens.read_messages`), so the frame is never whole in this
        process; the analyses take it as they take a pandas one. Without the cache (``cache=False``) or with
        ``raw=True`` the frame is loaded here and partitioned
        (:func:`chatlens.partitions.partition_by_conversation`). Needs ``pip install "chatlens[dask]"``.

    Examples
    --------
    >>> df = load_messages("demo", ["#general"], progress=False)
    >>> df.dtypes["created"], bool(df["thread_id"].notna().all())
    (datetime64[us, UTC], True)
    >>> free = load_messages("demo", ["general"], text=False, progress=False)
    >>> "text" in free, free["text_length"].tolist() == df["text"].str.len().tolist()
    (False, True)
    """
    if refresh not in (False, True, "full"):
        raise ValueError(f"refresh must be False, True or 'full', got {refresh!r}")
    if engine not in ("pandas", "dask"):
        raise ValueError(f"engine must be 'pandas' or 'dask', got {engine!r}")
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
    # How the cache is filled (or refreshed): the same for a pandas load and a Dask one.
    fill = dict(
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
    if engine == "dask" and cache and not raw:
        return _dask_from_cache(api, convs, ids, since=since, until=until, text=text, fill=fill)
    if not cache and api.bulk_messages:
        tables = {}

        def keep(frame: pd.DataFrame, spans: list[tuple[str, int, int]]) -> None:
            table = _table(frame[columns])
            for cid, offset, rows in spans:
                tables[cid] = table.slice(offset, rows)

        _fetch_bulk(api, ids, progress=progress, text=text, raw=raw, on_batch=keep)
        empty = _empty_table(text, columns)
        tables.update({cid: empty for cid in ids if cid not in tables})
    elif not cache:
        fetched = _fetch_many(api, ids, progress=progress, max_workers=workers, text=text)
        tables = {cid: _table(frame[columns]) for cid, frame in fetched.items()}
    else:
        tables = _load_cached(api, ids, **fill)
    frame = _assemble(api, convs, [(cid, tables[cid]) for cid in ids], since=since, until=until, raw=raw, text=text)
    if engine == "dask":
        from ..partitions import partition_by_conversation

        return partition_by_conversation(frame)
    return frame


def _dask_from_cache(
    api: ChatAPI, convs: pd.DataFrame, ids: list[str], *, since: Any, until: Any, text: bool, fill: dict[str, Any]
) -> Any:
    """``load_messages(engine="dask")`` from the cache: filled (or refreshed) as a pandas load fills it, then its
    messages dataset read lazily, partitions of whole conversations, so the client never holds the frame. A cache
    that already holds every conversation asked for is not read here at all."""
    from ..partitions import read_messages, require_dask

    require_dask()
    store = AccountCache(api.identity, cache_dir=fill["cache_dir"], text=text)
    manifest = store.manifest()
    if fill["refresh"] or any(cid not in manifest.get("conversations", {}) for cid in ids):
        _load_cached(api, ids, **fill)  # the tables it returns are dropped: the workers read the files
        manifest = store.manifest()
    else:
        _recall_problems(api, manifest)
    files = store.messages_files()
    filters: list[tuple[str, str, Any]] = []
    if set(manifest.get("conversations", {})) - set(ids):
        filters.append(("conversation_id", "in", ids))  # only the conversations asked for, and still listed
    if since is not None:
        filters.append(("created", ">=", to_utc(since, "since")))
    if until is not None:
        filters.append(("created", "<", to_utc(until, "until")))
    meta = empty_frame("messages", raw=False, text=text)
    if not files or not ids:
        import dask.dataframe as dd

        return dd.from_pandas(meta, npartitions=1)
    wanted = [c for c in fill["columns"] if c != "conversation_name"]
    ddf = read_messages([str(f) for f in files], engine="dask", columns=wanted, filters=filters or None)
    labels = dict(zip(convs["id"].astype(str), convs["label"].astype(str)))
    # The frame's own columns, in its order, conversation names and categories as a pandas load makes them.
    source = (api.account_id, api.service)
    return ddf.map_partitions(_as_loaded, labels, source, text, meta=meta, align_dataframes=False)


def _as_loaded(part: pd.DataFrame, labels: dict[str, str], source: tuple[str, str], text: bool) -> pd.DataFrame:
    """A partition of the cache dataset as ``load_messages`` gives its rows: conversation names and importance as
    :func:`_assemble` makes them, then what every loaded frame gets (:func:`_as_frame`)."""
    import pyarrow as pa

    from ._columns import _as_frame, _categorical, _without_unused_categories

    part = part.copy()
    ids = part["conversation_id"]
    if not isinstance(ids.dtype, pd.CategoricalDtype):
        ids = ids.astype("category")
    ids = _without_unused_categories(ids)
    ids = ids.cat.reorder_categories(ids.cat.categories.astype(str).sort_values()) if len(ids.cat.categories) else ids
    part["conversation_id"] = ids
    # One name per conversation, spread to the rows by the category codes (no Python string per message).
    names = [labels.get(str(c), str(c)) for c in ids.cat.categories]
    codes = ids.cat.codes.to_numpy()
    if len(set(names)) == len(names):
        part["conversation_name"] = pd.Categorical.from_codes(codes, categories=names, validate=False)
    else:
        distinct = sorted(set(names))
        where = np.array([distinct.index(n) for n in names] + [-1], dtype=np.int64)
        part["conversation_name"] = pd.Categorical.from_codes(where[codes], categories=distinct, validate=False)
    if "importance" in part:
        # As _assemble types it: text categories when any message has one, else Arrow string categories (the
        # partition's column is a categorical already, _assemble's a string).
        importance = part["importance"].astype("category")
        codes = importance.cat.codes.to_numpy()
        if (codes >= 0).any():
            words = pa.array(importance.cat.categories.astype(str).to_numpy(dtype=object), type=pa.string())
            dense = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0, type=pa.int32()), words)
            part["importance"] = _categorical(dense.cast(pa.string()))
        else:
            empty = pd.Index([], dtype=pd.ArrowDtype(pa.string()))
            part["importance"] = pd.Categorical.from_codes(codes, categories=empty)
    return _as_frame(part, source, raw=False, text=text)


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
            progress_bar(
                iter_items(_patiently_listing(api.list_users), page_size=PAGE_SIZE),
                desc="users",
                unit="user",
                progress=progress,
            )
        )
        if not rows:
            return empty_frame("users")
        frame = pd.DataFrame(
            {
                "account": api.account_id,
                "service": api.service,
                **{c: _texts([u.get(c) for u in rows], f"user {c}") for c in ("id", "name", "display_name", "email")},
                "created": pd.to_datetime([u.get("created") for u in rows], format="ISO8601", utc=True),
                "updated": pd.to_datetime([u.get("updated") for u in rows], format="ISO8601", utc=True),
                **{c: [bool(u.get(c)) for u in rows] for c in ("is_bot", "deleted", "guest")},
                "timezone": _texts([u.get("timezone") for u in rows], "user timezone"),
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
        for g in progress_bar(groups, desc="groups", unit="group", progress=progress):
            for u in iter_items(_patiently_listing(api.list_group_members), g["id"], page_size=PAGE_SIZE):
                rows.append((g["id"], g["name"], u["id"], u.get("name") or u["id"]))
        columns = ["group_id", "group_name", "user_id", "user_name"]
        frame = pd.DataFrame(
            {c: _texts(values, c.replace("_", " ")) for c, values in zip(columns, list(zip(*rows)) or [()] * 4)}
        )
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
