"""The Slack connector against the fake Slack Web API (tests/fakes/slack.py) over real HTTP on loopback.

The contract suite runs it too (tests/contract/conftest.py); these tests cover what is Slack's own: threads
fetched through conversations.replies, Slack's rate limits, error codes, archiving, and serving it.
"""

from __future__ import annotations

import logging
import os

import pytest

import chatlens
from chatlens.backends.slack.webapi import SlackChatAPI, raise_for_slack_error
from chatlens.chatapi import iter_items, iter_pages
from chatlens.errors import AuthenticationError, InvalidRequest, NotFound, PermissionDenied, RateLimited
from tests.fakes.slack import FakeSlack, ts_from_us

T0 = 1_767_600_000_000_000


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def _workspace(slack: FakeSlack, *, roots: int = 6, admin: bool = False):
    """A workspace with channel C1: ``roots`` root messages one second apart; root 1 has three replies posted
    after every root (so a thread is newer than later roots); root 3 has one reply."""
    token, team = slack.add_team(user_id="U1", admin=admin)
    for uid, name in (("U1", "ada"), ("U2", "grace"), ("U3", "linus")):
        slack.add_user(team, uid, name, f"{name}@example.com")
    slack.add_channel(team, "C1", name="general", kind="channel", created_us=T0, members=["U1", "U2", "U3"])
    ts = [ts_from_us(T0 + i * 1_000_000) for i in range(roots)]
    for i, t in enumerate(ts):
        slack.add_message(team, "C1", "U2" if i % 2 else "U1", t, f"root {i}")
    for k in range(3):
        slack.add_message(team, "C1", "U3", ts_from_us(T0 + (roots + k) * 1_000_000), f"reply {k}", ts[1])
    slack.add_message(team, "C1", "U1", ts_from_us(T0 + 3_500_000), "reply to 3", ts[3])
    return token, team, ts


def test_threads_are_listed_replies_before_their_root(slack):
    token, _, ts = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url)
    texts = [m["text"] for m in iter_items(api.list_messages, "C1", page_size=1000)]
    assert texts == [
        "root 5",
        "root 4",
        "reply to 3",
        "root 3",
        "root 2",
        "reply 2",
        "reply 1",
        "reply 0",
        "root 1",
        "root 0",
    ]
    everything = list(iter_items(api.list_messages, "C1", page_size=1000))
    assert {m["parent"] for m in everything if m["text"][:-1] == "reply "} == {f"C1-{ts[1]}"}
    # Every page size splits threads somewhere; the walk is the same.
    for size in (1, 2, 3, 4, 7):
        assert [m["id"] for m in iter_items(api.list_messages, "C1", page_size=size)] == [m["id"] for m in everything]


def test_a_reply_to_a_reply_joins_the_thread_root(slack):
    token, _, ts = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url)
    reply = next(m for m in iter_items(api.list_messages, "C1") if m["text"] == "reply 0")
    answer = api.create_message("C1", text="and another", parent=reply["id"])
    assert answer["parent"] == f"C1-{ts[1]}"  # Slack threads are one level deep
    assert api.retrieve_message(answer["id"])["text"] == "and another"
    assert api.retrieve_message(reply["id"])["parent"] == f"C1-{ts[1]}"  # a reply is found through replies


def test_rate_limited_app_loads_slowly_but_completely(slack):
    """The 2025 limits on non-Marketplace apps (history and replies: `limit` capped at 15, one call a minute),
    scaled to one call a second: loading takes longer and every message arrives exactly once."""
    token, _, _ = _workspace(slack, roots=20)
    slack.throttle("conversations.history", interval=1.0, retry_after=1, limit_cap=15)
    slack.throttle("conversations.replies", interval=1.0, retry_after=1, limit_cap=15)
    api = SlackChatAPI(token, base_url=slack.url)
    pages = list(iter_pages(api.list_messages, "C1", page_size=100))
    ids = [m["id"] for p in pages for m in p["objects"]]
    assert len(ids) == len(set(ids)) == 24
    history = [c for c in slack.calls if c[1] == "conversations.history"]
    assert len(history) >= 3  # two windows of at most 15 roots, and at least one 429 waited out


def test_loaders_read_the_connector(slack, tmp_path):
    token, _, _ = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url)
    frame = chatlens.load_messages(api, cache_dir=str(tmp_path), progress=False)
    assert len(frame) == 10
    assert frame["created"].dt.tz is not None
    assert (frame["parent"] != "").sum() == 4


def test_transient_429_is_waited_out_and_a_post_is_sent_once(slack):
    token, _, _ = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url, backoff_factor=0)
    api.list_conversations()  # warm up auth.test and users.list
    slack.fail_next(2, method="chat.postMessage", status=429, retry_after=0)
    msg = api.create_message("C1", text="posted once")
    posts = [c for c in slack.calls if c[1] == "chat.postMessage"]
    assert len(posts) == 3  # two 429s, then the one that posted
    assert [m["text"] for m in iter_items(api.list_messages, "C1")].count("posted once") == 1
    assert msg["sender"]["id"] == "U1"


