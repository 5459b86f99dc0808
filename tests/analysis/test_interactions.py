"""Member interactions: centrality reads the caller's graph and leaves it exactly as it was."""

from __future__ import annotations

import copy

import networkx as nx
import pytest

from chatlens.analysis import centrality


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node("a", name="ada")
    g.add_edge("a", "b", weight=5, _distance="the caller's own")
    g.add_edge("b", "c", weight=1)
    g.add_edge("a", "c", weight=1)
    g.add_edge("c", "d")  # no weight: counts 1
    return g


def test_centrality_never_changes_the_graph_it_is_given():
    g = _graph()
    before = copy.deepcopy(g)
    table = centrality(g)
    assert nx.utils.graphs_equal(g, before)
    assert g.edges["a", "b"] == {"weight": 5, "_distance": "the caller's own"}
    assert set(table.index) == {"a", "b", "c", "d"} and table.loc["a", "name"] == "ada"


def test_betweenness_uses_inverse_weights_as_distances():
    """a->b is frequent (weight 5), so the short way from a to c runs through b: b lies between a and c."""
    g = _graph()
    g.edges["a", "c"]["weight"] = 0.5  # a rare direct contact: distance 2, longer than a->b->c (0.2 + 1)
    expected = nx.betweenness_centrality(
        nx.DiGraph([(u, v, {"d": 1.0 / d["weight"] if "weight" in d else 1.0}) for u, v, d in g.edges(data=True)]),
        weight="d",
    )
    table = centrality(g)
    assert table["betweenness"].to_dict() == pytest.approx(expected)
    assert table.loc["b", "betweenness"] > 0
