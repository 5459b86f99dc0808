"""The report's time-to-first-reply histogram and its key figure are one number (issue 20 §1): the dashed median
line is the card's median (median_time_to_first_reply, same frame, same period), and the bars count exactly the
threads that median is taken over."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from chatlens import plotting as P
from chatlens.analysis import median_time_to_first_reply, reply_times, time_to_first_reply
from chatlens.reports import build_report, leave_out_private, load_report_messages
from chatlens.reports.figures import format_value


@pytest.fixture(scope="module")
def messages():
    return load_report_messages("demo", progress=False)


@pytest.mark.parametrize("period", [None, ("2026-05-01", "2026-06-01"), ("2026-07-20", "2026-07-27")])
def test_the_histograms_median_is_the_cards(messages, period):
    since, until = period or (None, None)
    data = build_report(messages, since=since, until=until, plots=False)
    card = next(f for f in data.figures if f["key"] == "median_time_to_first_reply")
    counted, _ = leave_out_private(messages)  # the frame the report counts
    ax = P.plot_time_to_first_reply(counted, since=data.since, until=data.until)
    (median,) = [line for line in ax.lines if line.get_label().startswith("median")]
    assert median.get_xdata()[0] == pytest.approx(card["value"], rel=1e-12)
    assert median.get_label() == f"median {format_value(card['value'], 'hours')}"  # as the card writes it
    direct = median_time_to_first_reply(counted, since=data.since, until=data.until).total_seconds() / 3600
    assert card["value"] == pytest.approx(direct, rel=1e-12)
    answered = time_to_first_reply(counted, since=data.since, until=data.until)["time_to_first_reply"].notna()
    assert sum(p.get_height() for p in ax.patches) == int(answered.sum())


def test_it_is_not_the_median_of_every_reply(messages):
    """Why a histogram of every reply could not sit beside the card: its median is another number."""
    data = build_report(messages, plots=False)
    card = next(f for f in data.figures if f["key"] == "median_time_to_first_reply")["value"]
    counted, _ = leave_out_private(messages)
    every = reply_times(counted, since=data.since, until=data.until)
    every = every.loc[~every["self_reply"], "reply_time"].dt.total_seconds() / 3600
    assert abs(float(np.median(every)) - card) > 0.05


def test_the_report_draws_the_first_reply_histogram(messages):
    data = build_report(messages)
    section = next(s for s in data.sections if s.key == "first_reply")
    assert section.title == "Time to first reply" and section.image and "the key figure above" in section.notes[0]


def test_threads_answered_within_the_second_are_drawn_and_counted():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "parent": [None, "a", None, "c"],
            "sender_id": ["u", "v", "u", "v"],
            "sender_name": ["U", "V", "U", "V"],
            "conversation_id": "C",
            "created": pd.to_datetime(
                ["2026-01-05 10:00:00", "2026-01-05 10:00:00", "2026-01-05 11:00:00", "2026-01-05 13:00:00"], utc=True
            ),
        }
    )
    ax = P.plot_time_to_first_reply(frame)
    assert sum(p.get_height() for p in ax.patches) == 2
    assert ax.lines[0].get_xdata()[0] == pytest.approx(1.0)  # the median of 0 h and 2 h