def test_rate_limit_that_does_not_end_raises_rate_limited(slack):
    token, _, _ = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url, retries=1, backoff_factor=0)
    slack.fail_next(5, status=429, retry_after=0)
    with pytest.raises(RateLimited):
        api.list_conversations()


def test_slack_errors_keep_slacks_code(slack):
    with pytest.raises(PermissionDenied, match="not_in_channel") as err:
        raise_for_slack_error("conversations.history", {"ok": False, "error": "not_in_channel"})
    assert err.value.error_code == "not_in_channel"
    with pytest.raises(PermissionDenied, match="needs scope channels:history"):
        raise_for_slack_error(
            "conversations.history", {"ok": False, "error": "missing_scope", "needed": "channels:history"}
        )
    with pytest.raises(InvalidRequest, match="invalid_cursor"):
        raise_for_slack_error("conversations.list", {"ok": False, "error": "invalid_cursor"})

    api = SlackChatAPI("xoxp-wrong", base_url=slack.url)
    with pytest.raises(AuthenticationError, match="invalid_auth") as auth:
        api.list_conversations()
    assert "xoxp-wrong" not in str(auth.value) and "xoxp-wrong" not in repr(api)


def test_token_never_in_reprs_errors_or_logs(slack, caplog):
    token, _, _ = _workspace(slack)
    caplog.set_level(logging.DEBUG)
    api = SlackChatAPI(token, base_url=slack.url)
    api.list_messages("C1")
    with pytest.raises(NotFound) as err:
        api.retrieve_message("C1-1.000001")
    texts = [repr(api), str(err.value), repr(err.value), repr(api.session.auth), caplog.text, api.identity]
    assert not any(token in t for t in texts)


def test_archive_is_delete(slack):
    token, _, _ = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url)
    conv = api.create_conversation(name="launch", private=True)
    assert conv["private"] is True and conv["id"].startswith("G")
    api.delete_conversation(conv["id"])
    with pytest.raises(NotFound, match="archived"):
        api.retrieve_conversation(conv["id"])
    assert conv["id"] not in {c["id"] for c in iter_items(api.list_conversations)}
    with pytest.raises(InvalidRequest, match="name.*invalid_name_specials"):
        api.create_conversation(name="Not A Slack Name")
    with pytest.raises(InvalidRequest, match="private"):
        api.update_conversation("C1", private=True)


def test_raw_carries_post_message_fields_only(slack):
    token, _, _ = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    msg = api.create_message("C1", text="hi", raw={"blocks": blocks})
    assert msg["raw"]["blocks"] == blocks
    with pytest.raises(InvalidRequest, match="raw.*ts"):
        api.create_message("C1", text="hi", raw={"ts": "1.0"})
    with pytest.raises(InvalidRequest, match="sender.*U2"):
        api.create_message("C1", text="hi", sender="U2")


def test_others_messages_need_an_admin(slack):
    token, _, ts = _workspace(slack)
    api = SlackChatAPI(token, base_url=slack.url)
    with pytest.raises(PermissionDenied, match="cant_update_message"):
        api.update_message(f"C1-{ts[1]}", text="not mine")  # root 1 was posted by U2


def test_connect_and_serve_a_slack_account(slack, tmp_path, monkeypatch):
    from chatlens.backends.http import HttpChatAPI
    from chatlens.server import ServerThread

    token, team, _ = _workspace(slack)
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(f'[accounts.work]\ntype = "slack"\nbase_url = "{slack.url}"\ntoken_env = "SLACK_TEST_TOKEN"\n')
    monkeypatch.setenv("SLACK_TEST_TOKEN", token)
    api = chatlens.connect("work")
    assert isinstance(api, SlackChatAPI) and api.account_id == team.id
    with ServerThread(lambda account_id: api) as server:
        remote = HttpChatAPI(server.url, team.id, server.issue(team.id))
        assert remote.service == "slack"
        local = [m["id"] for m in iter_items(api.list_messages, "C1")]
        assert [m["id"] for m in iter_items(remote.list_messages, "C1", page_size=3)] == local
        with pytest.raises(PermissionDenied, match="activity feed"):
            remote.list_events()


# -- the fake follows Slack's method documentation (issue 19) ------------------------------------------------------
# Published examples replayed as fixtures: conversations.replies' response example in slackapi/slack-api-specs
# (web-api/slack_web_openapi_v2.json, "island"), and the thread_broadcast subtype page's example message
# (https://docs.slack.dev/reference/events/message/thread_broadcast).
ISLAND = [
    {"type": "message", "user": "U061F7AUR", "text": "island", "ts": "1482960137.003543"},
    {"type": "message", "user": "U061F7AUR", "text": "one island", "ts": "1483037603.017503"},
    {"type": "message", "user": "U061F7AUR", "text": "two island", "ts": "1483051909.018632"},
    {"type": "message", "user": "U061F7AUR", "text": "three for the land", "ts": "1483125339.020269"},
]
BROADCAST = {"root": "1673464730.703009", "reply": "1673464745.620769", "text": "broadcasting this reply"}


