"""One definition per figure: every key figure of the report is the analysis function its key names, called with
the report's frame and period, and its change is presented by the metric's declared direction and unit."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from chatlens import analysis as A
from chatlens.analysis.metrics import FIGURES, METRICS
from chatlens.loaders import add_sender_details, load_messages, load_users
from chatlens.reports import build_report, render_report
from chatlens.reports.figures import compare, format_change

SINCE, UNTIL = pd.Timestamp("2026-07-03", tz="UTC"), pd.Timestamp("2026-07-31", tz="UTC")


@pytest.fixture(scope="module")
def messages():
    return add_sender_details(load_messages("demo", progress=False), load_users("demo", progress=False))


def direct(key, messages, since, until, tz):
    """The documented function of ``key``, called by hand as a notebook would."""
    function = getattr(A, key)
    if key == "after_hours_share":  # each sender's own clock, the report's zone where unknown
        value = function(messages, tz="member", default_tz=tz, since=since, until=until)
    elif key == "stickiness":
        value = function(messages, tz=tz, since=since, until=until)
    else:
        value = function(messages, since=since, until=until)
    if isinstance(value, pd.Timedelta):
        return value.total_seconds() / 3600
    return value


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])
def test_every_figure_is_its_function_called_directly(messages, tz):
    data = build_report(messages, since=SINCE, until=UNTIL, tz=tz, plots=False)
    assert [f["key"] for f in data.figures] == list(FIGURES)
    span = UNTIL - SINCE
    for f in data.figures:
        assert f["value"] == pytest.approx(direct(f["key"], messages, SINCE, UNTIL, tz)), f["key"]
        assert f["previous"] == pytest.approx(direct(f["key"], messages, SINCE - span, SINCE, tz)), f["key"]


def test_the_reply_rate_is_analysis_reply_rate_even_for_threads_answered_after_until():
    """The report used to resolve threads on messages before `until`: a question answered the day after the period
    was unanswered on the card, and answered for reply_rate."""
    t0 = pd.Timestamp("2026-03-06 17:00", tz="UTC")
    m = pd.DataFrame(
        {
            "id": ["q", "a", "r"],
            "parent": ["", "q", ""],
            "sender_id": ["ada", "bo", "bo"],
            "sender_name": ["ada", "bo", "bo"],
            "created": [t0, t0 + pd.Timedelta(days=3), t0 + pd.Timedelta(hours=1)],
            "conversation_id": "C",
            "conversation_name": "general",
        }
    )
    until = pd.Timestamp("2026-03-08", tz="UTC")
    data = build_report(m, since="2026-03-01", until=until, plots=False)
    rate = next(f for f in data.figures if f["key"] == "reply_rate")
    assert rate["value"] == A.reply_rate(m, since="2026-03-01", until=until) == 0.5
    assert list(data.unanswered.index) == ["r"]


def test_labels_say_exactly_what_is_counted(messages):
    data = build_report(messages, since=SINCE, until=UNTIL, plots=False)
    labels = {f["key"]: f["label"] for f in data.figures}
    assert labels["threads_started"] == "threads started"
    assert labels["replies_to_others"] == "replies to others"
    # The label is the registry's name, the heading of docs/metrics.md: one word for one thing everywhere.
    names = {m.key: m.name for m in METRICS}
    assert all(names[k] == v for k, v in labels.items())
    html = render_report(data)
    for label in labels.values():
        assert f'<div class="n">{label}</div>' in html


def test_every_figure_declares_its_unit_and_better_direction():
    for m in METRICS:
        if m.key in FIGURES:
            assert m.unit in ("count", "share", "hours") and m.better in ("up", "down", None), m.key
    better = {m.key: m.better for m in METRICS}
    assert better["median_time_to_first_reply"] == better["p90_time_to_first_reply"] == "down"
    assert better["reply_rate"] == "up"


def test_colour_follows_the_verdict_not_the_sign():
    slower = compare(6.0, 1.0, unit="hours", better="down")
    assert slower == {"change": 500.0, "change_unit": "%", "verdict": "worse"}
    assert compare(0.5, 1.0, unit="hours", better="down")["verdict"] == "better"
    assert compare(120, 100, unit="count", better="up")["verdict"] == "better"
    assert compare(120, 100, unit="count", better=None)["verdict"] is None
    # Within rounding is the same, shown as ±0, never coloured.
    same = compare(1001, 1000, unit="count", better="up")
    assert same["verdict"] == "same" and format_change(same) == "±0%"
    assert compare(float("nan"), 3, unit="count", better="up") == {"change": None, "change_unit": "%", "verdict": None}


def test_rates_change_in_percentage_points():
    row = compare(0.42, 0.39, unit="share", better="up")
    assert row["change_unit"] == "pp" and row["change"] == pytest.approx(3.0)
    assert format_change(row) == "+3 pp"
    assert compare(0.391, 0.394, unit="share", better="up")["verdict"] == "same"


def test_the_card_of_a_slower_reply_time_is_red(messages):
    """A report whose median reply time rose shows it as worse (red), whatever the sign."""
    data = build_report(messages, since=SINCE, until=UNTIL, plots=False)
    html = render_report(data)
    for f in data.figures:
        if f["verdict"] in ("better", "worse"):
            up = f["change"] > 0
            assert (f["verdict"] == "better") == (up == (f["better"] == "up"))
        card = html.split(f'data-key="{f["key"]}"', 1)[1].split("</div></div>", 1)[0]
        assert f'class="{f["verdict"] or "neutral"}"' in card
        if f["value"] is not None:
            assert not math.isnan(f["value"])


@pytest.mark.parametrize("change", [0.5, -0.5, 0.49, 1.5, 2.5, -2.5])
def test_what_is_shown_and_its_colour_agree_at_the_rounding_edge(change):
    row = compare(0.40 + change / 100, 0.40, unit="share", better="up")
    shown = format_change(row)
    assert (row["verdict"] == "same") == shown.startswith("±0"), (row, shown)
    assert shown != "+0 pp" and shown != "-0 pp"
