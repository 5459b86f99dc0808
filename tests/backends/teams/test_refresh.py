"""Thread-aware refresh of a Teams account (chatlens.threadsync through the Graph connector) on the fake Graph.

Graph inlines a channel post's replies when its roots are listed, so re-listing the roots younger than the window
refreshes those threads completely. Graph's listings and delta feeds give roots only, so a reply to an older thread
is found with the Microsoft Search API (the fake answers POST /search/query); without search permission it waits
for refresh="full", tested here as the documented limit.
"""

from __future__ import annotations

import random
import time

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
    assert spent * 2 < reload, (spent, reload)  # the roots of the last week, not the channel's 200 days


def test_a_reply_to_a_months_old_thread_is_found_by_search(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])  # ~197 days old
    before = dict(api.calls)
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    spent = {k: n - before.get(k, 0) for k, n in api.calls.items() if n - before.get(k, 0)}
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert "late reply" in set(refreshed["text"])
    # One search page, the week's roots and the named thread's replies (its root's key comes from the cache).
    assert spent.get("search") == 1 and spent.get("messages") == 1 and spent.get("replies") == 1, spent
    status = chatlens.loaders.load_thread_status(api, cache_dir=cache)
    assert len(status) == 150 and status["complete"].all()


def test_a_hit_without_a_thread_link_is_located_by_listing_the_channel(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph)
    graph.search_links = False  # hits as in the search doc's example: an Outlook link, no parentMessageId
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[100])
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert "late reply" in set(refreshed["text"])


def test_without_search_permission_an_old_thread_waits_for_a_full_refresh(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph)
    graph.search_forbidden = True  # a token without Chat.Read / ChannelMessage.Read.All
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert "late reply" not in set(refreshed["text"])  # the documented limit without search
    status = chatlens.loaders.load_thread_status(api, cache_dir=cache)
    assert len(status) == 150 and status["thread_id"].notna().all()
    full = chatlens.load_messages(api, cache_dir=cache, refresh="full", progress=False)
    assert "late reply" in set(full["text"])


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


def test_a_budget_counts_only_real_requests(graph, tmp_path):
    api, tenant, channel, _ = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "new root")
    # One request lists the week's roots with their replies inline: a budget of 2 is enough for everything.
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=2, progress=False)
    assert "new root" in set(refreshed["text"])


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


def test_a_budget_that_runs_out_leaves_a_marked_partial_result_the_next_refresh_completes(graph, tmp_path):
    from chatlens.loaders import RefreshIncompleteWarning

    api, tenant, channel, roots = _tenant(graph)
    other = graph.add_channel(tenant, TEAM, "19:random@thread.tacv2", name="random", created_us=NOW - 300 * DAY_US)
    old_root = graph.add_message(tenant, other, "U2", NOW - 100 * DAY_US, "old root in random")["id"]
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])
    graph.add_message(tenant, other, "U3", _later(2), "late reply in random", reply_to=old_root)
    # One search page, then general (most recently active first): its listing and the old thread's replies. The
    # budget is spent before random's turn.
    with pytest.warns(RefreshIncompleteWarning, match="budget"):
        partial = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=3, progress=False)
    assert "late reply" in set(partial["text"]) and "late reply in random" not in set(partial["text"])
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
    assert {"late reply", "late reply in random"} <= set(refreshed["text"])


def test_hits_without_thread_links_for_new_roots_cost_no_channel_listing(graph, tmp_path):
    api, tenant, channel, _ = _tenant(graph)
    graph.search_links = False  # a hit cannot say whether it is a root or a reply
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    for k in range(3):
        graph.add_message(tenant, channel, "U3", _later(k + 1), f"new root {k}")
    before = api.calls["messages"]
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert api.calls["messages"] - before == 1  # the listing that found them; they are not searched for again
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))


def test_a_searched_thread_whose_root_is_gone_does_not_stop_the_refresh(graph, tmp_path):
    api, tenant, channel, roots = _tenant(graph)
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])
    graph.add_message(tenant, channel, "U3", _later(2), "late reply 2", reply_to=roots[3])
    with graph.lock:  # roots[2] is gone for good (a retention policy); search still lists its reply (index lag)
        del channel.messages[roots[2]]
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert "late reply 2" in set(refreshed["text"]) and "late reply" not in set(refreshed["text"])


def test_search_ordered_by_modification_still_finds_every_reply(graph, tmp_path):
    """An edited older message ranks first when search orders by last modification: the search must not stop
    there, or the replies on later pages are lost."""
    api, tenant, channel, roots = _tenant(graph)
    graph.search_order = "modified"
    mine = graph.add_message(tenant, channel, "U1", _later(0) - 7_200_000_000, "sent two hours before the load")
    cache = str(tmp_path / "c")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    time.sleep(0.01)
    graph.add_message(tenant, channel, "U3", _later(1), "late reply", reply_to=roots[2])
    for k in range(30):  # more than a search page of newer messages
        graph.add_message(tenant, channel, "U2", _later(2) + k * 1000, f"new root {k}")
    api.update_message(_teams.message_id(CID, mine["id"]), text="edited after the load")
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert "late reply" in set(refreshed["text"])
    _same(refreshed, chatlens.load_messages(api, cache=False, progress=False))
