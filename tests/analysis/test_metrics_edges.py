"""Worked examples, computed by hand, for the corners of the report's metrics that the property tests of
test_metrics.py do not reach (issue 24): quarter and year periods, hourly and empty complete ranges, groups of
different sizes that overlap, the names dead conversations are shown by, concentration of nothing, and cohort
retention's defaults, empty result and the value of periods that have not happened yet."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from chatlens.analysis import activity_timeline, cohort_retention
from chatlens.analysis import metrics as M


def utc(*times: str) -> pd.DatetimeIndex:
    return pd.to_datetime(list(times), utc=True, format="ISO8601")


def frame(senders: list[str], times: list[str], **columns) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"m{i}" for i in range(len(senders))], "sender_id": senders, "created": utc(*times), **columns}
    )


# --- quarters and years -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("freq", "labels", "bounds"),
    [
        # Calendar quarters, labelled by their first or their last day.
        ("QS", ["2026-01-01", "2026-04-01"], [("2026-01-01", "2026-04-01"), ("2026-04-01", "2026-07-01")]),
        ("QE", ["2026-03-31", "2026-06-30"], [("2026-01-01", "2026-04-01"), ("2026-04-01", "2026-07-01")]),
        # Quarters starting in February (QS-FEB) and ending in January (QE-JAN): February to April, and so on.
        ("QS-FEB", ["2026-02-01", "2026-05-01"], [("2026-02-01", "2026-05-01"), ("2026-05-01", "2026-08-01")]),
        ("QE-JAN", ["2026-04-30", "2026-07-31"], [("2026-02-01", "2026-05-01"), ("2026-05-01", "2026-08-01")]),
        ("YS", ["2026-01-01", "2027-01-01"], [("2026-01-01", "2027-01-01"), ("2027-01-01", "2028-01-01")]),
        ("YE", ["2026-12-31", "2027-12-31"], [("2026-01-01", "2027-01-01"), ("2027-01-01", "2028-01-01")]),
        # A fiscal year from July (YS-JUL) is the one ending in June (YE-JUN).
        ("YS-JUL", ["2026-07-01", "2027-07-01"], [("2026-07-01", "2027-07-01"), ("2027-07-01", "2028-07-01")]),
        ("YE-JUN", ["2027-06-30", "2028-06-30"], [("2026-07-01", "2027-07-01"), ("2027-07-01", "2028-07-01")]),
    ],
)
def test_mark_partial_quarters_and_years(freq, labels, bounds):
    table = pd.Series([3, 4], index=utc(*labels), name="messages")
    (a0, b0), (a1, b1) = bounds
    # The window is exactly the two periods: nothing partial; a day less on either side: that end is.
    assert M.mark_partial(table, freq, a0, b1)["partial"].tolist() == [False, False]
    day = pd.Timedelta(days=1)
    assert M.mark_partial(table, freq, pd.Timestamp(a0, tz="UTC") + day, b1)["partial"].tolist() == [True, False]
    assert M.mark_partial(table, freq, a0, pd.Timestamp(b1, tz="UTC") - day)["partial"].tolist() == [False, True]
    # The first period ends where the second starts: a window of the second alone leaves the first partial.
    assert M.mark_partial(table, freq, b0, b1)["partial"].tolist() == [True, False]
    assert b0 == a1
    got = M.mark_partial(table, freq, a0, b1)
    assert got["messages"].tolist() == [3, 4] and got.index.equals(table.index)


def test_mark_partial_quarters_on_a_local_clock():
    # Quarters of Tokyo's wall clock: 2026Q2 starts at 2026-04-01 00:00 +09:00, i.e. 2026-03-31 15:00 UTC.
    m = frame(["u", "v"], ["2026-04-10", "2026-07-20"])
    timeline = activity_timeline(m, freq="QS", tz="Asia/Tokyo")
    assert [str(t) for t in timeline.index] == ["2026-04-01 00:00:00+09:00", "2026-07-01 00:00:00+09:00"]
    start = pd.Timestamp("2026-03-31 15:00", tz="UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a zoned index is read on its clock, without pandas' drop-the-zone warning
        assert M.mark_partial(timeline, "QS", start, "2026-09-30 15:00")["partial"].tolist() == [False, False]
    late = start + pd.Timedelta(microseconds=1)
    assert M.mark_partial(timeline, "QS", late, "2026-09-30 15:00")["partial"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("freq", "tz", "since", "until", "want"),
    [
        ("QS", "UTC", "2026-01-15", "2026-12-31", ("2026-04-01", "2026-10-01")),
        ("QE", "Asia/Tokyo", "2026-01-15", "2026-12-31", ("2026-04-01", "2026-10-01")),
        # Quarters from February: Feb-Apr starts after since; Nov-Jan ends after until.
        ("QS-FEB", "UTC", "2026-01-15", "2026-12-31", ("2026-02-01", "2026-11-01")),
        ("QS", "UTC", "2026-01-01", "2026-04-01", ("2026-01-01", "2026-04-01")),  # exactly one quarter
        ("QS", "UTC", "2026-01-02", "2026-06-30", (None, None)),  # no whole quarter
        ("YS", "Europe/Berlin", "2025-06-01", "2028-02-01", ("2026-01-01", "2028-01-01")),
        ("YE", "UTC", "2026-01-01", "2027-01-01", ("2026-01-01", "2027-01-01")),
        ("YS-JUL", "UTC", "2025-08-01", "2028-07-01", ("2026-07-01", "2028-07-01")),
        ("YS", "UTC", "2026-01-01", "2026-12-31", (None, None)),
    ],
)
def test_complete_range_quarters_and_years(freq, tz, since, until, want):
    m = frame(["u"], ["2026-05-05"])
    got = M.complete_range(m, freq, tz=tz, since=since, until=until)
    if want == (None, None):
        assert got == (None, None)
        return
    expected = tuple(pd.Timestamp(t, tz=tz) for t in want)
    assert got == expected
    assert all(str(t.tz) == tz for t in got)  # in the zone asked for, not UTC


def test_complete_range_hourly():
    m = frame(["u"], ["2026-01-05 11:00"])
    got = M.complete_range(m, "h", since="2026-01-05 10:30", until="2026-01-05 14:15")
    assert got == (pd.Timestamp("2026-01-05 11:00", tz="UTC"), pd.Timestamp("2026-01-05 14:00", tz="UTC"))
    # Kolkata is UTC+05:30: its whole hours fall on the half hours of UTC.
    got = M.complete_range(m, "h", tz="Asia/Kolkata", since="2026-01-05 10:00", until="2026-01-05 14:00")
    assert got == (
        pd.Timestamp("2026-01-05 16:00", tz="Asia/Kolkata"),
        pd.Timestamp("2026-01-05 19:00", tz="Asia/Kolkata"),
    )
    # Exactly one hour; then less than one, and none at all (an empty window).
    one = M.complete_range(m, "h", since="2026-01-05 10:00", until="2026-01-05 11:00")
    assert one == (pd.Timestamp("2026-01-05 10:00", tz="UTC"), pd.Timestamp("2026-01-05 11:00", tz="UTC"))
    assert M.complete_range(m, "h", since="2026-01-05 10:10", until="2026-01-05 10:50") == (None, None)
    assert M.complete_range(m, "h", since="2026-01-05 10:00", until="2026-01-05 10:00") == (None, None)
    # Minutes: the same rule at another length.
    got = M.complete_range(m, "min", since="2026-01-05 10:00:30", until="2026-01-05 10:03:00")
    assert got == (pd.Timestamp("2026-01-05 10:01", tz="UTC"), pd.Timestamp("2026-01-05 10:03", tz="UTC"))


def test_complete_range_hourly_without_bounds_reaches_just_past_the_last_message():
    # From the first counted message to just after the last: the last message at 12:59:59.999999 completes
    # the 12 o'clock hour, one at 13:00 exactly (the first of the next hour) does not complete it.
    m = frame(["u", "v"], ["2026-01-05 10:00", "2026-01-05 12:59:59.999999"])
    assert M.complete_range(m, "h") == (
        pd.Timestamp("2026-01-05 10:00", tz="UTC"),
        pd.Timestamp("2026-01-05 13:00", tz="UTC"),
    )
    m = frame(["u", "v"], ["2026-01-05 10:00:00.000001", "2026-01-05 12:59:59.999998"])
    assert M.complete_range(m, "h") == (
        pd.Timestamp("2026-01-05 11:00", tz="UTC"),
        pd.Timestamp("2026-01-05 12:00", tz="UTC"),
    )


def test_complete_range_of_an_empty_selection():
    m = frame(["bot", "bot"], ["2026-01-05", "2026-03-05"], is_bot=[True, True])
    # Nothing counts and a bound is missing: there is no range to speak of.
    for since, until in [(None, None), ("2026-01-01", None), (None, "2026-04-01")]:
        assert M.complete_range(m, "D", since=since, until=until) == (None, None)
        assert M.complete_range(m.iloc[:0], "h", since=since, until=until) == (None, None)
    # Both bounds given: the range is the window's, messages or not.
    got = M.complete_range(m, "D", since="2026-01-01", until="2026-01-03")
    assert got == (pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-03", tz="UTC"))
    got = M.complete_range(m.iloc[:0], "MS", since="2026-01-15", until="2026-04-01")
    assert got == (pd.Timestamp("2026-02-01", tz="UTC"), pd.Timestamp("2026-04-01", tz="UTC"))
    # Counted when asked to be: the bots' two days.
    got = M.complete_range(m, "MS", include_bots=True)
    assert got == (pd.Timestamp("2026-02-01", tz="UTC"), pd.Timestamp("2026-03-01", tz="UTC"))


# --- groups of different sizes ----------------------------------------------------------------------------------------


def test_cross_group_interaction_with_groups_of_different_sizes():
    # big = {u, v, w}, small = {x}, pair = {u, x} (u is in two groups of different sizes); y is in none.
    groups = pd.DataFrame(
        {"member_id": ["u", "v", "w", "x", "u", "x"], "group": ["big", "big", "big", "small", "pair", "pair"]}
    )
    m = pd.DataFrame(
        {
            "id": ["t1", "r1", "r2", "t2", "r3", "t3", "r4", "t4", "r5"],
            "parent": [None, "t1", "t1", None, "t2", None, "t3", None, "t4"],
            "sender_id": ["u", "v", "x", "x", "u", "v", "w", "y", "v"],
            "created": utc(*[f"2026-01-05 0{i}:00" for i in range(9)]),
            "mentions": [[], [], [], [], [], ["x"], [], [], []],
        }
    )
    got = M.cross_group_interaction(m, groups)
    # Edges (replier -> root author, mentioner -> mentioned): v->u (share big), x->u (share pair), u->x (share
    # pair), v->x mention (no shared group: crosses), w->v (share big), v->y (y unassigned: crosses).
    assert got.summary["interactions"] == 6
    assert got.summary["cross_group_interactions"] == 2
    assert got.summary["cross_group_share"] == pytest.approx(2 / 6)
    crossing = sorted(
        zip(got.edges["source"], got.edges["target"], got.edges["source_group"], got.edges["target_group"])
    )
    assert crossing == [("v", "x", "big", "pair"), ("v", "x", "big", "small"), ("v", "y", "big", "(unassigned)")]
    # Threads: t1 {u, v, x}: no group holds all three (big has u and v, pair u and x) -> crosses, 3 groups among
    # them; t2 {x, u}: pair holds both -> does not cross, though they show 3 groups; t3 {v, w}: big; t4 {y, v}.
    threads = got.threads
    assert threads.index.tolist() == ["t1", "t2", "t3", "t4"]
    assert threads["participants"].tolist() == [3, 2, 2, 2]
    assert threads["groups"].tolist() == [3, 3, 1, 2]
    assert threads["cross"].tolist() == [True, False, False, True]
    assert got.summary["threads"] == 4 and got.summary["multi_member_threads"] == 4
    assert got.summary["cross_group_threads"] == 2 and got.summary["cross_group_thread_share"] == 0.5
    pairs = got.pairs.set_index(["source_group", "target_group"])
    # Each edge once per (group of source, group of target): v->u twice, x->u and u->x four times each.
    assert pairs["weight"].to_dict() == {
        ("big", "(unassigned)"): 1,  # v->y
        ("big", "big"): 2,  # v->u, w->v
        ("big", "pair"): 3,  # v->u, u->x, v->x
        ("big", "small"): 2,  # u->x, v->x
        ("pair", "big"): 1,  # x->u
        ("pair", "pair"): 2,  # x->u, u->x
        ("pair", "small"): 1,  # u->x
        ("small", "big"): 1,  # x->u
        ("small", "pair"): 1,  # x->u
    }
    assert pairs["mention"].to_dict() == {k: int(k in {("big", "pair"), ("big", "small")}) for k in pairs.index}
    assert pairs["cross"].to_dict() == {k: k[0] != k[1] for k in pairs.index}


def test_cross_group_interaction_on_nothing():
    groups = pd.DataFrame({"member_id": ["u"], "group": ["g"]})
    m = frame(["u"], ["2026-01-05"], parent=[None], mentions=[[]])
    got = M.cross_group_interaction(m, groups)
    assert got.summary["interactions"] == 0 and got.summary["cross_group_interactions"] == 0
    assert math.isnan(got.summary["cross_group_share"]) and math.isnan(got.summary["cross_group_thread_share"])
    assert got.summary["threads"] == 1 and got.summary["multi_member_threads"] == 0
    assert got.edges.empty and got.pairs.empty


# --- dead conversations' names ----------------------------------------------------------------------------------------


def _conv_messages() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "conversation_id": ["C1", "C2", "C1", "C3"],
            "conversation_name": ["general", "random", "general", None],
            "sender_id": ["u", "v", "u", "w"],
            "created": utc("2026-01-01", "2026-01-10", "2026-01-03", "2026-02-20"),
        }
    )


def test_dead_conversations_are_named_by_their_messages():
    got = M.dead_conversations(_conv_messages(), idle="30D", now="2026-03-01")
    # C1 silent since 3 January (57 days), C2 since 10 January (50 days); C3 only 9 days.
    assert got.index.tolist() == ["C1", "C2"]
    assert got["name"].tolist() == ["general", "random"]
    assert got["messages"].tolist() == [2, 1]
    assert got["last_message"].tolist() == list(utc("2026-01-03", "2026-01-10"))
    assert got["silent_for"].tolist() == [pd.Timedelta(days=57), pd.Timedelta(days=50)]
    # Without a name column the id is the name.
    bare = M.dead_conversations(_conv_messages().drop(columns="conversation_name"), idle="5D", now="2026-03-01")
    assert bare["name"].to_dict() == {"C1": "C1", "C2": "C2", "C3": "C3"}


@pytest.mark.parametrize("label", ["label", "name"])
def test_dead_conversations_take_the_conversations_frame_names(label):
    conversations = pd.DataFrame({"id": ["C1", "C2", "C9", "C8"], label: ["#general", None, "#empty", "#quiet"]})
    got = M.dead_conversations(_conv_messages(), conversations, idle="30D", now="2026-03-01")
    # Listed conversations without a message (C9, C8) are dead and come first, in the frame's order; then the
    # longest silent. The frame's name wins over the messages'; where the frame has none, the id (C2).
    assert got.index.tolist() == ["C9", "C8", "C1", "C2"]
    assert got["name"].tolist() == ["#empty", "#quiet", "#general", "C2"]
    assert got["messages"].tolist() == [0, 0, 2, 1]
    assert got["last_message"].isna().tolist() == [True, True, False, False]
    assert got["silent_for"].isna().tolist() == [True, True, False, False]


def test_dead_conversations_frame_without_names_names_by_id():
    conversations = pd.DataFrame({"id": ["C1", "C9"], "kind": ["channel", "channel"]})
    got = M.dead_conversations(_conv_messages().drop(columns="conversation_name"), conversations, now="2026-03-01")
    assert got["name"].to_dict() == {"C9": "C9", "C1": "C1", "C2": "C2"}


def test_dead_conversations_idle_is_inclusive_and_now_cuts():
    m = _conv_messages()
    # C3's last message is exactly 9 days before now: silent for 9 days counts as idle for "9D", not for "10D".
    assert "C3" in M.dead_conversations(m, idle="9D", now="2026-03-01").index
    assert "C3" not in M.dead_conversations(m, idle="10D", now="2026-03-01").index
    # Messages after now are not seen: on 5 January C1 last spoke on the 3rd (C2 not yet, C3 not yet).
    got = M.dead_conversations(m, idle="1D", now="2026-01-05")
    assert got.index.tolist() == ["C1"] and got["messages"].tolist() == [2]
    # Without now: measured from the last counted message (20 February).
    assert M.dead_conversations(m, idle="30D")["silent_for"].tolist() == [pd.Timedelta(days=48), pd.Timedelta(days=41)]


# --- concentration ----------------------------------------------------------------------------------------------------


def test_concentration_of_nothing():
    want = {"members": 0, "messages": 0, "members_for_half": 0}
    for m in [frame([], []), frame(["bot"], ["2026-01-05"], is_bot=[True])]:
        got = M.concentration(m)
        assert set(got) == {*want, "share_of_members_for_half", "gini"}
        assert {k: got[k] for k in want} == want
        assert math.isnan(got["share_of_members_for_half"]) and math.isnan(got["gini"])
    # Outside the period counts as nothing too.
    got = M.concentration(frame(["u"], ["2026-01-05"]), since="2026-02-01")
    assert got["members"] == 0 and math.isnan(got["gini"])


def test_concentration_worked_examples():
    one = M.concentration(frame(["u", "u"], ["2026-01-05", "2026-01-06"]))
    assert one == {"members": 1, "messages": 2, "members_for_half": 1, "share_of_members_for_half": 1.0, "gini": 0.0}
    # 3 and 1 messages: u alone wrote half; gini = sum |xi - xj| / (2 n^2 mean) = 4 / (2 * 4 * 2) = 0.25.
    got = M.concentration(frame(["u", "v", "u", "u"], ["2026-01-05"] * 4))
    assert got["members_for_half"] == 1 and got["share_of_members_for_half"] == 0.5
    assert got["gini"] == pytest.approx(0.25)
    assert all(type(got[k]) is int for k in ("members", "messages", "members_for_half"))
    assert type(got["gini"]) is float


# --- cohort retention -------------------------------------------------------------------------------------------------


def _cohort_messages() -> pd.DataFrame:
    # u: January and March; v: January and February; w: 31 January 23:30 UTC (1 February in Berlin); x: February;
    # the bot b: January and April.
    return frame(
        ["u", "u", "v", "v", "w", "x", "b", "b"],
        [
            "2026-01-05",
            "2026-03-02",
            "2026-01-06",
            "2026-02-03",
            "2026-01-31 23:30",
            "2026-02-10",
            "2026-01-07",
            "2026-04-01",
        ],
        is_bot=[False] * 6 + [True, True],
    )


def _table(rows: dict[str, list[float]], freq: str = "M") -> pd.DataFrame:
    width = len(next(iter(rows.values())))
    return pd.DataFrame(
        list(rows.values()),
        index=pd.PeriodIndex(list(rows), freq=freq, name="cohort"),
        columns=pd.Index(range(width), dtype="int64", name="periods_later"),
        dtype="float64",
    )


def test_cohort_retention_defaults_monthly_utc_without_bots():
    got = cohort_retention(_cohort_messages())
    # January's cohort {u, v, w}: v back in February, u in March. February's {x}: not back in March (0.0), and
    # two months after February has not happened in the data (NaN, not 0).
    want = _table({"2026-01": [1.0, 1 / 3, 1 / 3], "2026-02": [1.0, 0.0, np.nan]})
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(cohort_retention(_cohort_messages(), freq="M", tz="UTC", include_bots=False), want)


def test_cohort_retention_zone_and_bots():
    berlin = cohort_retention(_cohort_messages(), tz="Europe/Berlin")
    pd.testing.assert_frame_equal(berlin, _table({"2026-01": [1.0, 0.5, 0.5], "2026-02": [1.0, 0.0, np.nan]}))
    with_bots = cohort_retention(_cohort_messages(), include_bots=True)
    # The bot joins January's cohort and its April post moves the horizon: February's cohort is now known to be
    # absent two months later (0.0), and three months later is unknown (NaN).
    want = _table({"2026-01": [1.0, 0.25, 0.25, 0.25], "2026-02": [1.0, 0.0, 0.0, np.nan]})
    pd.testing.assert_frame_equal(with_bots, want)


def test_cohort_retention_empty():
    for m in [_cohort_messages().iloc[:0], _cohort_messages()[_cohort_messages()["is_bot"]]]:
        got = cohort_retention(m)
        assert isinstance(got, pd.DataFrame) and got.shape == (0, 0)
        assert got.empty


# --- the key figures' defaults ----------------------------------------------------------------------------------------


def test_figure_values_leave_out_bots_and_system_events_by_default():
    # u asks, v answers an hour later; a bot answers u at once and a system event (a join) comes from w.
    m = pd.DataFrame(
        {
            "id": ["q", "a", "b", "j"],
            "parent": [None, "q", "q", None],
            "sender_id": ["u", "v", "bot", "w"],
            "created": utc("2026-01-05 10:00", "2026-01-05 11:00", "2026-01-05 10:01", "2026-01-05 12:00"),
            "is_bot": [False, False, True, False],
            "is_system": [False, False, False, True],
            "mentions": [[], [], [], []],
        }
    )
    keys = ("message_count", "member_count", "median_time_to_first_reply")
    period = {"since": "2026-01-05", "until": "2026-01-06", "keys": keys}
    assert M.figure_values(m, **period) == {"message_count": 2, "member_count": 2, "median_time_to_first_reply": 1.0}
    got = M.figure_values(m, **period, include_bots=True, include_system=True)
    assert got["message_count"] == 4 and got["member_count"] == 4
    assert got["median_time_to_first_reply"] == pytest.approx(1 / 60)  # the bot's answer, a minute later
    assert M.figure_values(m, **period, include_bots=True)["message_count"] == 3
    assert M.figure_values(m, **period, include_system=True)["member_count"] == 3
    # No reply at all: the figure is NaN hours, not an error.
    assert math.isnan(M.figure_values(m.iloc[[0]], **period)["median_time_to_first_reply"])
