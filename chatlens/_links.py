"""Reply-chain resolution by pointer jumping: every message's root and depth in O(n log depth), no Python loop
over messages. Used by the loaders (``thread_id``) and the thread analyses (depth), so it sits below both."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ReplyCycleError", "arrow_strings", "positions_in", "resolve_chains", "take_ids"]


class ReplyCycleError(ValueError):
    """Parent links that loop back on themselves; ``ids`` names messages on the cycle."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        shown = ", ".join(repr(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")
        super().__init__(f"parent links form a cycle through {len(ids)} message(s): {shown}")


def _arrow_strings(values: Any, what: str = "ids") -> pa.Array:
    """Strings as one Arrow array (no copy for Arrow-backed pandas data; nulls kept, NaN too). Ints, whole floats
    and UUIDs (a frame built by hand) become their text; anything else (a dict, a list) is a ValueError naming
    ``what``.

    Examples
    --------
    >>> import uuid
    >>> _arrow_strings([7, None]).to_pylist(), _arrow_strings([uuid.UUID(int=1)]).to_pylist()
    (['7', None], ['00000000-0000-0000-0000-000000000001'])
    >>> _arrow_strings(pd.Series([float("nan"), 3.0]), "parents").to_pylist()
    [None, '3']
    >>> _arrow_strings([{"id": 1}], "ids")
    Traceback (most recent call last):
    ...
    ValueError: ids: expected strings (ints and UUIDs are taken as their text), got dict {'id': 1}
    """
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return arr
    if arr is not None and (pa.types.is_integer(arr.type) or pa.types.is_null(arr.type)):
        return pc.cast(arr, pa.string())
    # Anything else is judged value by value: UUIDs (which Arrow would take as 16 raw bytes) and numbers as their
    # text, and a value that is no id named.
    out = []
    for v in pd.Series(values, dtype=object).tolist():
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            out.append(None)
        elif isinstance(v, str):
            out.append(v)
        elif isinstance(v, uuid.UUID | int | np.integer) and not isinstance(v, bool):
            out.append(str(v))
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out.append(str(int(v)))  # an int column that pandas made float to hold a NaN
        else:
            raise ValueError(
                f"{what}: expected strings (ints and UUIDs are taken as their text), got {type(v).__name__} {v!r:.60}"
            )
    return pa.array(out, type=pa.string())


def resolve_chains(ids: Any, parents: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root position, depth and missing-parent flag of every message.

    Parameters
    ----------
    ids
        Message ids, unique (any array-like of strings; Arrow-backed data is used without copying).
    parents
        Each message's parent id; null or ``""`` for a root.

    Returns
    -------
    (root, depth, missing_parent)
        ``root[i]`` is the position of message i's root; ``depth[i]`` the number of parent links up to it (a
        root has 0); ``missing_parent[i]`` is True where message i names a parent that is not in ``ids`` (it is
        then its own root).

    Raises
    ------
    ReplyCycleError
        If parent links form a cycle.

    Examples
    --------
    >>> root, depth, missing = resolve_chains(["a", "b", "c", "d"], ["", "a", "b", "zz"])
    >>> root.tolist(), depth.tolist(), missing.tolist()
    ([0, 0, 0, 3], [0, 1, 2, 0], [False, False, False, True])
    """
    id_arr = _arrow_strings(ids, "ids")
    parent_arr = _arrow_strings(parents, "parents")
    n = len(id_arr)
    if len(parent_arr) != n:
        raise ValueError(f"ids and parents differ in length ({n} and {len(parent_arr)})")
    # One C++ hash of the ids answers both questions: where each parent sits, and (looking the ids up in
    # themselves, where a repeated id finds its first copy) whether the ids are unique.
    if parent_arr.type != id_arr.type:  # string and large_string do not concatenate
        parent_arr = pc.cast(parent_arr, id_arr.type)
    found = pc.index_in(pa.concat_arrays([id_arr, parent_arr]), value_set=id_arr).fill_null(-1)
    found = found.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    if id_arr.null_count or not np.array_equal(found[:n], np.arange(n)):
        counts = pc.value_counts(id_arr).to_pylist()
        dupes = [c["values"] for c in counts if c["counts"] > 1][:5]
        raise ValueError(f"message ids must be unique and present; repeated: {dupes}")
    pos = found[n:]
    named = (
        pc.and_(pc.is_valid(parent_arr), pc.not_equal(parent_arr, "")).fill_null(False).to_numpy(zero_copy_only=False)
    )
    missing = named & (pos < 0)
    pos = np.where(named, pos, -1)
    jump = np.where(pos >= 0, pos, np.arange(n))
    dist = (pos >= 0).astype(np.int64)
    is_root = pos < 0
    # Each round doubles the distance covered, so ceil(log2(n)) + 1 rounds reach every root. Done means every
    # pointer lands on a message without a parent: on a cycle, pointers can settle on themselves, which is not done.
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2))))) + 2):
        if is_root[jump].all():
            return jump, dist, missing
        dist = dist + dist[jump]
        jump = jump[jump]
    if is_root[jump].all():
        return jump, dist, missing
    stuck = np.flatnonzero(~is_root[jump])
    # Messages on the cycle itself are those that reach themselves again.
    on_cycle = [int(i) for i in stuck if _reaches_itself(int(i), pos)]
    raise ReplyCycleError([id_arr[i].as_py() for i in (on_cycle or stuck.tolist())])


def _reaches_itself(i: int, pos: np.ndarray) -> bool:
    seen, j = set(), i
    while j >= 0 and j not in seen:
        seen.add(j)
        j = int(pos[j])
        if j == i:
            return True
    return False


def arrow_strings(values: Any) -> pa.Array:
    """``values`` (strings, nulls allowed) as one Arrow string array, without a copy where they already are one."""
    return _arrow_strings(values)


def positions_in(values: Any, ids: Any) -> np.ndarray:
    """Where each of ``values`` sits in ``ids`` (int64, -1 where absent or null), by a C++ hash lookup.

    Examples
    --------
    >>> positions_in(["b", None, "zz"], ["a", "b"]).tolist()
    [1, -1, -1]
    """
    found = pc.index_in(_arrow_strings(values), value_set=_arrow_strings(ids))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def take_ids(ids: Any, positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The ids at ``positions`` as an Arrow-backed string array (for root ids)."""
    return pd.array(_arrow_strings(ids).take(pa.array(positions)), dtype=pd.ArrowDtype(pa.string()))
