"""The engagement metrics (chatlens.analysis.metrics) against slow, obviously correct references on random
workspaces (hypothesis), plus a few worked examples and the data dictionary's checks."""

from __future__ import annotations

import itertools
import unicodedata
import warnings
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlens import analysis as A
from chatlens.analysis import metrics as M
from chatlens.loaders import load_messages
from tests.analysis.frames import ANCHORS, ZONES, message_frames

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXTS = [
    "Is the build green?",
    "is it down",
    "isn't it fine",
    "Island trip photos",
    "<@U1> can you look",
    "@bob Who owns this",
    "<@U1> <@U2> anyone around",
    "hello team",
    "HOW now",
    "  what happened",
    "Whatever works",
    "ok?",
    "Canvas updated",
    "do-it-yourself",
    "(is it)",
    "明日は休みですか？",
    "¿Dónde está el log",
    "متى الاجتماع؟",
    "<@U1>: can you look",
    "@bob, who owns this",
    "<!here> anyone around",
    "@bobcan you",
    "<@U1|bob> has joined the channel",
    "Où est le log",
    "",
    None,
]
SUBTYPES = [None, None, "bot_message", "channel_join", "channel_topic"]


@st.composite
def frames(draw, max_size: int = 30):
    """message_frames plus text and subtype columns."""
    df = draw(message_frames(max_size=max_size))
    df["text"] = pd.array([draw(st.sampled_from(TEXTS)) for _ in range(len(df))], dtype="string")
    df["subtype"] = pd.array([draw(st.sampled_from(SUBTYPES)) for _ in range(len(df))], dtype="string")
    return df


# A time near the frames' messages (or None): for since / until / now.
times = st.one_of(
    st.none(),
    st.builds(lambda a, m: a + pd.Timedelta(minutes=m), st.sampled_from(ANCHORS), st.integers(-3000, 3000)),
)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing parents are expected in random frames
        return function(*args, **kwargs)


# --- references -------------------------------------------------------------------------------------------------------


def counted(df):
    return df[~df["is_bot"] & ~df["is_system"]]


def between(df, since, until):
    keep = [(since is None or t >= since) and (until is None or t < until) for t in df["created"]]
    return df[np.array(keep, dtype=bool)]


def local(ts, tz):
    return ts.to_pydatetime().astimezone(ZoneInfo(tz))


def midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz))


def day_range(first: date, last: date):
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def is_parent(value) -> bool:
    return value is not None and not pd.isna(value) and value != ""


def ref_threads(df):
    """root id -> list of (id, sender, created, depth) over the frame given (missing parents start threads)."""
    parent = {m: (p if is_parent(p) else None) for m, p in zip(df["id"], df["parent"])}
    threads = defaultdict(list)
    for mid, sender, created in zip(df["id"], df["sender_id"], df["created"]):
        depth, cur = 0, mid
        while parent[cur] is not None and parent[cur] in parent:
            cur, depth = parent[cur], depth + 1
        threads[cur].append((mid, sender, created, depth))
    return threads


def ref_counted_threads(df):
    """ref_threads resolved on the whole frame, then bots and system events left out: only threads whose root
    counts, holding only their counted messages (a bot's thread is the bot's, its people's replies no thread)."""
    keep = set(counted(df)["id"])
    return {root: [r for r in rows if r[0] in keep] for root, rows in ref_threads(df).items() if root in keep}


def ref_first_replies(df):
    """root id -> (root created, root sender, first reply time by someone else or None), over counted threads."""
    out = {}
    for root, rows in ref_counted_threads(df).items():
        root_row = next(r for r in rows if r[0] == root)
        others = [c for m, s, c, d in rows if d > 0 and s != root_row[1]]
        out[root] = (root_row[2], root_row[1], min(others) if others else None)
    return out


def ref_quantile(values, q):
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (h - lo)


