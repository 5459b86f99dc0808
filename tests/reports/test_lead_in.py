"""An optional lead-in before the report's period (issue 20 §2): off by default; when asked for, the plots also
draw that much time before the period, shaded and labelled "before the period", its lines apart from the
period's, and every figure still covers the period alone."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from chatlens import analysis as A
from chatlens import plotting as P
from chatlens.loaders import load_messages
from chatlens.reports import build_report, render_report

SINCE, UNTIL = pd.Timestamp("2026-07-03", tz="UTC"), pd.Timestamp("2026-07-31", tz="UTC")


@pytest.fixture(scope="module")
def messages():
    return load_messages("demo", text=False, progress=False)


def lead_in_artists(ax):
    return [a for a in [*ax.patches, *ax.texts, *ax.lines] if a.get_gid() == P.LEAD_IN_GID]


def test_no_lead_in_by_default(messages):
    for ax in (
        P.plot_timeline(messages, freq="D", since=SINCE, until=UNTIL),
        P.plot_active_members(messages, since=SINCE, until=UNTIL),
    ):
        assert lead_in_artists(ax) == []
        assert min(pd.Timestamp(line.get_xdata()[0]) for line in ax.lines) >= SINCE


@pytest.mark.parametrize("freq", ["W", "MS", "QS"])
def test_a_first_period_starting_before_since_is_partly_covered_not_a_lead_in(messages, freq):
    # 3 July is inside its week, month and quarter: that first period is drawn dashed (partly covered); nothing
    # is shaded or labelled "before the period" when no lead-in was asked for (a quarterly report of a whole
    # archive showed "before the period" over its legend).
    ax = P.plot_timeline(messages, freq=freq, by="conversation", since=SINCE, until=UNTIL)
    assert lead_in_artists(ax) == []
    assert "partly covered" in ax.get_title()


def test_the_timeline_lead_in_is_shaded_labelled_and_apart(messages):
    ax = P.plot_timeline(messages, freq="D", since=SINCE, until=UNTIL, lead_in="28D")
    start = SINCE - pd.Timedelta("28D")
    (span,) = [a for a in lead_in_artists(ax) if isinstance(a, Rectangle)]
    x0, x1 = span.get_x(), span.get_x() + span.get_width()
    assert (x0, x1) == pytest.approx(matplotlib.dates.date2num([start, SINCE]))
    assert [t.get_text().strip() for t in lead_in_artists(ax) if hasattr(t, "get_text")] == ["before the period"]
    table = A.activity_timeline(messages, freq="D", since=start, until=UNTIL)
    before = np.asarray(table.index < SINCE)
    assert before.sum() == 28
    period_line = next(line for line in ax.lines if line.get_label() == "messages" or not line.get_gid())
    y = np.asarray(period_line.get_ydata(), dtype=float)
    # The period's line has nothing in the lead-in; the pale line holds the lead-in's counts (and joins the
    # period's first day).
    assert np.isnan(y[before]).all() and not np.isnan(y[~before]).any()
    (pale,) = [line for line in lead_in_artists(ax) if hasattr(line, "get_ydata")]
    pale_y = np.asarray(pale.get_ydata(), dtype=float)
    assert np.array_equal(pale_y[before], table["messages"].to_numpy(dtype=float)[before])
    assert pale.get_alpha() < 1


def test_members_posting_with_a_lead_in(messages):
    ax = P.plot_active_members(messages, since=SINCE, until=UNTIL, lead_in="14D")
    labelled = [line for line in ax.lines if line.get_gid() != P.LEAD_IN_GID]
    assert [line.get_label() for line in labelled] == ["1 day", "7 days", "28 days"]
    assert len([line for line in lead_in_artists(ax) if hasattr(line, "get_ydata")]) == 3
    assert any(isinstance(a, Rectangle) for a in lead_in_artists(ax))


def test_the_top_conversations_are_those_of_the_period(messages):
    ax = P.plot_timeline(messages, freq="D", by="conversation", top=3, since=SINCE, until=UNTIL, lead_in="90D")
    shown = [t.get_text() for t in ax.get_legend().get_texts()]
    period = A.activity_timeline(messages, freq="D", by="conversation", since=SINCE, until=UNTIL)
    assert shown == [*period.sum().sort_values(ascending=False, kind="stable").index[:3], "other"]


@pytest.mark.parametrize("bad", ["soon", "-3D", "0D"])
def test_a_bad_lead_in_is_a_value_error_naming_it(messages, bad):
    with pytest.raises(ValueError, match="^lead_in: "):
        build_report(messages, lead_in=bad, plots=False)
    with pytest.raises(ValueError, match="^lead_in: "):
        P.plot_timeline(messages, since=SINCE, lead_in=bad)
    with pytest.raises(ValueError, match="lead_in needs since"):
        P.plot_timeline(messages, lead_in="28D")


def test_the_report_with_a_lead_in_says_so_and_its_figures_do_not_move(messages):
    plain = build_report(messages, plots=False)
    data = build_report(messages, lead_in="28D")
    assert data.figures == plain.figures
    sections = {s.key: s for s in data.sections}
    note = "Shaded: the 4 weeks before the period, for context; the figures above cover the period only."
    assert sections["timeline"].notes == (note,) and sections["active"].notes == (note,)
    assert sections["rhythm"].notes == ()
    assert render_report(data).count(note) == 2
    assert not any(s.notes for s in build_report(messages).sections if s.key in ("timeline", "active"))


def test_the_report_command_takes_a_lead_in(tmp_path, capsys):
    from chatlens.cli import main

    out = tmp_path / "team.html"
    assert main(["report", "--out", str(out), "--quiet", "--lead-in", "28D"]) == 0
    assert "Shaded: the 4 weeks before the period" in out.read_text(encoding="utf-8")
    assert main(["report", "--out", str(out), "--quiet", "--lead-in", "soon"]) == 2
    assert "lead_in" in capsys.readouterr().err
