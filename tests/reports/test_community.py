"""The report's community section (issue 21 §2): every number is its analysis function's, over the report's
period and rules, in the HTML and in to_dict() alike."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import chatlens
from chatlens.analysis import (
    COMMUNITY_FIGURES,
    conversation_summary,
    figure_values,
    membership_churn,
    reactions_by_conversation,
)
from chatlens.reports import build_report, load_report_messages, render_report


@pytest.fixture(scope="module")
def demo():
    return load_report_messages("demo", progress=False), chatlens.load_conversations("demo", progress=False)


def test_community_figures_are_the_functions_values(demo):
    messages, conversations = demo
    data = build_report(messages, plots=False, conversations_frame=conversations)
    public = messages[(messages["conversation_kind"] == "channel").to_numpy()]
    now = figure_values(public, since=data.since, until=data.until, keys=COMMUNITY_FIGURES)
    before = figure_values(
        public, since=data.since - (data.until - data.since), until=data.since, keys=COMMUNITY_FIGURES
    )
    got = {f["key"]: (f["value"], f["previous"]) for f in data.community.figures}
    assert got == {k: (now[k], before[k]) for k in COMMUNITY_FIGURES}
    assert now["members_engaged"] >= now["member_count"] and now["reactions_added"] > 0 and now["files_added"] > 0
    files = next(f for f in data.community.figures if f["key"] == "files_added")
    assert files["better"] is None and files["verdict"] is None  # more files is neither better nor worse


def test_the_comparison_table_is_the_conversation_summary_with_reactions(demo):
    messages, conversations = demo
    data = build_report(messages, plots=False, conversations_frame=conversations, include_private=True, top=50)
    compared = next(t for t in data.community.tables if t.key == "compared").frame
    summary = conversation_summary(messages, since=data.since, until=data.until).head(50)
    reactions = reactions_by_conversation(messages, since=data.since, until=data.until)["reactions"]
    assert compared.index.tolist() == summary.index.tolist()
    assert compared["reply_rate"].tolist() == summary["reply_rate"].tolist()
    assert compared["reactions"].tolist() == reactions.reindex(summary.index).fillna(0).astype(int).tolist()
    # Private conversations are in only because they were asked for; by default they are left out.
    default = build_report(messages, plots=False, conversations_frame=conversations, top=50)
    kinds = dict(zip(conversations["id"].astype(str), conversations["kind"].astype(str)))
    shown = next(t for t in default.community.tables if t.key == "compared").frame.index
    assert {kinds[c] for c in shown} == {"channel"}


def test_the_html_and_the_json_show_the_same_community(demo):
    messages, conversations = demo
    data = build_report(messages, plots=False, conversations_frame=conversations)
    html = render_report(data)
    section = html[html.index("<h2>Community</h2>") : html.index("<h2>Unanswered")]
    for f in data.community.figures:
        card = re.search(rf'data-key="{f["key"]}"><div class="n">[^<]*</div><div class="v">([^<]*)<', section)
        assert card and card.group(1).replace(",", "") == str(f["value"])
    d = data.to_dict()["community"]
    assert [f["key"] for f in d["figures"]] == list(COMMUNITY_FIGURES)
    assert set(d["tables"]) == {"compared", "retention", "membership", "dead"}
    first = d["tables"]["compared"][0]
    assert f">{first['name']}<" in section and f">{first['messages']:,}<" in section
    # Tables with nothing to show say so in words.
    assert "No member joined or left a conversation in this period" in section


def test_joins_and_leaves_reach_the_report():
    created = pd.to_datetime(
        ["2026-03-01 09:00", "2026-03-02 09:00", "2026-03-03 09:00", "2026-03-04 09:00"], utc=True
    ).astype("datetime64[us, UTC]")
    m = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "conversation_id": ["C1"] * 4,
            "conversation_name": ["general"] * 4,
            "sender_id": ["u1", "u2", "u2", "u1"],
            "sender_name": ["Ada", "Bo", "Bo", "Ada"],
            "created": created,
            "parent": [None] * 4,
            "text": ["hi", "<@u2> has joined", "<@u2> has left", "bye"],
            "is_bot": False,
            "is_system": [False, True, True, False],
            "members_joined": [[], ["u2"], [], []],
            "members_left": [[], [], ["u2"], []],
        }
    )
    conversations = pd.DataFrame({"id": ["C1"], "member_count": [1], "kind": ["channel"]})
    data = build_report(m, since="2026-03-01", until="2026-03-05", plots=False, conversations_frame=conversations)
    churn = next(t for t in data.community.tables if t.key == "membership")
    expected = membership_churn(m, conversations=conversations, since="2026-03-01", until="2026-03-05")
    pd.testing.assert_frame_equal(churn.frame, expected)
    assert churn.records() == [
        {"name": "general", "joined": 1, "left": 1, "net": 0, "members_at_start": 1, "churn": 1.0}
    ]
    html = render_report(data)
    assert '<td class="num">+0</td>' in html and '<td class="num">100%</td>' in html


def test_rising_terms_only_with_text(demo):
    from chatlens.analysis import rising_terms
    from chatlens.reports import load_report_messages

    messages, _ = demo
    assert build_report(messages, plots=False).terms is None  # text-free by default
    texts = load_report_messages("demo", text=True, progress=False)
    data = build_report(texts, plots=False, include_text=True)
    expected = rising_terms(
        texts[(texts["conversation_kind"] == "channel").to_numpy()], since=data.since, until=data.until, n=10
    )
    pd.testing.assert_frame_equal(data.terms, expected)
    html = render_report(data)
    assert "<h2>Rising terms</h2>" in html and f"<td>{expected['term'].iloc[0]}</td>" in html
    assert [r["term"] for r in data.to_dict()["rising_terms"]] == expected["term"].tolist()