def ref_business(start, end, hours, tz, holidays):
    a, b = hours
    ls, le = local(start, tz).replace(tzinfo=None), local(end, tz).replace(tzinfo=None)
    total = timedelta(0)
    for day in day_range(ls.date(), le.date()):
        if day.weekday() >= 5 or day in holidays:
            continue
        open_, close = (
            datetime.combine(day, time()) + timedelta(hours=a),
            datetime.combine(day, time()) + timedelta(hours=b),
        )
        total += max(timedelta(0), min(le, close) - max(ls, open_))
    return total


MARKS = "?\uff1f\ufe56\u061f\u00bf"  # ? ？ ﹖ ؟ ¿
SEPARATORS = "\t\n\f\r ,:;"  # RE2's \s is ASCII whitespace


def ref_question(text, words=None) -> bool:
    """The question rule, slowly: a question mark anywhere, or a question word first after leading mentions."""
    words = M.QUESTION_WORDS if words is None else words
    if text is None or pd.isna(text):
        return False
    if any(mark in text for mark in MARKS):
        return True
    rest = text.lstrip("\t\n\f\r ")
    while True:
        if rest.startswith(("<@", "<!")) and ">" in rest:
            rest = rest[rest.index(">") + 1 :].lstrip(SEPARATORS)
        elif rest.startswith("@") and (end := next((i for i, c in enumerate(rest) if c in SEPARATORS), 0)) > 1:
            rest = rest[end:].lstrip(SEPARATORS)
        else:
            break
    word = "".join(itertools.takewhile(lambda c: unicodedata.category(c)[0] in "LM", rest))
    return word.lower() in {w.lower() for w in words}


# --- members posting, posts and replies, stickiness -------------------------------------------------------------------


def daily(df, tz):
    """local date -> list of (sender, is_reply) of counted messages; and the full list of days."""
    per_day = defaultdict(list)
    for ts, sender, parent in zip(df["created"], df["sender_id"], df["parent"]):
        per_day[local(ts, tz).date()].append((sender, is_parent(parent)))
    days = day_range(min(per_day), max(per_day)) if per_day else []
    return per_day, days


@SETTINGS
@given(frames(), st.sampled_from(ZONES), times, times)
def test_members_posting_and_post_split(df, tz, since, until):
    picked = between(counted(df), since, until)
    members = M.members_posting(df, tz=tz, since=since, until=until)
    split = M.post_split(df, tz=tz, since=since, until=until)
    per_day, days = daily(picked, tz)
    assert members.name == "members posting"
    assert [d.date() for d in members.index] == days == [d.date() for d in split.index]
    assert members.tolist() == [len({s for s, _ in per_day[d]}) for d in days]
    assert split["roots"].tolist() == [sum(not r for _, r in per_day[d]) for d in days]
    assert split["replies"].tolist() == [sum(r for _, r in per_day[d]) for d in days]
    assert split["messages"].tolist() == [len(per_day[d]) for d in days]


@SETTINGS
@given(frames(), st.sampled_from(ZONES), st.sampled_from(["MS", "W"]))
def test_post_split_other_periods_add_up(df, tz, freq):
    table = M.post_split(df, freq=freq, tz=tz)
    picked = counted(df)
    assert int(table["messages"].sum()) == len(picked)
    assert int(table["replies"].sum()) == sum(is_parent(p) for p in picked["parent"])


@SETTINGS
@given(frames(), st.sampled_from(ZONES))
def test_messages_per_posting_member(df, tz):
    got = M.messages_per_posting_member(df, tz=tz)
    per_day, days = daily(counted(df), tz)
    assert [d.date() for d in got.index] == days
    for day, value in zip(days, got.tolist()):
        senders = {s for s, _ in per_day[day]}
        if senders:
            assert value == pytest.approx(len(per_day[day]) / len(senders))
        else:
            assert np.isnan(value)


