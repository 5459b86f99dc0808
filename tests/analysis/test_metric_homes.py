"""Worked examples for the homes of the metrics (issue 24, survivors of ``benchmarks/mutation.py --sample 30
--seed 0`` on chatlens/analysis/people.py, conversations.py, groups.py and activity.py): each a behaviour a reader
of the numbers relies on, computed by hand."""

from __future__ import annotations

import pandas as pd

from chatlens.analysis import cohort_retention, interaction_edges, new_vs_returning, post_split
from chatlens.analysis import metrics as M


def utc(*times: str) -> pd.DatetimeIndex:
    return pd.to_datetime(list(times), utc=True, format="ISO8601")


# --- people.py --------------------------------------------------------------------------------------------------------


def test_post_split_reads_is_reply_when_a_frame_has_no_parent_column():
    # A usage export gives is_reply rather than parent ids: two roots and a reply on the 1st, a reply on the 2nd.
    m = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "sender_id": ["u", "v", "u", "v"],
            "created": utc("2026-01-01 09:00", "2026-01-01 10:00", "2026-01-01 11:00", "2026-01-02 09:00"),
            "is_reply": [False, True, False, True],
        }
    )
    t = post_split(m, freq="D")
    assert t.to_dict("list") == {"roots": [2, 0], "replies": [1, 1], "messages": [3, 1]}
    # With neither column every message is a root.
    t = post_split(m.drop(columns="is_reply"), freq="D")
    assert t.to_dict("list") == {"roots": [3, 1], "replies": [0, 0], "messages": [3, 1]}
    # A parent column, when there, decides: null and "" are roots, anything else a reply (is_reply ignored).
    with_parent = m.assign(parent=pd.array([None, "a", "", "zz"], dtype="string"), is_reply=False)
    assert post_split(with_parent, freq="D").to_dict("list") == {
        "roots": [2, 0],
        "replies": [1, 1],
        "messages": [3, 1],
    }


def test_concentration_leaves_out_messages_without_a_sender():
    # u wrote 3, v 1, and one message has no sender id (a deleted account's, say): it is nobody's.
    m = pd.DataFrame(
        {
            "id": list("abcde"),
            "sender_id": ["u", "u", "u", "v", None],
            "created": utc(*["2026-01-01 10:00"] * 5),
        }
    )
    c = M.concentration(m)
    # Counts ascending (1, 3), N = 4, n = 2: gini = 2 (1*1 + 2*3) / (2*4) - 3/2 = 0.25; u alone wrote half.
    assert c == {"members": 2, "messages": 4, "members_for_half": 1, "share_of_members_for_half": 0.5, "gini": 0.25}


# --- conversations.py -------------------------------------------------------------------------------------------------


def test_a_conversation_only_a_bot_keeps_busy_is_dead_and_a_message_without_a_conversation_is_in_none():
    m = pd.DataFrame(
        {
            "id": list("abcd"),
            "sender_id": ["u", "bot", "v", "w"],
            "is_bot": [False, True, False, False],
            "conversation_id": ["C1", "C1", "C2", None],
            "conversation_name": ["one", "one", "two", None],
            "created": utc("2026-01-01", "2026-03-01", "2026-01-20", "2026-03-02"),
        }
    )
    dead = M.dead_conversations(m, idle="30D", now="2026-03-05")
    # C1's people went quiet on 1 January (63 days); the bot's post of 1 March does not count. C2: 44 days. d has
    # no conversation and makes none.
    assert dead.index.tolist() == ["C1", "C2"]
    assert dead["name"].tolist() == ["one", "two"] and dead["messages"].tolist() == [1, 1]
    assert dead["silent_for"].tolist() == [pd.Timedelta(days=63), pd.Timedelta(days=44)]
    assert dead["last_message"].tolist() == list(utc("2026-01-01", "2026-01-20"))
    # Counting bots, C1 spoke four days ago.
    assert M.dead_conversations(m, idle="30D", now="2026-03-05", include_bots=True).index.tolist() == ["C2"]


