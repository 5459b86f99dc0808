"""Reply-chain resolution by pointer jumping: every message's root and depth in O(n log depth), no Python loop
over messages. Used by the loaders (``thread_id``) and the thread analyses (depth), so it sits below both."""

from __future__ import annotations

import uuid
import weakref
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Links", "ReplyCycleError", "arrow_strings", "chain_links", "positions_in", "resolve_chains", "take_ids"]


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
    links = _lookup(_arrow_strings(ids, "ids"), _arrow_strings(parents, "parents"))
    root, depth = _jump(links)
    return root, depth, links.missing


class Links(NamedTuple):
    """Where each message's parent sits, and each message's root (:func:`chain_links`). Arrays are read-only."""

    #: Position of the message each parent id names (first copy of a repeated id), -1 where null or absent;
    #: ``""`` is looked up too (as :func:`positions_in` does).
    found: np.ndarray
    #: ``found`` where a parent is named (not null, not ``""``), else -1.
    parent: np.ndarray
    #: A parent is named but not in the frame.
    missing: np.ndarray
    #: Whether the ids are unique and none is null.
    unique: bool
    ids: pa.Array


def _lookup(id_arr: pa.Array, parent_arr: pa.Array) -> Links:
    """The parent look-up of :func:`resolve_chains` (no uniqueness error yet: :func:`_jump` raises it)."""
    n = len(id_arr)
    if len(parent_arr) != n:
        raise ValueError(f"ids and parents differ in length ({n} and {len(parent_arr)})")
    # One C++ hash of the ids answers both questions: where each parent sits, and (looking the ids up in
    # themselves, where a repeated id finds its first copy) whether the ids are unique.
    if parent_arr.type != id_arr.type:  # string and large_string do not concatenate
        parent_arr = pc.cast(parent_arr, id_arr.type)
    fast = _lookup_fixed_width(id_arr, parent_arr)
    if fast is not None:
        return fast
    # Only parents that are there are probed (most messages are roots, their parent null), so the probe copies
    # the ids and those parents, not every row twice.
    valid = pc.is_valid(parent_arr).to_numpy(zero_copy_only=False)
    probe = parent_arr.filter(pa.array(valid)) if not valid.all() else parent_arr
    hits = pc.index_in(pa.concat_arrays([id_arr, probe]), value_set=id_arr).fill_null(-1)
    hits = hits.to_numpy(zero_copy_only=False)
    unique = not id_arr.null_count and np.array_equal(hits[:n], np.arange(n, dtype=hits.dtype))
    found = np.full(n, -1, dtype=np.int64)
    found[valid] = hits[n:]
    named = np.zeros(n, dtype=bool)
    named[valid] = pc.not_equal(probe, "").to_numpy(zero_copy_only=False)
    pos = np.where(named, found, -1)
    return Links(found, pos, named & (found < 0), bool(unique), id_arr)


#: Ids up to this many bytes are hashed as machine words (:func:`_lookup_fixed_width`).
_WORD_BYTES = 64


def _offsets(arr: pa.Array) -> np.ndarray:
    """The value offsets of an Arrow (large) string array, as int64, the array's own slice of them."""
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    return np.frombuffer(arr.buffers()[1], dtype=kind, count=len(arr) + 1, offset=arr.offset * kind().itemsize)