@SETTINGS
@given(frames(), st.sampled_from(ZONES), times, times)
def test_stickiness(df, tz, since, until):
    picked = between(counted(df), None, until)  # windows reach back before `since`
    per_day, days = daily(picked, tz)
    if days and until is not None:  # the quiet days that end the period are days of it too
        last = local(until - timedelta(microseconds=1), tz).date()
        days = day_range(days[0], max(days[-1], last))
    ratios = {}
    for day in days:
        dau = {s for s, _ in per_day[day]}
        mau = {s for k in range(28) for s, _ in per_day.get(day - timedelta(days=k), [])}
        ratios[day] = len(dau) / len(mau) if mau else None
    chosen = [
        d for d in days if (since is None or midnight(d, tz) >= since) and (until is None or midnight(d, tz) < until)
    ]
    got = M.stickiness(df, tz=tz, since=since, until=until, per_day=True)
    assert [d.date() for d in got.index] == chosen
    for day, value in zip(chosen, got.tolist()):
        assert (np.isnan(value) and ratios[day] is None) or value == pytest.approx(ratios[day])
    values = [ratios[d] for d in chosen if ratios[d] is not None]
    mean = M.stickiness(df, tz=tz, since=since, until=until)
    assert (np.isnan(mean) and not values) or mean == pytest.approx(sum(values) / len(values))


# --- replies ----------------------------------------------------------------------------------------------------------


@SETTINGS
@given(frames(), times, times)
def test_reply_rate(df, since, until):
    firsts = ref_first_replies(df)
    chosen = [f for f in firsts.values() if (since is None or f[0] >= since) and (until is None or f[0] < until)]
    got = quiet(M.reply_rate, df, since=since, until=until)
    if not chosen:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(sum(f[2] is not None for f in chosen) / len(chosen))


holiday_lists = st.lists(
    st.builds(lambda a, d: (a + pd.Timedelta(days=d)).date(), st.sampled_from(ANCHORS), st.integers(-3, 3)),
    max_size=3,
)
business_hours = st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda h: h[0] < h[1])


@SETTINGS
@given(frames(), st.one_of(st.none(), business_hours), st.sampled_from(ZONES), holiday_lists)
def test_time_to_first_reply(df, hours, tz, holidays):
    firsts = ref_first_replies(df)
    table = quiet(M.time_to_first_reply, df, hours=hours, tz=tz, holidays=holidays)
    assert set(table.index) == set(firsts)
    want = {}
    for root, (started, _, first) in firsts.items():
        if first is None:
            want[root] = None
        elif hours is None:
            want[root] = first - started
        else:
            want[root] = pd.Timedelta(ref_business(started, first, hours, tz, set(holidays)))
    for root, got in table["time_to_first_reply"].items():
        assert (pd.isna(got) and want[root] is None) or got == want[root], root
    summary = quiet(M.time_to_first_reply_summary, df, hours=hours, tz=tz, holidays=holidays)
    answered = [v for v in want.values() if v is not None]
    assert (summary["threads"], summary["answered"]) == (len(want), len(answered))
    if answered:
        us = [v // pd.Timedelta(microseconds=1) for v in answered]
        for key, q in (("median", 0.5), ("p90", 0.9)):
            assert abs(summary[key] / pd.Timedelta(microseconds=1) - ref_quantile(us, q)) <= 1
    else:
        assert pd.isna(summary["median"]) and pd.isna(summary["p90"])


@SETTINGS
@given(frames(), business_hours, st.sampled_from(ZONES), holiday_lists.filter(bool))
def test_business_time_with_holidays(df, hours, tz, holidays):
    # Business hours and holidays always on: the case the general test above reaches only now and then.
    table = quiet(M.time_to_first_reply, df, hours=hours, tz=tz, holidays=holidays)
    for root, (started, _, first) in ref_first_replies(df).items():
        if first is not None:
            want = pd.Timedelta(ref_business(started, first, hours, tz, set(holidays)))
            assert table.loc[root, "time_to_first_reply"] == want, root


def test_business_time_skips_nights_weekends_and_holidays():
    # Friday 17:00 -> Monday 10:00 in Berlin with hours 9-18: one hour on Friday, one on Monday.
    m = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "parent": [None, "a", None, "c"],
            "sender_id": ["u", "v", "u", "v"],
            "created": pd.to_datetime(
                ["2026-05-08 15:00", "2026-05-11 08:00", "2026-04-30 15:00", "2026-05-04 07:30"], utc=True
            ),
        }
    )
    t = M.time_to_first_reply(m, hours=(9, 18), tz="Europe/Berlin", holidays=["2026-05-01"])
    assert t.loc["a", "time_to_first_reply"] == pd.Timedelta(hours=2)
    # Thursday 17:00 -> Monday 09:30 with Friday 1 May a holiday: 1 h + 0.5 h.
    assert t.loc["c", "time_to_first_reply"] == pd.Timedelta(hours=1.5)
    with pytest.raises(ValueError, match="hours: need 0 <= start_hour"):
        M.time_to_first_reply(m, hours=(18, 9))


