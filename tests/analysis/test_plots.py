"""Plots draw exactly the tables they come from (Agg backend, artists checked, not pixels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from chatlens import analysis as A
from chatlens import plotting as P
from chatlens.loaders import load_messages


@pytest.fixture(scope="module")
def messages():
    return load_messages("demo", progress=False)


def test_timeline_lines_equal_the_table(messages):
    ax = P.plot_timeline(messages, freq="W", by="conversation", top=3)
    table = P.top_n(A.activity_timeline(messages, freq="W", by="conversation"), 3)
    labelled = [line for line in ax.lines if not line.get_label().startswith("_")]
    assert [line.get_label() for line in labelled] == [str(c) for c in table.columns]
    # Complete weeks solid; the weeks the data only partly covers (first and last here) as hollow markers.
    partial = P._partial_periods(messages, table, "W", "UTC", None, None)
    assert partial.any() and not partial.all() and "partly covered" in ax.get_title()
    hollow = [line for line in ax.lines if line.get_marker() == "o"]
    for line, marks, column in zip(labelled, hollow, table.columns):
        values = table[column].to_numpy(dtype=float)
        assert np.array_equal(line.get_ydata(), np.where(partial, np.nan, values), equal_nan=True)
        assert np.array_equal(marks.get_ydata(), values[partial])
    assert table.shape[1] == 4 and "other" in table.columns  # 11 conversations -> top 3 + other
    assert int(table.to_numpy().sum()) == int(A.activity_timeline(messages, freq="W").to_numpy().sum())


def test_rhythm_heatmap_equals_the_table(messages):
    ax = P.plot_rhythm(messages, tz="America/New_York")
    assert np.array_equal(ax.images[0].get_array(), A.hour_weekday_table(messages, tz="America/New_York").to_numpy())


def test_active_members_lines(messages):
    ax = P.plot_active_members(messages)
    table = A.dau_wau_mau(messages)
    assert np.array_equal(ax.lines[2].get_ydata(), table["mau"].to_numpy())


def test_thread_depth_bars(messages):
    ax = P.plot_thread_depth(messages)
    counts = A.thread_depth(messages, warn=False)["depth"].value_counts().sort_index()
    assert [p.get_height() for p in ax.patches] == counts.tolist()


def test_reply_times_and_graph_draw_on_a_given_axes(messages):
    fig, (a, b) = plt.subplots(1, 2)
    assert P.plot_reply_times(messages, ax=a) is a
    assert P.plot_interaction_graph(messages, top=20, ax=b) is b
    assert len(fig.axes) == 2  # nothing new was created
    assert sum(p.get_height() for p in a.patches) == int((~A.reply_times(messages)["self_reply"]).sum())


def test_many_members_stay_readable(messages):
    table = P.top_n(A.activity_timeline(messages, by="member"), 5)
    assert table.shape[1] == 6
