"""Slack senders and mentions as issue 19 asks: a message with ``user: ""`` and only a ``username`` is a bot's, the
actor of a ``channel_join``/``channel_purpose`` line is not a mention, and mentions are read from rich-text blocks
too; the bulk columns agree with the wire objects on all of it (as tests/backends/slack/test_wire_columns.py
checks for the rest)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chatlens.backends.slack import wire

USERS = {"U1": {"id": "U1", "name": "ada"}}
# The rich-text example of https://docs.slack.dev/reference/block-kit/blocks/rich-text-block (a user element).
RICH = {
    "type": "rich_text",
    "block_id": "2ZRi",
    "elements": [
        {
            "type": "rich_text_section",
            "elements": [
                {"type": "text", "text": "Hello there, "},
                {"type": "user", "user_id": "U123ABC456"},
                {"type": "text", "text": " have a look"},
            ],
        }
    ],
}


def _row(message: dict) -> dict:
    cols = wire.MessageColumns(USERS, raw=False)
    cols.add("C1", [message])
    return cols.table().to_pylist()[0]


def test_a_username_alone_is_a_bot():
    m = {"type": "message", "ts": "1700000000.000100", "user": "", "username": "deploy-bot", "text": "shipped"}
    obj = wire.message_object(m, "C1", USERS, "")
    assert obj["is_bot"] and not obj["is_system"] and _row(m)["is_bot"]


def test_a_join_lines_actor_is_not_a_mention():
    # The text Slack writes for channel_join (https://docs.slack.dev/reference/events/message/channel_join).
    join = {
        "type": "message",
        "subtype": "channel_join",
        "ts": "1700000000.000200",
        "user": "U2",
        "text": "<@U2|bobby> has joined the channel",
        "inviter": "U3",
    }
    purpose = {
        "type": "message",
        "subtype": "channel_purpose",
        "ts": "1700000000.000300",
        "user": "U2",
        "text": "<@U2|bobby> set the channel purpose: ask <@U5> for access",
    }
    assert wire.message_object(join, "C1", USERS, "")["mentions"] == [] == _row(join)["mentions"]
    assert wire.message_object(purpose, "C1", USERS, "")["mentions"] == ["U5"] == _row(purpose)["mentions"]


def test_mentions_come_from_rich_text_blocks_too():
    m = {
        "type": "message",
        "ts": "1700000000.000400",
        "user": "U1",
        "text": "Hello there, Grace have a look",
        "blocks": [RICH],
    }
    assert wire.message_object(m, "C1", USERS, "")["mentions"] == ["U123ABC456"] == _row(m)["mentions"]
    both = {**m, "text": "Hello there, <@U123ABC456> have a look"}
    assert wire.message_object(both, "C1", USERS, "")["mentions"] == ["U123ABC456"] == _row(both)["mentions"]


def _section(users: list[str]) -> dict:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "user", "user_id": u} for u in users]}],
    }


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([None, "channel_join", "channel_purpose", "thread_broadcast", "bot_message", "huddle_thread"]),
    st.sampled_from(["U1", "", None]),
    st.sampled_from([None, "deploy"]),
    st.lists(st.sampled_from(["<@U1>", "<@U2|b>", "hi", "<@"]), max_size=4),
    st.one_of(st.none(), st.lists(st.sampled_from(["U1", "U2", "U3"]), max_size=3).map(lambda u: [_section(u)])),
    st.sampled_from([None, "U2"]),
)
def test_bulk_columns_agree_on_senders_and_mentions(subtype, user, username, words, blocks, inviter):
    m: dict = {"type": "message", "ts": "1700000000.000500", "text": " ".join(words)}
    for key, value in (
        ("subtype", subtype),
        ("user", user),
        ("username", username),
        ("blocks", blocks),
        ("inviter", inviter),
    ):
        if value is not None:
            m[key] = value
    obj, row = wire.message_object(m, "C1", USERS, ""), _row(m)
    assert (row["is_bot"], row["is_system"], row["mentions"]) == (obj["is_bot"], obj["is_system"], obj["mentions"])
