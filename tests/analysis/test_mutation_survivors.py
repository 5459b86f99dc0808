"""Behaviour the rest of the suite left unpinned, found by mutation testing (``benchmarks/mutation.py``, issue 24).

Reply chains of any depth against a slow pure-Python walk, cycles beside normal threads, the thread table's last
activity and duration, reply times' bounds and bots, and the ``[since, until)`` convention at its edges.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pandas as pd
import pytest

from chatlens._links import ReplyCycleError, chain_links, positions_in, resolve_chains
from chatlens.analysis import reply_times, thread_depth, thread_table
from chatlens.analysis.threads import MissingParentWarning

T0 = pd.Timestamp("2026-01-05 09:00", tz="UTC")


def reference_chains(ids: list[str], parents: list[str | None]) -> tuple[list[int], list[int], list[bool]]:
    """Root position, depth and missing flag by walking each message's parents one at a time."""
    where = {m: i for i, m in enumerate(ids)}
    roots, depths, missing = [], [], []
    for i in range(len(ids)):
        j, d, seen = i, 0, {i}
        while parents[j] not in (None, "") and parents[j] in where:
            j = where[parents[j]]
            if j in seen:
                raise ReplyCycleError([ids[j]])
            seen.add(j)
            d += 1
        roots.append(j)
        depths.append(d)
        missing.append(parents[i] not in (None, "") and parents[i] not in where)
    return roots, depths, missing


def frame(rows: list[tuple], **extra: list) -> pd.DataFrame:
    """Messages from (id, parent, sender, minutes after T0) rows."""
    ids, parents, senders, minutes = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "id": list(ids),
            "parent": list(parents),
            "sender_id": list(senders),
            "conversation_id": "C",
            "created": [T0 + pd.Timedelta(minutes=m) for m in minutes],
            **extra,
        }
    )


@pytest.mark.parametrize("depth", [1, 2, 7, 8, 9, 16, 17, 100, 513, 1000])
def test_a_single_chain_of_any_depth(depth):
    # One chain, shuffled so that parents come after their replies as often as before.
    ids = [f"m{i}" for i in range(depth + 1)]
    parents = [None, *ids[:-1]]
    order = list(range(depth + 1))
    random.Random(depth).shuffle(order)
    ids, parents = [ids[k] for k in order], [parents[k] for k in order]
    root, got_depth, missing = resolve_chains(ids, parents)
    assert (root, got_depth, missing) is not None
    assert [ids[r] for r in root] == ["m0"] * (depth + 1)
    assert got_depth.tolist() == [int(m[1:]) for m in ids]
    assert not missing.any()


@pytest.mark.parametrize("seed", range(6))
def test_random_deep_forests_match_a_slow_walk(seed):
    rng = random.Random(seed)
    n = rng.choice([300, 1200, 3000])
    ids = [f"x{rng.randrange(10**9)}-{i}" for i in range(n)]
    parents: list[str | None] = []
    for i in range(n):
        r = rng.random()
        if i and r < 0.97:
            # Mostly the previous message: long chains; sometimes any earlier one: branches.
            parents.append(ids[i - 1] if rng.random() < 0.8 else ids[rng.randrange(i)])
        elif r < 0.98:
            parents.append("deleted-" + str(i))
        elif r < 0.99:
            parents.append("")
        else:
            parents.append(None)
    order = list(range(n))
    rng.shuffle(order)
    ids, parents = [ids[k] for k in order], [parents[k] for k in order]
    want_root, want_depth, want_missing = reference_chains(ids, parents)
    root, depth, missing = resolve_chains(ids, parents)
    assert root.tolist() == want_root
    assert depth.tolist() == want_depth
    assert missing.tolist() == want_missing
    assert max(want_depth) > 8  # deep enough to need several doubling rounds
    # The public per-message table says the same, by id.
    m = pd.DataFrame({"id": ids, "parent": parents})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingParentWarning)
        table = thread_depth(m)
    assert table["root"].tolist() == [ids[r] for r in want_root]
    assert table["depth"].tolist() == want_depth
    assert table["missing_parent"].tolist() == want_missing