def _documented(slack: FakeSlack):
    token, team = slack.add_team(user_id="U123ABC456", admin=True)
    slack.add_user(team, "U061F7AUR", "island-person")
    slack.add_channel(team, "C1", name="general", kind="channel", created_us=T0, members=["U123ABC456", "U061F7AUR"])
    root, *replies = ISLAND
    slack.add_message(team, "C1", root["user"], root["ts"], root["text"])
    for r in replies:
        slack.add_message(team, "C1", r["user"], r["ts"], r["text"], root["ts"])
    slack.add_message(team, "C1", "U123ABC456", BROADCAST["root"], "This is the original message")
    slack.add_message(
        team, "C1", "U123ABC456", BROADCAST["reply"], BROADCAST["text"], BROADCAST["root"], broadcast=True
    )
    return SlackChatAPI(token, base_url=slack.url, retries=0), team


def test_the_published_examples_replay_through_the_connector(slack):
    api, _ = _documented(slack)
    body = api._call("conversations.replies", channel="C1", ts=ISLAND[0]["ts"])
    # The parent first, with the example's reply_count, then the replies oldest first, as in the example.
    assert [m["text"] for m in body["messages"]] == [m["text"] for m in ISLAND]
    assert body["messages"][0]["reply_count"] == 3 and body["response_metadata"]["next_cursor"] == ""
    history = api._call("conversations.history", channel="C1")["messages"]
    # Newest first, parents and the broadcast only; the broadcast carries its parent in root (the subtype page).
    assert [m["ts"] for m in history] == [BROADCAST["reply"], BROADCAST["root"], ISLAND[0]["ts"]]
    assert history[0]["subtype"] == "thread_broadcast" and history[0]["root"]["reply_count"] == 1
    texts = [m["text"] for m in iter_items(api.list_messages, "C1", page_size=2)]
    assert texts.count(BROADCAST["text"]) == 1 and len(texts) == 6
    assert "root" not in api.thread_replies("C1", BROADCAST["root"])[0].raw  # one object, whichever listing


def test_history_pages_and_windows_as_documented(slack):
    """https://docs.slack.dev/reference/methods/conversations.history: cursor paging (next_cursor empty at the
    end), oldest/latest exclusive unless inclusive."""
    api, _ = _documented(slack)
    seen, cursor = [], None
    while True:
        body = api._call("conversations.history", channel="C1", limit=1, cursor=cursor)
        seen += [m["ts"] for m in body["messages"]]
        cursor = body["response_metadata"]["next_cursor"]
        assert body["has_more"] == bool(cursor)
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 3
    lo, hi = ISLAND[0]["ts"], BROADCAST["reply"]
    window = api._call("conversations.history", channel="C1", oldest=lo, latest=hi)["messages"]
    assert [m["ts"] for m in window] == [BROADCAST["root"]]
    both = api._call("conversations.history", channel="C1", oldest=lo, latest=hi, inclusive="true")["messages"]
    assert [m["ts"] for m in both] == [hi, BROADCAST["root"], lo]
    with pytest.raises(InvalidRequest, match="invalid_cursor"):
        api._call("conversations.history", channel="C1", cursor="bm90IGEgY3Vyc29y")


def test_a_root_deleted_with_replies_is_a_tombstone_until_its_last_reply_goes(slack):
    api, team = _documented(slack)
    api._call("chat.delete", write=True, channel="C1", ts=ISLAND[0]["ts"])
    parent = api._call("conversations.replies", channel="C1", ts=ISLAND[1]["ts"])["messages"][0]
    assert (parent["subtype"], parent["text"], parent["reply_count"]) == ("tombstone", "This message was deleted.", 3)
    for reply in ISLAND[1:]:
        api._call("chat.delete", write=True, channel="C1", ts=reply["ts"])
    assert ISLAND[0]["ts"] not in team.channels["C1"].messages
    with pytest.raises(NotFound, match="thread_not_found"):
        api._call("conversations.replies", channel="C1", ts=ISLAND[0]["ts"])


def test_rate_limits_are_per_method(slack):
    """https://docs.slack.dev/apis/web-api/rate-limits: limits are per method; a 429 names when to retry."""
    api, _ = _documented(slack)
    slack.throttle("conversations.replies", interval=60, retry_after=7)
    api._call("conversations.replies", channel="C1", ts=ISLAND[0]["ts"])
    with pytest.raises(RateLimited) as err:
        api._call("conversations.replies", channel="C1", ts=ISLAND[0]["ts"])
    assert err.value.retry_after == 7
    assert api._call("conversations.history", channel="C1")["messages"]  # another method is not held back
