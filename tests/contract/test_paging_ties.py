"""Keyset paging where sort keys tie: every paged listing, on the SQLite backend and on the HTTP client against
``chatlens serve``, at page sizes 1, 2, 7 and 1000.

The contract seed gives every object its own ``created``, and its member, group and group-member listings are
paged at one size only, so a listing that breaks ties wrongly (a token without the id, an ORDER BY without it, a
token taken from the wrong row) would pass it. Here several conversations and messages share a ``created`` and are
inserted in an order unlike their ids, and each listing holds ``N`` objects, 14 (every page size but 1000 divides
it: the last page is full and must say no more follow) or 15 (it does not). Walking the pages one token at a time,
each listing must give every object exactly once, in the order one page of 1,000 gives, which is the documented
order (conversations oldest first, messages newest first, ties by id the same way; users, groups and members by
id), every page but the last full and carrying a ``next_page``, and the last one without it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chatlens.backends.sqlite import Workspace
from chatlens.chatapi import ChatAPI

T0 = 1_767_600_000_000_000  # 2026-01-05T08:00:00Z in microseconds
SIZES = (14, 15)
PAGE_SIZES = (1, 2, 7, 1000)
TIE = 5  # objects per shared ``created``: pages of 2 and 7 end inside a run of ties


@dataclass(frozen=True)
class Seeded:
    """One account's objects, as inserted, and the order each listing must give them in."""

    account_id: str
    n: int
    conversation: str  # the conversation holding every user and the ``n`` messages
    group: str  # the group holding every user
    expected: dict[str, list[str]]  # listing name -> ids in listing order
    inserted: dict[str, list[str]]  # listing name -> ids in insertion order


def _seed(ws: Workspace, n: int, rng: random.Random) -> Seeded:
    aid = f"ties-{n}"
    ws.add_account(aid, service="slack", name=aid, user_id="U00")
    # Ids whose order differs from the insertion order (shuffled) and from the created order (drawn at random).
    users = [f"U{i:02d}" for i in range(n)]
    rng.shuffle(users)
    ws.add_users(aid, [{"id": u, "name": f"user {u}", "email": f"{u.lower()}@example.com"} for u in users])
    conv_ids = rng.sample([f"C{i:03d}" for i in range(100)], n)
    conv_created = {c: T0 + k // TIE for k, c in enumerate(rng.sample(conv_ids, n))}
    ws.add_conversations(
        aid,
        [
            {"id": c, "name": f"room-{c.lower()}", "private": False, "kind": "channel", "created": conv_created[c]}
            | ({"members": users} if k == 0 else {})
            for k, c in enumerate(conv_ids)
        ],
    )
    conversation = conv_ids[0]
    msg_ids = rng.sample([f"M{i:03d}" for i in range(100)], n)
    msg_created = {m: T0 + 1_000 + k // TIE for k, m in enumerate(rng.sample(msg_ids, n))}
    ws.add_messages(
        aid,
        [
            (m, conversation, users[k % n], msg_created[m], f"message {m}", "", None, "{}")
            for k, m in enumerate(msg_ids)
        ],
    )
    group_ids = rng.sample([f"S{i:03d}" for i in range(100)], n)
    ws.add_groups(
        aid,
        [
            {"id": g, "name": f"team-{g.lower()}", "members": users if k == 0 else users[:1]}
            for k, g in enumerate(group_ids)
        ],
    )
    expected = {
        "conversations": sorted(conv_ids, key=lambda c: (conv_created[c], c)),
        "messages": sorted(msg_ids, key=lambda m: (msg_created[m], m), reverse=True),
        "members": sorted(users),
        "users": sorted(users),
        "groups": sorted(group_ids),
        "group_members": sorted(users),
    }
    inserted = {"conversations": conv_ids, "messages": msg_ids, "users": users, "groups": group_ids}
    return Seeded(aid, n, conversation, group_ids[0], expected, inserted)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dict[int, Seeded]]]:
    ws = Workspace(tmp_path_factory.mktemp("ties") / "ties.sqlite")
    rng = random.Random(24)
    yield ws, {n: _seed(ws, n, rng) for n in SIZES}
    ws.close()


