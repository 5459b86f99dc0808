"""Thread-aware refresh of a Teams account (chatlens.threadsync through the Graph connector) on the fake Graph.

Graph inlines a channel post's replies when its roots are listed, and documents no order for a channel's roots (the
fake lists them by last modification), so a refresh lists every root of a channel with its replies: it sees every
thread of any age, with no search. Chats are listed newest created first (``$orderby=createdDateTime desc``) down to
the window.
"""

from __future__ import annotations

import random
import time
import warnings

import pandas as pd
import pytest

import chatlens
from chatlens.backends.teams import TeamsChatAPI
from chatlens.backends.teams import wire as _teams
from chatlens.threadsync import DAY_US
from tests.fakes.graph import FakeGraph

NOW = time.time_ns() // 1000 // 1000 * 1000
TEAM, CHANNEL = "team-1", "19:general@thread.tacv2"
CID = _teams.channel_conversation_id(TEAM, CHANNEL)
COLUMNS = ["id", "sender_id", "created", "modified", "text", "parent", "thread_id"]


@pytest.fixture
def graph():
    with FakeGraph(expand_cap=3) as fake:
        yield fake


def _tenant(graph: FakeGraph, **api_options):
    token, tenant = graph.add_tenant(me="U1")
    for uid in ("U1", "U2", "U3"):
        graph.add_user(tenant, uid, uid.lower(), f"{uid.lower()}@example.com")
    graph.add_team(tenant, TEAM, "Acme", ["U1", "U2", "U3"], owners=["U1"])
    channel = graph.add_channel(tenant, TEAM, CHANNEL, name="general", created_us=NOW - 300 * DAY_US)
    roots = []
    for i in range(150):  # over 200 days: three Graph pages of roots
        at = NOW - 200 * DAY_US + i * (200 * DAY_US // 150)
        root = graph.add_message(tenant, channel, "U2", at, f"root {i}")
        roots.append(root["id"])
        for k in range(i % 3):
            graph.add_message(tenant, channel, "U1", at + (k + 1) * 60_000_000, f"re {i}.{k}", reply_to=root["id"])
    api = TeamsChatAPI(token, base_url=graph.url, admin=True, **({"retries": 0} | api_options))
    return api, tenant, channel, roots


def _later(seconds: int) -> int:
    """A time after the loads so far (new activity is posted after the cache it refreshes)."""
    return time.time_ns() // 1000 // 1000 * 1000 + seconds * 1_000_000


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a[COLUMNS].astype(str), b[COLUMNS].astype(str))


def test_refresh_catches_recent_threads_edits_and_deletions(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    recent = roots[-1]  # a thread started within the window, with replies
    graph.add_message(tenant, channel, "U3", _later(1), "new root")
    mine = graph.add_message(tenant, channel, "U1", _later(2), "to be edited", reply_to=recent)
    gone = graph.add_message(tenant, channel, "U1", _later(3), "to be deleted", reply_to=recent)
    graph.add_message(tenant, channel, "U2", _later(4), "new reply", reply_to=recent)
    api.update_message(_teams.message_id(CID, mine["id"], recent), text="edited")
    api.delete_message(_teams.message_id(CID, gone["id"], recent))

    def message_calls():
        return api.calls["messages"] + api.calls["replies"]

    before = message_calls()
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    spent = message_calls() - before
    before = message_calls()
    full = chatlens.load_messages(api, cache=False, progress=False)
    reload = message_calls() - before
    _same(refreshed, full)
    texts = set(refreshed["text"])
    assert {"new root", "edited", "new reply"} <= texts and not {"to be edited", "to be deleted"} & texts
    assert spent <= reload, (spent, reload)  # a channel's refresh lists its roots as a reload does


def test_a_reply_to_a_months_old_thread_is_seen_with_no_search(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])  # ~197 days old
    old = channel.messages[roots[5]]
    graph.edit(tenant, old, "an old root edited")
    graph.soft_delete(tenant, channel.replies[roots[8]][next(iter(channel.replies[roots[8]]))])
    before = dict(api.calls)
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    spent = {k: n - before.get(k, 0) for k, n in api.calls.items() if n - before.get(k, 0)}
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert {"late reply", "an old root edited"} <= set(refreshed["text"])
    assert "search" not in spent and spent.get("messages") == 3, spent  # the channel's three pages of roots
    status = chatlens.loaders.load_thread_status(api, cache_dir=cache)
    assert len(status) == 150 and status["complete"].all()