@SETTINGS
@given(frames(), st.sampled_from(["1h", "24h", "48h"]), times, st.booleans())
def test_unanswered_questions(df, after, now, text_free):
    if text_free:  # a text-free frame keeps only is_question ('?' in the text)
        df = df.assign(is_question=df["text"].str.contains("?", regex=False).fillna(False).astype(bool))
        df = df.drop(columns="text")
    picked = counted(df)
    wait = pd.Timedelta(after)
    limit = now if now is not None else (picked["created"].max() if len(picked) else None)
    asks = dict(zip(df["id"], df["is_question"] if text_free else map(ref_question, df["text"])))
    want = set()
    for root, (started, _, first) in ref_first_replies(df).items():
        late = first is None or first > started + wait
        if late and limit is not None and started + wait <= limit and asks[root]:
            want.add(root)
    got = quiet(M.unanswered_questions, df, after=after, now=now)
    assert set(got["id"]) == want
    assert list(got["created"]) == sorted(got["created"])
    assert {"sender_id", "first_reply_at"} <= set(got.columns)


def test_question_rule():
    # Each text a root nobody answered, a day before now: the questions among them are exactly the rule's.
    roots = pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(len(TEXTS))],
            "conversation_id": "C1",
            "sender_id": "U1",
            "created": pd.Timestamp("2026-01-01", tz="UTC"),
            "parent": pd.Series([None] * len(TEXTS), dtype="string"),
            "text": pd.Series(TEXTS, dtype="string"),
        }
    )
    got = set(M.unanswered_questions(roots, now="2026-01-02")["id"])
    assert got == {f"m{i}" for i, text in enumerate(TEXTS) if ref_question(text)}
    assert ref_question("Is the build green?") and ref_question("<@U1> can you look")
    assert not ref_question("isn't it fine") and not ref_question("Island trip photos")


# --- rhythm, conversations, visibility, concentration -----------------------------------------------------------------


workdays = st.tuples(st.integers(5, 12), st.integers(13, 21))


@SETTINGS
@given(frames(), st.sampled_from(ZONES), workdays, st.booleans(), st.one_of(st.none(), holiday_lists))
def test_after_hours_share(df, tz, workday, weekend, holidays):
    picked = counted(df)
    outside = []
    for ts in picked["created"]:
        lt = local(ts, tz)
        hour = lt.hour + lt.minute / 60 + lt.second / 3600
        out = hour < workday[0] or hour >= workday[1]
        out |= weekend and lt.weekday() >= 5
        out |= holidays is not None and lt.date() in set(holidays)
        outside.append(out)
    got = M.after_hours_share(df, tz=tz, hours=workday, weekend=weekend, holidays=holidays)
    if not outside:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(sum(outside) / len(outside))


