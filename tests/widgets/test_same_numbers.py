"""The dashboard and the report apply the same rules and show the same numbers for the same choices: the same
loading (bots from the users list, system events), the same default period, the same figure functions."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from chatlens.reports import report_data
from chatlens.widgets import load_account
from chatlens.widgets.state import DashboardState
from tests.slack_archives import sample_export, write_export


def same(a, b):
    """Figures equal, NaN-aware (a figure without a value is None in both)."""
    assert [f["key"] for f in a] == [f["key"] for f in b]
    for x, y in zip(a, b, strict=True):
        assert x == pytest.approx(y, nan_ok=True), x["key"]


@pytest.mark.parametrize(("tz", "include_private"), [("UTC", False), ("Asia/Tokyo", False), ("UTC", True)])
def test_the_demo_dashboard_shows_the_reports_figures(tz, include_private):
    data = report_data("demo", tz=tz, plots=False, progress=False, include_private=include_private)
    state = DashboardState(load=load_account)
    state.update(account="demo", tz=tz, include_private=include_private)
    assert state.error is None
    assert state.period() == (data.since, data.until)  # the same default period
    same(state.overview(), data.figures)
    # And for a period chosen on both sides.
    since, until = pd.Timestamp("2026-05-01", tz=tz), pd.Timestamp("2026-06-01", tz=tz)
    chosen = report_data(
        "demo", since=since, until=until, tz=tz, plots=False, progress=False, include_private=include_private
    )
    state.update(since=since, until=until)
    same(state.overview(), chosen.figures)


def test_the_dashboard_counts_bots_from_the_users_list_as_the_report_does(tmp_path):
    """The dashboard used to load messages alone: a sender the users list marks as a bot counted as a person
    there and not in the report."""
    files = sample_export()
    files["users.json"] = [*files["users.json"], {"id": "UB", "team_id": "TEAM1", "name": "ci", "is_bot": True}]
    files["general/2026-01-06.json"] = [
        *files["general/2026-01-06.json"],
        {"type": "message", "user": "UB", "text": "build green", "ts": "1767700000.000100"},
    ]
    path = write_export(files, tmp_path / "export.zip", as_zip=True)
    since, until = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-08", tz="UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's malformed day file is reported, as it should be
        data = report_data(str(path), since=since, until=until, plots=False, progress=False)
        state = DashboardState(load=load_account)
        state.update(account=str(path), since=since, until=until)
        assert state.error is None
        overview = state.overview()
    same(overview, data.figures)
    senders = state.all_messages().set_index("sender_id")["is_bot"]
    assert bool(senders.loc["UB"]) is True
    messages = next(f for f in overview if f["key"] == "message_count")
    public = state.messages()  # the export's private channel and DM are left out, as in the report
    assert set(public["conversation_kind"].astype(str)) == {"channel"}
    assert messages["value"] == len(public.query("~is_bot and ~is_system and created >= @since and created < @until"))
