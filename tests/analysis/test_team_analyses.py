"""Analyses that use the Team API: member-local rhythm and group timelines, against plain-Python references."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from chatlens.analysis import activity_timeline, hour_weekday_table

ZONES = ["Europe/London", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata", None]


def _frame(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-20", tz="UTC").value // 1000  # spans the European and US DST changes
    created = pd.to_datetime(start + rng.integers(0, 30 * 86_400_000_000, n), unit="us", utc=True)
    senders = rng.integers(0, 8, n)
    zone_of = {s: ZONES[s % len(ZONES)] for s in range(8)}
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(n)],
            "sender_id": pd.Categorical([f"u{s}" for s in senders]),
            "created": created,
            "sender_timezone": pd.Categorical([zone_of[s] for s in senders]),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_member_local_rhythm_matches_a_per_message_conversion(seed):
    m = _frame(seed)
    table = hour_weekday_table(m, tz="member", default_tz="Europe/Berlin")
    expected = Counter()
    for created, zone in zip(m["created"], m["sender_timezone"].astype(object)):
        local = created.tz_convert(zone if isinstance(zone, str) else "Europe/Berlin")
        expected[(local.day_of_week, local.hour)] += 1
    got = {(d, h): int(table.iloc[d, h]) for d in range(7) for h in range(24) if table.iloc[d, h]}
    assert got == dict(expected)


def test_member_local_needs_the_zones():
    with pytest.raises(ValueError, match="add_sender_details"):
        hour_weekday_table(_frame(0).drop(columns="sender_timezone"), tz="member")


@pytest.mark.parametrize("seed", range(5))
def test_group_timeline_counts_each_message_once_per_group_of_its_sender(seed):
    m = _frame(seed)
    rng = np.random.default_rng(seed + 100)
    groups = pd.DataFrame(
        [(f"u{u}", g) for u in range(7) for g in ("eng", "ops", "design") if rng.random() < 0.5],
        columns=["user_id", "group_name"],
    )  # u7 is in no group
    table = activity_timeline(m, by="group", groups=groups, freq="D", tz="UTC")
    member_of = groups.groupby("user_id")["group_name"].apply(set).to_dict()
    expected = Counter()
    for created, sender in zip(m["created"], m["sender_id"].astype(str)):
        day = created.tz_convert("UTC").floor("D")
        for g in member_of.get(sender) or {"(no group)"}:
            expected[(day, g)] += 1
    got = {(t, g): int(v) for t, row in table.iterrows() for g, v in row.items() if v}
    assert {(pd.Timestamp(t).tz_convert("UTC"), g): v for (t, g), v in got.items()} == dict(expected)


def test_group_timeline_needs_groups():
    with pytest.raises(ValueError, match="load_groups"):
        activity_timeline(_frame(0), by="group")


def test_demo_member_local_rhythm_is_a_working_day():
    import chatlens

    msgs = chatlens.add_sender_details(
        chatlens.load_messages("demo", progress=False), chatlens.load_users("demo", progress=False)
    )
    local = hour_weekday_table(msgs, tz="member")
    utc = hour_weekday_table(msgs, tz="UTC")
    office = local.loc[["Mon", "Tue", "Wed", "Thu", "Fri"], list(range(9, 18))].to_numpy().sum()
    office_utc = utc.loc[["Mon", "Tue", "Wed", "Thu", "Fri"], list(range(9, 18))].to_numpy().sum()
    # The demo's senders post in their own working day: seen in their zones, far more of it is office hours.
    assert office / local.to_numpy().sum() > 1.2 * office_utc / utc.to_numpy().sum()


@pytest.mark.parametrize("seed", range(3))
def test_after_hours_share_in_each_members_zone(seed):
    from chatlens.analysis.metrics import after_hours_share

    m = _frame(seed)
    outside = []
    for created, zone in zip(m["created"], m["sender_timezone"].astype(object)):
        local = created.tz_convert(zone if isinstance(zone, str) else "UTC")
        hour = local.hour + local.minute / 60 + local.second / 3600
        outside.append(hour < 9 or hour >= 18 or local.day_of_week >= 5)
    assert after_hours_share(m, tz="member") == pytest.approx(sum(outside) / len(outside))


def test_cross_group_interaction_takes_the_services_groups():
    import chatlens
    from chatlens.analysis.metrics import cross_group_interaction

    messages = chatlens.load_messages("demo", progress=False)
    groups = chatlens.load_groups("demo", progress=False)  # people can be in several groups
    result = cross_group_interaction(messages, groups, member_column="user_id", group_column="group_name")
    assert 0 < result.summary["cross_group_share"] < 1
    assert set(result.pairs["source_group"]) >= {"engineering", "design", "support", "leadership"}
