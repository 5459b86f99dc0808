"""The columns of a load: message dicts or bulk tables become the cached per-conversation frame (schema dtypes,
sorted, threaded), and cached tables become the public frame. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._links import resolve_chains, take_ids
from .._memory import release_unused
from ..backends._tables import reaction_times, string_array
from ..chatapi import ChatAPI
from ..chatapi.interface import REACTION_LIST
from ..errors import ServiceError
from ..schema import TEXT_FREE, coerce_frame, dtype_of, empty_frame, text_free, to_utc

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
    "reactions",
    "file_kinds",
    "importance",
    "members_joined",
    "members_left",
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
    "reactions",
    "reaction_count",
    "file_kinds",
    "file_count",
    "importance",
    "members_joined",
    "members_left",
    "raw",
]

_ARROW_LIST = pd.ArrowDtype(pa.list_(pa.string()))

_ARROW_STRING = pd.ArrowDtype(pa.string())
#: Arrow types of the fetched columns (the rest are strings; raw is the service's JSON as UTF-8 bytes).

_LISTS = ("mentions", "file_kinds", "members_joined", "members_left")
_ARROW_TYPES = {
    "is_bot": pa.bool_(),
    "is_system": pa.bool_(),
    **dict.fromkeys(_LISTS, _ARROW_LIST.pyarrow_dtype),
    "reactions": REACTION_LIST,
}


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
    add_reactions, add_files, add_importance = add["reactions"], add["file_kinds"], add["importance"]
    add_joined, add_left = add["members_joined"], add["members_left"]
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
        reactions = m.get("reactions")
        add_reactions(reaction_times(reactions) if reactions else [])
        add_files(m.get("file_kinds") or [])
        add_importance(m.get("importance"))
        add_joined(m.get("members_joined") or [])
        add_left(m.get("members_left") or [])
        add_raw(dumps(m.get("raw") or {}))  # UTF-8 bytes: Arrow takes them as strings without a decode per message
    return cols


def _page_arrays(cols: dict[str, list[Any]]) -> dict[str, pa.Array]:
    """One page's column lists as Arrow arrays. A fetch converts each page at once, so the page's Python objects
    die with it: kept as lists to the end, the strings of a 45,000-message conversation pinned the memory of every
    page's parsed JSON (about 8 KB a message, 2 GB for four conversations in flight, a third of the time spent
    by the kernel paging)."""
    return {c: _column_array(c, cols[c]) for c in _FETCHED}


#: The wire field each fetched column comes from, to name it when a backend hands up something odd.
_WIRE_FIELDS = {"sender_id": "sender.id", "sender_name": "sender.name"}


def _column_array(column: str, values: Any) -> pa.Array | pa.ChunkedArray:
    """A fetched column as Arrow, of its type in ``_ARROW_TYPES`` (values already in Arrow are kept as they are).
    Ids that are ints or UUIDs become their text here, at the boundary; a dict or list where a string belongs is a
    ServiceError naming the message field (:func:`chatlens.backends._tables.string_array`)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values  # a bulk table's: its ids were made strings before it was sorted (_with_string_ids)
    wanted = _ARROW_TYPES.get(column, pa.string())
    if pa.types.is_boolean(wanted):
        return pa.array(values, type=wanted)
    if column == "reactions":
        try:
            return pa.array(values, type=wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            wanted_shape = "a list of {emoji, user, count, created}"
            raise ServiceError(f"message reactions: expected {wanted_shape}: {exc}") from None
    return string_array(values, f"message {_WIRE_FIELDS.get(column, column)}", lists=pa.types.is_list(wanted))


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
        elif c == "importance":  # a string in the cache (Parquet cannot write an all-null category), a category after
            data[c] = pd.array(arr, dtype=_ARROW_STRING)
        elif c in _LISTS or c == "reactions":
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
    if "reactions" in frame.columns:
        frame["reaction_count"] = _reaction_counts(frame["reactions"])
        frame["file_count"] = pd.array(
            pc.list_value_length(_arrow(frame["file_kinds"])).fill_null(0).to_numpy(zero_copy_only=False),
            dtype="Int64",
        )
    return frame[[c for c in _STORED if c in frame.columns]]


def _arrow(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    return column.array._pa_array if isinstance(column.array, pd.arrays.ArrowExtensionArray) else pa.array(column)


def _reaction_counts(reactions: pd.Series) -> pd.arrays.IntegerArray:
    """Each message's reaction count (the sum of its reactions' counts), vectorised over the list column."""
    lists = _arrow(reactions)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    counts = np.zeros(len(lists), dtype=np.int64)
    if len(lists):
        flat = pc.list_flatten(lists)
        if len(flat):
            rows = np.asarray(pc.list_parent_indices(lists))
            values = np.asarray(flat.field("count").fill_null(1), dtype=np.int64)
            counts = np.bincount(rows, weights=values, minlength=len(lists)).astype(np.int64)
    return pd.array(counts, dtype="Int64")


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


_ID_COLUMNS = ("conversation_id", "id", "sender_id", "parent")


def _with_string_ids(table: pa.Table) -> pa.Table:
    """A bulk table whose id columns are strings, before it is sorted by them: a backend's integer or UUID ids
    become their text (a table that follows the schema is returned as it is, with no copy)."""
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if name in _ID_COLUMNS and not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            table = table.set_column(i, name, string_array(column, f"message table column {name}"))
    return table


def _stored_batch(table: pa.Table, *, text: bool) -> tuple[pd.DataFrame, list[tuple[str, int, int]]]:
    """A bulk table of whole conversations -> one cached frame of them all (with a ``conversation_id`` column,
    in (conversation_id, created, id) order) and each conversation's (id, offset, rows) in it. One conversion
    for thousands of conversations: per conversation, building a frame cost about 7 ms."""
    table = _with_string_ids(table)
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


def _newest_keys(frame: pd.DataFrame, spans: list[tuple[str, int, int]]) -> list[list[str]]:
    """:func:`_newest_key` of each span of a batch frame, vectorised."""
    last = np.array([offset + rows - 1 for _, offset, rows in spans], dtype=np.int64)
    created = frame["created"].iloc[last].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").tolist()
    return [[c, str(i)] for c, i in zip(created, frame["id"].iloc[last].tolist())]


def _newest_key(frame: pd.DataFrame) -> tuple[str, str]:
    if not len(frame):
        return ("", "")
    last = frame.iloc[-1]  # frames are sorted by (created, id)
    return (last["created"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), str(last["id"]))


def _upsert(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``new`` rows added or replacing rows of the same id, re-sorted and re-threaded."""
    kept = frame[~frame["id"].isin(new["id"])]
    merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    for c in ("sender_id", "sender_name"):
        merged[c] = merged[c].astype(str).astype("category")
    return _finish(merged)


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _arrow_types(t: pa.DataType) -> Any:
    # Strings and lists stay Arrow-backed (no copy into Python objects); times and bools become numpy dtypes; the
    # counts (every int64 column of the schema) become Int64 at once, not int64 copied again by coerce_frame.
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_list(t):
        return pd.ArrowDtype(t)
    if pa.types.is_int64(t):
        return pd.Int64Dtype()
    return None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    for name, wanted in _ARROW_TYPES.items():
        if name in table.column_names and pa.types.is_list(wanted):
            # Parquet names a list's items "element", pandas' Arrow dtype "item": same data, one declared type.
            i = table.column_names.index(name)
            table = table.set_column(i, name, table.column(i).cast(wanted))
    # A block per column: times come without a copy, and no 2-D block is assembled beside the table (on 1,000,000
    # messages the table and its frame held 0.2x the frame more at once).
    return table.to_pandas(types_mapper=_arrow_types, split_blocks=True)


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
    release_unused()  # the conversion's scratch memory, before the columns below are made beside it
    labels = dict(zip(convs["id"].astype(str), convs["label"].astype(str)))
    ids = [cid for cid, _ in parts]
    codes = np.repeat(np.arange(len(parts)), [t.num_rows for _, t in parts])
    frame["conversation_id"] = pd.Categorical.from_codes(codes, categories=ids)
    frame["conversation_name"] = (
        pd.Categorical.from_codes(codes, categories=[labels[c] for c in ids], validate=False)
        if len(set(labels[c] for c in ids)) == len(ids)
        else pd.Categorical([labels[c] for c in ids])[codes]
    )
    if since is not None:
        frame = frame[(frame["created"] >= to_utc(since, "since")).to_numpy()]
    if until is not None:
        frame = frame[(frame["created"] < to_utc(until, "until")).to_numpy()]
    if "importance" in frame.columns and frame["importance"].notna().any():
        # A string in the cache; a categorical of text categories, as the others. (All missing, as on Slack, it
        # keeps Arrow string categories: a Parquet writer cannot type an empty object column.)
        frame["importance"] = _categorical(pa.array(frame["importance"].array, type=pa.string(), from_pandas=True))
    return _as_frame(frame.reset_index(drop=True), (api.account_id, api.service), raw=raw, text=text)


def _as_frame(frame: pd.DataFrame, source: tuple[str, str], *, raw: bool, text: bool) -> pd.DataFrame:
    """What every loaded messages frame gets, however its rows were read (a load's tables, or a Dask partition of
    the cache dataset): its account and service, only the categories present, senders' categories sorted, the
    declared columns and dtypes. ``frame`` (named conversations included) is changed in place."""
    for c, value in zip(("account", "service"), source):
        frame[c] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[value])
    for c in ("sender_id", "sender_name", "conversation_id", "conversation_name"):
        # Only the categories present, so group-bys and plots never show people or places with no rows.
        frame[c] = _without_unused_categories(frame[c])
    for c in ("sender_id", "sender_name"):
        # Sorted, whatever order the conversations' own categories were merged in (bulk or paged, the same frame).
        if not frame[c].cat.categories.is_monotonic_increasing:
            frame[c] = frame[c].cat.reorder_categories(frame[c].cat.categories.sort_values())
    return _declared(frame, raw=raw, text=text)


def _declared(frame: pd.DataFrame, *, raw: bool, text: bool) -> pd.DataFrame:
    """``coerce_frame(frame, "messages", ...)`` (the declared columns, in order, of the declared dtypes) without a
    copy of the columns already of their dtype: coerce_frame builds its frame from a dict, which copies every
    extension array (0.2x the frame more at once, on 1,000,000 messages, beside the frame it was made from)."""
    declared = list(empty_frame("messages", raw=raw, text=text).columns)
    if not set(declared) <= set(frame.columns):
        return coerce_frame(frame, "messages", raw=raw, text=text)  # its error, naming what is missing
    out = frame[declared].copy(deep=False)
    for c in declared:
        dtype = dtype_of("messages", c)
        if str(out[c].dtype) != str(dtype):  # coerce_frame's rule
            out[c] = out[c].astype(dtype)
    return out


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


def _empty_table(text: bool, columns: list[str]) -> pa.Table:
    """A conversation with no messages, as a cached table of ``columns``."""
    return _table(_stored_frame(_message_columns([]), text=text)[columns])
