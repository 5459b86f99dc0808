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

from ..chatapi import MESSAGE_TABLE_SCHEMA
from ..errors import ServiceError

__all__ = ["message_table", "split_mentions", "string_array"]

_WITHOUT_RAW = MESSAGE_TABLE_SCHEMA.remove(MESSAGE_TABLE_SCHEMA.get_field_index("raw"))
_EMPTY_MENTIONS = pa.array([[]], type=pa.list_(pa.string()))


def message_table(columns: dict[str, Sequence[Any] | pa.Array], *, raw: bool) -> pa.Table:
    """Columns by name (Python values, or Arrow arrays already of the schema's type) as a table; times are
    microseconds, the bot and system flags bools or 0/1.

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
    arrays: list[pa.Array] = []
    for field in schema:
        values = columns[field.name]
        if isinstance(values, pa.Array):
            arrays.append(values)
        elif field.name in ("created", "modified"):
            arrays.append(pa.array(values, type=pa.int64()).cast(field.type))
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
    return pc.if_else(pc.is_null(joined), _EMPTY_MENTIONS.take([0] * len(joined)), split)
