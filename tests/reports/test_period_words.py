"""--since all, 90d, 2025-01 and ISO dates; ambiguous dates refused with an example; an account with nothing in
the period is an error with a non-zero exit, not an empty report."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens.cli import main
from chatlens.loaders import load_messages
from chatlens.reports import build_report, report_period


@pytest.fixture(scope="module")
def messages():
    return load_messages("demo", progress=False)


def test_since_words(messages):
    until = pd.Timestamp("2026-07-31", tz="UTC")
    assert report_period(messages, "all")[0] == pd.Timestamp("2026-01-04", tz="UTC")
    assert report_period(messages, "90d") == (until - pd.Timedelta(days=90), until)
    assert report_period(messages, "2026-05", "2026-06") == (
        pd.Timestamp("2026-05-01", tz="UTC"),
        pd.Timestamp("2026-06-01", tz="UTC"),
    )
    assert report_period(messages, "2026-05-03", tz="Asia/Tokyo")[0] == pd.Timestamp("2026-05-03", tz="Asia/Tokyo")
    assert report_period(messages, "2026-05-03T12:00Z")[0] == pd.Timestamp("2026-05-03 12:00", tz="UTC")


@pytest.mark.parametrize("ambiguous", ["01/02/2025", "1.2.2025", "13/02/2025"])
def test_ambiguous_dates_are_refused_with_an_example(messages, ambiguous):
    with pytest.raises(ValueError, match=r"since: .* write it as 2025-02-\d\d"):
        report_period(messages, ambiguous)


def test_nonsense_is_refused_naming_the_forms(messages):
    with pytest.raises(ValueError, match="90d, or all"):
        report_period(messages, "last tuesday")


def test_nothing_in_the_period_is_an_error(messages):
    with pytest.raises(ValueError, match=r"no messages from people .* holds 12,000 messages from 2026-01-04"):
        build_report(messages, since="2020-01-01", until="2020-02-01", plots=False)


def test_report_command_refuses_an_empty_period_and_an_ambiguous_date(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "--since", "2020-01", "--until", "2020-02", "--out", str(out), "--quiet"]) == 2
    assert "no messages from people" in capsys.readouterr().err and not out.exists()
    assert main(["report", "--since", "01/02/2026", "--out", str(out), "--quiet"]) == 2
    assert "ambiguous" in capsys.readouterr().err
    assert main(["report", "--since", "all", "--out", str(out), "--quiet"]) == 0


def test_plots_follow_the_period_and_pick_their_frequency_from_its_span(messages):
    from chatlens.plotting import auto_freq

    assert [auto_freq("2026-01-01", e) for e in ("2026-01-08", "2026-04-01", "2027-01-01", "2032-01-01")] == [
        "D",
        "W",
        "MS",
        "QS",
    ]
    assert build_report(messages, plots=False).freq == "D"  # 28 days: days
    assert build_report(messages, since="90d", plots=False).freq == "W"
    assert build_report(messages, since="all", plots=False).freq == "MS"  # seven months
    assert build_report(messages, since="all", plots=False, freq="W").freq == "W"