@SETTINGS
@given(frames(), st.integers(0, 3), times, st.lists(st.sampled_from(["C0", "C1", "C2"]), unique=True))
def test_dead_conversations(df, days, now, listed):
    picked = counted(df)
    if now is None and picked.empty:
        with pytest.raises(ValueError, match="now"):
            M.dead_conversations(df, idle=f"{days}D")
        return
    limit = now if now is not None else picked["created"].max()
    conversations = pd.DataFrame({"id": listed, "label": [f"#{c}" for c in listed], "kind": "channel"})
    last = {c: None for c in listed}
    for conv, ts in zip(picked["conversation_id"], picked["created"]):
        if ts <= limit:
            last[conv] = ts if last.get(conv) is None else max(last[conv], ts)
    want = {c: t for c, t in last.items() if t is None or limit - t >= pd.Timedelta(days=days)}
    got = M.dead_conversations(df, conversations if listed else None, idle=f"{days}D", now=now)
    if not listed:
        want = {c: t for c, t in want.items() if t is not None}
    assert set(got.index) == set(want)
    for conv, row in got.iterrows():
        assert (pd.isna(row["last_message"]) and want[conv] is None) or row["last_message"] == want[conv]
        if conv in listed:
            assert row["name"] == f"#{conv}"


KINDS = ["channel", "private_channel", "direct", "group_direct"]


@SETTINGS
@given(frames(), st.lists(st.sampled_from(KINDS), min_size=1, max_size=2), st.booleans())
def test_visibility_share(df, kinds, without_kind):
    ids = [f"C{i}" for i in range(len(kinds))]
    conversations = pd.DataFrame(
        {
            "id": ids,
            "name": [None if k.endswith("direct") else f"c{i}" for i, k in enumerate(kinds)],
            "private": [k == "private_channel" for k in kinds],
            "kind": kinds,
        }
    )
    if without_kind:
        conversations = conversations.drop(columns="kind")
        mapping = {"channel": "public", "private_channel": "private", "direct": "direct", "group_direct": "direct"}
    else:
        mapping = {
            "channel": "public",
            "private_channel": "private",
            "direct": "direct",
            "group_direct": "group_direct",
        }
    kind_of = dict(zip(ids, kinds))
    ref = Counter(mapping[kind_of[c]] if c in kind_of else "unknown" for c in counted(df)["conversation_id"])
    got = M.visibility_share(df, conversations)
    assert {k: v for k, v in got["messages"].items() if v} == dict(ref)
    total = sum(ref.values())
    for vis, share in got["share"].items():
        assert (total == 0 and np.isnan(share)) or share == pytest.approx(ref[vis] / total)


@SETTINGS
@given(frames(max_size=40))
def test_concentration(df):
    counts = sorted(Counter(counted(df)["sender_id"]).values(), reverse=True)
    got = M.concentration(df)
    assert (got["members"], got["messages"]) == (len(counts), sum(counts))
    if not counts:
        assert np.isnan(got["gini"])
        return
    half, running = 0, 0
    while running * 2 < sum(counts):
        running += counts[half]
        half += 1
    n, mean = len(counts), sum(counts) / len(counts)
    gini = sum(abs(x - y) for x in counts for y in counts) / (2 * n * n * mean)
    assert got["members_for_half"] == half
    assert got["share_of_members_for_half"] == pytest.approx(half / n)
    assert got["gini"] == pytest.approx(gini, abs=1e-12)


def test_concentration_at_exactly_half():
    m = pd.DataFrame(
        {
            "id": list("abcd"),
            "sender_id": ["u", "u", "v", "w"],
            "created": pd.to_datetime(["2026-01-01"] * 4, utc=True),
        }
    )
    got = M.concentration(m)
    # u wrote 2 of 4: half exactly. Gini of (2, 1, 1): sum |xi - xj| = 4, / (2 * 9 * 4/3) = 1/6.
    assert got["members_for_half"] == 1 and got["gini"] == pytest.approx(1 / 6)