def test_a_soft_deleted_root_with_replies_is_their_threads_tombstone_in_a_load_and_a_refresh(graph, tmp_path):
    """Graph keeps listing a soft-deleted message (``deletedDateTime`` set, body empty) and a channel root's
    replies with it: a root deleted while it has live replies stays as its thread's tombstone (no text,
    ``is_system``, subtype ``tombstone``, as on Slack and the embedded workspace), so its replies keep their root;
    one without live replies goes. A full load and a refresh agree."""
    api, tenant, channel, roots = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.soft_delete(tenant, channel.messages[roots[2]])  # ~197 days old, with two replies
    graph.soft_delete(tenant, channel.messages[roots[3]])  # no replies
    graph.soft_delete(tenant, channel.messages[roots[4]])  # one reply, deleted too: gone with it
    graph.soft_delete(tenant, next(iter(channel.replies[roots[4]].values())))
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    full = chatlens.load_messages(api, cache=False, progress=False)
    _same(refreshed, full)
    for frame in (refreshed, full):
        assert not {"root 2", "root 3", "root 4", "re 4.0"} & set(frame["text"])
        tombstone_id = _teams.message_id(CID, roots[2])
        tombstone = frame[frame["id"] == tombstone_id]
        shown = tombstone[["text", "is_system", "subtype", "is_reply"]].values.tolist()
        assert shown == [["", True, "tombstone", False]]
        replies = frame[frame["parent"] == tombstone_id]
        assert sorted(replies["text"]) == ["re 2.0", "re 2.1"] and set(replies["thread_id"]) == {tombstone_id}
        assert not frame["id"].isin([_teams.message_id(CID, roots[3]), _teams.message_id(CID, roots[4])]).any()
    page = api.list_messages(CID, page_size=1000)["objects"]
    assert [m["subtype"] for m in page if m["id"] == tombstone_id] == ["tombstone"]


def test_a_chat_refresh_lists_what_changed_since_the_last_one_of_any_age(graph, tmp_path):
    """A chat is refreshed by the one listing chat-list-messages documents for it: ``$orderby=lastModifiedDateTime
    desc&$filter=lastModifiedDateTime gt`` the last refresh, so an edit, a reaction or a soft delete of a message
    months old is seen (they were the limits OLD_CHAT_EDIT and OLD_CHAT_DELETE while chats were listed newest
    created first down to the window), and a refresh with nothing new costs one request per chat."""
    api, tenant, _, _ = _tenant(graph)
    chat = graph.add_chat(
        tenant, "19:chat@thread.v2", topic="chat", chat_type="group", created_us=NOW - 300 * DAY_US,
        members=["U1", "U2", "U3"],
    )  # fmt: skip
    sent = [graph.add_message(tenant, chat, "U2", NOW - (200 - i) * DAY_US, f"chat {i}") for i in range(120)]
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.edit(tenant, sent[3], "chat 3, edited")  # about 197 days old
    graph.soft_delete(tenant, sent[4])
    graph.react(tenant, sent[5], "U3")
    graph.add_message(tenant, chat, "U3", _later(1), "new in the chat")
    graph.calls.clear()
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    listings = [p for _, p in graph.calls if p == "/chats/19:chat@thread.v2/messages"]
    assert len(listings) == 1  # the three changes and the new message in one page
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert {"chat 3, edited", "new in the chat"} <= set(refreshed["text"]) and "chat 4" not in set(refreshed["text"])
    status = chatlens.loaders.load_thread_status(api, cache_dir=cache)
    in_chat = status[status["conversation_id"] == _teams.chat_conversation_id("19:chat@thread.v2")]
    assert len(in_chat) == 120 and in_chat["complete"].all()  # every message checked: changes of any age listed
    graph.calls.clear()
    chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert len([p for _, p in graph.calls if p == "/chats/19:chat@thread.v2/messages"]) == 1  # nothing new


@pytest.mark.parametrize("seed", [1, 2])
def test_any_sequence_of_refreshes_equals_a_fresh_load(graph, tmp_path, seed):
    """Random rounds of new roots, replies to old and recent threads, and edits and deletions within the window
    (older edits need refresh="full", as documented)."""
    rng = random.Random(seed)
    api, tenant, channel, roots = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    at = _later(0)
    mine: list[tuple[str, str]] = []  # (reply id, root id) sent by U1 within the window, for edits and deletions
    for _round in range(3):
        at = max(at, _later(0))
        for _ in range(rng.randint(2, 6)):
            at += 1_000_000
            kind = rng.choice(["root", "old reply", "recent reply", "edit", "delete"])
            if kind == "root":
                roots.append(graph.add_message(tenant, channel, "U2", at, f"root at {at}")["id"])
            elif kind in ("old reply", "recent reply"):
                root = rng.choice(roots[:100] if kind == "old reply" else roots[-5:])
                reply = graph.add_message(tenant, channel, "U1", at, f"reply at {at}", reply_to=root)
                if kind == "recent reply":
                    mine.append((reply["id"], root))
            elif mine:
                reply_id, root = mine.pop(rng.randrange(len(mine)))
                mid = _teams.message_id(CID, reply_id, root)
                if kind == "edit":
                    api.update_message(mid, text=f"edited at {at}")
                else:
                    api.delete_message(mid)
        refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
        _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))


