"""The Teams connector against the fake Microsoft Graph (tests/fakes/graph.py) over real HTTP on loopback.

The contract suite runs it too (tests/contract/conftest.py); these tests cover what is Teams' own: channel threads
through ``$expand=replies`` and reply pages, Graph paging across many pages, HTML bodies and mentions, malformed
Graph objects, throttling, Graph errors, and serving a Teams account through the wire protocol.
"""

from __future__ import annotations

import logging
import os

import pytest

import chatlens
from chatlens.backends.teams import GraphDataWarning, TeamsChatAPI
from chatlens.backends.teams import wire as _teams
from chatlens.chatapi import iter_items
from chatlens.errors import AuthenticationError, InvalidRequest, NotFound, PermissionDenied, RateLimited
from tests.fakes.graph import FakeGraph

T0 = 1_767_600_000_000_000
TEAM, CHANNEL, CHAT = "team-1", "19:general@thread.tacv2", "19:group@thread.v2"
CID = _teams.channel_conversation_id(TEAM, CHANNEL)
CHAT_CID = _teams.chat_conversation_id(CHAT)


@pytest.fixture
def graph():
    with FakeGraph(expand_cap=2) as fake:  # Graph inlines up to 1000 replies; 2 makes the reply pages show
        yield fake


def _tenant(graph: FakeGraph, *, roots: int = 6):
    """Channel general: ``roots`` roots one second apart; root 1 has five replies posted after every root (more
    than ``$expand`` inlines), root 3 one. A group chat with two messages."""
    token, tenant = graph.add_tenant(me="U1")
    for uid, name in (("U1", "ada"), ("U2", "grace"), ("U3", "linus")):
        graph.add_user(tenant, uid, name, f"{name}@example.com")
    graph.add_team(tenant, TEAM, "Acme", ["U1", "U2", "U3"], owners=["U1"])
    channel = graph.add_channel(tenant, TEAM, CHANNEL, name="general", created_us=T0)
    ids = []
    for i in range(roots):
        ids.append(graph.add_message(tenant, channel, "U2" if i % 2 else "U1", T0 + i * 1_000_000, f"root {i}")["id"])
    for k in range(5):
        graph.add_message(tenant, channel, "U3", T0 + (roots + k) * 1_000_000, f"reply {k}", reply_to=ids[1])
    graph.add_message(tenant, channel, "U1", T0 + 3_500_000, "reply to 3", reply_to=ids[3])
    chat = graph.add_chat(tenant, CHAT, topic="lunch", chat_type="group", created_us=T0 + 1, members=["U1", "U2", "U3"])
    graph.add_message(tenant, chat, "U2", T0 + 100, "pizza?")
    graph.add_message(tenant, chat, "U3", T0 + 200, "yes")
    return token, tenant, channel, ids


def test_channel_threads_are_listed_replies_before_their_root(graph):
    token, *_ = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    texts = [m["text"] for m in iter_items(api.list_messages, CID, page_size=1000)]
    assert texts == [
        "root 5",
        "root 4",
        "reply to 3",
        "root 3",
        "root 2",
        *[f"reply {k}" for k in range(4, -1, -1)],
        "root 1",
        "root 0",
    ]
    # The thread of root 1 needed its reply pages: $expand inlined two replies.
    assert any(path.endswith("/replies") for verb, path in graph.calls)
    for size in (1, 2, 3, 7):
        assert [m["text"] for m in iter_items(api.list_messages, CID, page_size=size)] == texts, size


def test_many_roots_across_graph_pages(graph):
    token, *_ = _tenant(graph, roots=120)  # Graph lists 50 roots a request at most
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    ids = [m["id"] for m in iter_items(api.list_messages, CID, page_size=1000)]
    assert len(ids) == len(set(ids)) == 126
    assert [m["id"] for m in iter_items(api.list_messages, CID, page_size=33)] == ids


def test_a_reply_to_a_reply_joins_the_thread_root(graph):
    token, _, _, ids = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    root = _teams.message_id(CID, ids[3])
    reply = api.create_message(CID, text="first", parent=root)
    again = api.create_message(CID, text="second", parent=reply["id"])
    assert again["parent"] == root
    assert api.retrieve_message(again["id"])["text"] == "second"
    with pytest.raises(InvalidRequest, match="chats have no threads"):
        api.create_message(CHAT_CID, text="x", parent=api.list_messages(CHAT_CID)["objects"][0]["id"])


