"""The engagement report: its figures, escaping of everything untrusted, self-containment, the command."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from chatlens.analysis._common import select
from chatlens.cli import main
from chatlens.loaders import load_messages
from chatlens.reports import build_report, render_report, report


@pytest.fixture(scope="module")
def messages():
    return load_messages("demo", progress=False)


def test_key_figures_match_the_analyses(messages):
    data = build_report(messages, since="2026-07-01", until="2026-07-29", plots=False)
    figures = {f["label"]: f for f in data.figures}
    now = select(messages, since="2026-07-01", until="2026-07-29")
    before = select(messages, since="2026-06-03", until="2026-07-01")
    assert figures["messages"]["value"] == len(now) and figures["messages"]["previous"] == len(before)
    assert figures["members posting"]["value"] == now["sender_id"].nunique()
    assert figures["messages"]["change"] == pytest.approx(100 * (len(now) - len(before)) / len(before), abs=0.05)
    assert data.left_out["bot messages"] == int(
        select(messages, since="2026-07-01", until="2026-07-29", include_bots=True, include_system=True)["is_bot"].sum()
    )


def test_the_report_says_how_many_threads_rest_on_replies_not_all_loaded(messages):
    """From the thread status of a refresh (chatlens.threadsync): threads of the period whose replies were not all
    fetched; threads outside the period and complete ones are not counted, and pseudonyms do not change it."""
    now = select(messages, since="2026-07-01", until="2026-07-29")
    inside = now["thread_id"].astype(str).drop_duplicates().head(3).tolist()
    outside = messages.loc[messages["created"] < "2026-05-01", "thread_id"].astype(str).iloc[:2].tolist()
    status = pd.DataFrame(
        {
            "thread_id": inside + outside + [now["thread_id"].astype(str).iloc[-1]],
            "complete": [False] * 5 + [True],
        }
    )
    key = "threads with replies not all loaded (counted as loaded)"
    for anonymize in (False, True):
        data = build_report(
            messages,
            since="2026-07-01",
            until="2026-07-29",
            plots=False,
            thread_status=status,
            anonymize=anonymize,
            salt="a salt of sixteen bytes" if anonymize else None,
        )
        assert data.left_out[key] == 3
        assert f"3 {key}" in render_report(data)
    plain = build_report(messages, since="2026-07-01", until="2026-07-29", plots=False)
    assert key not in plain.left_out


def test_default_period_is_the_last_28_complete_days(messages):
    data = build_report(messages, plots=False)
    assert data.until == pd.Timestamp("2026-07-31T00:00:00Z")  # the last day, July 31, is not complete
    assert data.until - data.since == pd.Timedelta(days=28)


def test_untrusted_text_and_names_are_escaped():
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    m = pd.DataFrame(
        {
            "id": ["a", "b"],
            "parent": [None, None],
            "sender_id": ["u", "v"],
            "sender_name": [hostile, "ok"],
            "conversation_id": ["C", "C"],
            "conversation_name": [hostile, hostile],
            "text": [hostile, "fine"],
            "created": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 11:00"], utc=True),
            "is_bot": False,
            "is_system": False,
            "mentions": [[], []],
        }
    )
    html = render_report(build_report(m, account=hostile, since="2025-12-31", until="2026-01-02", include_text=True))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_demo_report_is_self_contained_and_escapes_the_demo_script_message(tmp_path, messages):
    assert messages["text"].str.contains("<script>").any()  # the demo carries one, to prove this
    path = report(out=tmp_path / "r.html", since="2026-01-01", until="2026-08-01", include_text=True, progress=False)
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert not re.search(r'(src|href)="(?!data:)', html)  # nothing to fetch: every image is inline
    assert html.count("data:image/png;base64,") == 5
    assert "Key figures" in html and "Unanswered threads" in html
    assert not list(tmp_path.glob(".*.tmp"))


def test_text_is_left_out_unless_asked(tmp_path, messages):
    data = build_report(messages, plots=False)
    assert "text" not in data.unanswered.columns
    sample = str(messages["text"].iloc[100])
    assert sample not in render_report(data)


def test_report_command(tmp_path, capsys):
    out = tmp_path / "team.html"
    assert main(["report", "--out", str(out), "--quiet", "--tz", "Europe/Berlin"]) == 0
    assert out.exists() and "wrote" in capsys.readouterr().out
    assert main(["report", "--since", "2026-08-01", "--until", "2026-07-01", "--out", str(out), "--quiet"]) == 2
    assert "since" in capsys.readouterr().err


def test_the_reports_figures_link_replies_to_a_bots_post_before_leaving_bots_out():
    import warnings

    from chatlens.analysis.threads import MissingParentWarning
    from chatlens.reports import build_report

    t0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    rows = [
        ("deploy", "", "deploybot", True, "deployed v2", 0),
        ("h1", "deploy", "ada", False, "broken for me", 5),
        ("h2", "deploy", "bo", False, "me too", 9),
        ("q", "", "ada", False, "release?", 60),
        ("a", "q", "bo", False, "friday", 70),
    ]
    m = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "parent": [r[1] for r in rows],
            "sender_id": [r[2] for r in rows],
            "sender_name": [r[2] for r in rows],
            "is_bot": [r[3] for r in rows],
            "is_system": False,
            "text": [r[4] for r in rows],
            "created": [t0 + pd.Timedelta(minutes=r[5]) for r in rows],
            "conversation_id": "C1",
            "conversation_name": "general",
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingParentWarning)
        data = build_report(m, since="2026-03-01", until="2026-03-08", plots=False)
    figures = {f["label"]: f["value"] for f in data.figures}
    assert figures["threads started"] == 1  # the bot's post is a bot's thread, and its replies start none
    assert figures["replies to others"] == 3
    assert figures["messages"] == 4


def test_unanswered_threads_are_the_oldest_past_the_sla_and_each_conversation_shows_its_share_within_it():
    from chatlens import analysis as A
    from chatlens.loaders import load_messages
    from chatlens.reports import build_report, render_report

    m = load_messages("demo", progress=False)
    data = build_report(m, plots=False, sla="36h")
    started = data.unanswered["started"]
    assert len(data.unanswered) and started.is_monotonic_increasing
    assert (started + pd.Timedelta("36h") <= data.until).all() and data.unanswered["unanswered"].all()
    # Nothing older and open is missing from the list: it is the head of every overdue thread, oldest first.
    threads = A.thread_table(m, since=data.since, until=data.until)
    overdue = threads[threads["unanswered"] & (threads["started"] + pd.Timedelta("36h") <= data.until)]
    assert data.unanswered.index.tolist() == overdue.sort_values("started").index[: len(data.unanswered)].tolist()
    share = A.answered_within(m, "36h", since=data.since, until=data.until)["share"]
    assert data.conversations["answered_within"].tolist() == share.reindex(data.conversations.index).tolist()
    page = render_report(data)
    assert "Unanswered threads waiting over 36 h (oldest first)" in page and "answered within 36 h" in page
    assert data.to_dict()["sla_seconds"] == 36 * 3600
    with pytest.raises(ValueError, match="sla: expected a duration"):
        build_report(m, plots=False, sla="tomorrow")
    quiet = build_report(m, plots=False, sla="3650d")
    assert quiet.unanswered.empty and "No thread of this period has waited over 3650 d" in render_report(quiet)


def test_the_header_says_what_the_account_holds_and_the_after_hours_figure_says_which_clock_it_assumed():
    from chatlens.loaders import add_sender_details, load_messages, load_users
    from chatlens.reports import build_report, render_report

    m = load_messages("demo", progress=False)
    data = build_report(m, plots=False)
    page = " ".join(render_report(data).split())
    assert data.holds["messages"] == len(m) and data.to_dict()["holds"]["messages"] == len(m)
    first, last = m["created"].min().strftime("%Y-%m-%d"), m["created"].max().strftime("%Y-%m-%d")
    assert f"The account holds {len(m):,} messages (bots' and system events included), from {first} to {last}" in page
    # No time zones in the frame: the note says every message is read on the report's clock.
    assert any("gives no member time zones" in n and "UTC clock" in n for n in data.notes)
    detailed = add_sender_details(m, load_users("demo", progress=False))
    some_unknown = detailed.copy()
    first_sender = some_unknown["sender_id"].iloc[0]
    some_unknown["sender_timezone"] = some_unknown["sender_timezone"].where(some_unknown["sender_id"] != first_sender)
    notes = build_report(some_unknown, plots=False, tz="Europe/Berlin").notes
    assert any("have no time zone in the users list" in n and "Europe/Berlin clock" in n for n in notes), notes
    whole = build_report(detailed, plots=False)
    period = detailed[(detailed["created"] >= whole.since) & (detailed["created"] < whole.until)]
    people = period[~period["is_bot"].astype(bool) & ~period["is_system"].astype(bool)]
    lacking = people.loc[people["sender_timezone"].isna(), "sender_id"].nunique()
    said = [n for n in whole.notes if n.startswith("After-hours share")]
    assert (len(said) == 1 and f"{lacking} of" in said[0]) if lacking else not said


def test_a_bad_sla_is_refused_before_anything_is_loaded(monkeypatch):
    import chatlens.reports as R

    def no_load(*args, **kwargs):
        raise AssertionError("the account was loaded before --sla was checked")

    monkeypatch.setattr(R, "load_report_messages", no_load)
    with pytest.raises(ValueError, match="sla: expected a duration"):
        R.report_data("demo", sla="tomorrow", progress=False)


def test_table_counts_have_thousands_separators(messages):
    page = render_report(build_report(messages, since="all", plots=False))
    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert any("," in c for c in cells)  # the whole demo: #general's 1,000+ messages
    # Every count in a table reads as the cards read them: never 1234, always 1,234.
    assert not [c for c in cells if re.fullmatch(r"\d{4,}", c)]
