"""The analyses stay vectorised (issue 20 §5): no Python object per message on any analysis path, and the reply
chains they share are resolved once per frame without ever serving a changed frame its old answer."""

from __future__ import annotations

import gc
import inspect
import warnings
import weakref
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.core.arrays import Categorical, DatetimeArray, PeriodArray, TimedeltaArray
from pandas.core.arrays.arrow import ArrowExtensionArray

from chatlens import analysis as A
from chatlens.loaders import add_sender_details, load_conversations, load_groups, load_messages, load_users
from tests.analysis.frames import ANCHORS, message_frames
from tests.analysis.test_metrics import ref_counted_threads


@pytest.fixture(scope="module")
def demo():
    messages = add_sender_details(load_messages("demo", progress=False), load_users("demo", progress=False))
    return messages, load_conversations("demo", progress=False), load_groups("demo", progress=False)


def _calls(messages, conversations, groups):
    """Every public analysis of the messages frame (those needing more get it), and the tz="member" paths."""
    graph = A.interaction_graph(messages)
    special = {
        "dead_conversations": lambda: A.dead_conversations(messages, conversations),
        "visibility_share": lambda: A.visibility_share(messages, conversations),
        "cross_group_interaction": lambda: A.cross_group_interaction(
            messages, groups, member_column="user_id", group_column="group_name"
        ),
        "centrality": lambda: A.centrality(graph),
        "communities": lambda: A.communities(graph),
        "mark_partial": lambda: A.mark_partial(
            A.activity_timeline(messages), "D", messages["created"].min(), messages["created"].max()
        ),
        "hour_weekday_table(tz=member)": lambda: A.hour_weekday_table(messages, tz="member"),
        "after_hours_share(tz=member)": lambda: A.after_hours_share(messages, tz="member"),
        "activity_timeline(by=conversation)": lambda: A.activity_timeline(messages, by="conversation", tz="Asia/Tokyo"),
        "activity_timeline(by=group)": lambda: A.activity_timeline(messages, by="group", groups=groups),
        "time_to_first_reply(hours)": lambda: A.time_to_first_reply(messages, hours=(9, 17), tz="Europe/Berlin"),
        "member_summary(tz)": lambda: A.member_summary(messages, tz="America/New_York"),
    }
    calls = {}
    for name in A.__all__:
        fn = getattr(A, name)
        if not inspect.isfunction(fn) or name == "write_graph":
            continue
        params = list(inspect.signature(fn).parameters.values())
        needs = [p for p in params[1:] if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]
        if name in special or (params and params[0].name == "messages" and not needs):
            calls[name] = special.get(name, lambda fn=fn: fn(messages))
    return {**special, **calls}