@pytest.mark.parametrize("cycle", [1, 2, 3, 40])
def test_a_cycle_beside_a_normal_thread_raises_naming_the_cycle(cycle):
    normal = [("r", None), ("a", "r"), ("b", "a")]
    loop = [(f"c{i}", f"c{(i + 1) % cycle}") for i in range(cycle)]
    hanging = [("h1", "c0"), ("h2", "h1")]  # replies to the cycle are stuck, but not on it
    rows = normal + loop + hanging
    ids, parents = [r[0] for r in rows], [r[1] for r in rows]
    with pytest.raises(ReplyCycleError) as err:
        resolve_chains(ids, parents)
    assert sorted(err.value.ids) == sorted(f"c{i}" for i in range(cycle))
    assert f"{cycle} message(s)" in str(err.value)
    m = pd.DataFrame({"id": ids, "parent": parents, "sender_id": "u", "created": T0})
    for analysis in (thread_depth, thread_table):
        with pytest.raises(ReplyCycleError):
            analysis(m)
    # chain_links reports no roots rather than inventing depths; the parent look-up is still there.
    links, root, depth = chain_links(ids, parents)
    assert root is None and depth is None
    assert links.parent.tolist()[:3] == [-1, 0, 1]


def test_repeated_ids_are_an_error_naming_them():
    with pytest.raises(ValueError, match=r"repeated: \['a'\]"):
        resolve_chains(["a", "b", "a"], [None, "a", None])


def test_parents_missing_or_empty_and_all_nan_parents():
    root, depth, missing = resolve_chains(["a", "b", "c"], ["", "gone", "b"])
    assert (root.tolist(), depth.tolist(), missing.tolist()) == ([0, 1, 1], [0, 0, 1], [False, True, False])
    # A parent column with no parent at all, as pandas builds it: float NaN. Every message is a root.
    m = pd.DataFrame({"id": ["a", "b"], "parent": [np.nan, np.nan]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = thread_depth(m)
    assert t["root"].tolist() == ["a", "b"] and t["depth"].tolist() == [0, 0]
    assert not t["missing_parent"].any()
    # Int ids that became floats to hold a NaN are their integer text.
    root, depth, missing = resolve_chains([1, 2, 3], pd.Series([np.nan, 1.0, 2.0]))
    assert depth.tolist() == [0, 1, 2] and not missing.any()
    assert positions_in(["b", None, "zz", "a"], ["a", "b"]).tolist() == [1, -1, -1, 0]


def test_missing_parents_warn_once_with_the_count_and_not_when_asked_not_to():
    m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "gone", "lost"]})
    with pytest.warns(MissingParentWarning, match=r"^2 message\(s\)") as record:
        thread_depth(m)
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert thread_depth(m, warn=False)["missing_parent"].tolist() == [False, True, True]


def test_thread_table_last_activity_duration_and_replies():
    m = frame(
        [
            ("r1", None, "u", 0),
            ("a", "r1", "v", 10),
            ("b", "a", "u", 95),  # the last message is deep in the chain
            ("c", "r1", "w", 30),
            ("r2", None, "v", 60),  # alone: last activity is its start
            ("bot", "r1", "ci", 500),  # a bot's reply is not activity
        ],
        is_bot=[False, False, False, False, False, True],
    )
    t = thread_table(m)
    assert t.index.tolist() == ["r1", "r2"]
    assert t["started"].tolist() == [T0, T0 + pd.Timedelta(minutes=60)]
    assert t["last_activity"].tolist() == [T0 + pd.Timedelta(minutes=95), T0 + pd.Timedelta(minutes=60)]
    assert t["duration"].tolist() == [pd.Timedelta(minutes=95), pd.Timedelta(0)]
    assert t["size"].tolist() == [4, 1] and t["replies"].tolist() == [3, 0]
    assert t["depth"].tolist() == [2, 0]
    assert t["participants"].tolist() == [3, 1]
    assert t["first_reply_at"].iloc[0] == T0 + pd.Timedelta(minutes=10)
    assert t["time_to_first_reply"].iloc[0] == pd.Timedelta(minutes=10)
    assert pd.isna(t["first_reply_at"].iloc[1]) and pd.isna(t["time_to_first_reply"].iloc[1])
    assert t["unanswered"].tolist() == [False, True]
    # With bots counted, the bot's reply is the last activity.
    tb = thread_table(m, include_bots=True)
    assert tb.loc["r1", "last_activity"] == T0 + pd.Timedelta(minutes=500)
    assert tb.loc["r1", "duration"] == pd.Timedelta(minutes=500)
    assert tb.loc["r1", "size"] == 5 and tb.loc["r1", "participants"] == 4