def test_html_bodies_mentions_and_malformed_messages(graph, tmp_path):
    token, tenant, channel, _ = _tenant(graph, roots=4)
    msg = graph.add_message(
        tenant,
        channel,
        "U2",
        T0 + 50_000_000,
        '<div><at id="0">ada</at>&nbsp;can you check <b>this</b>?</div>',
        html=True,
    )
    msg["mentions"] = [{"id": 0, "mentionText": "ada", "mentioned": {"user": {"id": "U1", "displayName": "ada"}}}]
    bad = graph.add_message(tenant, channel, "U2", T0 + 60_000_000, "broken")
    bad["createdDateTime"] = "2021-03-1706:47:05.123Z"  # as in Graph's own chat-list-messages example
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    with pytest.warns(GraphDataWarning, match=f"{bad['id']} createdDateTime.*2021-03-1706:47:05.123Z"):
        listed = list(iter_items(api.list_messages, CID))
    assert [m["text"] for m in listed][:2] == ["ada can you check this?", "reply to 3"] and len(listed) == 11
    assert listed[0]["raw"]["body"]["content"].startswith("<div><at")
    with pytest.warns(GraphDataWarning):
        frame = chatlens.load_messages(api, conversations=[CID], cache_dir=str(tmp_path), progress=False)
    assert list(frame.loc[frame["text"].str.startswith("ada"), "mentions"].iloc[0]) == ["U1"]
    assert frame["created"].dt.tz is not None and len(frame) == 11


def test_conversations_chats_and_channels_oldest_first(graph):
    token, tenant, _, _ = _tenant(graph)
    graph.add_chat(
        tenant, "19:U1_U2@unq.gbl.spaces", topic=None, chat_type="oneOnOne", created_us=T0 + 2, members=["U1", "U2"]
    )
    normal = TeamsChatAPI(token, base_url=graph.url)
    convs = list(iter_items(normal.list_conversations, page_size=1))
    assert [(c["name"], c["private"]) for c in convs] == [("general", False), ("lunch", True), (None, True)]
    assert [m["id"] for m in convs[0]["members"]] == ["U1", "U2", "U3"]
    assert convs[1]["members"][1] == {
        "id": "U2",
        "name": "grace",
        "email": "grace@example.com",
        "type": "user",
        "api": "team",
    }
    admin = TeamsChatAPI(token, base_url=graph.url, admin=True)
    assert [c["name"] for c in iter_items(admin.list_conversations)] == ["general", "lunch"]  # no one-on-one chats
    with pytest.raises(PermissionDenied, match="Teams normal accounts cannot list"):
        normal.list_messages(CID)


def test_group_chat_topic_and_members_change(graph):
    token, *_ = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    updated = api.update_conversation(CHAT_CID, name="lunch-club", members=[{"id": "U1"}, {"id": "U2"}])
    assert updated["name"] == "lunch-club" and [m["id"] for m in updated["members"]] == ["U1", "U2"]
    with pytest.raises(PermissionDenied, match="delete_conversation.*leave or hide a chat.*Chat.ManageDeletion"):
        api.delete_conversation(CHAT_CID)
    assert api.retrieve_conversation(CHAT_CID)["name"] == "lunch-club"  # nothing was deleted


def test_create_a_group_chat(graph):
    token, *_ = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True, create="chat")
    chat = api.create_conversation(name="standup", private=True, members=[{"id": "U2"}, {"id": "U3"}])
    assert chat["id"].startswith("tc1.") and chat["raw"]["chatType"] == "group" and chat["name"] == "standup"
    assert [m["id"] for m in chat["members"]] == ["U1", "U2", "U3"]
    posted = api.create_message(chat["id"], text="hi all")
    assert [m["id"] for m in iter_items(api.list_messages, chat["id"])] == [posted["id"]]
    with pytest.raises(InvalidRequest, match="always private"):
        api.create_conversation(name="open", private=False)