def test_no_python_object_per_message(demo, monkeypatch):
    """Counts what pandas arrays yield one by one (__iter__) and the object arrays made from them: a per-message
    path (to_numpy() on tz-aware times, astype(str) of ids) makes at least one per message."""
    messages, conversations, groups = demo
    made: Counter[str] = Counter()
    current = [""]

    def counting_iter(cls):
        original = cls.__iter__

        def __iter__(self):
            for value in original(self):
                made[current[0]] += 1
                yield value

        monkeypatch.setattr(cls, "__iter__", __iter__)

    def counting_to_numpy(cls, method):
        original = getattr(cls, method)

        def convert(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            if isinstance(out, np.ndarray) and out.dtype == object:
                made[current[0]] += len(out)
            return out

        monkeypatch.setattr(cls, method, convert)

    calls = _calls(messages, conversations, groups)  # the graph for centrality is built before counting
    for cls in (DatetimeArray, PeriodArray, Categorical, TimedeltaArray, ArrowExtensionArray):
        counting_iter(cls)
    for cls in (ArrowExtensionArray, Categorical, DatetimeArray):
        counting_to_numpy(cls, "to_numpy")
    counting_to_numpy(DatetimeArray, "__array__")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, call in calls.items():
            current[0] = name
            call()
    # Per member, per conversation or per edge is fine; per message (or per thread) is not.
    assert {name: n for name, n in made.items() if n > len(messages) / 2} == {}


def test_a_changed_frame_is_never_answered_from_memory(demo):
    messages = demo[0][["id", "parent", "sender_id", "created", "conversation_id", "is_bot", "is_system"]]
    before = A.thread_table(messages)
    roots = before.index[before["replies"] > 0][:3].astype(str)
    # Replies to three threads become roots: once as a new column, once written into the frame's own column.
    orphaned = messages["parent"].isin(roots).to_numpy()
    assigned = messages.assign(parent=messages["parent"].where(~orphaned, None))
    written = messages.copy()
    written.loc[orphaned, "parent"] = None
    for changed in (assigned, written):
        after = A.thread_table(changed)
        assert len(after) == len(before) + int(orphaned.sum())
        assert (after.loc[roots, "replies"] == 0).all()
        assert len(A.reply_times(changed)) == len(A.reply_times(messages)) - int(orphaned.sum())
    assert A.thread_table(messages).equals(before)


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "str"])
def test_columns_written_in_place_are_read_again(dtype):
    m = pd.DataFrame(
        {
            "id": pd.Series(["a", "b", "c"], dtype=dtype),
            "parent": pd.Series([None, "a", "b"], dtype=dtype),
            "sender_id": ["u", "v", "w"],
            "created": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:05", "2026-01-01 10:07"], utc=True),
        }
    )
    assert A.thread_depth(m)["depth"].tolist() == [0, 1, 2]
    m.loc[2, "parent"] = "a"  # an object column is written where it lies; an Arrow one gets a new array
    assert A.thread_depth(m)["depth"].tolist() == [0, 1, 1]
    m.loc[0, "id"] = "z"
    assert A.thread_depth(m, warn=False)["root"].tolist() == ["z", "b", "c"]


def test_remembered_chains_do_not_keep_a_frame_alive():
    m = pd.DataFrame(
        {
            "id": pd.array(["a", "b"], dtype="string[pyarrow]"),
            "parent": pd.array([None, "a"], dtype="string[pyarrow]"),
            "sender_id": ["u", "v"],
            "created": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
        }
    )
    A.thread_table(m)
    ids = weakref.ref(m["id"].array._pa_array)
    del m
    gc.collect()
    assert ids() is None


def _reference_links(ids, parents):
    """(found, parent, missing) by a dict of ids: obviously right, one Python step per message."""
    first: dict[str, int] = {}
    for i, v in enumerate(ids):
        first.setdefault(v, i)
    found = np.array([first.get(p, -1) if p is not None else -1 for p in parents], dtype=np.int64)
    named = np.array([p is not None and p != "" for p in parents])
    return found, np.where(named, found, -1), named & (found < 0)


