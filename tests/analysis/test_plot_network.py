"""The interaction network is readable on real data (issue 20 §2): the top N members by degree and a "+K others"
note, labels that do not overlap, a legend of edge kinds, line width by weight. Artists are checked, not pixels."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from chatlens import plotting as P
from chatlens.analysis import interaction_graph
from chatlens.loaders import load_messages


@pytest.fixture(scope="module")
def graph():
    return interaction_graph(load_messages("demo", progress=False), since="2026-07-03", until="2026-07-31")


def star(n: int) -> nx.DiGraph:
    """Member 0 replies to everyone; member i also mentions i + 1 (i >= 1): degrees fall with i after 0 and 1."""
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(f"U{i}", name=f"member {i}", messages=n - i)
    for i in range(1, n):
        g.add_edge("U0", f"U{i}", reply=i, mention=0, weight=i)
    for i in range(1, n - 1):
        g.add_edge(f"U{i}", f"U{i + 1}", reply=0, mention=1, weight=1)
    return g


def test_only_the_top_members_by_degree_are_drawn_and_the_rest_counted():
    g = star(12)
    ax = P.plot_interaction_graph(g, top=5, labels=5)
    degree, strength = dict(g.degree()), dict(g.degree(weight="weight"))
    kept = sorted(g, key=lambda m: (-degree[m], -strength[m], str(m)))[:5]
    assert kept == ["U0", "U10", "U9", "U8", "U7"]  # degree 11, then degree 3 with the most weight
    assert sorted(t.get_text() for t in ax.texts if t.get_text().startswith("member")) == sorted(
        g.nodes[m]["name"] for m in kept
    )
    assert [t.get_text() for t in ax.texts if "others" in t.get_text()] == ["+7 others not shown"]
    assert "top 5 members" in ax.get_title()
    nodes = [c for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    assert len(nodes) == 1 and len(nodes[0].get_offsets()) == 5


def test_no_note_when_everyone_is_drawn():
    ax = P.plot_interaction_graph(star(6), top=10)
    assert not [t for t in ax.texts if "others" in t.get_text() or "links" in t.get_text()]


def test_only_the_strongest_links_are_drawn_and_the_note_says_so():
    ax = P.plot_interaction_graph(star(12), top=12, links=5)
    lines = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
    assert sum(len(c.get_segments()) for c in lines) == 5 and len(lines) == 1  # replies of weight 11..7
    assert [t.get_text() for t in ax.texts if "links" in t.get_text()] == ["the 5 strongest of 21 links drawn"]


def test_the_legend_names_each_kind_and_width_follows_weight():
    g = star(8)
    ax = P.plot_interaction_graph(g, top=8)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["replies", "mentions"]
    lines = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
    replies, mentions = lines
    # Reply i has weight i (drawn strongest first): width rises with it; every mention (weight 1) is as thin as
    # reply 1.
    widths = np.asarray(replies.get_linewidths(), dtype=float)
    assert np.allclose(widths, 0.4 + 4 * np.arange(7, 0, -1) / 7)
    assert np.allclose(mentions.get_linewidths(), widths[-1])
    assert replies.get_linestyle() != mentions.get_linestyle()
    assert len(mentions.get_segments()) == 6


def test_labels_never_overlap_on_the_demo(graph):
    ax = P.plot_interaction_graph(graph, top=40, labels=25)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.texts if isinstance(t, matplotlib.text.Annotation)]
    assert len(labels) == 25
    boxes = [t.get_window_extent(renderer) for t in labels]
    clashes = [(a, b) for (a, x), (b, y) in itertools.combinations(enumerate(boxes), 2) if x.overlaps(y)]
    assert clashes == []


def test_a_label_sits_beside_its_node(graph):
    ax = P.plot_interaction_graph(graph, top=40, labels=5)
    for label in ax.texts:
        if isinstance(label, matplotlib.text.Annotation):
            assert label.get_position()[1] >= 7  # points above the node, never on it


def test_the_report_lists_the_strongest_pairs():
    from markupsafe import escape

    from chatlens.reports import build_report, render_report

    messages = load_messages("demo", text=False, progress=False)
    data = build_report(messages)
    network = next(s for s in data.sections if s.key == "network")
    g = interaction_graph(messages, since=data.since, until=data.until)
    strongest = sorted(g.edges(data=True), key=lambda e: (-e[2]["weight"], str(e[0]), str(e[1])))[:10]
    assert network.columns == ("from", "to", "replies", "mentions", "total")
    assert [r[:2] for r in network.rows] == [(g.nodes[u]["name"], g.nodes[v]["name"]) for u, v, _ in strongest]
    assert [r[2:] for r in network.rows] == [
        (f"{d['reply']:,}", f"{d['mention']:,}", f"{d['weight']:,}") for *_, d in strongest
    ]
    html = render_report(data)
    block = html.split('<section data-key="network">')[1].split("</section>")[0]
    assert block.count("<tr>") == 11 and "pairs" in block
    # Names read left to right, counts line up on the right.
    assert f"<td>{escape(network.rows[0][1])}</td>" in block and f'<td class="num">{network.rows[0][4]}</td>' in block


def test_the_report_says_how_many_members_the_network_leaves_out():
    from chatlens.reports.sections import Period, network_section

    frame = pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(60)],
            "parent": [None] + ["m0"] * 59,
            "sender_id": [f"U{i}" for i in range(60)],
            "sender_name": [f"p{i}" for i in range(60)],
            "conversation_id": "C",
            "created": pd.date_range("2026-01-05", periods=60, freq="1min", tz="UTC"),
        }
    )
    section = network_section(
        Period(messages=frame, since=pd.Timestamp("2026-01-05", tz="UTC"), until=pd.Timestamp("2026-01-06", tz="UTC"))
    )
    assert any("The 40 of the 60 members" in note for note in section.notes)


def test_a_busy_core_is_not_squeezed_by_loosely_tied_members():
    # 20 members all answering each other, three chains of five members hanging off them and one member alone: a
    # spring layout alone packs the core into a knot (its members' nearest neighbours 0.007 of the picture's
    # width apart, with this seed); spacing by hops gives them about three times the room.
    g = nx.DiGraph()
    core = [f"c{i}" for i in range(20)]
    g.add_edges_from(((a, b, {"weight": 20}) for i, a in enumerate(core) for b in core[i + 1 :]))
    for k in range(3):
        chain = [core[k], *(f"t{k}{j}" for j in range(5))]
        g.add_edges_from(((a, b, {"weight": 1}) for a, b in itertools.pairwise(chain)))
    g.add_node("alone")
    pos = P._network_layout(nx, g, 0)
    assert set(pos) == set(g)
    xy = np.array(list(pos.values()))
    width = (xy.max(0) - xy.min(0)).max()
    c = np.array([pos[n] for n in core])
    apart = np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1))
    np.fill_diagonal(apart, np.inf)
    assert np.median(apart.min(1)) / width > 0.012


def test_members_with_no_interaction_are_not_drawn_and_the_report_counts_them():
    g = star(6)
    g.add_nodes_from((f"L{i}", {"name": f"lone {i}", "messages": 50}) for i in range(30))  # posted, no one answered
    ax = P.plot_interaction_graph(g, top=40)
    nodes = [c for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    assert len(nodes[0].get_offsets()) == 6 and "top 6 members" in ax.get_title()
    assert [t.get_text() for t in ax.texts if "others" in t.get_text()] == ["+30 others not shown"]

    from chatlens.reports.sections import Period, network_section

    # Two members answer each other; three more post into the void.
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "parent": [None, "a", None, None, None],
            "sender_id": ["U1", "U2", "U3", "U4", "U5"],
            "conversation_id": "C",
            "created": pd.date_range("2026-01-05", periods=5, freq="1min", tz="UTC"),
        }
    )
    day = pd.Timestamp("2026-01-05", tz="UTC")
    section = network_section(Period(messages=frame, since=day, until=day + pd.Timedelta(days=1)))
    assert any(
        "The 2 of the 5 members" in note and "3 replied to, mentioned and heard from no one" in note
        for note in section.notes
    ), section.notes
