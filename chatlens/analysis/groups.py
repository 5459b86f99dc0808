"""Interaction across the groups of an organisation (teams, departments): who talks to whom across lines."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._links import _arrow_strings
from ._common import factorize_text, options, str_array
from ._docs import shared_docs
from .interactions import interaction_edges
from .threads import counted_mask, counted_roots

__all__ = ["CrossGroupInteraction", "cross_group_interaction"]


class CrossGroupInteraction(NamedTuple):
    """What :func:`cross_group_interaction` returns."""

    summary: dict[str, Any]
    """interactions, cross_group_interactions, cross_group_share, threads, multi_member_threads,
    cross_group_threads, cross_group_thread_share"""
    pairs: pd.DataFrame
    """per (source_group, target_group): a count per kind, weight, and cross (groups differ)"""
    edges: pd.DataFrame
    """the member edges between groups (interaction_edges columns plus source_group, target_group)"""
    threads: pd.DataFrame
    """per thread: participants, groups (distinct groups among participants), cross (groups > 1)"""


def _group_table(groups: pd.DataFrame | str | os.PathLike[str], member_column: str, group_column: str) -> pd.DataFrame:
    """Memberships as a two-column frame (member, group), one row per distinct pair."""
    if isinstance(groups, str | os.PathLike):
        groups = pd.read_csv(groups, dtype=str)
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(f"groups must be a DataFrame or a CSV path, got {type(groups).__name__}")
    missing = [c for c in (member_column, group_column) if c not in groups.columns]
    if missing:
        raise ValueError(
            f"groups lacks columns {missing} (member_column={member_column!r}, group_column={group_column!r})"
        )
    table = pd.DataFrame(
        {"member": groups[member_column].astype(str).to_numpy(), "group": groups[group_column].astype(str).to_numpy()}
    )
    return table.drop_duplicates(ignore_index=True)


def _memberships(table: pd.DataFrame, members: Any, unassigned: str) -> pd.DataFrame:
    """(member, group) for every member of ``members``; those in no group get ``unassigned``."""
    wanted = pd.DataFrame({"member": pd.unique(np.asarray(members, dtype=object).astype(str))})
    out = wanted.merge(table, on="member", how="left")
    out["group"] = out["group"].fillna(unassigned)
    return out


def _thread_groups(
    messages: pd.DataFrame, table: pd.DataFrame, roots: np.ndarray, at: np.ndarray, unassigned: str
) -> pd.DataFrame:
    """Per thread (root position ``roots`` of each counted row ``at``, -1 for none): participants, distinct groups
    among them, and whether no one group holds them all; indexed by thread id, sorted. Members and threads are
    integer codes throughout (a member without an id takes no part)."""
    senders, labels = _sender_codes(messages["sender_id"])
    sender = senders[at]
    keep = (roots >= 0) & (sender >= 0)
    width = len(labels) + 1
    # Distinct (thread, member), sorted by thread: a sort and a step (numpy's unique() of many distinct ints
    # hashes them, several times slower).
    pairs = np.sort(roots[keep] * width + sender[keep])
    pairs = pairs[np.diff(pairs, prepend=-1) != 0]
    pair_root, pair_member = pairs // width, pairs % width
    first = np.flatnonzero(np.diff(pair_root, prepend=-1))  # each thread's first pair
    thread_roots = pair_root[first]
    participants = np.diff(np.append(first, len(pairs)))
    # Each member's groups as one sorted list (CSR), "unassigned" for members in none.
    group_codes, group_names = pd.factorize(pd.Index(np.append(table["group"].to_numpy(dtype=object), unassigned)))
    unassigned_code = group_codes[-1]
    member_code = labels.get_indexer(table["member"].to_numpy(dtype=object))
    listed = member_code >= 0
    in_some = np.zeros(len(labels), dtype=bool)
    in_some[member_code[listed]] = True
    alone = np.flatnonzero(~in_some)
    owner = np.concatenate([member_code[listed], alone])
    group = np.concatenate([group_codes[:-1][listed], np.full(len(alone), unassigned_code)])
    if len(group_names) <= 64:
        # Few groups: each member's groups as the bits of one word. A thread's groups are the bits of the OR of
        # its participants' words, and one group holds them all where the AND keeps a bit.
        bits = np.zeros(len(labels), dtype=np.uint64)
        np.bitwise_or.at(bits, owner, np.left_shift(np.uint64(1), group.astype(np.uint64)))
        words = bits[pair_member]
        groups = np.bitwise_count(np.bitwise_or.reduceat(words, first)).astype(np.int64) if len(first) else first
        cross = np.bitwise_and.reduceat(words, first) == 0 if len(first) else first.astype(bool)
    else:
        order = np.argsort(owner, kind="stable")
        owner, group = owner[order], group[order]
        per_member = np.bincount(owner, minlength=len(labels))
        start = np.concatenate([[0], np.cumsum(per_member)[:-1]]).astype(np.int64)
        thread = np.repeat(np.arange(len(first)), participants)
        n_of = per_member[pair_member]
        which_pair = np.repeat(np.arange(len(pairs)), n_of)
        step = np.arange(len(which_pair)) - np.repeat(np.cumsum(n_of) - n_of, n_of)
        pair_group = group[start[pair_member[which_pair]] + step]
        n_groups = max(len(group_names), 1)
        cells, sizes = np.unique(thread[which_pair] * n_groups + pair_group, return_counts=True)
        cell_thread = cells // n_groups
        groups = np.bincount(cell_thread, minlength=len(thread_roots))
        largest = np.zeros(len(thread_roots), dtype=np.int64)
        np.maximum.at(largest, cell_thread, sizes)
        cross = largest < participants
    ids = _arrow_strings(messages["id"], "ids").take(pa.array(thread_roots))
    # Threads in id order: frames come sorted by id (conversation, then time) more often than not.
    in_order = len(ids) < 2 or pc.all(pc.less(ids.slice(0, len(ids) - 1), ids.slice(1))).as_py()
    by_id = np.arange(len(ids)) if in_order else pc.sort_indices(ids).to_numpy()
    out = pd.DataFrame(
        {"participants": participants[by_id], "groups": groups[by_id]},
        index=pd.Index(str_array(ids.take(pa.array(by_id)) if not in_order else ids), name="thread_id"),
    ).astype("int64")
    out["cross"] = cross[by_id]
    return out


def _sender_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of the senders' text (-1 where missing) and the distinct texts, in no particular order: a
    categorical's own codes where its categories' texts are distinct, else :func:`factorize_text`."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        labels = pd.Index(values.cat.categories.astype(str), dtype="str")
        if labels.is_unique:
            return values.cat.codes.to_numpy().astype(np.int64), labels
    return factorize_text(values)


@shared_docs
def cross_group_interaction(
    messages: pd.DataFrame,
    groups: pd.DataFrame | str | os.PathLike[str],
    *,
    kinds: tuple[str, ...] = ("reply", "mention"),
    member_column: str = "member_id",
    group_column: str = "group",
    unassigned: str = "(unassigned)",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> CrossGroupInteraction:
    """Interactions (replies, mentions) and threads that cross the groups members belong to (teams, offices ...).

    Parameters
    ----------
    %(messages)s
    groups
        Memberships, one row per (member, group): ``member_column`` (user id) and ``group_column``; a DataFrame
        or the path of a CSV. A member may be in several groups, as in the service's own groups:
        ``chatlens.load_groups(...)`` works with ``member_column="user_id"``, ``group_column="group_name"``.
    member_column, group_column
        The columns of ``groups`` that hold the member's user id and the group's name.
    kinds
        The edge kinds of :func:`~chatlens.analysis.interaction_edges` to count.
    unassigned
        The group of members missing from ``groups`` (counted like any other group).
    %(since_until)s
    %(include)s

    Returns
    -------
    CrossGroupInteraction
        ``summary`` (dict of counts and shares), ``pairs`` (per group pair), ``edges`` (member edges that cross
        groups), ``threads`` (per thread).

    Notes
    -----
    An interaction a -> b crosses groups when a and b share no group. cross-group share = sum of weight(a -> b)
    over crossing edges / sum of weight over all edges, weight = replies + mentions from a to b (self-replies left
    out). Threads are resolved on the whole frame, and count when their root does (a bot's thread is left out);
    their participants are the members posting in them. A thread crosses groups when no one group holds all its
    participants; cross-group thread share = |{crossing threads}| / |{threads with 2 or more participants}|. In
    ``pairs`` an edge counts once for each (group of a, group of b), so with overlapping groups its rows sum to
    more than the edges.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> people = m["sender_id"].astype(str).drop_duplicates().sort_values()
    >>> groups = pd.DataFrame({"member_id": people, "group": ["a" if i % 2 else "b" for i in range(len(people))]})
    >>> result = cross_group_interaction(m, groups)
    >>> 0 < result.summary["cross_group_share"] < 1, sorted(result.pairs["source_group"].unique())
    (True, ['a', 'b'])
    """
    table = _group_table(groups, member_column, group_column)
    which = options(include_bots, include_system)
    at = np.flatnonzero(counted_mask(messages, since=since, until=until, **which))
    edges = interaction_edges(messages, kinds=kinds, since=since, until=until, **which).reset_index(drop=True)
    edges["source"], edges["target"] = edges["source"].astype(str), edges["target"].astype(str)
    counted = [*kinds, "weight"]
    members = pd.concat([edges["source"], edges["target"]]).unique()  # by hash, one string per member
    member_of = _memberships(table, members, unassigned)
    # Edge x (source group, target group), by two merges on the memberships: no loop over edges.
    ends = edges[["source", "target"]].assign(edge=np.arange(len(edges)))
    by_source = ends.merge(member_of.rename(columns={"member": "source", "group": "source_group"}), on="source")
    both = by_source.merge(member_of.rename(columns={"member": "target", "group": "target_group"}), on="target")
    shared = np.zeros(len(edges), dtype=bool)
    same = (both["source_group"] == both["target_group"]).to_numpy(dtype=bool)
    shared[both["edge"].to_numpy()[same]] = True
    edges["cross"] = ~shared
    combos = both.join(edges[counted], on="edge")
    pairs = combos.groupby(["source_group", "target_group"], as_index=False)[counted].sum()
    pairs[counted] = pairs[counted].astype("int64")
    pairs["cross"] = pairs["source_group"] != pairs["target_group"]
    # Threads resolved on the whole frame, then counted when their root counts (a bot's thread is the bot's).
    roots = counted_roots(messages, **which)[at]
    threads = _thread_groups(messages, table, roots, at, unassigned)
    total = int(edges["weight"].sum())
    crossing = int(edges.loc[edges["cross"], "weight"].sum())
    multi = int((threads["participants"] > 1).sum())
    spanning = int(threads["cross"].sum())
    summary = {
        "interactions": total,
        "cross_group_interactions": crossing,
        "cross_group_share": crossing / total if total else float("nan"),
        "threads": len(threads),
        "multi_member_threads": multi,
        "cross_group_threads": spanning,
        "cross_group_thread_share": spanning / multi if multi else float("nan"),
    }
    crossing_pairs = combos[~shared[combos["edge"].to_numpy()]]
    crossing_edges = (
        crossing_pairs.drop(columns=["edge"]).reset_index(drop=True)
        if len(crossing_pairs)
        else crossing_pairs.drop(columns=["edge"])
    )
    return CrossGroupInteraction(summary, pairs, crossing_edges, threads)