def test_thread_table_since_is_inclusive_and_until_exclusive_on_the_root():
    m = frame([("r0", None, "u", 0), ("r1", None, "u", 60), ("x", "r1", "v", 200), ("r2", None, "u", 120)])
    at = lambda minutes: T0 + pd.Timedelta(minutes=minutes)  # noqa: E731
    assert thread_table(m, since=at(60)).index.tolist() == ["r1", "r2"]
    assert thread_table(m, until=at(60)).index.tolist() == ["r0"]
    assert thread_table(m, since=at(60), until=at(120)).index.tolist() == ["r1"]
    # A reply after `until` still answers its thread.
    t = thread_table(m, since=at(60), until=at(61))
    assert t.loc["r1", "last_activity"] == at(200) and not t.loc["r1", "unanswered"]
    assert thread_table(m, since=at(121)).empty


def test_reply_times_bounds_and_bots():
    m = frame(
        [
            ("r", None, "u", 0),
            ("a", "r", "v", 10),
            ("b", "a", "u", 30),
            ("botreply", "r", "ci", 40),
            ("c", "r", "u", 60),  # a self reply
            ("orphan", "gone", "v", 70),
        ],
        is_bot=[False, False, False, True, False, False],
    )
    at = lambda minutes: T0 + pd.Timedelta(minutes=minutes)  # noqa: E731
    rt = reply_times(m)
    assert rt["id"].tolist() == ["a", "b", "c"]  # bots left out by default, the orphan has no parent here
    assert rt["parent"].tolist() == ["r", "a", "r"]
    assert rt["parent_sender_id"].tolist() == ["u", "v", "u"]
    assert rt["reply_time"].tolist() == [pd.Timedelta(minutes=10), pd.Timedelta(minutes=20), pd.Timedelta(hours=1)]
    assert rt["self_reply"].tolist() == [False, False, True]
    assert rt["created"].tolist() == [at(10), at(30), at(60)]
    assert reply_times(m, include_bots=True)["id"].tolist() == ["a", "b", "botreply", "c"]
    # Replies are picked by their own time in [since, until): the parent may predate since.
    assert reply_times(m, since=at(30))["id"].tolist() == ["b", "c"]
    assert reply_times(m, until=at(30))["id"].tolist() == ["a"]
    assert reply_times(m, since=at(10), until=at(60))["id"].tolist() == ["a", "b"]
    assert reply_times(m, since=at(31), until=at(60)).empty
    # A person's reply to a bot is a reply, the bot its parent's sender.
    mb = frame([("notice", None, "ci", 0), ("q", "notice", "u", 5)], is_bot=[True, False])
    assert reply_times(mb)[["sender_id", "parent_sender_id"]].values.tolist() == [["u", "ci"]]


def test_a_long_cycle_is_named_by_its_first_ten_messages():
    ids = [f"c{i}" for i in range(11)]
    with pytest.raises(ReplyCycleError) as err:
        resolve_chains(ids, [*ids[1:], ids[0]])
    assert len(err.value.ids) == 11
    shown = str(err.value).split(": ", 1)[1]
    assert shown.endswith(" ...") and shown.count("'c") == 10