def test_dead_conversations_give_last_messages_in_utc_whatever_the_frame_s_zone():
    m = pd.DataFrame(
        {
            "id": list("ab"),
            "sender_id": ["u", "v"],
            "conversation_id": ["C1", "C2"],
            "conversation_name": ["one", "two"],
            "created": utc("2026-01-01", "2026-03-01").tz_convert("Europe/Berlin"),
        }
    )
    given = pd.DataFrame({"id": ["C1", "C2", "C3"], "name": ["one", "two", "three"]})
    dead = M.dead_conversations(m, given, idle="30D", now="2026-03-05")
    assert dead.index.tolist() == ["C3", "C1"]  # never posted in first, then the most silent
    assert str(dead["last_message"].dt.tz) == "UTC"
    assert dead["last_message"].isna().tolist() == [True, False]
    assert str(dead["last_message"].iloc[1]) == "2026-01-01 00:00:00+00:00"


def test_a_message_without_a_conversation_counts_as_of_unknown_visibility():
    m = pd.DataFrame(
        {
            "id": list("abcd"),
            "sender_id": ["u", "v", "u", "w"],
            "conversation_id": ["C1", "C2", "C1", None],
            "created": utc(*["2026-01-01"] * 4),
        }
    )
    kinds = pd.DataFrame({"id": ["C1", "C2"], "kind": ["channel", "direct"]})
    t = M.visibility_share(m, kinds)
    # Two public, one direct, and one in no conversation: a quarter unknown, every message counted once.
    assert t["messages"].to_dict() == {"public": 2, "private": 0, "direct": 1, "group_direct": 0, "unknown": 1}
    assert t["share"].tolist() == [0.5, 0.0, 0.25, 0.0, 0.25]


# --- activity.py ------------------------------------------------------------------------------------------------------


def test_new_returning_and_cohorts_leave_out_messages_without_a_sender():
    # u and v post in January, u again in February; two messages (7 January, 3 February) have no sender id.
    m = pd.DataFrame(
        {
            "id": list("abcde"),
            "sender_id": ["u", "v", None, "u", None],
            "created": utc("2026-01-05", "2026-01-06", "2026-01-07", "2026-02-01", "2026-02-03"),
        }
    )
    assert new_vs_returning(m).to_dict("list") == {"members": [2, 1], "new": [2, 0], "returning": [0, 1]}
    retention = cohort_retention(m)
    assert [str(p) for p in retention.index] == ["2026-01"]
    assert retention.iloc[0].tolist() == [1.0, 0.5]  # of u and v, u came back


# --- groups.py --------------------------------------------------------------------------------------------------------


def _threads_with_a_sender_less_reply() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Thread a: u (group A) starts, v (group B) and someone without a sender id reply. Thread d: u starts, and the
    # only reply has no sender id.
    m = pd.DataFrame(
        {
            "id": list("abcde"),
            "sender_id": ["u", "v", None, "u", None],
            "parent": pd.array([None, "a", "a", None, "d"], dtype="string"),
            "created": utc(
                "2026-01-01 10:00", "2026-01-01 11:00", "2026-01-01 12:00", "2026-01-02 10:00", "2026-01-02 11:00"
            ),
        }
    )
    return m, pd.DataFrame({"member_id": ["u", "v"], "group": ["A", "B"]})


def test_a_reply_without_a_sender_takes_no_part_in_a_thread_s_groups():
    m, groups = _threads_with_a_sender_less_reply()
    r = M.cross_group_interaction(m, groups)
    assert r.threads.to_dict("index") == {
        "a": {"participants": 2, "groups": 2, "cross": True},
        "d": {"participants": 1, "groups": 1, "cross": False},
    }
    s = r.summary
    assert (s["threads"], s["multi_member_threads"], s["cross_group_threads"]) == (2, 1, 1)


def test_replies_without_a_sender_are_nobody_s_interactions():
    m, groups = _threads_with_a_sender_less_reply()
    edges = interaction_edges(m)
    assert edges[["source", "target", "reply", "weight"]].to_dict("records") == [
        {"source": "v", "target": "u", "reply": 1, "weight": 1}
    ]
    assert M.cross_group_interaction(m, groups).summary["interactions"] == 1
