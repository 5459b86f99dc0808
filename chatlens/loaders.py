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

import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Literal

import orjson
import pandas as pd
from tqdm.auto import tqdm

from ._links import resolve_chains
from .accounts import connect
from .cache import AccountCache, now_iso
from .chatapi import ChatAPI, iter_items
from .errors import PermissionDenied, RateLimited
from .schema import coerce_frame, empty_frame

__all__ = ["load_conversations", "load_members", "load_messages", "iter_messages", "MAX_RATE_LIMIT_WAITS"]

PAGE_SIZE = 1000
MAX_RATE_LIMIT_WAITS = 30
_MAX_WAIT = 120.0

Refresh = bool | Literal["full"]

_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_SYSTEM = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "pinned_item",
        "unpinned_item",
        "bot_add",
        "bot_remove",
    }
)
# Columns stored per conversation in the cache; the rest are derived when frames are assembled.
_STORED = [
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


def _message_columns(objects: Iterable[dict[str, Any]], service: str) -> dict[str, list[Any]]:
    """One pass over message dicts into column lists (the only per-message Python work of a load)."""
    cols: dict[str, list[Any]] = {c: [] for c in _STORED}
    teams = service == "ms_teams"
    for m in objects:
        raw = m.get("raw") or {}
        sender = m.get("sender") or {}
        text = m.get("text") or ""
        cols["id"].append(m["id"])
        cols["sender_id"].append(sender.get("id") or "unknown")
        cols["sender_name"].append(sender.get("name") or sender.get("id") or "unknown")
        cols["created"].append(m["created"])
        cols["modified"].append(m.get("modified"))
        cols["text"].append(text)
        cols["parent"].append(m.get("parent") or None)
        if teams:
            kind = raw.get("messageType") or "message"
            frm = raw.get("from") or {}
            cols["is_bot"].append(bool(frm.get("application")) and not frm.get("user"))
            cols["is_system"].append(kind != "message")
            cols["subtype"].append(None if kind == "message" else kind)
            mentions = raw.get("mentions") or []
            cols["mentions"].append(
                [u["id"] for x in mentions if (u := ((x.get("mentioned") or {}).get("user") or {})).get("id")]
            )
        else:
            subtype = raw.get("subtype")
            cols["is_bot"].append(subtype == "bot_message" or bool(raw.get("bot_id")))
            cols["is_system"].append(subtype in _SLACK_SYSTEM)
            cols["subtype"].append(subtype)
            cols["mentions"].append(_SLACK_MENTION.findall(text) if "<@" in text else [])
        cols["raw"].append(orjson.dumps(raw).decode())
    return cols


def _stored_frame(cols: dict[str, list[Any]]) -> pd.DataFrame:
    """Column lists -> the cached per-conversation frame (dtypes of the schema, times parsed vectorised)."""
    frame = pd.DataFrame(cols, columns=_STORED)
    frame["created"] = pd.to_datetime(frame["created"], format="ISO8601", utc=True).astype("datetime64[us, UTC]")
    frame["modified"] = pd.to_datetime(frame["modified"], format="ISO8601", utc=True).astype("datetime64[us, UTC]")
    for c in ("id", "text", "parent", "subtype", "raw"):
        frame[c] = frame[c].astype("string[pyarrow]")
    for c in ("is_bot", "is_system"):
        frame[c] = frame[c].astype(bool)
    return frame


def _fetch_conversation(
    api: ChatAPI,
    conversation_id: str,
    stop_after: tuple[str, str] | None = None,
    on_page: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Every message of a conversation (or only those newer than ``stop_after`` = (created, id))."""
    cols: dict[str, list[Any]] = {c: [] for c in _STORED}
    page = None
    service = api.service
    while True:
        result = _patiently(api.list_messages, conversation_id, page_size=PAGE_SIZE, page=page)
        objects = result["objects"]
        if stop_after is not None:
            fresh = [m for m in objects if (m["created"], m["id"]) > stop_after]
            done = len(fresh) < len(objects)
            objects = fresh
        else:
            done = False
        part = _message_columns(objects, service)
        for c in _STORED:
            cols[c].extend(part[c])
        if on_page is not None:
            on_page(len(objects))
        page = result.get("next_page")
        if done or not page:
            return _stored_frame(cols)


# -- conversations and members -------------------------------------------------------------------------------


def _conversation_kind(conv: dict[str, Any], service: str) -> str:
    raw = conv.get("raw") or {}
    if service == "ms_teams":
        chat = raw.get("chatType")
        if chat == "oneOnOne":
            return "direct"
        if chat in ("group", "meeting"):
            return "group_direct"
        if raw.get("membershipType") == "private":
            return "private_channel"
    else:
        if raw.get("is_im"):
            return "direct"
        if raw.get("is_mpim"):
            return "group_direct"
    return "private_channel" if conv.get("private") else "channel"


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
    store = AccountCache(api.identity, cache_dir=cache_dir) if cache else None
    if store is not None and not refresh:
        cached = store.read_named("conversations")
        if cached is not None:
            return coerce_frame(cached, "conversations")
    convs = list(iter_items(_patiently_listing(api.list_conversations), page_size=PAGE_SIZE))
    frame = _conversations_frame(api, convs)
    if store is not None:
        with store.lock():
            store.write_named("conversations", frame)
    return frame


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
            "kind": [_conversation_kind(c, service) for c in convs],
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
    cache: bool = True,
    refresh: Refresh = False,
    progress: bool = True,
    max_workers: int = 4,
    cache_dir: str | None = None,
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
    cache, refresh
        Use the on-disk cache; ``refresh=True`` fetches what is new, ``"full"`` everything (module docs).
    progress
        Show a progress bar (conversations and messages).
    max_workers
        Conversations fetched at once.

    Examples
    --------
    >>> df = load_messages("demo", ["general"], progress=False)
    >>> df.dtypes["created"], bool(df["thread_id"].notna().all())
    (datetime64[us, UTC], True)
    """
    if refresh not in (False, True, "full"):
        raise ValueError(f"refresh must be False, True or 'full', got {refresh!r}")
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    api = _account(account)
    _require(api, "list_messages", "messages")
    convs = _pick(
        load_conversations(api, cache=cache, refresh=bool(refresh), progress=progress, cache_dir=cache_dir),
        conversations,
    )
    ids = convs["id"].astype(str).tolist()
    if not cache:
        parts = _fetch_many(api, ids, progress=progress, max_workers=max_workers)
    else:
        parts = _load_cached(api, ids, refresh=refresh, progress=progress, max_workers=max_workers, cache_dir=cache_dir)
    return _assemble(api, convs, parts, since=since, until=until, raw=raw)


def _fetch_many(
    api: ChatAPI,
    ids: list[str],
    *,
    progress: bool,
    max_workers: int,
    on_done: Callable[[str, pd.DataFrame], None] | None = None,
    stop_after: dict[str, tuple[str, str]] | None = None,
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
        pending = {pool.submit(_fetch_conversation, api, cid, (stop_after or {}).get(cid), count): cid for cid in ids}
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
    api: ChatAPI, ids: list[str], *, refresh: Refresh, progress: bool, max_workers: int, cache_dir: str | None
) -> dict[str, pd.DataFrame]:
    store = AccountCache(api.identity, cache_dir=cache_dir)
    parts: dict[str, pd.DataFrame] = {}
    if not refresh:
        manifest = store.manifest()
        parts = _read_cached(store, manifest, ids)
        if len(parts) == len(ids):
            return parts  # everything cached: no request at all
    with store.lock():
        manifest = store.manifest()
        if refresh == "full":
            manifest["conversations"] = {}
            manifest["events_cursor"] = None
        parts = _read_cached(store, manifest, ids)
        can_follow = "list_events" in api.rules.allowed
        if can_follow and manifest.get("events_cursor") is None:
            # Taken before fetching, so anything that changes during the load is replayed next time.
            manifest["events_cursor"] = _patiently(api.latest_cursor)
            store.write_manifest(manifest)

        def save(cid: str, frame: pd.DataFrame) -> None:
            store.write_frame(store.message_file(cid), frame)
            newest = frame.loc[frame["created"].idxmax()] if len(frame) else None
            manifest["conversations"][cid] = {
                "rows": len(frame),
                "newest": [
                    newest["created"].isoformat().replace("+00:00", "Z") if newest is not None else "",
                    str(newest["id"]) if newest is not None else "",
                ],
                "fetched_at": now_iso(),
            }
            manifest["fetched_at"] = now_iso()
            store.write_manifest(manifest)

        missing = [cid for cid in ids if cid not in parts]
        parts.update(_fetch_many(api, missing, progress=progress, max_workers=max_workers, on_done=save))
        if refresh is True:
            known = [cid for cid in ids if cid not in missing]
            stop = {cid: _newest_key(parts[cid]) for cid in known}
            new = _fetch_many(api, known, progress=progress, max_workers=max_workers, stop_after=stop)
            changed = {cid: _upsert(parts[cid], frame) for cid, frame in new.items() if len(frame)}
            if can_follow:
                changed = _replay_events(api, store, manifest, parts, changed, ids)
            for cid, frame in changed.items():
                parts[cid] = frame
                save(cid, frame)
    return parts


def _newest_key(frame: pd.DataFrame) -> tuple[str, str]:
    if not len(frame):
        return ("", "")
    i = frame["created"].to_numpy().argmax()
    created = frame["created"].iloc[i]
    return (created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), str(frame["id"].iloc[i]))


def _read_cached(store: AccountCache, manifest: dict[str, Any], ids: list[str]) -> dict[str, pd.DataFrame]:
    parts = {}
    for cid in ids:
        entry = manifest["conversations"].get(cid)
        if entry is None:
            continue
        frame = store.read_frame(store.message_file(cid), rows=int(entry["rows"]))
        if frame is None:
            del manifest["conversations"][cid]  # reported by read_frame; fetched again below
            continue
        parts[cid] = frame
    return parts


def _upsert(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``new`` rows added or replacing rows of the same id."""
    kept = frame[~frame["id"].isin(new["id"])]
    return pd.concat([kept, new], ignore_index=True) if len(kept) else new.reset_index(drop=True)


def _replay_events(
    api: ChatAPI,
    store: AccountCache,
    manifest: dict[str, Any],
    parts: dict[str, pd.DataFrame],
    changed: dict[str, pd.DataFrame],
    ids: list[str],
) -> dict[str, pd.DataFrame]:
    """Apply message edits and deletions from the activity feed since the stored cursor."""
    cursor = manifest.get("events_cursor")
    upserts: dict[str, list[dict[str, Any]]] = {}
    deletes: dict[str, set[str]] = {}
    while True:
        page = _patiently(api.list_events, cursor=cursor, page_size=PAGE_SIZE)
        for event in page["objects"]:
            obj = event.get("metadata") or {}
            if event.get("object_type") != "message" or obj.get("conversation_id") not in parts:
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
        frame = changed.get(cid, parts[cid])
        if upserts.get(cid):
            # The latest version of each object wins: later events come later in the list.
            latest = {o["id"]: o for o in upserts[cid]}
            frame = _upsert(frame, _stored_frame(_message_columns(latest.values(), api.service)))
        if deletes.get(cid):
            frame = frame[~frame["id"].isin(list(deletes[cid]))].reset_index(drop=True)
        changed[cid] = frame
    manifest["events_cursor"] = cursor
    store.write_manifest(manifest)
    return changed


def _assemble(
    api: ChatAPI, convs: pd.DataFrame, parts: dict[str, pd.DataFrame], *, since: Any, until: Any, raw: bool
) -> pd.DataFrame:
    frames = [f.assign(conversation_id=cid) for cid, f in parts.items() if len(f)]
    if not frames:
        return empty_frame("messages", raw=raw)
    frame = pd.concat(frames, ignore_index=True)
    labels = dict(zip(convs["id"].astype(str), convs["label"].astype(str)))
    frame["account"] = api.account_id
    frame["service"] = api.service
    frame["conversation_name"] = frame["conversation_id"].map(labels)
    frame = frame.sort_values(["conversation_id", "created", "id"], kind="stable", ignore_index=True)
    # Threads are resolved on the whole conversation before any date filter, so a reply keeps its true root.
    root, _depth, _missing = resolve_chains(
        frame["id"].to_numpy(dtype=object), frame["parent"].to_numpy(dtype=object, na_value=None)
    )
    frame["thread_id"] = frame["id"].to_numpy(dtype=object)[root]
    frame["is_reply"] = frame["parent"].notna().to_numpy()
    frame["edited"] = frame["modified"].notna().to_numpy()
    frame["mentions"] = pd.array(frame["mentions"].map(list).tolist(), dtype=pd.ArrowDtype(_list_type()))
    if since is not None:
        frame = frame[frame["created"] >= _utc(since, "since")]
    if until is not None:
        frame = frame[frame["created"] < _utc(until, "until")]
    return coerce_frame(frame.reset_index(drop=True), "messages", raw=raw)


def _list_type() -> Any:
    import pyarrow as pa

    return pa.list_(pa.string())


def _utc(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a date or time") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