def _words_frame(seed: int, n: int = 400) -> tuple[list[str], list[str | None]]:
    """Ids of one byte length (some sharing their first 8 bytes, some with non-ASCII and NUL bytes) and parents
    that name them, name absent ids of the same and other lengths, or are empty or missing."""
    rng = np.random.default_rng(seed)
    stems = ["C09NHYKX", "C09NHYKY", "é234567", "\0\0\0\0\0\0\0\0"]  # 8 bytes each
    ids = [f"{stems[i % 4]}-{i:08d}.{rng.integers(10**5, 10**6)}" for i in range(n)]
    parents: list[str | None] = []
    for i in range(n):
        kind = rng.integers(6)
        if kind == 0 and i:
            parents.append(ids[rng.integers(i)])
        elif kind == 1:
            parents.append(ids[i][:-1] + "x")  # same length, absent
        elif kind == 2:
            parents.append(ids[i][:-2])  # shorter
        elif kind == 3:
            parents.append("")
        else:
            parents.append(None)
    return ids, parents


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weak_hash", [False, True])
def test_parent_lookup_by_machine_words_is_exact(seed, weak_hash, monkeypatch):
    """Ids of one length are looked up as hashed machine words: the same positions as a dict of the ids, also
    when the hash is made weak (only the first word counts), so that absent parents share an id's hash and ids
    share hashes with each other (then the string hash decides)."""
    from chatlens import _links

    if weak_hash:
        monkeypatch.setattr(_links, "_hash_words", lambda words: words[:, 0].view(np.int64).copy())
    ids, parents = _words_frame(seed)
    if weak_hash and seed % 2:  # ids unique in their first word: only the parents collide
        tail = lambda v: v.encode()[8:].decode()  # noqa: E731  (after the 8-byte stem)
        ids = [f"{i:08d}{tail(v)}" for i, v in enumerate(ids)]
        parents = [p if p is None or len(p.encode()) != 24 else f"{int(tail(p)[1:9]):08d}{tail(p)}" for p in parents]
    used = []
    fixed_width = _links._lookup_fixed_width
    monkeypatch.setattr(_links, "_lookup_fixed_width", lambda *a: used.append(fixed_width(*a)) or used[-1])
    for dtype in ("string[pyarrow]", object):
        links, root, depth = _links.chain_links(pd.Series(ids, dtype=dtype), pd.Series(parents, dtype=dtype))
        found, parent, missing = _reference_links(ids, parents)
        assert links.unique
        np.testing.assert_array_equal(links.found, found)
        np.testing.assert_array_equal(links.parent, parent)
        np.testing.assert_array_equal(links.missing, missing)
        assert root is not None and depth is not None
    # Ids sharing a first word under the weak hash go to the string hash; all others by machine words.
    assert [u is not None for u in used] == [not (weak_hash and seed % 2 == 0)] * 2


def test_repeated_ids_of_one_length_are_still_named():
    m = pd.DataFrame({"id": ["aa", "bb", "aa"], "parent": [None, "aa", None], "sender_id": "u"})
    m["created"] = pd.Timestamp("2026-01-01", tz="UTC")
    with pytest.raises(ValueError, match=r"repeated: \['aa'\]"):
        A.thread_depth(m)


# Pieces of text that decide the question-mark rule: the marks, markup around them, links, line breaks.
_PIECES = ["?", "？", "﹖", "؟", "¿", "<", ">", "<@U1>", "|", "http", "https://", "://", "x.org/", "\n", " ", "a", "é"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)), max_size=30))
def test_question_marks_are_found_as_the_definition_finds_them(texts):
    """has_question_mark reads markup only where a text holds a mark and "<" or "://": the same answers as its
    definition (markup removed by a regex, then the marks), for plain, chunked and sliced arrays."""
    from chatlens.schema import _question_mark_outside_markup, has_question_mark

    arr = pa.array(texts, type=pa.string())
    want = _question_mark_outside_markup(arr).to_pylist()
    assert has_question_mark(arr).to_pylist() == want
    half = len(texts) // 2
    chunked = pa.chunked_array([arr.slice(0, half), arr.slice(half)], type=pa.string())
    assert has_question_mark(chunked).to_pylist() == want
    assert has_question_mark(arr.slice(half)).to_pylist() == want[half:]


@settings(max_examples=60, deadline=None)
@given(
    message_frames(),
    st.lists(st.tuples(st.sampled_from([f"u{i}" for i in range(6)]), st.integers(0, 99)), max_size=25),
    st.sampled_from([3, 70]),
)
def test_thread_groups_as_sets_of_groups(df, memberships, n_groups):
    """Per thread, the groups among its participants and whether one group holds them all, with members in several
    groups or none: as sets say, for few groups (one machine word of bits per member) and for more than 64."""
    # Every group has a member, some of them people who never post (so that there are n_groups groups).
    memberships = [*memberships, *((f"x{g}", g) for g in range(n_groups))]
    table = pd.DataFrame(
        {"member_id": [m for m, _ in memberships], "group": [f"g{g % n_groups}" for _, g in memberships]}
    )
    of = {
        m: {g for mm, g in zip(table["member_id"], table["group"]) if mm == m} or {"(unassigned)"}
        for m in df["sender_id"]
    }
    got = A.cross_group_interaction(df, table).threads
    want = {}
    for root, rows in ref_counted_threads(df).items():
        people = {s for _, s, _, _ in rows}
        sets = [of[p] for p in people]
        want[root] = (len(people), len(set().union(*sets)), not set.intersection(*sets))
    assert {r: (p, g, c) for r, p, g, c in got[["participants", "groups", "cross"]].itertuples()} == want
    assert list(got.index) == sorted(want)