def _words(arr: pa.Array, width: int) -> np.ndarray:
    """The strings of ``arr``, each ``width`` bytes long, as rows of zero-padded uint64 words."""
    offsets = _offsets(arr)
    data = arr.buffers()[2]
    block = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    out = np.zeros((len(arr), -(-width // 8) * 8), dtype=np.uint8)
    out[:, :width] = block[offsets[0] : offsets[0] + len(arr) * width].reshape(len(arr), width)
    return out.view(np.uint64)


def _hash_words(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of words (a multiply-xorshift mix; equal rows hash equal)."""
    h = np.full(len(words), words.shape[1], dtype=np.uint64)
    for j in range(words.shape[1]):
        h ^= words[:, j]
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h.view(np.int64)


def _lookup_fixed_width(id_arr: pa.Array, parent_arr: pa.Array) -> Links | None:
    """:func:`_lookup` for unique, non-null ids of one byte length (Slack's ``C123-1700000000.000100``, UUIDs,
    Teams' numbers), or None for others: each id's bytes hashed as a few machine words and looked up in an int64
    hash table, several times faster than a hash of strings. Exact: a parent whose hash is found is compared with
    that id byte for byte (another id cannot share its hash: the hashes of the ids are checked unique, which also
    proves the ids are), and one of another length is no id."""
    n = len(id_arr)
    if n == 0 or id_arr.null_count or not (pa.types.is_string(id_arr.type) or pa.types.is_large_string(id_arr.type)):
        return None
    id_off = _offsets(id_arr)
    width = int(id_off[1] - id_off[0])
    if not 0 < width <= _WORD_BYTES or np.any(np.diff(id_off) != width):
        return None
    id_words = _words(id_arr, width)
    table = pd.Index(_hash_words(id_words))
    if not table.is_unique:  # repeated ids, or (rarely) two ids sharing a hash: the string hash decides
        return None
    valid = pc.is_valid(parent_arr).to_numpy(zero_copy_only=False)
    par_off = _offsets(parent_arr)
    par_len = np.diff(par_off)
    rows = np.flatnonzero(valid & (par_len == width))
    # Those of the ids' length, taken into one contiguous block (the others are no id).
    par_words = _words(parent_arr.take(pa.array(rows)), width)
    at = table.get_indexer(_hash_words(par_words))
    hit = np.flatnonzero(at >= 0)
    same = np.ones(len(hit), dtype=bool)
    named_ids = id_words[at[hit]]
    for j in range(id_words.shape[1]):  # a shared hash but other bytes: absent
        same &= named_ids[:, j] == par_words[hit, j]
    at[hit[~same]] = -1
    hit = at >= 0
    found = np.full(n, -1, dtype=np.int64)
    found[rows[hit]] = at[hit]
    named = valid & (par_len > 0)
    pos = np.where(named, found, -1)
    return Links(found, pos, named & (found < 0), True, id_arr)


def _jump(links: Links) -> tuple[np.ndarray, np.ndarray]:
    """(root, depth) by pointer jumping; ValueError for ids that are not unique, ReplyCycleError for a cycle."""
    id_arr, pos = links.ids, links.parent
    if not links.unique:
        counts = pc.value_counts(id_arr).to_pylist()
        dupes = [c["values"] for c in counts if c["counts"] > 1][:5]
        raise ValueError(f"message ids must be unique and present; repeated: {dupes}")
    n = len(pos)
    jump = np.where(pos >= 0, pos, np.arange(n))
    dist = (pos >= 0).astype(np.int64)
    is_root = pos < 0
    # Each round doubles the distance covered, so ceil(log2(n)) + 1 rounds reach every root. Done means every
    # pointer lands on a message without a parent: on a cycle, pointers can settle on themselves, which is not done.
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2))))) + 2):
        if is_root[jump].all():
            return jump, dist
        dist = dist + dist[jump]
        jump = jump[jump]
    if is_root[jump].all():
        return jump, dist
    stuck = np.flatnonzero(~is_root[jump])
    # Messages on the cycle itself are those that reach themselves again.
    on_cycle = [int(i) for i in stuck if _reaches_itself(int(i), pos)]
    raise ReplyCycleError([id_arr[i].as_py() for i in (on_cycle or stuck.tolist())])


# Chain resolution hashes every id (the one cost of a thread analysis that grows with the ids' bytes), and the
# report or the dashboard asks it of the same frame many times. Arrow arrays never change once built (pandas
# replaces, never writes into, the ChunkedArray behind an Arrow-backed column), so the answer for one pair of
# them is kept while both are alive, weakly: an entry goes when either array does. Plain numpy or object
# columns can change in place, so they are never remembered.
_MEMO: dict[tuple[int, int], tuple[Any, ...]] = {}
_MEMO_SIZE = 4


def _immutable(values: Any) -> pa.ChunkedArray | None:
    """The Arrow ChunkedArray behind an Arrow-backed pandas Series, Index or array, else None."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    arr = getattr(values, "_pa_array", None)
    return arr if isinstance(arr, pa.ChunkedArray) else None


def chain_links(ids: Any, parents: Any) -> tuple[Links, np.ndarray | None, np.ndarray | None]:
    """``(links, root, depth)`` of every message, remembered for Arrow-backed columns (see ``_MEMO``).

    ``root`` and ``depth`` are None when the ids repeat or the links form a cycle (:func:`resolve_chains` says
    which, as an error); ``links`` is always there, so a look-up of parents needs neither. Arrays are read-only.

    Examples
    --------
    >>> links, root, depth = chain_links(["a", "b", "c"], ["", "a", "b"])
    >>> links.parent.tolist(), root.tolist(), depth.tolist()
    ([-1, 0, 1], [0, 0, 0], [0, 1, 2])
    """
    key_arrays = (_immutable(ids), _immutable(parents))
    key = None
    if key_arrays[0] is not None and (parents is None or key_arrays[1] is not None):
        key = (id(key_arrays[0]), id(key_arrays[1]))
        hit = _MEMO.get(key)
        if hit is not None and hit[0]() is key_arrays[0] and hit[1]() is key_arrays[1]:
            return hit[2]
    id_arr = _arrow_strings(ids, "ids")
    parent_arr = _arrow_strings(parents, "parents") if parents is not None else pa.nulls(len(id_arr), type=id_arr.type)
    links = _lookup(id_arr, parent_arr)
    try:
        root, depth = _jump(links)
    except ValueError:  # ReplyCycleError too: callers that need roots call resolve_chains for the error
        root = depth = None
    for arr in (links.found, links.parent, links.missing, root, depth):
        if arr is not None:
            arr.flags.writeable = False
    result = (links, root, depth)
    if key is not None:
        _remember(key, key_arrays, result)
    return result


def _remember(key: tuple[int, int], arrays: tuple[Any, Any], result: tuple[Any, ...]) -> None:
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    forget = lambda _ref: _MEMO.pop(key, None)  # noqa: E731
    refs = tuple(weakref.ref(a, forget) if a is not None else (lambda: None) for a in arrays)
    _MEMO[key] = (*refs, result)


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