def test_unanswered_questions_at_the_boundaries():
    m = pd.DataFrame(
        {
            "id": ["q1", "r1", "q2", "r2", "q3"],
            "parent": [None, "q1", None, "q2", None],
            "sender_id": ["u", "v", "u", "v", "u"],
            "text": ["Anyone seen the logs", "yes", "where is it?", "here", "why"],
            "created": pd.to_datetime(
                [
                    "2026-01-01 00:00:00",
                    "2026-01-02 00:00:00",
                    "2026-01-01 00:00:00",
                    "2026-01-02 00:00:01",
                    "2026-01-02 00:00:00",
                ],
                utc=True,
            ),
        }
    )
    # q1 answered exactly at 24 h (in time); q2 a second late; q3 is too young to judge at now.
    got = M.unanswered_questions(m, after="24h", now="2026-01-02 00:00:01")
    assert got["id"].tolist() == ["q2"]
    assert M.unanswered_questions(m, after="24h", now="2026-01-03")["id"].tolist() == ["q2", "q3"]


# --- groups -----------------------------------------------------------------------------------------------------------


@SETTINGS
@given(frames(), st.dictionaries(st.sampled_from([f"u{i}" for i in range(5)]), st.sampled_from(["x", "y", "z"])))
def test_cross_group_interaction(df, assignment):
    picked = counted(df)
    group = lambda m: assignment.get(m, "(unassigned)")  # noqa: E731
    sender = dict(zip(picked["id"], picked["sender_id"]))
    edges = Counter()
    for mid, parent in zip(picked["id"], picked["parent"]):
        if is_parent(parent) and parent in sender and sender[parent] != sender[mid]:
            edges[(group(sender[mid]), group(sender[parent]), "reply")] += 1
    for s, mentions in zip(picked["sender_id"], picked["mentions"]):
        for m in mentions:
            if m != s:
                edges[(group(s), group(m), "mention")] += 1
    groups = pd.DataFrame({"member_id": list(assignment), "group": list(assignment.values())})
    got = M.cross_group_interaction(df, groups)
    total = sum(edges.values())
    crossing = sum(v for (a, b, _), v in edges.items() if a != b)
    pairs = Counter()
    for row in got.pairs.itertuples():
        assert row.weight == row.reply + row.mention and row.cross == (row.source_group != row.target_group)
        for kind in ("reply", "mention"):
            if getattr(row, kind):
                pairs[(row.source_group, row.target_group, kind)] = getattr(row, kind)
    assert pairs == edges
    assert got.summary["interactions"] == total and got.summary["cross_group_interactions"] == crossing
    assert (total == 0 and np.isnan(got.summary["cross_group_share"])) or got.summary[
        "cross_group_share"
    ] == pytest.approx(crossing / total)
    assert int(got.edges["weight"].sum()) == crossing
    assert (got.edges["source_group"] != got.edges["target_group"]).all()
    threads = ref_counted_threads(df)  # chains on the whole frame; bots' threads left out
    members = {root: {s for _, s, _, _ in rows} for root, rows in threads.items()}
    spans = {root: len({group(s) for s in people}) for root, people in members.items()}
    assert got.threads["groups"].to_dict() == spans
    assert got.threads["participants"].to_dict() == {r: len(p) for r, p in members.items()}
    assert got.summary["multi_member_threads"] == sum(len(p) > 1 for p in members.values())
    assert got.summary["cross_group_threads"] == sum(v > 1 for v in spans.values())


