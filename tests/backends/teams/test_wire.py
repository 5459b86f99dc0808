"""Graph chatMessage normalisation, on the documentation's own examples (../shared/data/teams-graph-docs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatlens.backends.teams import wire as _teams
from chatlens.errors import InvalidRequest

DOCS = Path(__file__).resolve().parents[4] / "shared" / "data" / "teams-graph-docs"


def _examples(name: str) -> list[dict]:
    path = DOCS / name
    if not path.exists():
        pytest.skip(f"{path} is absent (shared datasets not beside the project)")
    return json.loads(path.read_text(encoding="utf-8"))["value"]


def test_chat_messages_and_the_malformed_date():
    cid = _teams.chat_conversation_id("19:2da4c29f6d7041eca70b638b43d45437@thread.v2")
    msgs = _examples("chat-list-messages.v1.0.example1.response.json")
    first = _teams.message_from_graph(msgs[0], cid)
    assert first["text"] == "Hello world"
    assert first["created"] == "2021-03-28T20:48:29.832000Z"
    assert first["sender"]["name"] == "Robin Kline" and first["parent"] == "" and first["raw"] is msgs[0]
    html_msg = _teams.message_from_graph(msgs[1], cid)
    assert "<" not in html_msg["text"]
    with pytest.raises(_teams.BadGraphObject, match="1615943825123 createdDateTime.*2021-03-1706:47:05.123Z"):
        _teams.message_from_graph(msgs[2], cid)


def test_channel_messages_mentions_and_system_events():
    cid = _teams.channel_conversation_id(
        "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b", "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
    )
    msgs = [_teams.message_from_graph(m, cid) for m in _examples("channel-list-messages.v1.0.example1.response.json")]
    mention = msgs[0]
    name = mention["raw"]["mentions"][0]["mentionText"]
    assert name in mention["text"] and "<at" not in mention["text"]
    system = msgs[2]
    assert system["raw"]["from"] is None and system["sender"]["id"]  # attributed, not dropped


def test_replies_carry_their_parent():
    cid = _teams.channel_conversation_id("t", "c")
    replies = [_teams.message_from_graph(m, cid) for m in _examples("chatmessage-list-replies.v1.0.response.json")]
    for r in replies:
        conv, _gid, reply_to = _teams.parse_message_id(r["id"])
        assert (conv, reply_to) == (cid, "1616989510408")
        assert r["parent"] == _teams.message_id(cid, "1616989510408")
        assert _teams.parse_message_id(r["parent"]) == (cid, "1616989510408", "")


@pytest.mark.parametrize("bad", ["", "tm1.", "tm1.!!!", "tc1.WyJhIl0", "sm1.abc", None, 5])
def test_garbage_message_ids_are_invalid_requests(bad):
    with pytest.raises(InvalidRequest, match="message_id"):
        _teams.parse_message_id(bad)


@pytest.mark.parametrize("bad", ["", "C123", "tt1.WyJhIl0", None])
def test_garbage_conversation_ids_are_invalid_requests(bad):
    with pytest.raises(InvalidRequest, match="conversation_id"):
        _teams.parse_conversation_id(bad)


def test_html_to_text():
    assert _teams.html_to_text("<p>a</p><p>b &amp; c</p>") == "a\nb & c"
    assert _teams.html_to_text("<div>x<br>y</div>") == "x\ny"
    assert _teams.html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;") == "<script>alert(1)</script>"
