"""Odd but real values never abort a report (issue 18, item 5): members whose time zone this machine's tz database
does not know are counted in the report's zone and the report says so; names with matplotlib's ``$...$`` maths
are drawn and shown as they are; the command line makes the whole report from a workspace holding both."""

from __future__ import annotations

import os
import warnings

import matplotlib

matplotlib.use("Agg")

import orjson
import pandas as pd
import pytest
from markupsafe import escape

from chatlens.analysis.rhythm import UnknownTimeZoneWarning
from chatlens.backends.sqlite import Workspace
from chatlens.cli import main
from chatlens.reports import build_report, render_report

T0 = 1_767_225_600_000_000  # 2026-01-01 UTC, in microseconds
DAY = 86_400_000_000
# (id, name, time zone): removed from tzdata in 2020b, garbage, a known zone, none, and names with mathtext.
USERS = [
    ("U1", "$x^2$", "US/Pacific-New"),
    ("U2", "a$b", "Not/AZone"),
    ("U3", "50% $off$", "Europe/Berlin"),
    ("U4", "_under_", "US/Pacific-New"),
    ("U5", "<b>bold</b> & $_$", None),
]
CONVERSATIONS = [("C1", "$money$"), ("C2", "general_chat")]


def messages(zones: list[str | None]) -> pd.DataFrame:
    """Three weeks of a message a day from each of ``len(zones)`` senders, the second's a reply to the first's."""
    rows = []
    for day in range(21):
        for k, zone in enumerate(zones):
            mid = f"m{day}-{k}"
            rows.append(
                {
                    "id": mid,
                    "parent": f"m{day}-0" if k == 1 else None,
                    "sender_id": f"U{k}",
                    "sender_name": USERS[k % len(USERS)][1],
                    "sender_timezone": zone,
                    "conversation_id": "C1",
                    "conversation_name": "$money$",
                    "created": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=day, hours=8 + k),
                    "is_bot": False,
                    "is_system": False,
                    "mentions": [],
                }
            )
    frame = pd.DataFrame(rows)
    frame["sender_timezone"] = frame["sender_timezone"].astype("category")
    frame["created"] = frame["created"].astype("datetime64[us, UTC]")
    return frame


def test_unknown_member_zones_are_a_note_not_a_failure():
    m = messages(["US/Pacific-New", "Not/AZone", "Europe/Berlin", "US/Pacific-New", None])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the note says it: no warning on top
        data = build_report(m, since="2026-01-08", until="2026-01-22", tz="Asia/Tokyo", plots=False)
    assert data.notes == [
        "3 members' time zones (US/Pacific-New, Not/AZone) are unknown to this machine's tz database; their "
        "messages are counted in Asia/Tokyo.",
        # The fifth member has no zone at all: said beside the after-hours figure, apart from the unknown ones.
        "After-hours share: 1 of 5 members posting have no time zone in the users list; their messages are read on "
        "the Asia/Tokyo clock.",
    ]
    share = next(f["value"] for f in data.figures if f["key"] == "after_hours_share")
    assert 0 <= share <= 1
    assert str(escape(data.notes[0])) in render_report(data)  # as the template escapes it


def test_one_member_with_an_unknown_zone_reads_in_the_singular():
    data = build_report(messages(["", "Asia/Tokyo"]), since="2026-01-08", until="2026-01-22", plots=False)
    assert data.notes == [
        "1 member's time zone ('') is unknown to this machine's tz database; their messages are counted in UTC."
    ]


def test_no_note_when_every_zone_is_known():
    data = build_report(messages(["Asia/Tokyo", "Europe/Berlin"]), since="2026-01-08", until="2026-01-22", plots=False)
    assert data.notes == []
    none = build_report(messages(["Asia/Tokyo", None]), since="2026-01-08", until="2026-01-22", plots=False)
    assert none.notes == [
        "After-hours share: 1 of 2 members posting have no time zone in the users list; their messages are read on "
        "the UTC clock."
    ]


@pytest.mark.parametrize("zone", ["US/Pacific-New", "Not/AZone", ""])
def test_an_unknown_report_zone_is_a_value_error_naming_tz(zone):
    with pytest.raises(ValueError, match=rf"^tz: {zone!r} is not a time zone"):
        build_report(messages(["Asia/Tokyo"]), tz=zone, plots=False)


def test_names_with_mathtext_make_every_plot():
    data = build_report(messages([None] * 5), since="2026-01-08", until="2026-01-22")
    assert set(data.images) == {"timeline", "active", "rhythm", "first_reply", "network"}


@pytest.fixture
def odd_workspace(tmp_path):
    """A SQLite workspace of :data:`USERS` posting in :data:`CONVERSATIONS` for five weeks, named in the config."""
    path = tmp_path / "odd.sqlite"
    ws = Workspace(path)
    ws.add_account("T", service="slack", name="Odd", user_id="U1")
    ws.add_users("T", [{"id": uid, "name": name, "tz": tz} for uid, name, tz in USERS])
    members = [uid for uid, _, _ in USERS]
    ws.add_conversations(
        "T",
        [{"id": cid, "name": name, "private": False, "created": T0, "members": members} for cid, name in CONVERSATIONS],
    )
    rows = []
    for day in range(35):
        for k, (uid, _, _) in enumerate(USERS):
            for c, (cid, _) in enumerate(CONVERSATIONS):
                created = T0 + day * DAY + k * 3_600_000_000 + c * 60_000_000
                parent = f"{cid}-{day}-0" if k == 1 else ""
                raw = orjson.dumps({"type": "message", "user": uid, "text": f"note {day}"}).decode()
                rows.append((f"{cid}-{day}-{k}", cid, uid, created, f"note {day}", parent, None, raw))
    ws.add_messages("T", rows)
    ws.close()
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(f'[accounts.odd]\ntype = "sqlite"\npath = {orjson.dumps(str(path)).decode()}\n')
    return path


def test_report_command_on_members_with_odd_zones_and_names(tmp_path, odd_workspace):
    out = tmp_path / "odd.html"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownTimeZoneWarning)  # the report's note says it, not a warning
        assert main(["report", "--account", "odd", "--out", str(out), "--quiet"]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5  # every plot drawn
    for _, name, _ in USERS:
        assert f"<td>{escape(name)}</td>" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; $_$" in page and "<b>bold</b>" not in page
    assert "<td>$money$</td>" in page and "<td>general_chat</td>" in page
    note = "3 members&#39; time zones (US/Pacific-New, Not/AZone) are unknown to this machine&#39;s tz database"
    assert note in page and "counted in UTC" in page


def test_report_command_with_an_unknown_tz_is_one_line(odd_workspace, tmp_path, capsys):
    assert main(["report", "--account", "odd", "--tz", "US/Pacific-New", "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatlens: error: tz: 'US/Pacific-New' is not a time zone") and "Traceback" not in err
