"""Senders' time zones this machine's tz database does not know (a zone removed from it, garbage, an empty string)
fall back to ``default_tz`` in ``tz="member"`` analyses, with a warning naming them; a zone the user passes as an
argument is still a ValueError naming the parameter (issue 18, item 5)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from chatlens import plotting as P
from chatlens.analysis import after_hours_share, hour_weekday_table
from chatlens.analysis.rhythm import UnknownTimeZoneWarning, unknown_timezones

ODD_ZONES = ["US/Pacific-New", "Not/AZone", "", "US"]  # removed in tzdata 2020b, garbage, empty, a directory


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def frame(zones: list[str | None]) -> pd.DataFrame:
    """One message per zone, all at Monday 2026-01-05 08:30 UTC, each from its own sender."""
    n = len(zones)
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(n)],
            "sender_id": [f"U{i}" for i in range(n)],
            "created": pd.to_datetime(["2026-01-05 08:30"] * n, utc=True).astype("datetime64[us, UTC]"),
            "sender_timezone": pd.Categorical(zones),
        }
    )


def test_unknown_zones_are_counted_on_the_default_clock_with_a_warning():
    m = frame(["Asia/Tokyo", None, *ODD_ZONES])
    with pytest.warns(UnknownTimeZoneWarning) as caught:
        table = hour_weekday_table(m, tz="member", default_tz="Europe/Berlin")
    assert int(table.loc["Mon", 17]) == 1  # Tokyo
    assert int(table.loc["Mon", 9]) == 1 + len(ODD_ZONES)  # no zone, and every unknown one: Berlin's clock
    assert len(caught) == 1  # once per call, not once per zone or per message
    text = str(caught[0].message)
    assert all(repr(z) in text for z in ODD_ZONES) and "Europe/Berlin" in text
    assert caught[0].filename == __file__  # points at the caller's line, not inside chatlens


def test_after_hours_share_falls_back_too():
    m = frame(["Asia/Tokyo", "US/Pacific-New"])  # 17:30 in Tokyo (after hours), 08:30 on the UTC clock (too)
    with pytest.warns(UnknownTimeZoneWarning, match="US/Pacific-New") as caught:
        assert after_hours_share(m, tz="member", hours=(8, 17)) == 0.5
    assert caught[0].filename == __file__


def test_no_warning_when_every_zone_is_known():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hour_weekday_table(frame(["Asia/Tokyo", None]), tz="member")
        # A category no selected message uses is not reported.
        m = frame(["Asia/Tokyo", "Not/AZone"]).iloc[:1]
        hour_weekday_table(m, tz="member")


def test_many_messages_in_a_few_zones_convert_per_zone(monkeypatch):
    import chatlens.analysis._common as common

    calls = []
    convert = common.local_times
    monkeypatch.setattr(common, "local_times", lambda m, tz: calls.append(tz) or convert(m, tz))
    m = pd.concat([frame(["Asia/Tokyo", "Not/AZone", None, "US/Pacific-New"])] * 500, ignore_index=True)
    with pytest.warns(UnknownTimeZoneWarning):
        table = hour_weekday_table(m, tz="member", default_tz="UTC")
    assert int(table.values.sum()) == 2000
    assert sorted(calls) == ["Asia/Tokyo", "UTC"]  # every fallback shares one conversion


def test_unknown_timezones_lists_zones_members_and_messages():
    m = pd.concat([frame(["US/Pacific-New", "Not/AZone", "Asia/Tokyo", None]), frame(["US/Pacific-New"])])
    m["sender_id"] = ["U1", "U2", "U3", "U4", "U5"]
    table = unknown_timezones(m)
    assert table.to_dict("index") == {
        "US/Pacific-New": {"members": 2, "messages": 2},
        "Not/AZone": {"members": 1, "messages": 1},
    }
    assert unknown_timezones(frame(["Asia/Tokyo"])).empty
    with pytest.raises(ValueError, match="sender_timezone"):
        unknown_timezones(frame([None]).drop(columns="sender_timezone"))


@pytest.mark.parametrize("zone", ODD_ZONES)
def test_an_unknown_zone_passed_as_an_argument_is_a_value_error_naming_it(zone):
    m = frame(["Asia/Tokyo"])
    with pytest.raises(ValueError, match=rf"^tz: {zone!r} is not a time zone"):
        hour_weekday_table(m, tz=zone)
    with pytest.raises(ValueError, match=rf"^default_tz: {zone!r} is not a time zone"):
        hour_weekday_table(m, tz="member", default_tz=zone)


def test_rhythm_plot_in_members_zones_draws_with_unknown_zones():
    with pytest.warns(UnknownTimeZoneWarning):
        ax = P.plot_rhythm(frame(["US/Pacific-New", "Asia/Tokyo"]), tz="member")
    assert int(ax.images[0].get_array().sum()) == 2