def test_cross_group_interaction_reads_csv(tmp_path):
    m = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "parent": [None, "a", "a"],
            "sender_id": ["u", "v", "w"],
            "created": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
            "mentions": [[], [], []],
        }
    )
    path = tmp_path / "groups.csv"
    path.write_text("member_id,group\nu,ops\nv,ops\nw,sales\n")
    got = M.cross_group_interaction(m, path)
    assert got.summary["cross_group_interactions"] == 1 and got.summary["cross_group_threads"] == 1
    assert got.edges[["source", "target", "source_group", "target_group"]].values.tolist() == [
        ["w", "u", "sales", "ops"]
    ]
    # Overlapping groups (as the services' own): u is in both, so w -> u shares "sales" and crosses nothing,
    # while no one group holds all of u, v and w: the thread still crosses.
    path.write_text("member_id,group\nu,ops\nu,sales\nv,ops\nw,sales\n")
    both = M.cross_group_interaction(m, path)
    assert both.summary["cross_group_interactions"] == 0 and both.summary["cross_group_threads"] == 1
    assert both.pairs.set_index(["source_group", "target_group"])["weight"].to_dict() == {
        ("ops", "ops"): 1,
        ("ops", "sales"): 1,
        ("sales", "ops"): 1,
        ("sales", "sales"): 1,
    }


# --- periods ----------------------------------------------------------------------------------------------------------


def ref_bounds(label: pd.Timestamp, freq: str, tz: str) -> tuple[datetime, datetime]:
    day = label.tz_convert(tz).date()
    if freq == "h":
        return label.to_pydatetime(), (label + pd.Timedelta(hours=1)).to_pydatetime()
    if freq == "D":
        return midnight(day, tz), midnight(day + timedelta(days=1), tz)
    if freq == "W":  # labelled by the Sunday that ends the week
        return midnight(day - timedelta(days=6), tz), midnight(day + timedelta(days=1), tz)
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)  # MS
    return midnight(day.replace(day=1), tz), midnight(nxt, tz)


@SETTINGS
@given(frames(), st.sampled_from(ZONES), st.sampled_from(["h", "D", "W", "MS"]), times, times)
def test_mark_partial(df, tz, freq, start, end):
    picked = counted(df)
    if picked.empty:
        return
    start = start if start is not None else picked["created"].min()
    end = end if end is not None else picked["created"].max()
    timeline = A.activity_timeline(df, freq=freq, tz=tz)
    got = M.mark_partial(timeline, freq, start, end)
    assert got["messages"].tolist() == timeline["messages"].tolist()
    for label, partial in got["partial"].items():
        lo, hi = ref_bounds(label, freq, tz)
        assert partial == (lo < start or hi > end), (label, lo, hi)


@SETTINGS
@given(frames(), st.sampled_from(ZONES), st.sampled_from(["D", "W"]), times, times)
def test_complete_range(df, tz, freq, since, until):
    picked = between(counted(df), since, until)
    got = M.complete_range(df, freq, tz=tz, since=since, until=until)
    if picked.empty and (since is None or until is None):
        assert got == (None, None)
        return
    lo = since if since is not None else picked["created"].min()
    hi = until if until is not None else picked["created"].max() + pd.Timedelta(microseconds=1)
    complete = []
    for day in day_range(local(lo, tz).date() - timedelta(days=7), local(hi, tz).date() + timedelta(days=7)):
        if freq == "W" and day.weekday() != 0:
            continue
        a = midnight(day, tz)
        b = midnight(day + timedelta(days=1 if freq == "D" else 7), tz)
        if a >= lo and b <= hi:
            complete.append((a, b))
    if not complete:
        assert got == (None, None)
    else:
        assert got[0] == min(a for a, _ in complete) and got[1] == max(b for _, b in complete)


def test_complete_range_with_bounds_on_period_edges():
    m = pd.DataFrame({"id": ["a"], "sender_id": ["u"], "created": pd.to_datetime(["2026-01-07 12:00"], utc=True)})
    # Berlin midnights; the window ends at a Monday midnight, so three whole weeks (Mon 5 to Mon 26 January).
    since, until = pd.Timestamp("2026-01-04 23:00", tz="UTC"), pd.Timestamp("2026-01-25 23:00", tz="UTC")
    start, end = M.complete_range(m, "W", tz="Europe/Berlin", since=since, until=until)
    assert (start, end) == (since, until)
    assert M.complete_range(m, "D", tz="Europe/Berlin", since=since, until=since + pd.Timedelta(hours=23)) == (
        None,
        None,
    )
    with pytest.raises(ValueError, match="freq"):
        M.complete_range(m, "2W", since=since, until=until)


