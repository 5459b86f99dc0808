"""Every analysis against a slow, obviously correct reference on random workspaces (hypothesis): deep chains,
missing parents, self-replies, exact period boundaries and DST changes in the chosen zone."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlens import analysis as A
from chatlens._links import ReplyCycleError
from tests.analysis.frames import ZONES, message_frames

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def counted(df):
    return df[~df["is_bot"] & ~df["is_system"]]


def ref_roots(df):
    parent = dict(zip(df["id"], df["parent"].astype(object).where(df["parent"].notna(), None)))
    out = {}
    for mid in df["id"]:
        depth, cur = 0, mid
        while parent.get(cur) is not None and parent[cur] in parent:
            cur, depth = parent[cur], depth + 1
        out[mid] = (cur, depth)
    return out


def local_date(ts, tz):
    return ts.to_pydatetime().astimezone(ZoneInfo(tz)).date()


@SETTINGS
@given(message_frames())
def test_thread_depth(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = A.thread_depth(df)
    ref = ref_roots(df)
    assert list(zip(got["root"], got["depth"])) == [ref[m] for m in df["id"]]
    assert got["missing_parent"].tolist() == (df["parent"] == "gone").fillna(False).tolist()


def test_missing_parents_are_reported():
    df = pd.DataFrame({"id": ["a", "b"], "parent": [None, "zz"]})
    with pytest.warns(A.MissingParentWarning, match="1 message.*'b'"):
        A.thread_depth(df)


@SETTINGS
@given(st.integers(2, 12), st.integers(0, 5))
def test_cycles_raise_naming_the_messages(length, tail):
    ids = [f"c{i}" for i in range(length)] + [f"t{i}" for i in range(tail)]
    parents = [f"c{(i + 1) % length}" for i in range(length)] + ["c0"] * tail
    with pytest.raises(ReplyCycleError) as info:
        A.thread_depth(pd.DataFrame({"id": ids, "parent": parents}))
    assert set(info.value.ids) == {f"c{i}" for i in range(length)}


@SETTINGS
@given(message_frames(), st.sampled_from(ZONES))
def test_daily_timeline_and_active_members(df, tz):
    picked = counted(df)
    table = A.activity_timeline(df, freq="D", tz=tz)
    members = A.active_members(df, freq="D", tz=tz)
    if picked.empty:
        assert table.empty and members.empty
        return
    dates = [local_date(t, tz) for t in picked["created"]]
    counts = Counter(dates)
    people = defaultdict(set)
    for d, s in zip(dates, picked["sender_id"]):
        people[d].add(s)
    days = [min(dates) + timedelta(days=k) for k in range((max(dates) - min(dates)).days + 1)]
    assert [d.date() for d in table.index] == days
    assert table["messages"].tolist() == [counts.get(d, 0) for d in days]
    assert members.tolist() == [len(people.get(d, ())) for d in days]
    assert all(ts.hour == 0 and ts.minute == 0 for ts in table.index)  # local midnights, DST or not


@SETTINGS
@given(message_frames(), st.sampled_from(ZONES))
def test_timeline_by_member(df, tz):
    picked = counted(df)
    table = A.activity_timeline(df, freq="D", tz=tz, by="member")
    assert int(table.to_numpy().sum()) == len(picked)
    for name, group in picked.groupby("sender_name"):
        assert int(table[name].sum()) == len(group)


@SETTINGS
@given(message_frames(), st.sampled_from(ZONES))
def test_hour_weekday_table(df, tz):
    picked = counted(df)
    ref = Counter()
    for ts in picked["created"]:
        local = ts.to_pydatetime().astimezone(ZoneInfo(tz))
        ref[(local.weekday(), local.hour)] += 1
    table = A.hour_weekday_table(df, tz=tz)
    assert {(d, h): int(table.iloc[d, h]) for d in range(7) for h in range(24) if table.iloc[d, h]} == dict(ref)


@SETTINGS
@given(message_frames(), st.sampled_from(ZONES))
def test_dau_wau_mau(df, tz):
    picked = counted(df)
    table = A.dau_wau_mau(df, tz=tz)
    if picked.empty:
        assert table.empty
        return
    dates = [local_date(t, tz) for t in picked["created"]]
    for day, row in zip((d.date() for d in table.index), table.itertuples()):
        for w, got in ((1, row.dau), (7, row.wau), (28, row.mau)):
            want = {s for d, s in zip(dates, picked["sender_id"]) if 0 <= (day - d).days < w}
            assert got == len(want), (day, w)


@SETTINGS
@given(message_frames())
def test_new_vs_returning(df):
    picked = counted(df)
    table = A.new_vs_returning(df, freq="M")
    first = {}
    for ts, s in sorted(zip(picked["created"], picked["sender_id"])):
        first.setdefault(s, ts.strftime("%Y-%m"))
    for period, row in table.iterrows():
        month = str(period)
        posting = {s for ts, s in zip(picked["created"], picked["sender_id"]) if ts.strftime("%Y-%m") == month}
        assert row["members"] == len(posting)
        assert row["new"] == sum(first[s] == month for s in posting)


@SETTINGS
@given(message_frames())
def test_thread_table(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = A.thread_table(df)
    # Chains are followed on the whole frame; then a thread counts when its root does, with its counted messages.
    picked = counted(df)
    ref = ref_roots(df)
    keep = set(picked["id"])
    threads = defaultdict(list)
    for mid, sender, created in zip(picked["id"], picked["sender_id"], picked["created"]):
        if ref[mid][0] in keep:
            threads[ref[mid][0]].append((mid, sender, created, ref[mid][1]))
    assert set(table.index) == set(threads)
    for root, rows in threads.items():
        got = table.loc[root]
        root_sender = next(s for m, s, _, _ in rows if m == root)
        others = [c for m, s, c, _ in rows if m != root and s != root_sender]
        assert got["size"] == len(rows) and got["replies"] == len(rows) - 1
        assert got["participants"] == len({s for _, s, _, _ in rows})
        assert got["depth"] == max(d for *_, d in rows)
        assert got["unanswered"] == (not others)
        if others:
            assert got["time_to_first_reply"] == min(others) - next(c for m, _, c, _ in rows if m == root)


@SETTINGS
@given(message_frames(), st.booleans())
def test_interaction_edges(df, self_loops):
    picked = counted(df)
    sender = dict(zip(picked["id"], picked["sender_id"]))
    ref = Counter()
    for mid, parent in zip(picked["id"], picked["parent"]):
        if pd.notna(parent) and parent in sender:
            ref[(sender[mid], sender[parent], "reply")] += 1
    for s, mentions in zip(picked["sender_id"], picked["mentions"]):
        for m in mentions:
            ref[(s, m, "mention")] += 1
    if not self_loops:
        ref = Counter({k: v for k, v in ref.items() if k[0] != k[1]})
    edges = A.interaction_edges(df, self_loops=self_loops)
    got = Counter()
    for row in edges.itertuples():
        for kind in ("reply", "mention"):
            if getattr(row, kind):
                got[(row.source, row.target, kind)] += getattr(row, kind)
        assert row.weight == row.reply + row.mention
    assert got == ref
    graph = A.interaction_graph(df, self_loops=self_loops)
    assert sum(d["weight"] for *_, d in graph.edges(data=True)) == sum(ref.values())


@SETTINGS
@given(message_frames())
def test_member_and_conversation_summaries(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        members = A.member_summary(df)
        convs = A.conversation_summary(df)
        threads = A.thread_table(df)
    picked = counted(df)
    assert members["messages"].to_dict() == picked["sender_id"].value_counts().to_dict()
    # A counted reply is a reply wherever its parent is (a bot's post, a system event): parents from the whole frame.
    sender = dict(zip(df["id"], df["sender_id"]))
    given_, received = Counter(), Counter()
    for mid, parent in zip(picked["id"], picked["parent"]):
        if pd.notna(parent) and parent in sender and sender[parent] != sender[mid]:
            given_[sender[mid]] += 1
            received[sender[parent]] += 1
    assert {m: v for m, v in members["replies_given"].items() if v} == dict(given_)
    posting = set(picked["sender_id"])
    assert {m: v for m, v in members["replies_received"].items() if v} == {
        m: v for m, v in received.items() if m in posting
    }
    assert int(convs["threads"].sum()) == len(threads)
    assert int(convs["unanswered"].sum()) == int(threads["unanswered"].sum())
