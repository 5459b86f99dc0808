"""Every service subtype is classified by one table (issue 18 §2), and what the table says is what loads count:
canvas, huddle, reminder and tombstone events are nobody's messages; Slackbot and sender-less messages are never
members; Teams system events are named by their detail type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import chatlens
from chatlens.backends.message_kinds import render_markdown
from chatlens.backends.slack import subtypes
from chatlens.backends.slack import wire as slack_wire
from chatlens.backends.teams import message_types
from chatlens.backends.teams import wire as teams_wire
from tests.slack_archives import T, ts

DOCS = Path(__file__).resolve().parents[2] / "docs" / "message-kinds.md"


def test_docs_message_kinds_md_is_generated_from_the_tables():
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/message-kinds.md is stale: python -m chatlens.backends.message_kinds > docs/message-kinds.md"
    )


@pytest.mark.parametrize("subtype", [s for s in subtypes.SUBTYPES if s is not None])
def test_each_slack_subtype_is_counted_as_the_table_says(subtype):
    kind = subtypes.SUBTYPES[subtype][0]
    raw = {"type": "message", "ts": ts(1), "user": "U1", "subtype": subtype, "text": "x"}
    is_bot, is_system, got, _ = slack_wire.message_signals(raw, "x")
    assert got == subtype
    assert (is_bot, is_system) == {"person": (False, False), "bot": (True, False), "system": (False, True)}[kind]


def test_the_issues_named_subtypes_are_not_peoples_messages():
    for subtype in ("reminder_add", "channel_canvas_updated", "tabbed_canvas_updated", "tombstone", "sh_room_created"):
        assert subtypes.subtype_kind(subtype) != "person", subtype
    for subtype in ("file_share", "thread_broadcast", "me_message"):
        assert subtypes.subtype_kind(subtype) == "person", subtype


def _export(root: Path) -> Path:
    users = [
        {"id": "U1", "team_id": "T1", "name": "ada", "profile": {"display_name": "ada"}},
        {"id": "U2", "team_id": "T1", "name": "bo", "profile": {"display_name": "bo"}},
    ]
    root.mkdir()
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general", "created": T, "members": ["U1"]}]))
    day = [
        {"type": "message", "user": "U1", "text": "a person", "ts": ts(0)},
        {"type": "message", "user": "U2", "text": "file", "subtype": "file_share", "ts": ts(1)},
        {"type": "message", "user": "U1", "subtype": "reminder_add", "text": "set up a reminder", "ts": ts(2)},
        {"type": "message", "user": "U1", "subtype": "channel_canvas_updated", "text": "", "ts": ts(3)},
        {"type": "message", "user": "U1", "subtype": "tabbed_canvas_updated", "text": "", "ts": ts(4)},
        {"type": "message", "user": "U2", "subtype": "sh_room_created", "text": "", "ts": ts(5)},
        {"type": "message", "user": "U2", "subtype": "huddle_thread", "text": "", "ts": ts(6)},
        {"type": "message", "user": "U1", "subtype": "some_future_subtype", "text": "", "ts": ts(7)},
        # A deleted root with a reply: Slackbot's tombstone keeps the reply's thread.
        {
            "type": "message",
            "user": "USLACKBOT",
            "subtype": "tombstone",
            "text": "This message was deleted.",
            "ts": ts(8),
            "thread_ts": ts(8),
            "reply_count": 1,
        },
        {"type": "message", "user": "U2", "text": "a reply", "ts": ts(9), "thread_ts": ts(8), "parent_user_id": "U1"},
        {"type": "message", "user": "USLACKBOT", "text": "You have been added to #general", "ts": ts(10)},
        {"type": "message", "user": None, "text": "nobody sent this", "ts": ts(11)},
    ]
    (root / "general").mkdir()
    (root / "general" / "2026-01-05.json").write_text(json.dumps(day))
    return root


@pytest.mark.parametrize("bulk", [True, False])
def test_a_load_counts_people_only_by_the_table(tmp_path, monkeypatch, bulk):
    api = chatlens.connect({"type": "slack_export", "path": str(_export(tmp_path / "e"))})
    if not bulk:
        monkeypatch.setattr(type(api), "bulk_messages", False)
    msgs = chatlens.load_messages(api, cache=False, progress=False).set_index("text")
    people = msgs[~msgs["is_bot"] & ~msgs["is_system"]]
    assert sorted(people.index) == ["a person", "a reply", "file"]
    assert msgs.loc["You have been added to #general", "is_bot"]
    assert msgs.loc["nobody sent this", "is_system"]
    # Slackbot and the sender-less message name nobody among the members posting.
    assert set(people["sender_id"]) == {"U1", "U2"}


def test_teams_system_events_are_named_by_their_detail_and_applications_are_bots():
    for name in message_types.EVENT_DETAILS:
        msg = {
            "messageType": "systemEventMessage",
            "eventDetail": {"@odata.type": f"#microsoft.graph.{name}EventMessageDetail"},
        }
        assert teams_wire.message_signals(msg)[1:3] == (True, name)
    assert teams_wire.message_signals({"messageType": "message", "from": {"application": {"id": "A"}}})[:2] == (
        True,
        False,
    )
    # The Graph reference's own examples send system events as unknownFutureValue.
    examples = Path(__file__).resolve().parents[3] / "shared" / "data" / "teams-graph-docs"
    if not examples.exists():
        pytest.skip("../shared/data/teams-graph-docs is absent")
    seen = set()
    for path in examples.glob("*.json"):
        for msg in json.loads(path.read_text())["value"]:
            _, is_system, subtype, _ = teams_wire.message_signals(msg)
            if is_system:
                seen.add(subtype)
    assert {"chatRenamed", "teamDescriptionUpdated"} <= seen


def test_a_legacy_file_comment_is_its_commenters_message():
    raw = {"type": "message", "subtype": "file_comment", "ts": ts(1), "text": "nice", "comment": {"user": "U7"}}
    assert slack_wire.message_signals(raw, "nice")[:2] == (False, False)
    assert slack_wire.message_object(raw, "C1", {}, "")["sender"]["id"] == "U7"
    cols = slack_wire.MessageColumns({}, raw=False)
    cols.add("C1", [raw])
    row = cols.table().to_pylist()[0]
    assert (row["sender_id"], row["is_system"]) == ("U7", False)