# --- hygiene ----------------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    frames(),
    st.one_of(st.none(), st.lists(st.sampled_from([f"u{i}" for i in range(5)]), max_size=2)),
    st.sampled_from(["ids", "users", "column"]),
)
def test_hygiene_counts(df, deleted, given_as):
    if deleted is not None and given_as == "users":
        users = pd.DataFrame({"id": [f"u{i}" for i in range(5)], "deleted": [f"u{i}" in deleted for i in range(5)]})
        got = M.hygiene_counts(df, deleted_users=users)
    elif deleted is not None and given_as == "column":
        flags = pd.array([s in deleted for s in df["sender_id"]], dtype="boolean")
        got = M.hygiene_counts(df.assign(sender_deleted=flags))
    else:
        got = M.hygiene_counts(df, deleted_users=deleted)
    want = Counter()
    for bot, system, subtype in zip(df["is_bot"], df["is_system"], df["subtype"]):
        s = "" if pd.isna(subtype) else subtype
        if bot:
            want[("bot", s)] += 1
        if system:
            want[("system event", s)] += 1
    rows = {(r.reason, r.subtype): r for r in got.itertuples()}
    assert {k: r.messages for k, r in rows.items() if r.reason in ("bot", "system event")} == dict(want)
    assert rows[("counted", "")].messages == len(counted(df))
    deleted_row = rows[("deleted user", "")]
    if deleted is None:
        assert pd.isna(deleted_row.messages)
    else:
        assert deleted_row.messages == sum(s in deleted for s in df["sender_id"])
    assert {r.reason for r in got.itertuples() if r.left_out} <= {"bot", "system event"}
    for r in got.itertuples():
        assert pd.isna(r.messages) or r.share == pytest.approx(r.messages / len(df))


def test_former_spellings_of_hours_and_durations_still_work_for_one_version():
    """One vocabulary: working hours are ``hours=(start, end)`` everywhere, and durations strings ("30D", "24h");
    the former names give the same answer with a DeprecationWarning that points at the caller."""
    m = load_messages("demo", progress=False)
    with pytest.warns(DeprecationWarning, match="business_hours= is renamed hours=") as seen:
        old = M.time_to_first_reply(m, business_hours=(9, 17), tz="Europe/Berlin")
    assert seen[0].filename == __file__
    pd.testing.assert_frame_equal(old, M.time_to_first_reply(m, hours=(9, 17), tz="Europe/Berlin"))
    with pytest.warns(DeprecationWarning, match="business_hours="):
        old_summary = M.time_to_first_reply_summary(m, business_hours=(9, 17))
    assert old_summary == M.time_to_first_reply_summary(m, hours=(9, 17))
    with pytest.warns(DeprecationWarning, match="workday= is renamed hours="):
        old_share = M.after_hours_share(m, workday=(8, 16))
    assert old_share == M.after_hours_share(m, hours=(8, 16)) != M.after_hours_share(m)
    with pytest.warns(DeprecationWarning, match="days= is renamed idle="):
        old_dead = M.dead_conversations(m, days=1.5, now="2026-08-15")
    pd.testing.assert_frame_equal(old_dead, M.dead_conversations(m, idle="36h", now="2026-08-15"))
    with pytest.raises(TypeError, match="pass hours= only"):
        M.after_hours_share(m, hours=(8, 16), workday=(8, 16))
    with pytest.raises(ValueError, match="idle: 'a month' is not a duration"):
        M.dead_conversations(m, idle="a month", now="2026-08-15")
    with pytest.raises(ValueError, match="after: must be a duration of zero or more"):
        M.unanswered_questions(m, after="-1h")