def test_chains_of_arrow_columns_are_remembered_only_for_the_same_columns():
    ids = pd.Series(["a", "b", "c"], dtype="string[pyarrow]")
    chained = pd.Series([None, "a", "b"], dtype="string[pyarrow]")
    links, root, depth = chain_links(ids, chained)
    assert depth.tolist() == [0, 1, 2]
    assert links.found.tolist() == links.parent.tolist() == [-1, 0, 1]  # -1: no parent named
    # Asked again of the same columns (the report asks many times), the answer is the one remembered.
    assert chain_links(ids, chained) is chain_links(ids, chained)
    assert chain_links(ids, None) is chain_links(ids, None)
    # The same Arrow ids with other parents (a plain list, which may change in place): answered afresh.
    assert chain_links(ids, [None, None, "a"])[2].tolist() == [0, 0, 1]
    assert chain_links(ids, None)[2].tolist() == [0, 0, 0]
    assert chain_links(ids, pd.Series([None, "a", "a"], dtype="string[pyarrow]"))[2].tolist() == [0, 1, 1]
    # What is handed out (and remembered) cannot be changed by the caller.
    for arr in (links.found, links.parent, links.missing, root, depth):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 5


def test_repeated_ids_without_a_parent_column_are_an_error_naming_them():
    m = pd.DataFrame({"id": ["a", "b", "b"], "sender_id": "u", "created": T0})
    with pytest.raises(ValueError, match=r"repeated: \['b'\]"):
        thread_depth(m)


def test_participants_of_many_threads_match_a_count_by_hand():
    rng = random.Random(7)
    rows, want = [], {}
    for k in range(40):
        starter = f"s{rng.randrange(12)}"
        rows.append((f"r{k}", None, starter, k))
        repliers = [f"s{rng.randrange(12)}" for _ in range(rng.randrange(6))]
        for j, who in enumerate(repliers):
            rows.append((f"r{k}-{j}", f"r{k}" if j == 0 else f"r{k}-{j - 1}", who, k + j + 1))
        want[f"r{k}"] = len({starter, *repliers})
    t = thread_table(frame(rows))
    assert t["participants"].to_dict() == want


def test_a_cycle_of_ten_is_named_in_full():
    ids = [f"c{i}" for i in range(10)]
    with pytest.raises(ReplyCycleError) as err:
        resolve_chains(ids, [*ids[1:], ids[0]])
    shown = str(err.value).split(": ", 1)[1]
    assert not shown.endswith("...") and shown.count("'c") == 10


def test_ids_of_mixed_types_are_their_text():
    # A frame built by hand may mix string and int ids (Arrow refuses such a list as it is): each is its text.
    root, depth, missing = resolve_chains(["a", 1, 2], [None, "a", 1])
    assert (root.tolist(), depth.tolist(), missing.tolist()) == ([0, 0, 0], [0, 1, 2], [False, False, False])
    links, root, depth = chain_links(["a", 7, "b"], [None, "a", 7])
    assert links.parent.tolist() == [-1, 0, 1] and depth.tolist() == [0, 1, 2]


def test_repeated_ids_are_named_up_to_five():
    ids = ["r1", "r2", "r3", "r4", "r5", "r6"] * 2
    with pytest.raises(ValueError, match=r"repeated: \['r1', 'r2', 'r3', 'r4', 'r5'\]$"):
        resolve_chains(ids, [None] * len(ids))


@pytest.mark.parametrize("lost", [4, 5, 6])
def test_the_missing_parent_warning_names_five_and_says_when_there_are_more(lost):
    ids = ["root", *[f"m{i}" for i in range(lost)]]
    m = pd.DataFrame({"id": ids, "parent": [None, *[f"gone{i}" for i in range(lost)]]})
    with pytest.warns(MissingParentWarning) as record:
        thread_depth(m)
    (warning,) = record
    text = str(warning.message)
    named = ", ".join(repr(f"m{i}") for i in range(min(lost, 5)))
    assert text == (
        f"{lost} message(s) reply to a message not in the frame and count as roots: {named}"
        + (" ..." if lost > 5 else "")
    )


def test_a_reply_without_a_sender_id_is_a_participant_of_its_own_thread():
    # Thread b's reply has no sender id: someone took part in b, nobody more in a (the first thread).
    m = frame([("a", None, "u", 0), ("b", None, "v", 5), ("c", "b", None, 6), ("d", "a", "u", 7)])
    t = thread_table(m)
    assert t["participants"].to_dict() == {"a": 1, "b": 2}
    assert t["replies"].to_dict() == {"a": 1, "b": 1}
