"""Hostile input to `chatlens serve` over real HTTP: malformed bytes and JSON, absurd sizes, and SQL
metacharacters in every string field. Each gets a 4xx naming the problem (never a 5xx or a dropped connection),
and strings are stored and returned byte for byte, never interpreted."""

from __future__ import annotations

import pytest
import requests

from chatlens.backends.sqlite import Workspace
from chatlens.server import ServerThread
from tests.contract.conftest import seed_account

SQL = ["'; DROP TABLE messages; --", '" OR 1=1 --', "x' UNION SELECT token FROM accounts --", "%_\\", "\x00nul"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("hostile") / "w.sqlite")
    account = seed_account(ws, "ms_teams", True)  # a service that takes members, so every field is reachable
    with ServerThread(ws.account) as srv:
        srv.token, srv.ws, srv.account_id = srv.issue(account), ws, account
        yield srv


def call(server, method, path, **kw):
    headers = {"Authorization": f"Bearer {server.token}", **kw.pop("headers", {})}
    return requests.request(method, f"{server.url}/v1/accounts/me{path}", headers=headers, timeout=30, **kw)


def check_4xx(response, *words):
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert body["status_code"] == response.status_code
    for word in words:
        assert word in body["message"], body["message"]


@pytest.mark.parametrize(
    "body, word",
    [
        (b"\xff\xfe not utf-8", "JSON"),
        (b'{"text": "\xed\xa0\x80"}', "JSON"),  # a lone surrogate encoded in UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),  # nesting far past any parser's depth
        (b'{"text": 1e999999}', "JSON"),
        (b'{"text": "x", "text": {"$gt": ""}}', "text"),
        (b"null", "body"),
        (b'"just a string"', "body"),
    ],
    ids=["invalid-utf8", "surrogate", "deep-nesting", "huge-number", "duplicate-key-object", "null", "string"],
)
def test_malformed_bodies_are_400(server, body, word):
    r = call(
        server,
        "POST",
        "/messaging/conversations/CGEN/messages",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    check_4xx(r, word)


@pytest.mark.parametrize("size", ["10" + "0" * 30, "-5", "0x10", "1e3", "", " 5", "١٠"])
def test_absurd_page_sizes_are_400(server, size):
    check_4xx(call(server, "GET", "/messaging/conversations", params={"page_size": size}), "page_size")


def test_huge_page_token_and_ids_are_4xx(server):
    check_4xx(call(server, "GET", "/messaging/conversations", params={"page": "p1." + "A" * 10_000}), "page")
    check_4xx(call(server, "GET", "/messaging/messages/" + "M" * 10_000), "M" * 20)
    # Past the HTTP layer's line limit the request is refused before chatlens sees it; the server lives on.
    r = call(server, "GET", "/messaging/messages/" + "M" * 100_000)
    assert 400 <= r.status_code < 500
    assert call(server, "GET", "/messaging/conversations").status_code == 200


@pytest.mark.parametrize("evil", SQL)
def test_sql_metacharacters_are_data(server, evil):
    before = server.ws.count_messages(server.account_id)
    # In ids, tokens and cursors: not found or invalid, nothing else.
    for path, params in [
        (f"/messaging/conversations/{requests.utils.quote(evil, safe='')}", None),
        (f"/messaging/messages/{requests.utils.quote(evil, safe='')}", None),
        ("/messaging/conversations", {"page": evil}),
        ("/events", {"cursor": evil}),
    ]:
        check_4xx(call(server, "GET", path, params=params))
    # In names and texts: stored and returned exactly.
    if "\x00" not in evil:
        conv = call(
            server, "POST", "/messaging/conversations", json={"name": evil, "private": True, "members": [{"id": "U2"}]}
        )
        assert conv.status_code == 201, conv.text
        assert conv.json()["name"] == evil
        renamed = call(server, "PATCH", f"/messaging/conversations/{conv.json()['id']}", json={"name": evil + "2"})
        assert renamed.json()["name"] == evil + "2"
    msg = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": evil + " ok"})
    assert msg.status_code == 201 and msg.json()["text"] == evil + " ok"
    got = call(server, "GET", f"/messaging/messages/{msg.json()['id']}")
    assert got.json()["text"] == evil + " ok"
    # In members, sender and parent: named as unknown.
    check_4xx(
        call(server, "POST", "/messaging/conversations", json={"name": "m", "members": [{"id": evil}]}), "members"
    )
    check_4xx(
        call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "x", "sender": evil}), "sender"
    )
    check_4xx(
        call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "x", "parent": evil}), "parent"
    )
    assert server.ws.count_messages(server.account_id) == before + 1
    with server.ws.transaction() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_client_posts_only_as_its_tokens_user(server):
    """Slack and Teams post as the token's own user, and so does the server: naming anyone else as ``sender`` is a
    403 that says so, and nothing is stored (issue 23, item 1)."""
    before = server.ws.count_messages(server.account_id)
    own = server.ws.account(server.account_id).user_id
    forged = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "I am U3", "sender": "U3"})
    check_4xx(forged, "sender", "'U3'")
    assert forged.status_code == 403 and forged.json()["error_code"] == "forbidden"
    assert server.ws.count_messages(server.account_id) == before
    mine = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "me", "sender": own})
    assert mine.status_code == 201 and mine.json()["sender"]["id"] == own
    unnamed = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "me too"})
    assert unnamed.status_code == 201 and unnamed.json()["sender"]["id"] == own
    assert server.ws.count_messages(server.account_id) == before + 2


