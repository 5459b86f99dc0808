"""Columns -> the bulk message table (:data:`~chatlens.chatapi.MESSAGE_TABLE_SCHEMA`): the one conversion every
backend with bulk reads uses, one Arrow conversion per column; and :func:`string_array`, the one place where ids
that are not strings (ints, UUIDs) become strings on their way up from a backend, for the loaders too."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .._time import us_from_iso
from ..chatapi import MESSAGE_TABLE_SCHEMA
from ..chatapi.interface import REACTION_LIST
from ..errors import ServiceError

__all__ = ["EXTENSION_FIELDS", "extension_columns", "message_table", "reaction_times", "split_mentions", "string_array"]

_WITHOUT_RAW = MESSAGE_TABLE_SCHEMA.remove(MESSAGE_TABLE_SCHEMA.get_field_index("raw"))
_EMPTY_MENTIONS = pa.array([[]], type=pa.list_(pa.string()))


def message_table(columns: dict[str, Sequence[Any] | pa.Array], *, raw: bool) -> pa.Table:
    """Columns by name (Python values, or Arrow arrays already of the schema's type) as a table; times are
    microseconds, the bot and system flags bools or 0/1; the extension columns (:data:`EXTENSION_FIELDS`) are
    empty where not given.

    Examples
    --------
    >>> cols = {"conversation_id": ["C1"], "id": ["m1"], "sender_id": ["U1"], "sender_name": ["ada"],
    ...         "created": [1], "modified": [None], "text": ["hi"], "parent": [None], "is_bot": [0],
    ...         "is_system": [0], "subtype": [None], "mentions": [["U2"]]}
    >>> t = message_table(cols, raw=False)
    >>> t.column("mentions").to_pylist(), str(t.column("created").type), t.column("is_bot").to_pylist()
    ([['U2']], 'timestamp[us, tz=UTC]', [False])
    """
    schema = MESSAGE_TABLE_SCHEMA if raw else _WITHOUT_RAW
    if any(name not in columns for name in EXTENSION_FIELDS):  # a source with no reactions, files or the like
        columns = {**extension_columns(len(columns["id"]), ()), **columns}
    arrays: list[pa.Array] = []
    for field in schema:
        values = columns[field.name]
        if isinstance(values, pa.Array):
            arrays.append(values)
        elif field.name in ("created", "modified"):
            arrays.append(pa.array(values, type=pa.int64()).cast(field.type))
        elif field.name == "reactions":
            arrays.append(pa.array(values, type=REACTION_LIST))
        elif field.name in ("is_bot", "is_system"):
            as_ints = len(values) > 0 and type(values[0]) is not bool  # 0/1 from SQL, or bools
            arrays.append(
                pa.array(values, type=pa.int8()).cast(pa.bool_()) if as_ints else pa.array(values, pa.bool_())
            )
        else:
            arrays.append(string_array(values, field.name, lists=pa.types.is_list(field.type)))
    return pa.Table.from_arrays(arrays, schema=schema)


_STRING_TYPES = (pa.string(), pa.large_string())


def _as_text(value: Any, field: str) -> str | None:
    """One id as text: strings as they are, ints and UUIDs as their usual text; anything else is refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN: how pandas marks a missing value in an object column
        return None
    if isinstance(value, uuid.UUID) or (isinstance(value, Integral) and not isinstance(value, bool)):
        return str(value)
    raise ServiceError(
        f"{field}: expected a string (ints and UUIDs are taken as their text), got {type(value).__name__} {value!r:.80}"
    )


def string_array(values: Sequence[Any] | pa.Array | pa.ChunkedArray, field: str, *, lists: bool = False) -> Any:
    """A string column (``lists``: a column of lists of strings, as ``mentions``) as Arrow, with ints and UUIDs
    (a hand-written backend's ids, a database's integer keys) converted to their text, and any other value (a
    dict, a list where a string belongs) refused with a :class:`~chatlens.errors.ServiceError` naming ``field``,
    rather than an Arrow error from deep inside a load. Strings take Arrow's own conversion, in C; only a column
    that holds something else is looked at value by value.

    Examples
    --------
    >>> import uuid
    >>> string_array(["U1", 7, uuid.UUID(int=1), None], "sender.id").to_pylist()
    ['U1', '7', '00000000-0000-0000-0000-000000000001', None]
    >>> string_array([["U2", 3], []], "mentions", lists=True).to_pylist()
    [['U2', '3'], []]
    >>> string_array([{"id": "m1"}], "id")
    Traceback (most recent call last):
    ...
    chatlens.errors.ServiceError: id: expected a string (ints and UUIDs are taken as their text), got dict {'id': 'm1'}
    """
    wanted = pa.list_(pa.string()) if lists else pa.string()
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        kind = values.type.value_type if lists and pa.types.is_list(values.type) else values.type
        if kind in _STRING_TYPES or pa.types.is_null(kind):
            return values  # as given (a large_string column over 2 GiB stays one)
        if pa.types.is_integer(kind):
            return values.cast(wanted)
        values = values.to_pylist()  # UUIDs, structs and the like: judged one by one below
    try:
        return pa.array(values, type=wanted)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    if not lists:
        return pa.array([_as_text(v, field) for v in values], type=wanted)
    fixed: list[list[str | None] | None] = []
    for items in values:
        if items is not None and not isinstance(items, (list, tuple)):
            raise ServiceError(f"{field}: expected a list of strings, got {type(items).__name__} {items!r:.80}")
        fixed.append(None if items is None else [_as_text(v, field) for v in items])
    return pa.array(fixed, type=wanted)


def split_mentions(joined: Sequence[str | None], separator: str) -> pa.Array:
    """Mention ids joined by ``separator`` (None for none) as Arrow lists, split vectorised.

    Examples
    --------
    >>> split_mentions(["U2\\x1fU3", None], "\\x1f").to_pylist()
    [['U2', 'U3'], []]
    """
    joined = pa.array(joined, type=pa.string())
    split = pc.split_pattern(joined, separator)
    return pc.if_else(pc.is_null(joined), _repeat(_EMPTY_MENTIONS, len(joined)), split)


#: The message fields each backend derives besides the signals (see :func:`extension_columns`), with their empty
#: value; the bulk table's columns of the same names.
EXTENSION_FIELDS = {"reactions": [], "file_kinds": [], "importance": None, "members_joined": [], "members_left": []}


def reaction_times(reactions: Any) -> Any:
    """A wire message's reactions with their ISO times as microseconds (the table's type); anything that is not a
    list of reaction objects is handed on as it is, for the Arrow conversion to refuse by name.

    Examples
    --------
    >>> reaction_times([{"emoji": "tada", "user": "U1", "count": 1, "created": "1970-01-01T00:00:01Z"}])[0]["created"]
    1000000
    """
    if not isinstance(reactions, list):
        return reactions
    return [
        {**r, "created": us_from_iso(r["created"])} if isinstance(r, dict) and isinstance(r.get("created"), str) else r
        for r in reactions
    ]


def _repeat(one: pa.Array, n: int) -> pa.Array:
    """``n`` copies of the one-element array ``one``, made by Arrow (no value per row in Python)."""
    return one.take(pa.array([0] * n, pa.int32())) if n else one[:0]


def extension_columns(n: int, found: Sequence[tuple[int, dict[str, Any]]]) -> dict[str, pa.Array]:
    """The bulk table's extension columns (:data:`EXTENSION_FIELDS`: reactions, file kinds, importance, membership
    changes) of ``n`` rows, from the few rows that have any: ``(row, fields)`` pairs, the fields as the wire objects
    carry them (reaction times as ISO text). Rows not in ``found`` get empty lists and no importance, made without a
    value per row when no row has any.

    Examples
    --------
    >>> cols = extension_columns(3, [(1, {"reactions": [{"emoji": "tada", "user": "U1", "count": 1,
    ...     "created": "2024-01-02T03:04:05Z"}], "file_kinds": ["pdf"], "importance": "high",
    ...     "members_joined": [], "members_left": []})])
    >>> cols["file_kinds"].to_pylist(), cols["importance"].to_pylist()
    ([[], ['pdf'], []], [None, 'high', None])
    >>> str(cols["reactions"].to_pylist()[1][0]["created"])
    '2024-01-02 03:04:05+00:00'
    """
    if not found:
        return {
            "reactions": _repeat(_EMPTY_REACTIONS, n),
            "importance": pa.nulls(n, pa.string()),
            **{name: _repeat(_EMPTY_MENTIONS, n) for name in ("file_kinds", "members_joined", "members_left")},
        }
    columns: dict[str, list[Any]] = {name: [empty] * n for name, empty in EXTENSION_FIELDS.items()}
    for row, fields in found:
        for name in EXTENSION_FIELDS:
            value = fields.get(name)
            if value:
                columns[name][row] = reaction_times(value) if name == "reactions" else value
    return {
        name: pa.array(values, type=REACTION_LIST)
        if name == "reactions"
        else string_array(values, name, lists=name != "importance")
        for name, values in columns.items()
    }


_EMPTY_REACTIONS = pa.array([[]], type=REACTION_LIST)
