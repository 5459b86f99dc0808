"""Member-interaction graphs: who replies to and mentions whom, with centrality, communities and Gephi export.

Edges are built as pandas edge lists (group-bys), then added to the graph in bulk; no Python loop over messages.
"""

from __future__ import annotations

import os
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ._common import select

__all__ = ["interaction_graph", "interaction_edges", "centrality", "communities", "write_graph", "KINDS"]

KINDS = ("reply", "mention", "coparticipation")


def interaction_edges(
    messages: pd.DataFrame,
    *,
    kinds: tuple[str, ...] = ("reply", "mention"),
    self_loops: bool = False,
    max_thread_participants: int = 50,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """The edge list behind :func:`interaction_graph`: one row per (source, target) with a count per kind and
    ``weight`` (their sum).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b"], "parent": [None, "a"], "sender_id": ["u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True), "mentions": [["v"], []]})
    >>> interaction_edges(m)[["source", "target", "reply", "mention", "weight"]].values.tolist()
    [['u', 'v', 0, 1, 1], ['v', 'u', 1, 0, 1]]
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"kinds: unknown {unknown}; choose from {KINDS}")
    picked = select(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    sender = picked["sender_id"].astype(str).to_numpy(dtype=object)
    parts = []
    if "reply" in kinds and "parent" in picked:
        ids = pd.Index(picked["id"].astype(str).to_numpy(dtype=object))
        has = picked["parent"].notna().to_numpy()
        pos = ids.get_indexer(picked["parent"].to_numpy(dtype=object, na_value=None)[has])
        ok = pos >= 0
        parts.append(pd.DataFrame({"source": sender[has][ok], "target": sender[pos[ok]], "kind": "reply"}))
    if "mention" in kinds and "mentions" in picked:
        lists = picked["mentions"]
        lengths = np.fromiter((len(x) if x is not None else 0 for x in lists), dtype=np.int64, count=len(lists))
        if lengths.sum():
            flat = np.concatenate([np.asarray(x, dtype=object) for x in lists if x is not None and len(x)])
            parts.append(pd.DataFrame({"source": np.repeat(sender, lengths), "target": flat, "kind": "mention"}))
    if "coparticipation" in kinds:
        from .threads import thread_depth

        roots = thread_depth(picked, warn=False)["root"].to_numpy()
        people = pd.DataFrame({"thread": roots, "member": sender}).drop_duplicates()
        sizes = people.groupby("thread")["member"].transform("size")
        # Pairs grow with the square of a thread's participants: very large threads say little about pairs.
        people = people[(sizes > 1) & (sizes <= max_thread_participants)]
        pairs = people.merge(people, on="thread")
        pairs = pairs[pairs["member_x"] != pairs["member_y"]]
        parts.append(
            pd.DataFrame(
                {
                    "source": pairs["member_x"].to_numpy(),
                    "target": pairs["member_y"].to_numpy(),
                    "kind": "coparticipation",
                }
            )
        )
    columns = ["source", "target", *kinds, "weight"]
    if not parts:
        return pd.DataFrame(columns=columns)
    edges = pd.concat(parts, ignore_index=True)
    if not self_loops:
        edges = edges[edges["source"] != edges["target"]]
    table = edges.groupby(["source", "target", "kind"]).size().unstack("kind", fill_value=0)
    table = table.reindex(columns=list(kinds), fill_value=0).astype("int64")
    table["weight"] = table.sum(axis=1)
    table.columns.name = None
    return table.reset_index()[columns].sort_values(["source", "target"], ignore_index=True)


def interaction_graph(
    messages: pd.DataFrame,
    *,
    kinds: tuple[str, ...] = ("reply", "mention"),
    self_loops: bool = False,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> nx.DiGraph:
    """A directed, weighted graph of members: A -> B for each reply by A to a message of B and each @mention of B
    by A (and, with ``"coparticipation"`` in ``kinds``, both ways for each thread they both posted in).

    Nodes carry ``name`` and ``messages`` (count); edges ``weight`` and a count per kind.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b"], "parent": [None, "a"], "sender_id": ["u", "v"],
    ...                   "sender_name": ["Ada", "Vic"], "mentions": [[], []],
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)})
    >>> g = interaction_graph(m)
    >>> list(g.edges(data="weight")), g.nodes["u"]["name"]
    ([('v', 'u', 1)], 'Ada')
    """
    options = dict(since=since, until=until, include_bots=include_bots, include_system=include_system)
    picked = select(messages, **options)
    edges = interaction_edges(picked, kinds=kinds, self_loops=self_loops, include_bots=True, include_system=True)
    graph = nx.DiGraph()
    senders = picked["sender_id"].astype(str)
    counts = senders.value_counts()
    names = (
        picked.assign(_s=senders.to_numpy()).groupby("_s")["sender_name"].first().astype(str)
        if "sender_name" in picked
        else pd.Series(dtype=str)
    )
    graph.add_nodes_from((m, {"name": names.get(m, m), "messages": int(n)}) for m, n in counts.items())
    for m in set(edges["target"]) - set(counts.index):  # mentioned people who did not post
        graph.add_node(m, name=m, messages=0)
    attrs = [*kinds, "weight"]
    graph.add_edges_from(
        (s, t, {a: int(v) for a, v in zip(attrs, values)})
        for s, t, *values in edges[["source", "target", *attrs]].itertuples(index=False, name=None)
    )
    return graph


def centrality(
    graph: nx.DiGraph, *, weight: str = "weight", betweenness_k: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Per member: ``in_weight``, ``out_weight`` (weighted degrees), ``degree_centrality``, ``betweenness`` and
    ``pagerank``, sorted by pagerank. ``betweenness_k`` samples that many sources (with ``seed``) for large graphs.

    Examples
    --------
    >>> g = nx.DiGraph([("a", "b", {"weight": 2}), ("c", "b", {"weight": 1})])
    >>> centrality(g).index[0]
    'b'
    """
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=["name", "in_weight", "out_weight", "degree_centrality", "betweenness", "pagerank"])
    # Betweenness treats weights as distances: frequent contact should be short, so use the inverse.
    distance = {e: 1.0 / max(w, 1e-9) for e, w in nx.get_edge_attributes(graph, weight).items()}
    nx.set_edge_attributes(graph, distance, "_distance")
    table = pd.DataFrame(
        {
            "name": pd.Series(nx.get_node_attributes(graph, "name")),
            "in_weight": pd.Series(dict(graph.in_degree(weight=weight))),
            "out_weight": pd.Series(dict(graph.out_degree(weight=weight))),
            "degree_centrality": pd.Series(nx.degree_centrality(graph)),
            "betweenness": pd.Series(nx.betweenness_centrality(graph, k=betweenness_k, weight="_distance", seed=seed)),
            "pagerank": pd.Series(nx.pagerank(graph, weight=weight)),
        }
    )
    for _, _, data in graph.edges(data=True):
        data.pop("_distance", None)
    table["name"] = table["name"].fillna(pd.Series(table.index, index=table.index))
    table.index.name = "member"
    return table.sort_values("pagerank", ascending=False, kind="stable")


