"""Reply-chain resolution by pointer jumping: every message's root and depth in O(n log depth), no Python loop
over messages. Used by the loaders (``thread_id``) and the thread analyses (depth), so it sits below both."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ReplyCycleError", "resolve_chains"]


class ReplyCycleError(ValueError):
    """Parent links that loop back on themselves; ``ids`` names messages on the cycle."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        shown = ", ".join(repr(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")
        super().__init__(f"parent links form a cycle through {len(ids)} message(s): {shown}")


def resolve_chains(
    ids: pd.Series | np.ndarray, parents: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root position, depth and missing-parent flag of every message.

    Parameters
    ----------
    ids
        Message ids, unique.
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
    ids = pd.Index(np.asarray(ids, dtype=object))
    if not ids.is_unique:
        dupes = ids[ids.duplicated()].unique()[:5].tolist()
        raise ValueError(f"message ids must be unique; repeated: {dupes}")
    parent_values = pd.Series(np.asarray(parents, dtype=object))
    has_parent = parent_values.notna().to_numpy() & (parent_values.fillna("").to_numpy() != "")
    n = len(ids)
    pos = np.full(n, -1, dtype=np.int64)
    if has_parent.any():
        pos[has_parent] = ids.get_indexer(parent_values[has_parent].to_numpy())
    missing = has_parent & (pos < 0)
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
    raise ReplyCycleError([str(ids[i]) for i in (on_cycle or stuck.tolist())])


def _reaches_itself(i: int, pos: np.ndarray) -> bool:
    seen, j = set(), i
    while j >= 0 and j not in seen:
        seen.add(j)
        j = int(pos[j])
        if j == i:
            return True
    return False
