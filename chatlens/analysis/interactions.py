"""Member-interaction graphs: who replies to and mentions whom, with centrality, communities and Gephi export.

Edges are built as pandas edge lists (group-bys), then added to the graph in bulk; no Python loop over messages.
"""

from __future__ import annotations

import os
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._links import chain_links, positions_in
from ..schema import dtype_of
from ._common import flatten_lists, list_column, select_columns
from ._distributed import distributed
from ._docs import shared_docs
from .threads import counted_mask, counted_roots

__all__ = ["interaction_graph", "interaction_edges", "centrality", "communities", "write_graph", "KINDS"]

KINDS = ("reply", "mention", "coparticipation", "reaction")
_REACTION = dtype_of("messages", "reactions").pyarrow_dtype.value_type


@distributed
@shared_docs
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

    Parameters
    ----------
    %(messages)s
    kinds
        Which interactions make edges: ``"reply"`` (A replied to B's message), ``"mention"`` (A @mentioned B) and
        ``"coparticipation"`` (A and B both posted in a thread: an edge each way; threads resolved on the whole
        frame, and only those whose root counts, as in :func:`~chatlens.analysis.thread_table`) and
        ``"reaction"`` (A reacted to B's message; each named reacting user once per emoji, Slack's unnamed
        remainder left out).
    self_loops
        Keep A -> A edges (replies to oneself, mentioning oneself).
    max_thread_participants
        With ``"coparticipation"``: threads with more participants are left out (an announcement everybody
        answered says little about who works with whom, and would add n² edges).
    %(since_until)s
    %(include)s

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
    at = np.flatnonzero(
        counted_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    )
    # Work on integer codes of people: one factorisation, then numpy keys; strings come back only for the result.
    # Only the columns read are taken for the picked rows (never the text).
    sender, people = _codes(messages["sender_id"].iloc[at])
    sources, targets, kind_of = [], [], []
    if "reply" in kinds and "parent" in messages:
        pos = _parents_among(messages, at)
        ok = (pos >= 0) & (sender >= 0)  # a message without a sender id is nobody's reply
        ok[ok] &= sender[pos[ok]] >= 0
        sources.append(sender[ok])
        targets.append(sender[pos[ok]])
        kind_of.append(np.full(int(ok.sum()), kinds.index("reply")))
    if "mention" in kinds and "mentions" in messages:
        lengths, flat = _flatten(messages["mentions"].iloc[at])
        if len(flat):
            known = positions_in(flat, people)
            missing = known < 0
            extra = (
                _unique_text(flat, missing) if missing.any() else np.array([], dtype=object)
            )  # mentioned people who never posted, in order of first mention
            people = np.concatenate([people, extra])
            codes = np.where(known >= 0, known, len(people) - len(extra) + positions_in(flat, extra))
            sources.append(np.repeat(sender, lengths))
            targets.append(codes)
            kind_of.append(np.full(len(flat), kinds.index("mention")))
    if "reaction" in kinds and "reactions" in messages:
        rows, flat = flatten_lists(list_column(messages["reactions"].iloc[at], _REACTION))
        users = flat.field("user") if len(flat) else pa.array([], pa.string())
        named = np.asarray(pc.is_valid(users), dtype=bool) if len(flat) else np.array([], bool)
        rows, users = rows[named], users.filter(pa.array(named)) if len(flat) else users
        if len(users):
            known = positions_in(users, people)
            missing = known < 0
            extra = _unique_text(users, missing) if missing.any() else np.array([], dtype=object)
            people = np.concatenate([people, extra])
            codes = np.where(known >= 0, known, len(people) - len(extra) + positions_in(users, extra))
            sources.append(codes)
            targets.append(sender[rows])
            kind_of.append(np.full(len(users), kinds.index("reaction")))
    if "coparticipation" in kinds:
        # Threads resolved on the whole frame (people answering a post from before `since` share its thread); a
        # thread whose root does not count (a bot's deploy notice) is the bot's, and makes no pairs.
        roots = counted_roots(messages, include_bots=include_bots, include_system=include_system)[at]
        pairs_of = pd.DataFrame({"thread": roots, "member": sender})[(roots >= 0) & (sender >= 0)].drop_duplicates()
        sizes = pairs_of.groupby("thread")["member"].transform("size")
        # Pairs grow with the square of a thread's participants: very large threads say little about pairs.
        pairs_of = pairs_of[(sizes > 1) & (sizes <= max_thread_participants)]
        pairs = pairs_of.merge(pairs_of, on="thread")
        pairs = pairs[pairs["member_x"] != pairs["member_y"]]
        sources.append(pairs["member_x"].to_numpy())
        targets.append(pairs["member_y"].to_numpy())
        kind_of.append(np.full(len(pairs), kinds.index("coparticipation")))
    columns = ["source", "target", *kinds, "weight"]
    if not sources or not sum(len(x) for x in sources):
        return pd.DataFrame(columns=columns)
    src, tgt, kind = (np.concatenate(x).astype(np.int64) for x in (sources, targets, kind_of))
    known = (src >= 0) & (tgt >= 0)  # a message without a sender id (code -1) is nobody's interaction
    src, tgt, kind = src[known], tgt[known], kind[known]
    if not self_loops:
        keep = src != tgt
        src, tgt, kind = src[keep], tgt[keep], kind[keep]
    # One int64 key per (source, target); counts per kind by bincount over (pair, kind).
    pair_key = src * len(people) + tgt
    pairs_u, pair_idx = np.unique(pair_key, return_inverse=True)
    counts = np.bincount(pair_idx * len(kinds) + kind, minlength=len(pairs_u) * len(kinds))
    counts = counts.reshape(len(pairs_u), len(kinds)).astype(np.int64)
    names = people.astype(object)
    table = pd.DataFrame({"source": names[pairs_u // len(people)], "target": names[pairs_u % len(people)]})
    for k, name in enumerate(kinds):
        table[name] = counts[:, k]
    table["weight"] = counts.sum(axis=1)
    return table[columns].sort_values(["source", "target"], ignore_index=True)


def _parents_among(messages: pd.DataFrame, at: np.ndarray) -> np.ndarray:
    """For each row ``at``, the index into ``at`` of the row its parent names (-1 if that is not among them):
    the whole frame's parent look-up, shared with the thread analyses, restricted to the picked rows."""
    links, _root, _depth = chain_links(messages["id"], messages["parent"])
    if not links.unique:  # a repeated id: look the parents up among the picked rows' own ids, first copy first
        return positions_in(messages["parent"].iloc[at], messages["id"].iloc[at])
    index_in_at = np.full(len(messages) + 1, -1, dtype=np.int64)  # position -1 reads the last entry
    index_in_at[at] = np.arange(len(at))
    return index_in_at[links.found[at]]


def _unique_text(flat: Any, where: np.ndarray) -> np.ndarray:
    """The distinct values of ``flat`` (an Arrow string array or an object array) at ``where``, in order of first
    appearance, as an object array."""
    if isinstance(flat, pa.Array):
        return pc.unique(flat.filter(pa.array(where))).to_numpy(zero_copy_only=False).astype(object)
    return pd.unique(flat[where])


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the distinct values (as strings) of a column of ids; categoricals are used as they are."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories.astype(str).to_numpy(dtype=object)
        return values.cat.codes.to_numpy().astype(np.int64), cats
    codes, uniques = pd.factorize(values, sort=False)  # a missing id is -1, not a person named "nan"
    return codes.astype(np.int64), np.asarray(pd.Index(uniques).astype(str), dtype=object)


def _flatten(lists: pd.Series) -> tuple[np.ndarray, Any]:
    """Per-row lengths and the flattened values of a list column: for Arrow lists, an Arrow string array (no
    Python loop); else an object array of strings."""
    if isinstance(lists.dtype, pd.ArrowDtype) and pa.types.is_list(lists.dtype.pyarrow_dtype):
        arr = (
            pa.chunked_array(lists.array._pa_array).combine_chunks()
            if len(lists)
            else pa.array([], lists.dtype.pyarrow_dtype)
        )
        lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = pc.list_flatten(arr)  # stays Arrow: looked up by hash, never a Python string per mention
        return lengths, flat if pa.types.is_string(flat.type) else pc.cast(flat, pa.string())
    lengths = np.fromiter((len(x) if x is not None else 0 for x in lists), dtype=np.int64, count=len(lists))
    if not lengths.sum():
        return lengths, np.array([], dtype=object)
    flat = np.concatenate([np.asarray(x, dtype=object) for x in lists if x is not None and len(x)])
    return lengths, flat.astype(str).astype(object)


@distributed
@shared_docs
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

    Parameters
    ----------
    %(messages)s
    kinds
        Which interactions make edges: ``"reply"`` (A replied to B's message), ``"mention"`` (A @mentioned B) and
        ``"coparticipation"`` (A and B both posted in a thread: an edge each way).
    self_loops
        Keep A -> A edges (replies to oneself, mentioning oneself).
    %(since_until)s
    %(include)s

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
    picked = select_columns(messages, ("sender_id", "sender_name"), **options)
    edges = interaction_edges(messages, kinds=kinds, self_loops=self_loops, **options)
    graph = nx.DiGraph()
    codes, people = _codes(picked["sender_id"])
    counts = np.bincount(codes, minlength=len(people)) if len(codes) else np.zeros(len(people), dtype=np.int64)
    first = np.full(len(people), -1, dtype=np.int64)
    order = np.arange(len(codes) - 1, -1, -1)
    first[codes[order]] = order  # the first message of each member (later writes win, so iterate backwards)
    if "sender_name" in picked and len(codes):
        # Only each member's first message's name is read (not a Python object per message).
        name_of = picked["sender_name"].iloc[np.maximum(first, 0)].astype(object).to_numpy()
        names = [str(n) if i >= 0 and pd.notna(n) else p for p, n, i in zip(people, name_of, first.tolist())]
    else:
        names = list(people)
    posted = counts > 0
    graph.add_nodes_from(
        (p, {"name": n, "messages": c}) for p, n, c, ok in zip(people, names, counts.tolist(), posted) if ok
    )
    graph.add_nodes_from(m for m in set(edges["target"]) if m not in graph)  # mentioned people who did not post
    for m in graph:
        graph.nodes[m].setdefault("name", m)
        graph.nodes[m].setdefault("messages", 0)
    attrs = [*kinds, "weight"]
    rows = edges[attrs].to_numpy(dtype=np.int64).tolist()
    graph.add_edges_from(zip(edges["source"].tolist(), edges["target"].tolist(), (dict(zip(attrs, r)) for r in rows)))
    return graph


@shared_docs
def centrality(
    graph: nx.DiGraph, *, weight: str = "weight", betweenness_k: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Per member: ``in_weight``, ``out_weight`` (weighted degrees), ``degree_centrality``, ``betweenness`` and
    ``pagerank``, sorted by pagerank. ``betweenness_k`` samples that many sources (with ``seed``) for large graphs.

    Parameters
    ----------
    %(graph)s
    %(weight)s
    betweenness_k
        Estimate betweenness from this many sampled sources (faster on large graphs); None uses every node.
    %(seed)s

    Examples
    --------
    >>> g = nx.DiGraph([("a", "b", {"weight": 2}), ("c", "b", {"weight": 1})])
    >>> centrality(g).index[0]
    'b'
    """
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=["name", "in_weight", "out_weight", "degree_centrality", "betweenness", "pagerank"])

    # Betweenness treats weights as distances: frequent contact should be short, so use the inverse. A function
    # of each edge's data, so nothing is written onto the caller's graph (an edge without a weight counts 1).
    def distance(_u: Any, _v: Any, data: dict[str, Any]) -> float:
        return 1.0 / max(data[weight], 1e-9) if weight in data else 1.0

    table = pd.DataFrame(
        {
            "name": pd.Series(nx.get_node_attributes(graph, "name")),
            "in_weight": pd.Series(dict(graph.in_degree(weight=weight))),
            "out_weight": pd.Series(dict(graph.out_degree(weight=weight))),
            "degree_centrality": pd.Series(nx.degree_centrality(graph)),
            "betweenness": pd.Series(nx.betweenness_centrality(graph, k=betweenness_k, weight=distance, seed=seed)),
            "pagerank": pd.Series(nx.pagerank(graph, weight=weight)),
        }
    )
    table["name"] = table["name"].fillna(pd.Series(table.index, index=table.index))
    table.index.name = "member"
    return table.sort_values("pagerank", ascending=False, kind="stable")


@shared_docs
def communities(graph: nx.DiGraph, *, weight: str = "weight", resolution: float = 1.0, seed: int = 0) -> pd.Series:
    """Louvain communities of the (undirected, weighted) graph: member -> community number (0 = largest).

    Parameters
    ----------
    %(graph)s
    %(weight)s
    resolution
        Louvain's resolution: above 1 favours smaller communities, below 1 larger ones.
    %(seed)s

    Examples
    --------
    >>> g = nx.DiGraph([("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")])
    >>> sorted(communities(g).groupby(lambda m: m in "ab").nunique().tolist())
    [1, 1]
    """
    if graph.number_of_nodes() == 0:
        return pd.Series(dtype="int64", name="community")
    # Louvain visits nodes in graph order (shuffled by seed): sort them so the result depends on the graph's
    # content and the seed only, not on the order members happened to be added.
    undirected = nx.Graph()
    undirected.add_nodes_from(sorted(graph.nodes, key=str))
    undirected.add_edges_from(sorted(graph.to_undirected().edges(data=True), key=lambda e: (str(e[0]), str(e[1]))))
    groups = nx.community.louvain_communities(undirected, weight=weight, resolution=resolution, seed=seed)
    groups = sorted(groups, key=lambda g: (-len(g), min(map(str, g))))
    return pd.Series({m: i for i, g in enumerate(groups) for m in g}, name="community").sort_index()


@shared_docs
def write_graph(graph: nx.DiGraph, path: str | os.PathLike[str]) -> None:
    """Write the graph for Gephi: ``.gexf`` or ``.graphml`` by the file's extension.

    Parameters
    ----------
    %(graph)s
    path
        The file to write; its extension (``.gexf``, ``.graphml``) picks the format.

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
