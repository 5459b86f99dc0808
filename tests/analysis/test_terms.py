"""rising_terms and its tokeniser (issue 21 §4): what rose, what counts as a term, and when it refuses to run."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatlens import analysis as A
from chatlens.analysis.terms import COLUMNS, STOP_WORDS, rising_terms, tokenize
from chatlens.loaders import load_messages
from chatlens.privacy import pseudonymize
from chatlens.schema import text_free

WEEK1, WEEK2 = pd.Timestamp("2026-03-02", tz="UTC"), pd.Timestamp("2026-03-09", tz="UTC")
END = pd.Timestamp("2026-03-16", tz="UTC")


def frame(rows):
    """Messages from (day offset from WEEK1, text) or (day, text, sender, is_bot, is_system) rows."""
    rows = [r if len(r) == 5 else (*r, "U1", False, False) for r in rows]
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(len(rows))],
            "sender_id": [r[2] for r in rows],
            "created": [WEEK1 + pd.Timedelta(days=r[0], hours=10) for r in rows],
            "text": pd.array([r[1] for r in rows], dtype="string[pyarrow]"),
            "is_bot": [r[3] for r in rows],
            "is_system": [r[4] for r in rows],
        }
    )


def terms_of(result: pd.DataFrame) -> list[str]:
    return result["term"].tolist()


# -- what rose -----------------------------------------------------------------------------------------------


def test_a_term_planted_in_the_demo_period_comes_first():
    m = load_messages("demo", ["general", "engineering"], progress=False)
    since, until = pd.Timestamp("2026-06-01", tz="UTC"), pd.Timestamp("2026-06-15", tz="UTC")
    before = rising_terms(m, since=since, until=until, n=50)
    assert "kubernetes" not in terms_of(before)
    planted = m.copy()
    rng = np.random.default_rng(0)
    inside = np.flatnonzero(((m["created"] >= since) & (m["created"] < until) & ~m["is_bot"]).to_numpy())
    chosen = rng.choice(inside, size=40, replace=False)
    text = np.array(planted["text"].astype(object), dtype=object)
    text[chosen] = [f"{t} about Kubernetes" for t in text[chosen]]
    planted["text"] = pd.array(text, dtype=m["text"].dtype)
    got = rising_terms(planted, since=since, until=until)
    assert got["term"].iloc[0] == "kubernetes"
    assert got["count"].iloc[0] == 40 and got["previous_count"].iloc[0] == 0
    assert got["z"].iloc[0] > 1.96 and (got["z"].diff().dropna() <= 0).all()
    # The input is not changed, and the demo period's other terms stay as they were.
    assert "Kubernetes" not in " ".join(m["text"].dropna().astype(str))
    assert got.columns.tolist() == list(COLUMNS)


def test_the_period_is_compared_with_the_one_of_equal_length_before_it():
    rows = [(-1, "outage outage"), (0, "lunch"), (3, "lunch"), (6, "lunch"), (7, "outage"), (8, "outage"), (9, "x")]
    rows += [(14, "outage"), (10, "lunch")]
    got = rising_terms(frame(rows), since=WEEK2, until=END, min_count=1)
    # Before: only days 0..6 (day -1 is outside); now: days 7..13 (day 14 is outside).
    row = got.set_index("term").loc["outage"]
    assert (row["count"], row["previous_count"]) == (2, 0)
    assert row["share"] == pytest.approx(2 / 3) and row["previous_share"] == pytest.approx(0.0)
    assert "lunch" not in terms_of(got)  # 1 of 3 uses now against 3 of 3: fell


def test_a_term_counts_once_per_message():
    rows = [(0, "alpha beta")] * 3 + [(7, "spam " * 50 + "alpha"), (7, "alpha beta"), (8, "beta gamma")]
    got = rising_terms(frame(rows), since=WEEK2, until=END, min_count=1, stop_words=set())
    counts = got.set_index("term")["count"].to_dict()
    assert counts.get("spam") == 1
    assert got.set_index("term")["share"].sum() <= 1


def test_min_count_and_n_limit_the_rows():
    rows = [(0, "base words here")] * 4 + [(7 + i % 5, f"new{i % 3} base") for i in range(30)]
    everything = rising_terms(frame(rows), since=WEEK2, until=END, min_count=1, n=100)
    assert len(rising_terms(frame(rows), since=WEEK2, until=END, min_count=1, n=2)) == 2
    assert len(rising_terms(frame(rows), since=WEEK2, until=END, min_count=10)) == 3  # 10 messages each
    assert rising_terms(frame(rows), since=WEEK2, until=END, min_count=11).empty
    assert set(terms_of(everything)) == {"new0", "new1", "new2"}


def reference_z(now: Counter, before: Counter, a0=None) -> dict[str, tuple[float, float]]:
    """Monroe et al. (2008) eq. 16/19-20 by hand, term by term."""
    n1, n0 = sum(now.values()), sum(before.values())
    pooled = now + before
    total = sum(pooled.values())
    a0 = total if a0 is None else a0
    out = {}
    if len(pooled) == 1:  # one term: its share is 1 in both periods, no odds to compare
        return {w: (0.0, 0.0) for w in pooled}
    for w, c in pooled.items():
        aw = a0 * c / total
        y1, y0 = now[w], before[w]
        d = math.log((y1 + aw) / (n1 + a0 - y1 - aw)) - math.log((y0 + aw) / (n0 + a0 - y0 - aw))
        out[w] = (d, d / math.sqrt(1 / (y1 + aw) + 1 / (y0 + aw)))
    return out


WORDS = ["alpha", "beta", "gamma", "delta", "omega", "東京", "the"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 13), st.lists(st.sampled_from(WORDS), min_size=0, max_size=5)), min_size=1, max_size=25
    ),
    st.sampled_from([None, 1.0, 50.0]),
)
def test_log_odds_and_z_match_a_slow_reference(rows, a0):
    m = frame([(day, " ".join(words)) for day, words in rows])
    got = rising_terms(m, since=WEEK2, until=END, min_count=1, n=1000, prior_size=a0)
    now, before = Counter(), Counter()
    for day, words in rows:
        (now if day >= 7 else before).update({w for w in words if w != "the"})  # once per message, no stop word
    if not now:
        assert got.empty
        return
    ref = reference_z(now, before, a0)
    n1, n0 = sum(now.values()), sum(before.values())
    rose = {w for w in ref if n0 and Fraction(now[w], n1) > Fraction(before[w], n0)}
    assert set(terms_of(got)) == rose and all(ref[w][1] > 0 for w in rose)
    z = got["z"].to_numpy()
    assert (np.diff(z) <= 0).all()  # the highest first, and equal z by term
    assert all(a < b for a, b, za, zb in zip(got["term"], got["term"][1:], z, z[1:]) if za == zb)
    for row in got.itertuples():
        d, z = ref[row.term]
        assert row.log_odds == pytest.approx(d) and row.z == pytest.approx(z)
        assert row.count == now[row.term] and row.previous_count == before[row.term]


# -- what a term is ------------------------------------------------------------------------------------------


def test_cjk_text_is_cut_into_character_bigrams():
    assert tokenize(["東京都に行きます"]).tolist() == [["東京", "京都", "都に", "に行", "行き", "きま", "ます"]]
    assert tokenize(["한국어 공부", "カタカナー", "日"]).tolist() == [
        ["한국", "국어", "공부"],
        ["カタ", "タカ", "カナ", "ナー"],
        ["日"],
    ]
    # A CJK run inside a spaced-script token is set apart; full-width Latin is NFKC-normalised.
    assert tokenize(["Python3の件とＡＰＩ"]).tolist() == [["python3", "の件", "件と", "api"]]
    rows = [(0, "今日は晴れです")] * 3 + [(7, "会議は明日です")] * 3
    got = rising_terms(frame(rows), since=WEEK2, until=END, min_count=1)
    assert set(terms_of(got)) == {"会議", "議は", "は明", "明日", "日で"}


def test_spaced_scripts_are_cut_at_word_boundaries():
    got = tokenize(["Ça marche: don't panic—it's the v2 release (2026)!", "Привет, мир… नमस्ते दुनिया", "rock’n’roll"])
    assert got.tolist() == [
        ["ça", "marche", "panic", "v2", "release"],
        ["привет", "мир", "नमस्ते", "दुनिया"],
        ["rock'n'roll"],
    ]


MARKUP = [
    "<@U123ABC>",
    "<@U123ABC|ada>",
    "<#C0SECRET|launchplans>",
    "<!here>",
    "<https://wiki.example/roadmap?x=1|quarterlyroadmap>",
    "https://ci.example/build/42?tab=logs",
    "www.example.org/pricingpage",
    "mailto:ada@example.org",
    "`kubectl rollout`",
    "```\nSELECT hidden FROM secrets\n```",
    ":partyparrot:",
    ":+1::skin-tone-2:",
    "&amp;",
    "&nbsp;",
    "<b>boldtag</b>",
]


def test_mentions_links_code_and_emoji_codes_never_become_terms():
    rows = [(0, "hello team")] * 3 + [(7 + i % 7, f"hello {MARKUP[i % len(MARKUP)]} team") for i in range(60)]
    got = rising_terms(frame(rows), since=WEEK2, until=END, min_count=1, n=1000, stop_words=set())
    seen = set(terms_of(got)) | set(t for ts in tokenize([r[1] for r in rows], stop_words=set()) for t in ts)
    leaked = {
        "u123abc", "ada", "c0secret", "launchplans", "here", "https", "http", "wiki", "example", "roadmap",
        "quarterlyroadmap", "ci", "build", "42", "tab", "logs", "www", "org", "pricingpage", "mailto", "kubectl",
        "rollout", "select", "hidden", "secrets", "partyparrot", "skin", "tone", "amp", "nbsp", "b",
    }  # fmt: skip
    assert seen & leaked == set()
    assert seen == {"hello", "team", "boldtag"}  # an HTML tag goes, the word it wraps stays


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([*MARKUP, "word", "字", " ", "\n", ",", "!"]), max_size=12))
def test_markup_leaves_nothing_behind_however_it_is_glued_together(parts):
    text = "".join(parts)
    terms = tokenize([text], stop_words=set())[0]
    assert all(re.fullmatch("(?:word|boldtag)+|字+", t) for t in terms), terms


# A slow reference of the tokeniser's rules, character by character (Python's unicodedata, not Arrow's utf8proc).
_PY_MARKUP = re.compile(
    r"```.*?```|`[^`\n]*`|<[^<>\n]*>|(?:https?|ftp)://[^\s<>`]+|www\.[^\s<>`]+|mailto:[^\s<>`]+"
    r"|:[a-z0-9_+'-]+:|&(?:[a-z]+|#[0-9]+|#x[0-9a-f]+);",
    re.I | re.S | re.A,
)


def _is_cjk(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return ch == "ー" or name.startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA", "HANGUL", "THAI"))


def _is_word(ch: str) -> bool:
    return ch == "'" or unicodedata.category(ch)[0] in "LMN"


def reference_tokens(text: str, stop: set[str]) -> list[str]:
    text = unicodedata.normalize("NFKC", _PY_MARKUP.sub(" ", text)).replace("\u2019", "'")
    runs, run, kind = [], "", None
    for ch in text + " ":
        k = ("cjk" if _is_cjk(ch) else "word") if _is_word(ch) else None
        if k != kind and run:
            runs.append((run, kind))
            run = ""
        kind = k
        if k:
            run += ch
    out = []
    for run, kind in runs:
        if kind == "cjk":
            out += [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
        else:
            run = run.strip("'").lower()
            if len(run) >= 2 and not run.isnumeric():
                out.append(run)
    return [t for t in out if t not in stop]


PIECES = [
    "Deploy", "the", "don't", "'quoted'", "rock’n’roll", "2026", "v2", "a", "é", "Ça", "naïve", "東京都", "の",
    "ありがとう", "カタカナー", "한국어", "ที่นี่", "Привет", "ＡＢＣ", "１２", "<@U1>", "<https://x.org/a?b=1|doc>",
    "https://y.z/q?x=1", "`code x`", "```block\nwith words```", ":smile:", "&amp;", "!", ",", "?", "…", "🎉", "-",
    "_", "'", "’",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from([" ", "", "\n", ", "])), max_size=10), max_size=6
    )
)
def test_the_tokeniser_agrees_with_a_slow_reference(texts):
    texts = ["".join(p + s for p, s in parts) for parts in texts]
    stop = set(STOP_WORDS["en"])
    assert tokenize(texts).tolist() == [reference_tokens(t, stop) for t in texts]


# -- stop words ----------------------------------------------------------------------------------------------


def test_stop_words_are_dropped_builtin_own_or_per_language():
    texts = ["The deploy and THE release", "le déploiement et la release"]
    assert tokenize(texts).tolist() == [["deploy", "release"], ["le", "déploiement", "et", "la", "release"]]
    assert tokenize(texts, stop_words={"DEPLOY", "Release"}).tolist() == [
        ["the", "and", "the"],
        ["le", "déploiement", "et", "la"],
    ]
    french = {**STOP_WORDS, "fr": {"le", "la", "et"}}
    assert tokenize(texts, stop_words=french).tolist() == [["deploy", "release"], ["déploiement", "release"]]
    assert tokenize(["the end"], stop_words=set()).tolist() == [["the", "end"]]
    rows = [(0, "ship it")] * 2 + [(7, "the the the ship"), (8, "the"), (9, "and the")]
    assert "the" not in terms_of(rising_terms(frame(rows), since=WEEK2, until=END, min_count=1))
    kept = rising_terms(frame(rows), since=WEEK2, until=END, min_count=1, stop_words=set())
    assert terms_of(kept)[0] == "the"
    with pytest.raises(TypeError, match="stop_words"):
        tokenize(["x"], stop_words="the")
    with pytest.raises(TypeError, match="stop_words"):
        tokenize(["x"], stop_words={"en": "the"})


# -- empty periods, and what is counted ---------------------------------------------------------------------


def test_empty_periods_give_an_empty_frame_with_the_documented_columns():
    m = frame([(0, "hello world"), (1, "more words")])
    for got in (
        rising_terms(m, since=WEEK2, until=END),  # nothing in the period
        rising_terms(m.iloc[:0], since=WEEK2, until=END),  # no messages at all
        rising_terms(frame([(0, "x"), (7, "<@U1> :tada: https://x.org")]), since=WEEK2, until=END),  # no terms
    ):
        assert got.empty and got.columns.tolist() == list(COLUMNS)
        assert got.dtypes.astype(str).tolist() == ["str", "int64", "int64", *["float64"] * 4]
    # An empty previous period: the prior is the period itself, whatever its weight, so nothing rose against it.
    new = frame([(7, "fresh start"), (8, "fresh news"), (0, "<@U1>")])
    for prior in (None, 1.0):
        got = rising_terms(new, since=WEEK2, until=END, min_count=1, prior_size=prior)
        assert got.empty and got.columns.tolist() == list(COLUMNS)


def test_bots_and_system_events_are_left_out_by_default():
    rows = [(0, "coffee chat", "U1", False, False)] * 3 + [(7, "coffee chat", "U1", False, False)] * 3
    rows += [(7 + i % 7, "deployed staging build", "B1", True, False) for i in range(20)]
    rows += [(7 + i % 7, "renamed channel", "U2", False, True) for i in range(20)]
    m = frame(rows)
    assert rising_terms(m, since=WEEK2, until=END, min_count=1).empty
    with_bots = terms_of(rising_terms(m, since=WEEK2, until=END, include_bots=True))
    assert {"deployed", "staging", "build"} <= set(with_bots) and "renamed" not in with_bots
    with_system = terms_of(rising_terms(m, since=WEEK2, until=END, include_system=True))
    assert "renamed" in with_system and "deployed" not in with_system


# -- refused -------------------------------------------------------------------------------------------------


def test_text_free_and_pseudonymised_frames_are_refused():
    m = frame([(0, "hello"), (7, "hello again")])
    with pytest.raises(ValueError, match=r"text-free.*load_messages\(\.\.\., text=True\)"):
        rising_terms(text_free(m), since=WEEK2, until=END)
    salt = "a salt of sixteen+ bytes"
    with pytest.raises(ValueError, match="pseudonymised"):
        rising_terms(pseudonymize(m, salt, keep_text=True), since=WEEK2, until=END)
    with pytest.raises(ValueError, match="text-free"):
        rising_terms(pseudonymize(m, salt), since=WEEK2, until=END)
    # Ids that merely start with "member-" are no pseudonyms (those are member- and 12 hex digits).
    real = frame([(0, "hello"), (7, "fresh news")]).assign(sender_id=["member-1", "member-abc"])
    assert terms_of(rising_terms(real, since=WEEK2, until=END, min_count=1)) == ["fresh", "news"]


def test_wrong_arguments_name_the_parameter():
    m = frame([(0, "hello"), (7, "hello again")])
    with pytest.raises(ValueError, match="until"):
        rising_terms(m, since=END, until=WEEK2)
    with pytest.raises(ValueError, match="n:"):
        rising_terms(m, since=WEEK2, until=END, n=0)
    with pytest.raises(ValueError, match="min_count"):
        rising_terms(m, since=WEEK2, until=END, min_count=0)
    with pytest.raises(ValueError, match="prior_size"):
        rising_terms(m, since=WEEK2, until=END, prior_size=-1)
    with pytest.raises(ValueError, match="since"):
        rising_terms(m, since="soon", until=END)
    with pytest.raises(TypeError, match="DataFrame"):
        rising_terms([1, 2], since=WEEK2, until=END)


def test_it_is_registered_and_exported():
    assert A.rising_terms is rising_terms
    metric = next(m for m in A.METRICS if m.key == "rising_terms")
    assert "Monroe" in metric.formula and "text" in metric.columns
    assert A.STOP_WORDS is STOP_WORDS