def test_a_clients_raw_never_decides_what_a_message_is(tmp_path):
    """raw is the client's own attributes, stored and returned as given; whether a message is a bot's or a system
    event, and whom it mentions, comes from its text, sender and parent (issue 23, item 2)."""
    from chatlens.backends.http import HttpChatAPI
    from chatlens.loaders import load_messages

    ws = Workspace(tmp_path / "w.sqlite")
    account = seed_account(ws, "slack", False)
    forged = {"bot_id": "B1", "subtype": "channel_join", "text": "something else <@U4>", "user": "U3"}
    with ServerThread(ws.account) as srv:
        token = srv.issue(account)
        url = f"{srv.url}/v1/accounts/me/messaging/conversations/CGEN/messages"
        posted = requests.post(
            url, json={"text": "hello <@U2>", "raw": forged}, headers={"Authorization": f"Bearer {token}"}
        )
        assert posted.status_code == 201, posted.text
        msg = posted.json()
        assert msg["raw"] == forged
        assert (msg["is_bot"], msg["is_system"], msg["subtype"], msg["mentions"]) == (False, False, None, ["U2"])
        edited = requests.patch(
            f"{srv.url}/v1/accounts/me/messaging/messages/{msg['id']}",
            json={"text": "hello <@U4>"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert (edited["is_bot"], edited["is_system"], edited["mentions"]) == (False, False, ["U4"])
        frame = load_messages(HttpChatAPI(srv.url, account, token), cache=False, progress=False).set_index("id")
    row = frame.loc[msg["id"]]
    assert (
        not row["is_bot"] and not row["is_system"] and row["text"] == "hello <@U4>" and list(row["mentions"]) == ["U4"]
    )


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


@pytest.mark.parametrize("depth", [65, 254, 300, 1000])
def test_a_body_nested_too_deep_is_a_400_naming_the_limit_and_stores_nothing(server, depth):
    """Before: raw nested 255-1023 levels answered 500 (the encoder's limit), and one of about 254 was stored and
    then broke every /events page holding it. Now every body is bounded on arrival (issue 23, item 3)."""
    before = server.ws.count_messages(server.account_id)
    cursor = call(server, "GET", "/events/latest").json()["cursor"]
    # The body is one level above raw: raw of depth d makes a body of depth d + 1. Written by hand, since no
    # encoder writes what this test sends.
    raw = '{"x":' * (depth - 1) + "{}" + "}" * (depth - 1)
    body = '{"text": "deep", "raw": ' + raw + "}"
    r = call(
        server,
        "POST",
        "/messaging/conversations/CGEN/messages",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    check_4xx(r, "body", "64 levels")
    assert r.status_code == 400 and server.ws.count_messages(server.account_id) == before
    events = call(server, "GET", "/events", params={"cursor": cursor, "page_size": 1000})
    assert events.status_code == 200 and events.json()["count"] == 0


def test_the_deepest_raw_accepted_reads_back_everywhere(server):
    """The deepest body accepted (raw of 63 levels) is stored, retrieved, listed and served in the events feed."""
    cursor = call(server, "GET", "/events/latest").json()["cursor"]
    r = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "deep", "raw": _nested(63)})
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert call(server, "GET", f"/messaging/messages/{mid}").json()["raw"] == _nested(63)
    assert call(server, "GET", "/messaging/conversations/CGEN/messages").status_code == 200
    events = call(server, "GET", "/events", params={"cursor": cursor, "page_size": 1000})
    assert events.status_code == 200 and [e["metadata"]["id"] for e in events.json()["objects"]] == [mid]


def test_in_process_raw_is_bounded_too(tmp_path):
    from chatlens.errors import InvalidRequest

    ws = Workspace(tmp_path / "w.sqlite")
    api = ws.account(seed_account(ws, "slack", False))
    with pytest.raises(InvalidRequest, match="raw: nested more than 64"):
        api.create_message("CGEN", text="deep", raw=_nested(65))
    api.create_message("CGEN", text="deep enough", raw=_nested(64))


def test_nested_routes_reach_only_the_conversation_in_the_path(server):
    """Before: PATCH and DELETE .../conversations/{A}/messages/{m} changed a message of conversation B (issue 23,
    item 4). Every nested route answers 404 for a message of another conversation, and changes nothing."""
    other = call(server, "POST", "/messaging/conversations", json={"name": "elsewhere"}).json()["id"]
    posted = call(server, "POST", f"/messaging/conversations/{other}/messages", json={"text": "mine"}).json()
    wrong = f"/messaging/conversations/CGEN/messages/{posted['id']}"
    for method, kw in (("GET", {}), ("PATCH", {"json": {"text": "hijacked"}}), ("DELETE", {})):
        check_4xx(call(server, method, wrong, **kw), posted["id"], "CGEN")
    assert call(server, "GET", f"/messaging/messages/{posted['id']}").json()["text"] == "mine"
    right = f"/messaging/conversations/{other}/messages/{posted['id']}"
    assert call(server, "PATCH", right, json={"text": "edited"}).json()["text"] == "edited"
    assert call(server, "DELETE", right).status_code == 204


def _token(kind: str, key: list) -> str:
    import base64
    import json

    from chatlens.chatapi.paging import _TOKEN_PREFIX

    # As encode_page_token writes them, but by json, which writes integers of any size.
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(json.dumps([kind, key]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path, kind, key",
    [
        ("/messaging/conversations/CGEN/messages", "messages", [2**63, "m1"]),  # OverflowError in SQLite before
        ("/messaging/conversations/CGEN/messages", "messages", [2**64 - 1, "m1"]),
        ("/messaging/conversations/CGEN/messages", "messages", [True, "m1"]),
        ("/messaging/conversations/CGEN/messages", "messages", [1, "x" * 5000]),
        ("/messaging/conversations", "conversations", [-(2**63) - 1, "C1"]),
        ("/messaging/conversations/CGEN/members", "members", [["U1"]]),
        ("/team/users", "users", [1]),
    ],
    ids=["int64+1", "uint64-max", "bool", "long-text", "int64-1", "list", "int-for-str"],
)
def test_forged_page_tokens_are_400_naming_page(server, path, kind, key):
    """Tokens are opaque but decodable: one forged to hold values no listing issues is a 400, never a 500
    (issue 23, item 6)."""
    r = call(server, "GET", path, params={"page": _token(kind, key)})
    check_4xx(r, "page:")
    assert r.status_code == 400
    # The same shape with values a listing issues is a page: the test forges what matters, not the envelope.
    good = {"messages": [1, "m1"], "conversations": [1, "C1"], "members": ["U1"], "users": ["U1"]}[kind]
    assert call(server, "GET", path, params={"page": _token(kind, good)}).status_code == 200


@pytest.mark.parametrize("cursor", ["²", "١", "-1", "1.5", " 1", "9" * 19, "0x10", "1e3"])
def test_forged_event_cursors_are_400_naming_cursor(server, cursor):
    """str.isdigit() took "²" (int() then failed: 500) and "١" (read as 1); only ASCII digits are a cursor."""
    r = call(server, "GET", "/events", params={"cursor": cursor})
    check_4xx(r, "cursor")
    assert r.status_code == 400
    assert call(server, "GET", "/events", params={"cursor": "1"}).status_code == 200


def test_href_never_comes_from_the_clients_headers(server):
    """Before: href was built from the request's Host (and X-Forwarded-Proto), reflected in answers and stored in
    the event log for every later reader (issue 23, item 5). Now it is the bound address (or --public-url), and
    events are stored without it."""
    cursor = call(server, "GET", "/events/latest").json()["cursor"]
    forged = {"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    posted = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": "hi"}, headers=forged)
    assert posted.status_code == 201
    assert posted.json()["href"].startswith(server.url + "/v1/"), posted.json()["href"]
    listed = call(server, "GET", "/messaging/conversations", headers=forged).json()
    assert all(c["href"].startswith(server.url) for c in listed["objects"])
    events = call(server, "GET", "/events", params={"cursor": cursor}).json()["objects"]
    assert [e["metadata"]["href"] for e in events] == [posted.json()["href"]]
    assert "evil" not in str(events)
    with server.ws.transaction() as db:
        stored = [r[0] for r in db.execute("SELECT metadata FROM events WHERE seq > ?", (int(cursor),))]
    assert stored and not any("href" in s or "evil" in s for s in stored)


def test_a_configured_public_url_is_every_href(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    account = seed_account(ws, "slack", False)
    with ServerThread(ws.account, public_url="https://chat.example.org/base/") as srv:
        token = srv.issue(account)
        got = requests.get(
            f"{srv.url}/v1/accounts/me/messaging/conversations", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert got["objects"] and all(
        c["href"].startswith("https://chat.example.org/base/v1/accounts/") for c in got["objects"]
    )
    with pytest.raises(ValueError, match="public_url"):
        ServerThread(ws.account, public_url="chat.example.org").start()


def test_deleting_a_message_erases_its_text_from_the_event_log(server):
    """Before: a deleted message's text stayed in the events table and was served by /events (issue 23, item 7)."""
    cursor = call(server, "GET", "/events/latest").json()["cursor"]
    secret = "my password is hunter2"
    mid = call(server, "POST", "/messaging/conversations/CGEN/messages", json={"text": secret}).json()["id"]
    call(server, "PATCH", f"/messaging/messages/{mid}", json={"text": secret + "!"})
    assert secret in str(call(server, "GET", "/events", params={"cursor": cursor}).json())
    assert call(server, "DELETE", f"/messaging/messages/{mid}").status_code == 204
    events = call(server, "GET", "/events", params={"cursor": cursor}).json()["objects"]
    assert [e["type"] for e in events] == ["add", "update", "delete"]
    assert all(e["metadata"]["id"] == mid and e["metadata"]["conversation_id"] == "CGEN" for e in events)
    assert "hunter2" not in str(events)
    with server.ws.transaction() as db:
        assert not [r for r in db.execute("SELECT metadata FROM events") if "hunter2" in r[0]]


def test_a_405_allows_every_method_of_the_path(server):
    """Before: Allow named only the first route's method (GET) for a path that also takes PATCH and DELETE."""
    r = call(server, "PUT", "/messaging/conversations/CGEN")
    assert r.status_code == 405
    assert r.headers["Allow"] == "DELETE, GET, PATCH"
    assert call(server, "PUT", "/messaging/conversations").headers["Allow"] == "GET, POST"


@pytest.mark.parametrize(
    "method, path, body, word",
    [
        ("POST", "/messaging/conversations", {"name": "n", "members": None}, "members"),
        ("POST", "/messaging/conversations/CGEN/messages", {"text": "x", "sender": None}, "sender"),
        ("POST", "/messaging/conversations/CGEN/messages", {"text": "x", "parent": None}, "parent"),
        ("PATCH", "/messaging/conversations/CGEN", {"name": None}, "name"),
        ("PATCH", "/messaging/conversations/CGEN", None, "nothing to update"),
    ],
    ids=["null-members", "null-sender", "null-parent", "null-name", "patch-without-body"],
)
def test_null_fields_and_empty_patches_are_400(server, method, path, body, word):
    """The OpenAPI document gives every field a type; null is none of them, and a PATCH must change something."""
    before = call(server, "GET", "/messaging/conversations/CGEN").json()
    r = call(server, method, path, json=body) if body is not None else call(server, method, path)
    check_4xx(r, word)
    assert r.status_code == 400
    assert call(server, "GET", "/messaging/conversations/CGEN").json() == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_a_415(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    before = server.ws.count_messages(server.account_id)
    r = call(server, "POST", "/messaging/conversations/CGEN/messages", data=b'{"text": "x"}', headers=headers)
    check_4xx(r, "application/json")
    assert r.status_code == 415 and r.json()["error_code"] == "unsupported_media_type"
    assert server.ws.count_messages(server.account_id) == before


def test_a_deleted_messages_text_is_gone_from_the_database_file_too(tmp_path):
    """Before: SQLite left a deleted row's bytes in the page's free space, so the file still held the text."""
    ws = Workspace(tmp_path / "w.sqlite")
    account = seed_account(ws, "slack", False)
    api = ws.account(account)
    conv = api.list_conversations(page_size=1)["objects"][0]["id"]
    secret = "the launch code is 0000-SWORDFISH-" + "x" * 200
    mid = api.create_message(conv, text=secret)["id"]
    api.update_message(mid, text="edited " + secret)
    api.delete_message(mid)
    ws.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ws.close()
    for path in tmp_path.glob("w.sqlite*"):
        assert b"SWORDFISH" not in path.read_bytes(), path.name