@pytest.fixture(scope="module")
def server(seeded: tuple[Workspace, dict[int, Seeded]]):
    """``chatlens serve`` over the tied workspace, on a free loopback port."""
    from chatlens.server import ServerThread

    with ServerThread(seeded[0].account) as srv:
        yield srv


@pytest.fixture(params=["sqlite", "http"])
def api_for(request: pytest.FixtureRequest, seeded) -> Callable[[Seeded], ChatAPI]:
    ws, _ = seeded

    def make(s: Seeded) -> ChatAPI:
        if request.param == "sqlite":
            return ws.account(s.account_id)
        from chatlens.backends.http import HttpChatAPI

        srv = request.getfixturevalue("server")
        api = HttpChatAPI(srv.url, s.account_id, srv.issue(s.account_id), retries=0)
        request.addfinalizer(api.close)
        return api

    return make


def _listing(api: ChatAPI, s: Seeded, name: str) -> Callable[..., dict[str, Any]]:
    return {
        "conversations": api.list_conversations,
        "messages": lambda **kw: api.list_messages(s.conversation, **kw),
        "members": lambda **kw: api.list_members(s.conversation, **kw),
        "users": api.list_users,
        "groups": api.list_groups,
        "group_members": lambda **kw: api.list_group_members(s.group, **kw),
    }[name]


def _walk(list_op: Callable[..., dict[str, Any]], page_size: int, most: int) -> list[dict[str, Any]]:
    """The pages from the first, following each ``next_page`` by hand (no more than ``most``)."""
    pages, token = [], None
    while len(pages) < most:
        page = list_op(page_size=page_size, page=token)
        assert page["page"] == token
        pages.append(page)
        token = page["next_page"]
        if token is None:
            return pages
        assert isinstance(token, str) and token
    pytest.fail(f"more than {most} pages for page_size {page_size}")


LISTINGS = ("conversations", "messages", "members", "users", "groups", "group_members")


@pytest.mark.parametrize("page_size", PAGE_SIZES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("listing", LISTINGS)
def test_tied_listing_pages_give_every_object_once_in_order(api_for, seeded, listing, n, page_size):
    s = seeded[1][n]
    api = api_for(s)
    list_op = _listing(api, s, listing)
    expected = s.expected[listing]
    assert len(expected) == n
    pages = _walk(list_op, page_size, most=n + 2)
    ids = [obj["id"] for p in pages for obj in p["objects"]]
    assert ids == expected
    # Pages are full but for the last, which is never empty: n objects in ceil(n / page_size) pages, so a page
    # size dividing n ends on a full page whose next_page is already absent.
    full, rest = divmod(n, page_size)
    assert [p["count"] for p in pages] == [page_size] * full + ([rest] if rest else [])
    assert [p["count"] for p in pages] == [len(p["objects"]) for p in pages]
    assert all(p["next_page"] for p in pages[:-1]) and pages[-1]["next_page"] is None
    # The objects are the ones the single big page gives, field for field.
    whole = list_op(page_size=1000)
    assert whole["next_page"] is None
    assert [obj for p in pages for obj in p["objects"]] == whole["objects"]


@pytest.mark.parametrize("listing", ["conversations", "messages"])
def test_ties_really_tie(seeded, listing):
    """What the test above relies on: runs of ``TIE`` objects share ``created``, and neither the ids alone nor
    the insertion order gives the listing's order."""
    ws, by_n = seeded
    for s in by_n.values():
        objs = _listing(ws.account(s.account_id), s, listing)(page_size=1000)["objects"]
        created = [o["created"] for o in objs]
        runs = [created.count(c) for c in dict.fromkeys(created)]
        assert sorted(runs, reverse=True) == [TIE] * (s.n // TIE) + ([s.n % TIE] if s.n % TIE else [])
        ids = [o["id"] for o in objs]
        assert ids not in (sorted(ids), sorted(ids, reverse=True), s.inserted[listing])