def test_a_budget_counts_the_listing_and_a_big_enough_one_finishes(graph, tmp_path):
    api, tenant, channel, _ = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "new root")
    before = dict(api.calls)
    chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    cost = sum(n - before.get(k, 0) for k, n in api.calls.items())  # listing the channel, its members, 3 pages
    graph.add_message(tenant, channel, "U3", _later(2), "newer root")
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=cost, progress=False)
    assert "newer root" in set(refreshed["text"])


def test_graphs_per_channel_throttle_makes_a_refresh_slower_not_wrong(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph, retries=8, backoff_factor=0)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U2", _later(1), "new reply", reply_to=roots[-1])
    graph.throttle(interval=0.3, retry_after=1)  # Graph: about one request a second per channel, scaled down
    started = time.monotonic()
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert time.monotonic() - started >= 0.9  # at least one 429 was waited out (Retry-After: 1)
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert "new reply" in set(refreshed["text"])


def test_a_budget_that_runs_out_leaves_a_marked_partial_result_that_later_refreshes_complete(graph, tmp_path):
    """With a budget that pays for the listing and general (three pages of roots), each refresh reaches the
    channels the last one left behind first, so refreshes converge (the plan's order by recent activity put the
    same channel first every time, issue 19)."""
    from chatlens.loaders import RefreshIncompleteWarning

    api, tenant, channel, roots = _tenant(graph)
    others = [
        graph.add_channel(tenant, TEAM, f"19:c{k}@thread.tacv2", name=f"c{k}", created_us=NOW - 300 * DAY_US)
        for k in range(3)
    ]
    for k, other in enumerate(others):
        graph.add_message(tenant, other, "U2", NOW - (100 + k) * DAY_US, f"old root in c{k}")
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])
    for k, other in enumerate(others):
        graph.add_message(tenant, other, "U3", _later(2 + k), f"new in c{k}")
    before = dict(api.calls)
    with pytest.warns(RefreshIncompleteWarning, match="budget"):
        chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=1, progress=False)
    listing = sum(n - before.get(k, 0) for k, n in api.calls.items())  # listing the channels and members
    rounds = 0
    while True:
        rounds += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RefreshIncompleteWarning)
            refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=listing + 3, progress=False)
        if {"late reply", "new in c0", "new in c1", "new in c2"} <= set(refreshed["text"]) or rounds == 6:
            break
    assert rounds <= 5, rounds
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))


def test_a_channel_costing_three_budgets_completes_in_a_bounded_number_of_refreshes(graph, tmp_path):
    """A refresh that runs out of budget part-way through a channel's roots keeps the pages it listed (with their
    replies) and the next one continues from its cursor: a channel whose listing costs three whole budgets
    completes after a bounded number of refreshes and equals a full load, a soft-deleted old root included (said
    so by Graph's listing, not inferred from its absence across refreshes)."""
    from chatlens.loaders import RefreshIncompleteWarning

    api, tenant, channel, roots = _tenant(graph)
    for i in range(900):  # 1,050 roots in all: 21 Graph pages of 50
        graph.add_message(tenant, channel, "U3", NOW - 250 * DAY_US + i * 1_000_000, f"older root {i}")
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "new root")
    graph.add_message(tenant, channel, "U2", _later(2), "late reply to an old thread", reply_to=roots[2])
    graph.edit(tenant, channel.messages[roots[7]], "root 7, edited")
    graph.soft_delete(tenant, channel.messages[roots[9]])  # an old root without replies: gone
    graph.soft_delete(tenant, channel.messages[roots[5]])  # with replies: their thread's tombstone
    before = dict(api.calls)
    with pytest.warns(RefreshIncompleteWarning, match="budget"):
        chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=1, progress=False)
    listing = sum(n - before.get(k, 0) for k, n in api.calls.items())  # listing the channels and members
    budget = listing + 3
    assert 3 * budget <= 21, budget
    rounds = 0
    while True:
        rounds += 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RefreshIncompleteWarning)
            refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=budget, progress=False)
        if not any(issubclass(w.category, RefreshIncompleteWarning) for w in caught) or rounds == 12:
            break
    assert rounds <= 7 + 1, rounds  # 21 pages, 3 a round
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert {"new root", "late reply to an old thread", "root 7, edited"} <= set(refreshed["text"])
    assert "root 9" not in set(refreshed["text"])
    tombstone = refreshed[refreshed["id"] == _teams.message_id(CID, roots[5])]
    assert tombstone[["text", "is_system", "subtype"]].values.tolist() == [["", True, "tombstone"]]
