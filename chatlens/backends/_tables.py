"""Columns -> the bulk message table (:data:`~chatlens.chatapi.MESSAGE_TABLE_SCHEMA`): the one conversion every
backend with bulk reads uses, one Arrow conversion per column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..chatapi import MESSAGE_TABLE_SCHEMA

__all__ = ["message_table", "split_mentions"]

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
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


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
