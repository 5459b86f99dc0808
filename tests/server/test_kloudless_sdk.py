"""The Kloudless Python SDK (``kloudless`` 2.0.1, the service's own client) against ``chatlens serve`` on loopback:
every Chat API, Team API and Activity API operation through the SDK's public calls, as a new user would write
them, paging to the end exactly once, and errors raised as the SDK's own exception classes (issue 23, item 12)."""

from __future__ import annotations

import kloudless  # a test dependency (pyproject's test extra): never skipped
import pytest
from kloudless import exceptions as sdk_errors

from chatlens.backends.sqlite import Workspace
from chatlens.chatapi import iter_items
from chatlens.server import ServerThread
from tests.contract.conftest import seed_account


@pytest.fixture
def sdk(tmp_path):
    """An SDK account on a fresh seeded workspace: the README's three lines, and the requests it sends."""
    ws = Workspace(tmp_path / "w.sqlite")
    account_id = seed_account(ws, "slack", False)
    before = dict(kloudless.configuration)
    with ServerThread(ws.account, rate_limit=1000) as server:
        token = server.issue(account_id)
        kloudless.configuration["base_url"] = server.url  # as chatlens serve prints it: the SDK adds /v1
        account = kloudless.Account(token=token)  # account_id stays "me"
        sent: list[str] = []
        account.hooks["response"].append(lambda r, *a, **k: sent.append(f"{r.request.method} {r.request.url}"))
        yield account, ws.account(account_id), server, sent
        kloudless.configuration.clear()
        kloudless.configuration.update(before)


def _walk(listing):
    return [r.data for r in listing.get_paging_iterator()]


def test_the_sdk_lists_every_object_once_across_pages(sdk):
    account, api, _server, sent = sdk
    conversations = _walk(account.get("messaging/conversations", params={"page_size": 1}))
    expected = list(iter_items(api.list_conversations, page_size=1000))
    assert [c["id"] for c in conversations] == [c["id"] for c in expected]
    assert len(sent) == len(expected)  # one request per page of one, and no request after the last page
    cid = next(c["id"] for c in conversations if "list_messages" in api.rules.allowed)
    messages = _walk(account.get(f"messaging/conversations/{cid}/messages", params={"page_size": 2}))
    assert [m["id"] for m in messages] == [m["id"] for m in iter_items(api.list_messages, cid, page_size=1000)]
    members = account.get(f"messaging/conversations/{cid}/members", params={"page_size": 1})
    listed = list(members.get_paging_iterator())
    assert [m.data["id"] for m in listed] == [m["id"] for m in iter_items(api.list_members, cid, page_size=1000)]
    # Each member's URL is its Team API user (the SDK builds .../members/<id> from an object without an href).
    listed[0].refresh()
    assert listed[0].data["type"] == "user" and listed[0].url.endswith(f"/team/users/{listed[0].data['id']}")


def test_the_sdk_creates_reads_updates_and_deletes_conversations_and_messages(sdk):
    account, api, _server, _sent = sdk
    conv = account.post("messaging/conversations", json={"name": "from-the-sdk"})
    assert conv.data["name"] == "from-the-sdk" and conv.url == conv.data["href"]
    renamed = conv.patch(json={"name": "renamed-by-the-sdk"})
    assert renamed.data["name"] == "renamed-by-the-sdk"
    conv.refresh()
    assert conv.data["name"] == "renamed-by-the-sdk"
    msg = account.post(f"messaging/conversations/{conv.data['id']}/messages", json={"text": "hello from the sdk"})
    assert msg.data["sender"]["id"] == api.user_id and msg.data["sender"]["href"].endswith(f"/team/users/{api.user_id}")
    reply = account.post(
        f"messaging/conversations/{conv.data['id']}/messages", json={"text": "a reply", "parent": msg.data["id"]}
    )
    assert reply.data["parent"] == msg.data["id"]
    assert msg.patch(json={"text": "edited by the sdk"}).data["text"] == "edited by the sdk"
    msg.refresh()
    assert msg.data["text"] == "edited by the sdk" and msg.data["modified"] is not None
    reply.delete()
    with pytest.raises(sdk_errors.NotFoundException):
        reply.refresh()
    msg.delete()
    conv.delete()
    with pytest.raises(sdk_errors.NotFoundException):
        account.get(f"messaging/conversations/{conv.data['id']}")


def test_the_sdk_reads_the_team_api(sdk):
    account, api, _server, _sent = sdk
    users = list(account.get("team/users", params={"page_size": 2}).get_paging_iterator())
    assert [u.data["id"] for u in users] == [u["id"] for u in iter_items(api.list_users, page_size=1000)]
    users[0].refresh()
    assert users[0].data["id"] == api.list_users(page_size=1)["objects"][0]["id"]
    groups = list(account.get("team/groups").get_paging_iterator())
    assert groups, "the seed has user groups"
    members = _walk(account.get(f"team/groups/{groups[0].data['id']}/members", params={"page_size": 1}))
    assert [m["id"] for m in members] == [
        m["id"] for m in iter_items(api.list_group_members, groups[0].data["id"], page_size=1000)
    ]


def test_the_sdk_follows_the_activity_feed_to_its_end_and_keeps_the_cursor(sdk):
    account, _api, _server, _sent = sdk
    start = account.get("events/latest").data["cursor"]
    conv = account.post("messaging/conversations", json={"name": "watched"})
    for k in range(3):
        account.post(f"messaging/conversations/{conv.data['id']}/messages", json={"text": f"event {k}"})
    listing = account.get("events", params={"cursor": start, "page_size": 2})
    events = [e.data for e in listing.get_paging_iterator()]
    assert [(e["type"], e["object_type"]) for e in events] == [("add", "conversation")] + [("add", "message")] * 3
    assert listing.latest_cursor == account.get("events/latest").data["cursor"]  # where to resume next time
    nothing = account.get("events", params={"cursor": listing.latest_cursor})
    assert [e for e in nothing.get_paging_iterator()] == []


def test_errors_arrive_as_the_sdks_exception_classes(sdk):
    account, _api, _server, _sent = sdk
    with pytest.raises(sdk_errors.AuthorizationException):
        kloudless.Account(token="not-a-token").get("messaging/conversations")
    with pytest.raises(sdk_errors.ForbiddenException):
        kloudless.Account(token=account.token, account_id="someone-else").get("messaging/conversations")
    with pytest.raises(sdk_errors.NotFoundException):
        account.get("messaging/conversations/CNOPE")
    with pytest.raises(sdk_errors.APIException) as bad:
        account.get("messaging/conversations", params={"page_size": 0})
    assert bad.value.response.status_code == 400 and "page_size" in bad.value.response.json()["message"]
    with pytest.raises(sdk_errors.APIException) as refused:  # a Slack account takes no members on create
        account.post("messaging/conversations", json={"name": "x", "members": ["U2"]})
    assert refused.value.response.json()["error_code"] == "invalid_parameters"


def test_a_rate_limited_server_raises_the_sdks_rate_limit_exception(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    account_id = seed_account(ws, "slack", False)
    before = dict(kloudless.configuration)
    try:
        with ServerThread(ws.account, rate_limit=0.5) as server:
            kloudless.configuration["base_url"] = server.url
            account = kloudless.Account(token=server.issue(account_id))
            account.get("messaging/conversations")
            with pytest.raises(sdk_errors.RateLimitException) as caught:
                account.get("messaging/conversations")
            assert float(caught.value.response.headers["Retry-After"]) > 0
    finally:
        kloudless.configuration.clear()
        kloudless.configuration.update(before)
