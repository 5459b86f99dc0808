"""The report's defaults and words as a reader sees them (issue 24, survivors of ``benchmarks/mutation.py`` on
chatlens/reports): bots' messages and system events are left out of the key figures unless asked for, the reply
threshold is written as people say it, each change's tooltip says what its colour means, and a thread that has
waited exactly the threshold is listed.

The account is the hand-worked one of ``test_rendered_values`` (its figures are computed there by hand), with a bot
message and a system event added in the period and in the period before it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from chatlens.reports import build_report, render_report, report_period
from chatlens.reports.figures import key_figures

from .test_rendered_values import CARDS, SINCE, UNTIL, VALUES, frame

EXTRA = [
    # (id, created, is_bot, is_system): a bot root and a join event in the period, the same before it.
    ("b1", "2026-01-12 10:00", True, False),
    ("s1", "2026-01-12 11:00", False, True),
    ("b0", "2026-01-05 10:00", True, False),
    ("s0", "2026-01-05 11:00", False, True),
]


def noisy() -> pd.DataFrame:
    m = frame()
    extra = pd.DataFrame(
        {
            "id": [e[0] for e in EXTRA],
            "conversation_id": "C1",
            "conversation_name": "general",
            "sender_id": ["B9", "U3", "B9", "U3"],
            "sender_name": ["deploybot", "linus", "deploybot", "linus"],
            "created": pd.to_datetime([e[1] for e in EXTRA], utc=True).astype("datetime64[us, UTC]"),
            "text": ["deployed", "joined", "deployed", "joined"],
            "parent": pd.array([None] * 4, dtype="string"),
            "is_bot": [e[2] for e in EXTRA],
            "is_system": [e[3] for e in EXTRA],
            "mentions": [[] for _ in EXTRA],
        }
    )
    return pd.concat([m, extra], ignore_index=True).sort_values("created", kind="stable", ignore_index=True)


def _page(data) -> BeautifulSoup:
    return BeautifulSoup(render_report(data), "html.parser")


def test_bots_and_system_events_are_left_out_of_the_figures_by_default():
    data = build_report(noisy(), since=SINCE, until=UNTIL, plots=False)
    page = _page(data)
    for key, (value, previous, change, _verdict) in CARDS.items():
        card = page.find("div", class_="card", attrs={"data-key": key})
        assert card.find("div", class_="v").get_text(strip=True) == value, key
        assert f"previous {previous} · {change}" in " ".join(card.get_text(" ", strip=True).split()), key
    assert data.left_out["bot messages"] == 1 and data.left_out["system events"] == 1
    # key_figures itself: the same values without the bot and the event, other values with them.
    rows = {r["key"]: r for r in key_figures(noisy(), since=SINCE, until=UNTIL)}
    for key, (value, previous) in VALUES.items():
        assert rows[key]["value"] == pytest.approx(value), key
        assert rows[key]["previous"] == (None if previous is None else pytest.approx(previous)), key
    with_bots = {r["key"]: r for r in key_figures(noisy(), since=SINCE, until=UNTIL, include_bots=True)}
    assert (with_bots["message_count"]["value"], with_bots["message_count"]["previous"]) == (9, 4)
    with_events = {r["key"]: r for r in key_figures(noisy(), since=SINCE, until=UNTIL, include_system=True)}
    assert (with_events["message_count"]["value"], with_events["message_count"]["previous"]) == (9, 4)


def test_each_change_says_what_its_colour_means():
    page = _page(build_report(frame(), since=SINCE, until=UNTIL, plots=False))

    def title(key: str) -> str:
        return page.find("div", class_="card", attrs={"data-key": key}).find("span")["title"]

    assert title("message_count") == "better: higher is better"  # 8 against 3
    assert title("after_hours_share") == "better: lower is better"  # 50% against 67%
    assert title("member_count") == "no change beyond rounding"  # 2 and 2
    assert title("median_time_to_first_reply") == "no comparison possible"  # nothing answered before
    assert title("replies_to_others") == "no comparison possible"  # 3 against 0: no per cent of nothing


@pytest.mark.parametrize(
    ("sla", "words"),
    [("24h", "24 h"), ("1D", "24 h"), ("36h", "36 h"), ("2D", "2 d"), ("49h", "49 h"), ("90min", "90 min")],
)
def test_the_threshold_is_written_as_people_say_it(sla, words):
    html = " ".join(render_report(build_report(frame(), since=SINCE, until=UNTIL, plots=False, sla=sla)).split())
    assert f"Unanswered threads waiting over {words} (oldest first)" in html
    assert f"answered within {words}</th>" in html


def test_a_thread_that_has_waited_exactly_the_threshold_is_listed():
    # t4 started 13 January 00:00, exactly 48 hours before the period's end; t1 waited longer, t5 12 hours.
    data = build_report(frame(), since=SINCE, until=UNTIL, plots=False, sla="48h")
    assert data.unanswered.index.tolist() == ["t1", "t4"]
    assert [r["waiting (days)"] for r in data.to_dict()["unanswered"]] == [4.7, 2.0]
    # One second more and t4 has not waited long enough.
    later = build_report(frame(), since=SINCE, until=UNTIL, plots=False, sla=pd.Timedelta("48h") + pd.Timedelta("1s"))
    assert later.unanswered.index.tolist() == ["t1"]
    # top=1: the longest-waiting one only.
    assert build_report(frame(), since=SINCE, until=UNTIL, plots=False, top=1).unanswered.index.tolist() == ["t1"]


def test_an_empty_period_is_refused_as_such():
    # since equal to until is no period at all: said so, not mistaken for a period without messages.
    with pytest.raises(ValueError, match=r"since \(2026-01-08 00:00:00\+00:00\) must be before until"):
        report_period(frame(), "2026-01-08", "2026-01-08")
    with pytest.raises(ValueError, match="must be before until"):
        build_report(frame(), since=SINCE, until=SINCE, plots=False)
    # A period one microsecond long is a period (it holds no message, so the report says that instead).
    since, until = report_period(frame(), "2026-01-08", "2026-01-08T00:00:00.000001")
    assert until - since == pd.Timedelta(microseconds=1)


@pytest.mark.parametrize("option", ["sla", "lead_in"])
def test_the_shortest_positive_lengths_are_taken_and_zero_is_refused(option):
    build_report(frame(), since=SINCE, until=UNTIL, plots=False, **{option: "1ns"})
    with pytest.raises(ValueError, match=f"{option}: must be a positive"):
        build_report(frame(), since=SINCE, until=UNTIL, plots=False, **{option: "0s"})


def test_a_minimum_group_size_of_two_already_hides_single_people():
    data = build_report(frame(), since=SINCE, until=UNTIL, plots=False, min_group_size=2)
    d = data.to_dict()
    # The members table lists single people: none. "old" (only ada posted) is merged into "other" and, one
    # person, not shown; general and random (ada and grace) are.
    assert d["members"] == [] and data.members.empty
    assert sorted(r["name"] for r in d["conversations"]) == ["general", "random"]
    assert "author" not in data.unanswered.columns and all("author" not in r for r in d["unanswered"])
    page = render_report(data)
    assert "ada" not in page and "grace" not in page
    # With a minimum of one, the same report names them.
    assert "ada" in render_report(build_report(frame(), since=SINCE, until=UNTIL, plots=False))


def test_the_header_gives_the_period_s_last_day_and_minute():
    # [8 January, 15 January): the last day shown is the 14th, complete through its last minute.
    page = " ".join(
        BeautifulSoup(render_report(build_report(frame(), since=SINCE, until=UNTIL, plots=False)), "html.parser")
        .get_text(" ")
        .split()
    )
    assert "period 2026-01-08 to 2026-01-14 (UTC)" in page
    assert "complete through 2026-01-14 23:59" in page
    berlin = build_report(frame(), since=SINCE, until=UNTIL, plots=False, tz="Europe/Berlin")
    text = " ".join(BeautifulSoup(render_report(berlin), "html.parser").get_text(" ").split())
    assert "period 2026-01-08 to 2026-01-14 (Europe/Berlin)" in text and "complete through 2026-01-14 23:59" in text
