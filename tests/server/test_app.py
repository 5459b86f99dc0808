"""chatlens serve over real HTTP on loopback: statuses, errors, auth between accounts, limits, href and raw."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
import pytest
import requests

from chatlens.backends.sqlite import Workspace
from chatlens.server import ServerThread

ERROR_KEYS = {"status_code", "error_code", "message", "id"}


@pytest.fixture
def server(demo_db):
    ws = Workspace(demo_db)
    with ServerThread(ws.account) as srv:
        srv.slack = srv.issue("acme-slack")
        srv.teams = srv.issue("acme-teams")
        srv.ws = ws
        yield srv


def call(server, method, path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)


def check_error(response, status, code=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["status_code"] == status
    assert body["id"] == response.headers["X-Request-Id"]
    if code:
        assert body["error_code"] == code
    return body


def _ids(server):
    api = server.ws.account("acme-slack")
    conv = api.list_conversations(page_size=1)["objects"][0]["id"]
    msg = api.list_messages(conv, page_size=1)["objects"][0]["id"]
    return conv, msg


def test_statuses_of_a_lifecycle(server):
    base = "/v1/accounts/me/messaging"
    created = call(server, "POST", f"{base}/conversations", server.slack, json={"name": "wire"})
    assert created.status_code == 201
    conv = created.json()
    assert conv["href"] == f"{server.url}/v1/accounts/acme-slack/messaging/conversations/{conv['id']}"
    msg = call(
        server,
        "POST",
        f"{base}/conversations/{conv['id']}/messages",
        server.slack,
        json={"text": "hello", "raw": {"blocks": [{"type": "x"}], "ü": [1, None]}},
    )
    assert msg.status_code == 201 and msg.json()["raw"] == {"blocks": [{"type": "x"}], "ü": [1, None]}
    mid = msg.json()["id"]
    nested = call(server, "GET", f"{base}/conversations/{conv['id']}/messages/{mid}", server.slack)
    assert nested.json() == call(server, "GET", f"{base}/messages/{mid}", server.slack).json()
    singular = call(server, "GET", f"{base}/conversation/{conv['id']}", server.slack)
    assert singular.status_code == 200 and singular.json()["id"] == conv["id"]
    assert (
        call(server, "PATCH", f"{base}/messages/{mid}", server.slack, json={"text": "edited"}).json()["text"]
        == "edited"
    )
    deleted = call(server, "DELETE", f"{base}/messages/{mid}", server.slack)
    assert deleted.status_code == 204 and deleted.content == b""
    check_error(call(server, "GET", f"{base}/messages/{mid}", server.slack), 404, "not_found")
    assert call(server, "DELETE", f"{base}/conversations/{conv['id']}", server.slack).status_code == 204
    latest = call(server, "GET", "/v1/accounts/me/events/latest", server.slack).json()["cursor"]
    assert int(latest) >= 5


def test_account_info(server):
    info = call(server, "GET", "/v1/accounts/me", server.teams).json()
    assert info == {"id": "acme-teams", "service": "ms_teams", "admin": True, "type": "account", "api": "meta"}


@pytest.mark.parametrize(
    "query, field",
    [
        ("page_size=0", "page_size"),
        ("page_size=1001", "page_size"),
        ("page_size=abc", "page_size"),
        ("page=garbage", "page"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_field(server, query, field):
    conv, _ = _ids(server)
    body = check_error(
        call(server, "GET", f"/v1/accounts/me/messaging/conversations/{conv}/messages?{query}", server.slack),
        400,
        "invalid_parameters",
    )
    assert body["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    "data, field",
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"text": "x", "colour": "red"}', "body"),
        (b"{}", "text"),
        (b'{"text": ""}', "text"),
        (b'{"text": "x", "parent": "nope"}', "parent"),
        (b'{"text": "\xff\xfe"}', "body"),
        (b"[" * 5000 + b"]" * 5000, "body"),
    ],
)
def test_bad_bodies_are_400(server, data, field):
    conv, _ = _ids(server)
    body = check_error(
        call(
            server,
            "POST",
            f"/v1/accounts/me/messaging/conversations/{conv}/messages",
            server.slack,
            data=data,
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    assert body["message"].startswith(f"{field}:")


def test_401_without_or_with_a_bad_token(server):
    r = call(server, "GET", "/v1/accounts/me/messaging/conversations")
    check_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    check_error(call(server, "GET", "/v1/accounts/me/messaging/conversations", "not-a-token"), 401)
    check_error(
        call(server, "GET", "/v1/accounts/me/messaging/conversations", headers={"Authorization": "Basic abc"}), 401
    )
    ok = call(server, "GET", "/v1/accounts/me", headers={"Authorization": f"APIKey {server.slack}"})
    assert ok.status_code == 200


def test_service_rules_are_403(server):
    conv = server.ws.account("acme-teams").list_conversations(page_size=1)["objects"][0]["id"]
    # the Teams admin account may list messages; a Slack admin account may not create conversations
    assert call(server, "GET", f"/v1/accounts/me/messaging/conversations/{conv}/messages", server.teams).ok
    server.ws.add_account("slack-admin", service="slack", name="a", user_id="U1", admin=True)
    token = server.issue("slack-admin")
    body = check_error(
        call(server, "POST", "/v1/accounts/me/messaging/conversations", token, json={"name": "z"}), 403, "forbidden"
    )
    assert "Slack admin accounts may only" in body["message"]


def test_404_405_and_413(server):
    check_error(call(server, "GET", "/v1/accounts/me/messaging/conversations/NOPE", server.slack), 404)
    check_error(call(server, "GET", "/v1/nothing-here", server.slack), 404)
    check_error(call(server, "PUT", "/v1/accounts/me/messaging/conversations", server.slack), 405)
    conv, _ = _ids(server)
    big = orjson.dumps({"text": "x" * 2_000_000})
    check_error(
        call(
            server,
            "POST",
            f"/v1/accounts/me/messaging/conversations/{conv}/messages",
            server.slack,
            data=big,
            headers={"Content-Type": "application/json"},
        ),
        413,
        "payload_too_large",
    )

    def chunks():
        for _ in range(40):
            yield b" " * 65536

    check_error(
        call(
            server,
            "POST",
            f"/v1/accounts/me/messaging/conversations/{conv}/messages",
            server.slack,
            data=chunks(),
            headers={"Content-Type": "application/json"},
        ),
        413,
    )


def test_rate_limit_429_with_retry_after(demo_db):
    ws = Workspace(demo_db)
    with ServerThread(ws.account, rate_limit=2) as srv:
        token = srv.issue("acme-slack")
        statuses = [call(srv, "GET", "/v1/accounts/me", token) for _ in range(6)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited and statuses[0].status_code == 200
        check_error(limited[0], 429, "rate_limited")
        assert int(limited[0].headers["Retry-After"]) >= 1
        time.sleep(1.1)
        assert call(srv, "GET", "/v1/accounts/me", token).status_code == 200


def test_no_response_contains_the_token(server):
    _conv, msg = _ids(server)
    responses = [
        call(server, "GET", "/v1/accounts/me/messaging/conversations", server.slack),
        call(server, "GET", f"/v1/accounts/me/messaging/messages/{msg}", server.slack),
        call(server, "GET", "/v1/accounts/acme-slack/messaging/conversations", server.teams),
        call(server, "GET", "/v1/accounts/me", "x" + server.slack),
    ]
    for r in responses:
        blob = r.content + repr(dict(r.headers)).encode()
        assert server.slack.encode() not in blob and server.teams.encode() not in blob


def test_openapi_document_lists_every_operation(server):
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    paths = doc["paths"]
    assert "/v1/accounts/{account_id}/messaging/conversations/{conversation_id}/messages" in paths
    assert {"get", "patch", "delete"} <= set(paths["/v1/accounts/{account_id}/messaging/messages/{message_id}"])


def test_chatlens_serve_command_prints_url_and_tokens_and_stops_on_ctrl_c(demo_db):
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatlens.cli", "serve", "--db", str(demo_db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url_line = proc.stdout.readline()
        assert url_line.startswith("chatlens serve: http://127.0.0.1:")
        url = url_line.split()[2]
        assert not url.endswith("/v1")  # the SDK's form: it adds /v1 itself
        tokens = {}
        for _ in range(2):
            parts = proc.stdout.readline().split()
            tokens[parts[1].rstrip(":")] = parts[-1]
        assert set(tokens) == {"acme-slack", "acme-teams"}
        r = requests.get(
            f"{url}/v1/accounts/me", headers={"Authorization": f"Bearer {tokens['acme-teams']}"}, timeout=10
        )
        assert r.json()["id"] == "acme-teams"
    finally:
        proc.send_signal(2)
        assert proc.wait(timeout=20) == 0


def test_unknown_query_parameters_are_400_not_ignored(server):
    body = check_error(call(server, "GET", "/v1/accounts/me/messaging/conversations?pagesize=100", server.slack), 400)
    assert "pagesize" in body["message"] and "page_size" in body["message"]


def test_serving_never_changes_the_backend_it_serves(demo_db):
    """One backend object served to every request (as ``chatlens serve --account`` does): a request's Host header
    sets nothing (hrefs are the bound address), and the object keeps answering in-process callers as before."""
    api = Workspace(demo_db).account("acme-slack")
    conv = api.list_conversations(page_size=1)["objects"][0]["id"]
    before = api.list_messages(conv, page_size=2)
    with ServerThread(lambda account_id: api) as srv:
        token = srv.issue("acme-slack")
        path = f"/v1/accounts/me/messaging/conversations/{conv}/messages"
        crafted = call(srv, "GET", path, token, params={"page_size": 2}, headers={"Host": "evil.example:1"})
        plain = call(srv, "GET", path, token, params={"page_size": 2})
    assert crafted.json()["objects"][0]["href"] == plain.json()["objects"][0]["href"]
    assert plain.json()["objects"][0]["href"].startswith(srv.url + "/v1/")
    assert api.href_base == "" and api.raw_as_json_fragment is False
    after = api.list_messages(conv, page_size=2)
    assert after == before and isinstance(after["objects"][0]["raw"], dict)


def test_member_and_sender_user_objects_carry_the_href_of_their_team_user(server):
    conv, msg = _ids(server)
    base = "/v1/accounts/me/messaging"
    users = f"{server.url}/v1/accounts/acme-slack/team/users/"
    listed = call(server, "GET", f"{base}/conversations?page_size=3", server.slack).json()["objects"]
    members = [m for c in listed for m in c["members"]]
    assert members and all(m["href"] == users + m["id"] for m in members)
    page = call(server, "GET", f"{base}/conversations/{conv}/members?page_size=5", server.slack).json()["objects"]
    assert page and all(m["href"] == users + m["id"] for m in page)
    message = call(server, "GET", f"{base}/messages/{msg}", server.slack).json()
    assert message["sender"]["href"] == users + message["sender"]["id"]
    # The href leads to that user.
    assert (
        call(server, "GET", message["sender"]["href"].removeprefix(server.url), server.slack).json()["id"]
        == (message["sender"]["id"])
    )
    posted = call(server, "POST", f"{base}/conversations/{conv}/messages", server.slack, json={"text": "hi"}).json()
    assert posted["sender"]["href"] == users + posted["sender"]["id"]
    events = call(server, "GET", "/v1/accounts/me/events?page_size=1000", server.slack).json()["objects"]
    mine = [e for e in events if e["metadata"].get("id") == posted["id"]]
    assert mine and mine[0]["metadata"]["sender"]["href"] == users + posted["sender"]["id"]
    # Derived when answering, never stored: the feed's stored objects carry no user href.
    stored = server.ws.db.execute("SELECT metadata FROM events WHERE object_id = ?", (posted["id"],)).fetchone()[0]
    assert "team/users" not in stored