def test_throttling_is_waited_out_and_a_post_is_sent_once(graph):
    token, *_ = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True, backoff_factor=0)
    before = [m["id"] for m in iter_items(api.list_messages, CID)]
    graph.fail_next(2, status=429, retry_after=0)
    graph.fail_next(1, status=503, retry_after=0)
    assert [m["id"] for m in iter_items(api.list_messages, CID)] == before
    graph.fail_next(2, status=429, retry_after=0)
    msg = api.create_message(CID, text="posted once")
    assert [m["text"] for m in iter_items(api.list_messages, CID)].count("posted once") == 1
    assert msg["sender"]["id"] == "U1"


def test_per_resource_throttle_makes_loading_slower_not_wrong(graph):
    token, *_ = _tenant(graph, roots=60)
    graph.throttle(interval=0.2, retry_after=1)  # Graph: one request a second on any one channel, scaled down
    api = TeamsChatAPI(token, base_url=graph.url, admin=True, backoff_factor=0)
    ids = [m["id"] for m in iter_items(api.list_messages, CID, page_size=25)]
    assert len(ids) == len(set(ids)) == 66


def test_throttling_that_does_not_end_raises_rate_limited(graph):
    token, *_ = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, retries=1, backoff_factor=0)
    graph.fail_next(5, status=429, retry_after=0)
    with pytest.raises(RateLimited):
        api.list_conversations()


def test_graph_errors_and_tokens(graph, caplog):
    token, *_ = _tenant(graph)
    caplog.set_level(logging.DEBUG)
    wrong = TeamsChatAPI("eyJ-wrong", base_url=graph.url)
    with pytest.raises(AuthenticationError, match="InvalidAuthenticationToken") as auth:
        wrong.list_conversations()
    assert auth.value.error_code == "InvalidAuthenticationToken" and "eyJ-wrong" not in str(auth.value)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    with pytest.raises(NotFound, match="does not exist") as err:
        api.retrieve_message(_teams.message_id(CID, "42"))
    with pytest.raises(PermissionDenied, match="activity feed"):
        api.list_events()
    texts = [repr(api), str(err.value), repr(err.value), repr(api.session.auth), caplog.text, api.identity]
    assert not any(token in t for t in texts)


def test_a_forged_page_token_never_sends_the_token_elsewhere(graph):
    from chatlens.backends.teams.graph import _pack
    from chatlens.chatapi import encode_page_token

    token, *_ = _tenant(graph)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    forged = encode_page_token("teams-messages", [_pack("https://evil.example/v1.0/x"), T0, "1", T0])
    with pytest.raises(InvalidRequest, match="page"):
        api.list_messages(CID, page=forged)
    with pytest.raises(InvalidRequest, match="page"):
        api.list_messages(CID, page=encode_page_token("teams-messages", ["not-zlib", T0, "1", T0]))


def test_without_directory_access_names_come_from_messages(graph):
    token, *_ = _tenant(graph)
    graph.directory_forbidden = True
    api = TeamsChatAPI(token, base_url=graph.url, admin=True)
    sender = api.list_messages(CID)["objects"][0]["sender"]
    assert sender["name"] == "grace" and sender["email"] is None


def test_connect_and_serve_a_teams_account(graph, monkeypatch):
    from chatlens.backends.http import HttpChatAPI
    from chatlens.server import ServerThread

    token, *_ = _tenant(graph)
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(
            f'[accounts.work]\ntype = "ms_teams"\nbase_url = "{graph.url}"\ntoken_env = "GRAPH_TEST_TOKEN"\n'
            'admin = true\nteam_id = "team-1"\n'
        )
    monkeypatch.setenv("GRAPH_TEST_TOKEN", token)
    api = chatlens.connect("work")
    assert isinstance(api, TeamsChatAPI) and api.account_id == "U1" and api.team_id == TEAM
    with ServerThread(lambda account_id: api) as server:
        remote = HttpChatAPI(server.url, "U1", server.issue("U1"))
        assert remote.service == "ms_teams"
        local = [m["id"] for m in iter_items(api.list_messages, CID)]
        assert [m["id"] for m in iter_items(remote.list_messages, CID, page_size=3)] == local
        with pytest.raises(PermissionDenied, match="activity feed"):
            remote.list_events()