def communities(graph: nx.DiGraph, *, weight: str = "weight", resolution: float = 1.0, seed: int = 0) -> pd.Series:
    """Louvain communities of the (undirected, weighted) graph: member -> community number (0 = largest).

    Examples
    --------
    >>> g = nx.DiGraph([("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")])
    >>> sorted(communities(g).groupby(lambda m: m in "ab").nunique().tolist())
    [1, 1]
    """
    if graph.number_of_nodes() == 0:
        return pd.Series(dtype="int64", name="community")
    groups = nx.community.louvain_communities(graph.to_undirected(), weight=weight, resolution=resolution, seed=seed)
    groups = sorted(groups, key=lambda g: (-len(g), min(map(str, g))))
    return pd.Series({m: i for i, g in enumerate(groups) for m in g}, name="community").sort_index()


def write_graph(graph: nx.DiGraph, path: str | os.PathLike[str]) -> None:
    """Write the graph for Gephi: ``.gexf`` or ``.graphml`` by the file's extension.

    Examples
    --------
    >>> import tempfile, os
    >>> write_graph(nx.DiGraph([("a", "b", {"weight": 1})]), os.path.join(tempfile.mkdtemp(), "g.gexf"))
    """
    path = os.fspath(path)
    if path.endswith(".gexf"):
        nx.write_gexf(graph, path)
    elif path.endswith(".graphml"):
        nx.write_graphml(graph, path)
    else:
        raise ValueError(f"path: use a .gexf or .graphml file name, got {path!r}")