@settings(max_examples=80, deadline=None)
@given(message_frames(), st.booleans(), st.booleans(), st.sampled_from([None, 0, 1, 2]), st.sampled_from([None, 2, 3]))
def test_threads_with_replies_are_the_thread_tables_answered_rows(df, bots, system, since, until):
    """member_summary's threads_with_replies counts, per member, the rows of thread_table (same period and switches)
    with replies, the threads_started figure counts its rows and reply_rate is its share answered, none of them
    building that table."""
    since = ANCHORS[since] if since is not None else None
    until = ANCHORS[until] + pd.Timedelta(days=1) if until is not None else None
    which = dict(since=since, until=until, include_bots=bots, include_system=system)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        members = A.member_summary(df, **which)
        threads = A.thread_table(df, **which)
        started = A.threads_started(df, **which)
        rate = A.reply_rate(df, **which)
    assert started == len(threads)
    assert rate == float((~threads["unanswered"]).mean()) if len(threads) else np.isnan(rate)
    want = Counter(threads.loc[threads["replies"] > 0, "root_sender_id"].astype(str))
    assert {m: v for m, v in members["threads_with_replies"].items() if v} == dict(want)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati"])
@pytest.mark.parametrize(
    ("since", "until"), [("2026-07-03", "2026-07-31"), ("2026-03-08 09:00", "2026-04-02"), ("2026-01-20", "2026-02-01")]
)
def test_stickiness_counts_only_the_windows_it_averages(demo, tz, since, until):
    # stickiness reads the 29 days before since, not the whole history: the same daily ratios as the whole
    # history's dau_wau_mau sliced to the period (DST changes in March, a zone 14 h ahead, a period at the start).
    messages = demo[0]
    whole = A.dau_wau_mau(messages, tz=tz, until=until)["stickiness"].astype("float64").rename("stickiness")
    s, u = pd.Timestamp(since, tz="UTC"), pd.Timestamp(until, tz="UTC")
    want = whole[(whole.index >= s).tolist()]
    want = want[(want.index < u).tolist()]
    pd.testing.assert_series_equal(A.stickiness(messages, tz=tz, since=since, until=until, per_day=True), want)


def test_stickiness_windows_reach_27_days_before_the_period():
    # B posts every day; A once, 27 days before the period's first day: A is in that day's 28-day window only.
    days = pd.date_range("2026-01-01 12:00", "2026-03-01 12:00", freq="D", tz="UTC")
    frame = pd.DataFrame(
        {
            "id": [f"b{i}" for i in range(len(days))] + ["a"],
            "parent": None,
            "sender_id": ["B"] * len(days) + ["A"],
            "conversation_id": "C",
            "created": [*days, pd.Timestamp("2026-01-07 12:00", tz="UTC")],
        }
    ).sort_values("created", kind="stable", ignore_index=True)
    daily = A.stickiness(frame, since="2026-02-03", until="2026-02-06", per_day=True)
    assert daily.tolist() == [0.5, 1.0, 1.0]  # 3 February: B of A and B; then B alone


def test_stickiness_keeps_the_empty_window_days_of_a_period_after_a_long_quiet():
    # Nothing in the 29 days before the period (the last post is 40 days before): the period's days are still
    # rows, NaN, as the whole history's calendar has them (hypothesis found the day missing).
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "parent": None,
            "sender_id": ["A", "B"],
            "conversation_id": "C",
            "created": pd.to_datetime(["2026-09-20 12:00", "2026-09-21 12:00"], utc=True),
        }
    )
    daily = A.stickiness(frame, since="2026-10-31 22:00", until="2026-11-02", per_day=True)
    assert [d.date().isoformat() for d in daily.index] == ["2026-11-01"] and daily.isna().all()
