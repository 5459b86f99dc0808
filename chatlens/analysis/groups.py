"""Interaction across the groups of an organisation (teams, departments): who talks to whom across lines."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._common import options
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
    picked = messages.iloc[at]
    edges = interaction_edges(messages, kinds=kinds, since=since, until=until, **which).reset_index(drop=True)
    edges["source"], edges["target"] = edges["source"].astype(str), edges["target"].astype(str)
    counted = [*kinds, "weight"]
    members = np.concatenate([edges["source"].to_numpy(), edges["target"].to_numpy()])
    member_of = _memberships(table, members, unassigned)
    # Edge x (source group, target group), by two merges on the memberships: no loop over edges.
    ends = edges[["source", "target"]].assign(edge=np.arange(len(edges)))
    by_source = ends.merge(member_of.rename(columns={"member": "source", "group": "source_group"}), on="source")
    both = by_source.merge(member_of.rename(columns={"member": "target", "group": "target_group"}), on="target")
    shared = np.zeros(len(edges), dtype=bool)
    same = both["source_group"].to_numpy() == both["target_group"].to_numpy()
    shared[both["edge"].to_numpy()[same]] = True
    edges["cross"] = ~shared
    combos = both.join(edges[counted], on="edge")
    pairs = combos.groupby(["source_group", "target_group"], as_index=False)[counted].sum()
    pairs[counted] = pairs[counted].astype("int64")
    pairs["cross"] = pairs["source_group"] != pairs["target_group"]
    # Threads resolved on the whole frame, then counted when their root counts (a bot's thread is the bot's).
    roots = counted_roots(messages, **which)[at]
    ids = messages["id"].astype(str).to_numpy()
    in_thread = roots >= 0
    people = pd.DataFrame(
        {"thread_id": ids[roots[in_thread]], "member": picked["sender_id"].astype(str).to_numpy()[in_thread]}
    ).drop_duplicates()
    participants = people.groupby("thread_id", sort=True)["member"].size()
    in_groups = people.merge(_memberships(table, people["member"], unassigned), on="member")
    largest = in_groups.groupby(["thread_id", "group"]).size().groupby(level="thread_id").max()
    groups_per_thread = in_groups.groupby("thread_id")["group"].nunique()
    threads = pd.DataFrame({"participants": participants, "groups": groups_per_thread.reindex(participants.index)})
    threads = threads.astype("int64")
    threads["cross"] = largest.reindex(participants.index).to_numpy() < participants.to_numpy()
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
