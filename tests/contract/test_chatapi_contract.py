"""The Chat API contract: every backend, every operation, every paging edge, every service rule, exact shapes.

Runs once per entry of ``BACKENDS`` (tests/contract/conftest.py).
"""

from __future__ import annotations

import re

import orjson
import pytest

from chatlens.chatapi import MESSAGE_TABLE_SCHEMA, iter_items, iter_pages
from chatlens.chatapi.rules import OPERATIONS
from chatlens.errors import InvalidRequest, NotFound, PermissionDenied

PAGE_KEYS = {"count", "page", "next_page", "objects", "type", "api"}
# Kloudless' fields, plus chatlens' documented extensions: a conversation's kind; a message's modified time and
# the normalised fields every backend derives from the service's own object (is_bot, is_system, subtype, mentions).
CONVERSATION_KEYS = {"id", "private", "name", "created", "members", "kind", "type", "raw", "api", "href"}
KINDS = {"channel", "private_channel", "direct", "group_direct"}
MESSAGE_KEYS = {
    "id",
    "conversation_id",
    "sender",
    "created",
    "modified",
    "text",
    "parent",
    "is_bot",
    "is_system",
    "subtype",
    "mentions",
    "reactions",
    "file_kinds",
    "importance",
    "members_joined",
    "members_left",
    "type",
    "raw",
    "api",
    "href",
}
USER_KEYS = {"id", "name", "email", "type", "api"}
TEAM_USER_KEYS = USER_KEYS | {
    "created",
    "updated",
    "display_name",
    "is_bot",
    "deleted",
    "guest",
    "timezone",
    "raw",
    "href",
}
GROUP_KEYS = {"id", "name", "description", "created", "type", "api", "raw", "href"}
EVENTS_KEYS = {"count", "cursor", "remaining", "objects", "type", "api"}
EVENT_KEYS = {"id", "account", "type", "object_type", "modified", "user_id", "metadata"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def check_page(page: dict) -> None:
    assert set(page) == PAGE_KEYS
    assert page["type"] == "object_list" and page["api"] == "messaging"
    assert page["count"] == len(page["objects"])
    assert page["next_page"] is None or isinstance(page["next_page"], str)


def check_user(user: dict) -> None:
    # chatlens serve adds the href of the user's Team API object (as Kloudless did); in-process backends need none.
    assert set(user) - {"href"} == USER_KEYS
    assert "href" not in user or user["href"].endswith(f"/team/users/{user['id']}")
    assert user["type"] == "user" and user["api"] == "team"
    assert isinstance(user["id"], str) and isinstance(user["name"], str)


def check_conversation(conv: dict) -> None:
    assert set(conv) == CONVERSATION_KEYS
    assert conv["type"] == "conversation" and conv["api"] == "messaging"
    assert isinstance(conv["id"], str) and isinstance(conv["private"], bool)
    assert conv["name"] is None or isinstance(conv["name"], str)
    assert conv["kind"] in KINDS and (conv["kind"] == "channel") == (not conv["private"])
    assert ISO.match(conv["created"])
    assert isinstance(conv["raw"], dict)
    assert conv["href"].endswith(
        f"/v1/accounts/{conv['href'].split('/accounts/')[1].split('/')[0]}/messaging/conversations/{conv['id']}"
    )
    for m in conv["members"]:
        check_user(m)


def check_message(msg: dict) -> None:
    assert set(msg) == MESSAGE_KEYS
    assert msg["type"] == "message" and msg["api"] == "messaging"
    assert isinstance(msg["id"], str) and isinstance(msg["conversation_id"], str)
    check_user(msg["sender"])
    assert ISO.match(msg["created"])
    assert msg["modified"] is None or ISO.match(msg["modified"])
    assert isinstance(msg["text"], str) and isinstance(msg["parent"], str)
    assert isinstance(msg["is_bot"], bool) and isinstance(msg["is_system"], bool)
    assert msg["subtype"] is None or isinstance(msg["subtype"], str)
    assert isinstance(msg["mentions"], list) and all(isinstance(u, str) and u for u in msg["mentions"])
    for r in msg["reactions"]:  # chatlens' extension: one per reacting user and emoji (user None: the uncounted)
        assert set(r) == {"emoji", "user", "count", "created"}
        assert isinstance(r["emoji"], str) and r["emoji"] and (r["user"] is None or isinstance(r["user"], str))
        assert isinstance(r["count"], int) and r["count"] >= 1 and (r["user"] is None or r["count"] == 1)
        assert r["created"] is None or ISO.match(r["created"])
    assert isinstance(msg["file_kinds"], list) and all(isinstance(k, str) and k for k in msg["file_kinds"])
    assert msg["importance"] in (None, "normal", "high", "urgent")
    for field in ("members_joined", "members_left"):
        assert isinstance(msg[field], list) and all(isinstance(u, str) and u for u in msg[field])
    assert isinstance(msg["raw"], dict)
    assert msg["href"].endswith(f"/messaging/messages/{msg['id']}")


# -- conversations -------------------------------------------------------------------------------------------


def test_list_conversations_shape_and_order(make_api):
    api = make_api(admin=False)
    page = api.list_conversations()
    check_page(page)
    assert page["page"] is None and page["next_page"] is None
    for conv in page["objects"]:
        check_conversation(conv)
    assert [c["name"] for c in page["objects"]] == ["general", None]
    general = page["objects"][0]
    assert [m["id"] for m in general["members"]] == ["U1", "U2", "U3", "U4"]
    assert general["members"][3]["name"] == "zoë"
    assert general["created"] == "2026-01-05T08:00:00.000000Z"


def test_create_retrieve_update_delete_conversation(make_api):
    api = make_api("ms_teams")
    conv = api.create_conversation(name="design", private=True, members=[{"id": "U1"}, {"id": "U3"}])
    check_conversation(conv)
    assert conv["name"] == "design" and conv["private"] is True
    assert [m["id"] for m in conv["members"]] == ["U1", "U3"]
    assert api.retrieve_conversation(conv["id"]) == conv
    assert conv["id"] in {c["id"] for c in iter_items(api.list_conversations)}

    updated = api.update_conversation(conv["id"], name="design-team", members=[{"id": "U3"}, {"id": "U4"}])
    assert updated["name"] == "design-team"
    assert [m["id"] for m in updated["members"]] == ["U3", "U4"]  # U1 removed, U4 added
    assert api.retrieve_conversation(conv["id"]) == updated

    api.delete_conversation(conv["id"])
    with pytest.raises(NotFound, match=conv["id"]):
        api.retrieve_conversation(conv["id"])
    with pytest.raises(NotFound):
        api.delete_conversation(conv["id"])


def test_create_conversation_defaults(make_api):
    api = make_api()
    conv = api.create_conversation(name="random")
    assert conv["private"] is False
    assert [m["id"] for m in conv["members"]] == ["U1"]  # the account's own user
    assert api.update_conversation(conv["id"], name="random-2")["name"] == "random-2"


@pytest.mark.parametrize("bad", ["", "   ", None, 5, "x" * 81])
def test_create_conversation_bad_name(make_api, bad):
    with pytest.raises(InvalidRequest, match="name"):
        make_api().create_conversation(name=bad)


def test_create_conversation_duplicate_name(make_api):
    api = make_api()
    with pytest.raises(InvalidRequest, match="name.*general"):
        api.create_conversation(name="general")


def test_slack_refuses_members_on_create_and_update(make_api):
    api = make_api("slack")
    with pytest.raises(InvalidRequest, match="members.*slack"):
        api.create_conversation(name="x", members=[{"id": "U1"}])
    conv = api.create_conversation(name="y")
    with pytest.raises(InvalidRequest, match="members.*slack"):
        api.update_conversation(conv["id"], members=[{"id": "U2"}])
    assert [m["id"] for m in api.retrieve_conversation(conv["id"])["members"]] == ["U1"]


@pytest.mark.parametrize("members", [[{"id": "NOPE"}], [{"name": "x"}], "U1", [{"id": 3}]])
def test_bad_members(make_api, members):
    with pytest.raises(InvalidRequest, match="members"):
        make_api("ms_teams").create_conversation(name="z", members=members)


def test_unknown_conversation(make_api, M):
    api = make_api()
    for call in (
        lambda: api.retrieve_conversation(M["CNOPE"]),
        lambda: api.update_conversation(M["CNOPE"], name="a"),
        lambda: api.delete_conversation(M["CNOPE"]),
        lambda: api.list_members(M["CNOPE"]),
        lambda: api.list_messages(M["CNOPE"]),
        lambda: api.create_message(M["CNOPE"], text="hi"),
    ):
        with pytest.raises(NotFound, match=re.escape(M["CNOPE"])):
            call()


def test_list_members_paging(make_api, M):
    api = make_api()
    pages = list(iter_pages(api.list_members, M["CGEN"], page_size=1))
    assert len(pages) == 4
    for p in pages:
        check_page(p)
        for u in p["objects"]:
            check_user(u)
    assert [u["id"] for p in pages for u in p["objects"]] == ["U1", "U2", "U3", "U4"]
    assert pages[-1]["next_page"] is None


# -- messages ------------------------------------------------------------------------------------------------


def test_list_messages_shape_and_order(make_api, M):
    api = make_api()
    page = api.list_messages(M["CGEN"])
    check_page(page)
    for m in page["objects"]:
        check_message(m)
    assert [m["id"] for m in page["objects"]] == [M["MG3"], M["MG2"], M["MG1"]]  # newest first
    reply = page["objects"][1]
    assert reply["parent"] == M["MG1"] and reply["text"] == "hi ada 👋"
    sender = {k: v for k, v in reply["sender"].items() if k != "href"}  # served objects add it (check_user)
    assert sender == {"id": "U2", "name": "grace", "email": "grace@example.com", "type": "user", "api": "team"}
    assert page["objects"][2]["parent"] == ""


def test_messages_carry_reactions_files_and_importance(make_api, M):
    """Every backend hands up the seed's reactions, files and importance the same (seed.SIGNALS), each from its
    service's own shape; Slack gives no reaction times and has no importance."""
    api = make_api()
    by_id = {m["id"]: m for m in iter_items(api.list_messages, M["CGEN"], page_size=100)}
    reactions = by_id[M["MG1"]]["reactions"]
    assert sorted((r["emoji"], r["user"], r["count"]) for r in reactions) == [
        ("eyes", "U4", 1),
        ("tada", "U2", 1),
        ("tada", "U3", 1),
    ]
    times = sorted((r["created"] for r in reactions), key=str)
    if api.service == "slack":
        assert times == [None, None, None] and by_id[M["MG3"]]["importance"] is None
    else:
        assert times == ["2026-01-05T08:00:00.000050Z", "2026-01-05T08:00:00.000060Z", "2026-01-05T08:00:00.000070Z"]
        assert by_id[M["MG3"]]["importance"] == "urgent"
    assert by_id[M["MG3"]]["file_kinds"] == ["pdf", "image"]
    assert by_id[M["MG2"]]["reactions"] == [] and by_id[M["MG2"]]["file_kinds"] == []
    assert by_id[M["MG1"]] == api.retrieve_message(M["MG1"]) | {"sender": by_id[M["MG1"]]["sender"]}


def test_normalised_fields_say_the_same_on_every_backend(make_api, M):
    api = make_api()
    page = api.list_messages(M["CGEN"])
    by_id = {m["id"]: m for m in page["objects"]}
    assert not any(m["is_bot"] or m["is_system"] for m in by_id.values())
    assert all(m["subtype"] is None for m in by_id.values())
    if api.service == "slack":  # Slack writes mentions into the text; Graph lists them beside it
        assert by_id[M["MG1"]]["mentions"] == ["U2"] and by_id[M["MG3"]]["mentions"] == []
    kinds = {c["id"]: c["kind"] for c in api.list_conversations(page_size=100)["objects"]}
    assert kinds[M["CGEN"]] == "channel"
    assert kinds.get(M["DM12"], "direct") == "direct"


def test_message_lifecycle(make_api, M):
    api = make_api()
    msg = api.create_message(M["CGEN"], text="ship it 🚀")
    check_message(msg)
    assert msg["sender"]["id"] == "U1" and msg["parent"] == "" and msg["modified"] is None
    assert api.retrieve_message(msg["id"]) == msg
    assert api.list_messages(M["CGEN"], page_size=1)["objects"][0]["id"] == msg["id"]

    reply = api.create_message(M["CGEN"], text="on it", parent=msg["id"])
    assert reply["parent"] == msg["id"] and reply["sender"]["id"] == "U1"
    assert reply["created"] > msg["created"]

    edited = api.update_message(msg["id"], text="ship it now")
    assert edited["text"] == "ship it now" and edited["modified"] is not None
    assert edited["created"] == msg["created"]
    assert api.retrieve_message(msg["id"]) == edited

    api.delete_message(reply["id"])
    with pytest.raises(NotFound, match=reply["id"]):
        api.retrieve_message(reply["id"])
    with pytest.raises(NotFound):
        api.update_message(reply["id"], text="x")
    with pytest.raises(NotFound):
        api.delete_message(reply["id"])


def test_create_message_as_another_sender(make_api, M, need):
    need("any_sender")
    api = make_api()
    reply = api.create_message(M["CGEN"], text="on it", sender="U3", parent=M["MG1"])
    assert reply["sender"]["id"] == "U3" and api.retrieve_message(reply["id"])["sender"]["name"] == "linus"


def test_raw_passes_through(make_api, M, need):
    need("raw_write")
    api = make_api()
    raw = {"type": "message", "ts": "1767600000.000100", "blocks": [{"type": "rich_text"}], "x": ["ü", 1, None]}
    msg = api.create_message(M["CGEN"], text="with raw", raw=raw)
    assert msg["raw"] == raw
    assert api.retrieve_message(msg["id"])["raw"] == raw


@pytest.mark.parametrize("text", ["", "  \n", None, 42, "x" * 40_001])
def test_bad_text(make_api, M, text):
    api = make_api()
    with pytest.raises(InvalidRequest, match="text"):
        api.create_message(M["CGEN"], text=text)
    with pytest.raises(InvalidRequest, match="text"):
        api.update_message(M["MG1"], text=text)


def test_parent_must_be_in_the_conversation(make_api, M):
    api = make_api()
    with pytest.raises(InvalidRequest, match="parent.*" + re.escape(M["MD1"])):
        api.create_message(M["CGEN"], text="x", parent=M["MD1"])
    with pytest.raises(InvalidRequest, match="parent.*" + re.escape(M["NOPE"])):
        api.create_message(M["CGEN"], text="x", parent=M["NOPE"])


def test_unknown_sender(make_api, M, need):
    need("any_sender")
    with pytest.raises(InvalidRequest, match="sender.*U99"):
        make_api().create_message(M["CGEN"], text="x", sender="U99")


def test_unknown_message(make_api, M):
    api = make_api()
    with pytest.raises(NotFound, match=re.escape(M["MNOPE"])):
        api.retrieve_message(M["MNOPE"])


def test_failed_write_leaves_nothing(make_api, M, backend):
    api = make_api()
    before = [m["id"] for m in iter_items(api.list_messages, M["CGEN"])]
    cursor = api.latest_cursor() if "events" in backend.features else None
    with pytest.raises(InvalidRequest):
        api.create_message(M["CGEN"], text="x", parent=M["NOPE"])
    assert [m["id"] for m in iter_items(api.list_messages, M["CGEN"])] == before
    if cursor is not None:
        assert api.list_events(cursor=cursor)["count"] == 0


# -- paging --------------------------------------------------------------------------------------------------


def _fill(api, M, n):
    return [api.create_message(M["CGEN"], text=f"m{i}")["id"] for i in range(n)]


def test_paging_every_size(make_api, M):
    api = make_api()
    ids = _fill(api, M, 23)
    everything = [m["id"] for m in api.list_messages(M["CGEN"], page_size=1000)["objects"]]
    assert everything[:23] == ids[::-1]
    assert len(everything) == 26
    for size in (1, 2, 7, 26, 1000):
        got = [m["id"] for m in iter_items(api.list_messages, M["CGEN"], page_size=size)]
        assert got == everything, size
    pages = list(iter_pages(api.list_messages, M["CGEN"], page_size=13))
    assert [p["count"] for p in pages] == [13, 13]
    assert pages[0]["page"] is None and pages[1]["page"] == pages[0]["next_page"]
    assert pages[-1]["next_page"] is None


def test_default_page_size_is_10(make_api, M):
    api = make_api()
    _fill(api, M, 12)
    page = api.list_messages(M["CGEN"])
    assert page["count"] == 10 and page["next_page"]


@pytest.mark.parametrize("size", [0, -1, 1001, "abc", 2.5, None])
def test_page_size_out_of_range(make_api, M, size):
    api = make_api()
    for call in (
        api.list_conversations,
        lambda **kw: api.list_messages(M["CGEN"], **kw),
        lambda **kw: api.list_members(M["CGEN"], **kw),
    ):
        with pytest.raises(InvalidRequest, match="page_size"):
            call(page_size=size)


@pytest.mark.parametrize("token", ["nonsense", "p1.", "p1.AAAA", "12", "p1.WyJtZW1iZXJzIixbIlUxIl1d"])
def test_bad_page_token(make_api, M, token):
    api = make_api()
    with pytest.raises(InvalidRequest, match="page"):
        api.list_messages(M["CGEN"], page=token)
    with pytest.raises(InvalidRequest, match="page"):
        api.list_conversations(page=token)


def test_paging_while_inserting_and_deleting(make_api, M):
    api = make_api()
    original = [*_fill(api, M, 30), M["MG1"], M["MG2"], M["MG3"]]
    first = api.list_messages(M["CGEN"], page_size=7)
    seen = [m["id"] for m in first["objects"]]
    new = _fill(api, M, 5)  # newer than everything: before the cursor, never listed in this walk
    unseen = [m for m in original if m not in seen]
    api.delete_message(unseen[3])
    page = first["next_page"]
    while page:
        result = api.list_messages(M["CGEN"], page_size=7, page=page)
        seen += [m["id"] for m in result["objects"]]
        page = result["next_page"]
    assert len(seen) == len(set(seen))
    assert set(seen) == set(original) - {unseen[3]}
    assert not set(new) & set(seen)


def test_conversation_paging_while_creating(make_api):
    api = make_api("ms_teams", admin=True)
    for i in range(5):
        api.create_conversation(name=f"c{i}")
    first = api.list_conversations(page_size=2)
    api.create_conversation(name="late")  # newest: lands at the end of the oldest-first order
    rest = list(iter_items(lambda **kw: api.list_conversations(**kw), page_size=2))
    names = [c["name"] for c in rest]
    assert names == ["general", "c0", "c1", "c2", "c3", "c4", "late"]
    assert [c["name"] for c in first["objects"]] == ["general", "c0"]


# -- activity ------------------------------------------------------------------------------------------------


def test_events_follow_activity(make_api, need):
    need("events")
    api = make_api()
    cursor = api.latest_cursor()
    assert api.list_events(cursor=cursor)["count"] == 0
    conv = api.create_conversation(name="events")
    msg = api.create_message(conv["id"], text="one")
    api.update_message(msg["id"], text="two")
    before = api.list_events(cursor=cursor, page_size=100)["objects"]
    assert [e["metadata"].get("text") for e in before] == [None, "one", "two"]  # the conversation has no text
    api.delete_message(msg["id"])
    page = api.list_events(cursor=cursor, page_size=2)
    assert set(page) == EVENTS_KEYS and page["count"] == 2 and page["remaining"] == 2
    for e in page["objects"]:
        assert set(e) == EVENT_KEYS and ISO.match(e["modified"])
    rest = api.list_events(cursor=page["cursor"], page_size=100)
    events = page["objects"] + rest["objects"]
    assert rest["remaining"] == 0
    assert [(e["type"], e["object_type"], e["metadata"]["id"]) for e in events] == [
        ("add", "conversation", conv["id"]),
        ("add", "message", msg["id"]),
        ("update", "message", msg["id"]),
        ("delete", "message", msg["id"]),
    ]
    # Deleting is erasing: no event still says what the message said, and the delete names only what went.
    for e in events[1:]:
        assert not {"text", "raw", "mentions", "sender"} & set(e["metadata"]), e["metadata"]
        assert e["metadata"]["conversation_id"] == conv["id"] and e["metadata"]["deleted"] is True
    assert "two" not in str(events) and "one" not in str([e["metadata"] for e in events[1:]])
    assert api.list_events(cursor=rest["cursor"])["count"] == 0


def test_events_are_per_account(make_api, M, need):
    need("events")
    a, b = make_api(), make_api()
    cursor = b.latest_cursor()
    a.create_message(M["CGEN"], text="only in a")
    assert b.list_events(cursor=cursor)["count"] == 0


@pytest.mark.parametrize("cursor", ["-1", "abc", "1.5"])
def test_bad_cursor(make_api, cursor, need):
    need("events")
    with pytest.raises(InvalidRequest, match="cursor"):
        make_api().list_events(cursor=cursor)


# -- service rules -------------------------------------------------------------------------------------------


def test_slack_admin_rules(make_api, M):
    api = make_api("slack", admin=True)
    assert {c["id"] for c in api.list_conversations()["objects"]} == {M["CGEN"], M["DM12"]}
    assert api.list_messages(M["CGEN"])["count"] == 3
    assert api.update_message(M["MG1"], text="edited by admin")["text"] == "edited by admin"
    api.delete_message(M["MG3"])
    assert [m["id"] for m in api.list_messages(M["CGEN"])["objects"]] == [M["MG2"], M["MG1"]]
    refused = [
        lambda: api.create_conversation(name="x"),
        lambda: api.retrieve_conversation(M["CGEN"]),
        lambda: api.update_conversation(M["CGEN"], name="x"),
        lambda: api.delete_conversation(M["CGEN"]),
        lambda: api.list_members(M["CGEN"]),
        lambda: api.create_message(M["CGEN"], text="x"),
        lambda: api.retrieve_message(M["MG1"]),
        lambda: api.list_events(),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied, match="Slack admin accounts may only"):
            call()


def test_teams_normal_cannot_list_messages(make_api, M):
    api = make_api("ms_teams", admin=False)
    with pytest.raises(PermissionDenied, match="Teams normal accounts cannot list conversation messages"):
        api.list_messages(M["CGEN"])
    assert api.retrieve_message(M["MG1"])["id"] == M["MG1"]  # the other operations work
    assert api.create_message(M["CGEN"], text="hello")["text"] == "hello"


def test_teams_admin_hides_direct_conversations(make_api, M):
    api = make_api("ms_teams", admin=True)
    assert [c["id"] for c in iter_items(api.list_conversations)] == [M["CGEN"]]
    with pytest.raises(NotFound):
        api.retrieve_conversation(M["DM12"])
    assert api.list_messages(M["CGEN"])["count"] == 3


def test_teams_normal_lists_direct_conversations(make_api, M):
    assert [c["id"] for c in make_api("ms_teams", admin=False).list_conversations()["objects"]] == [
        M["CGEN"],
        M["DM12"],
    ]


def test_accounts_are_isolated(make_api, M):
    a, b = make_api(), make_api()
    conv = a.create_conversation(name="only-a")
    with pytest.raises(NotFound):
        b.retrieve_conversation(conv["id"])
    msg = a.create_message(M["CGEN"], text="secret")
    with pytest.raises(NotFound):
        b.retrieve_message(msg["id"])
    assert msg["id"] not in {m["id"] for m in iter_items(b.list_messages, M["CGEN"])}


def test_unsupported_operations_are_refused(make_api, M, backend):
    """What a backend cannot do on its service raises PermissionDenied naming the operation, never half-works."""
    api = make_api()
    calls = {
        "list_conversations": lambda: api.list_conversations(),
        "create_conversation": lambda: api.create_conversation(name="refused"),
        "retrieve_conversation": lambda: api.retrieve_conversation(M["CGEN"]),
        "update_conversation": lambda: api.update_conversation(M["CGEN"], name="refused"),
        "delete_conversation": lambda: api.delete_conversation(M["CGEN"]),
        "list_members": lambda: api.list_members(M["CGEN"]),
        "list_messages": lambda: api.list_messages(M["CGEN"]),
        "create_message": lambda: api.create_message(M["CGEN"], text="refused"),
        "retrieve_message": lambda: api.retrieve_message(M["MG1"]),
        "update_message": lambda: api.update_message(M["MG1"], text="refused"),
        "delete_message": lambda: api.delete_message(M["MG1"]),
        "list_events": lambda: api.list_events(),
    }
    assert set(calls) == set(OPERATIONS)
    if "events" in backend.features:
        assert "list_events" in api.rules.allowed
    for operation in sorted(set(OPERATIONS) - api.rules.allowed):
        with pytest.raises(PermissionDenied, match=operation):
            calls[operation]()
    assert api.retrieve_message(M["MG1"])["text"] == "hello <@U2>"  # nothing refused was applied


# -- Team API: users and groups ------------------------------------------------------------------------------


def check_team_page(page: dict) -> None:
    assert set(page) == PAGE_KEYS
    assert page["type"] == "object_list" and page["api"] == "team"
    assert page["count"] == len(page["objects"])


def test_list_users_shape_order_and_paging(make_api, backend):
    api = make_api()
    pages = list(iter_pages(api.list_users, page_size=2))
    assert [p["count"] for p in pages] == [2, 2, 1] and pages[-1]["next_page"] is None
    users = [u for p in pages for u in p["objects"]]
    for p in pages:
        check_team_page(p)
    assert [u["id"] for u in users] == ["U1", "U2", "U3", "U4", "U5"]
    for u in users:
        assert set(u) == TEAM_USER_KEYS and u["type"] == "user" and u["api"] == "team"
        assert isinstance(u["raw"], dict) and u["href"].endswith(f"/team/users/{u['id']}")
        assert u["created"] is None or ISO.match(u["created"])
        assert not u["deleted"] and not u["guest"]
    assert (users[1]["name"], users[1]["email"]) == ("grace", "grace@example.com")
    assert users[3]["name"] == "zoë"
    if "user_details" in backend.features:
        assert [u["timezone"] for u in users] == [
            "Europe/London",
            "America/New_York",
            "Asia/Tokyo",
            "Europe/Berlin",
            "UTC",
        ]
        assert [u["is_bot"] for u in users] == [False, False, False, False, True]


def test_retrieve_user(make_api):
    api = make_api()
    grace = api.retrieve_user("U2")
    assert set(grace) == TEAM_USER_KEYS and grace["name"] == "grace"
    assert grace == next(u for u in iter_items(api.list_users) if u["id"] == "U2")
    with pytest.raises(NotFound, match="U99"):
        api.retrieve_user("U99")
    with pytest.raises(InvalidRequest, match="user_id"):
        api.retrieve_user("")


def test_groups_and_their_members(make_api, M):
    api = make_api()
    groups = {g["id"]: g for g in iter_items(api.list_groups, page_size=1)}
    for g in groups.values():
        assert set(g) == GROUP_KEYS and g["type"] == "group" and g["api"] == "team"
        assert g["href"].endswith(f"/team/groups/{g['id']}")
    assert groups[M["S1"]]["name"] == "eng" and groups[M["S2"]]["name"] == "ops"
    ids = list(groups)
    assert ids == sorted(ids)
    pages = list(iter_pages(api.list_group_members, M["S2"], page_size=1))
    assert [u["id"] for p in pages for u in p["objects"]] == ["U1", "U2", "U4"]
    check_team_page(pages[0])
    assert set(pages[0]["objects"][0]) == TEAM_USER_KEYS
    with pytest.raises(NotFound, match="S99"):
        api.list_group_members("S99")


@pytest.mark.parametrize("token", ["nonsense", "p1.WyJtZXNzYWdlcyIsWzEsMl1d"])
def test_team_api_bad_paging(make_api, M, token):
    api = make_api()
    for call in (api.list_users, api.list_groups, lambda **kw: api.list_group_members(M["S1"], **kw)):
        with pytest.raises(InvalidRequest, match="page"):
            call(page=token)
        with pytest.raises(InvalidRequest, match="page_size"):
            call(page_size=0)


# -- bulk reads (a declared capability) ----------------------------------------------------------------------


def test_bulk_reads_give_what_paging_gives(make_api, M):
    """A backend that declares ``bulk_messages`` hands over, per conversation, the very messages and values that
    paging its listing gives; one that does not declares it and refuses."""
    api = make_api()
    convs = [c["id"] for c in iter_items(api.list_conversations, page_size=100)]
    api.create_message(M["CGEN"], text="one more, <@U3>", parent=M["MG3"])
    if not api.bulk_messages:
        with pytest.raises(NotImplementedError, match="bulk_messages"):
            next(iter(api.message_tables(convs)))
        return
    tables = list(api.message_tables(convs))
    assert tables and all(t.schema.names == MESSAGE_TABLE_SCHEMA.names for t in tables)
    rows = [row for t in tables for row in t.to_pylist()]
    held = [{r["conversation_id"] for r in t.to_pylist()} for t in tables]
    assert all(not (a & b) for i, a in enumerate(held) for b in held[i + 1 :])  # whole conversations per table
    got = sorted((r["conversation_id"], r["id"]) for r in rows)
    paged = [(m["conversation_id"], m) for cid in convs for m in iter_items(api.list_messages, cid, page_size=2)]
    assert got == sorted((cid, m["id"]) for cid, m in paged)
    by_id = {r["id"]: r for r in rows}
    for _cid, m in paged:
        r = by_id[m["id"]]
        assert r["sender_id"] == m["sender"]["id"] and r["sender_name"] == m["sender"]["name"]
        assert r["created"] == us_to_datetime(m["created"]) and r["text"] == m["text"]
        assert (r["parent"] or "") == m["parent"] and r["mentions"] == m["mentions"]
        assert (r["is_bot"], r["is_system"], r["subtype"]) == (m["is_bot"], m["is_system"], m["subtype"])
        assert orjson.loads(r["raw"]) == m["raw"]
    without_raw = next(iter(api.message_tables(convs, raw=False)))
    assert "raw" not in without_raw.schema.names
    with pytest.raises(NotFound, match="CNOPE|does not exist"):
        list(api.message_tables([M["CNOPE"]]))


def us_to_datetime(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_deleting_a_root_with_replies_leaves_a_tombstone(make_api, need):
    """As Slack and Teams do: no reply is left pointing at a parent that does not exist (issue 23, item 7). The root
    keeps its id, time and place with its content gone; a root without replies, and a reply, are removed."""
    need("tombstones")
    api = make_api()
    conv = api.create_conversation(name="tombstones")
    root = api.create_message(conv["id"], text="a root <@U2> with a secret")
    reply = api.create_message(conv["id"], text="a reply", parent=root["id"])
    lone = api.create_message(conv["id"], text="a root without replies")
    api.delete_message(root["id"])
    api.delete_message(lone["id"])
    listed = {m["id"]: m for m in iter_items(api.list_messages, conv["id"])}
    assert set(listed) == {root["id"], reply["id"]}
    tomb = listed[root["id"]]
    assert (tomb["text"], tomb["subtype"], tomb["is_system"], tomb["mentions"]) == ("", "tombstone", True, [])
    assert tomb["created"] == root["created"] and tomb["parent"] == ""
    assert "secret" not in str(tomb)
    assert listed[reply["id"]]["parent"] == root["id"]
    assert api.retrieve_message(root["id"]) == tomb
    for again in (lambda: api.delete_message(root["id"]), lambda: api.update_message(root["id"], text="back")):
        with pytest.raises(NotFound):
            again()
    api.delete_message(reply["id"])  # a reply goes; the tombstone stays for the thread's history
    assert [m["id"] for m in iter_items(api.list_messages, conv["id"])] == [root["id"]]
