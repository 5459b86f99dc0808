"""Randomized mutation sequences on the fake Graph (held to Graph's reference: chat messages by last modification
unless asked, channels in no documented order), each followed by ``load_messages(refresh=True)``: the refreshed
frame must equal a fresh full load, except for the documented limits, each named below, and
``load_thread_status`` must never call a thread complete that is not. Mirrors
tests/backends/slack/test_refresh_mutations.py.

The Teams refresh has no documented limit left for what these mutations do: a chat is listed by what changed since
the last refresh (``$filter=lastModifiedDateTime gt``, of any age: new messages, edits, reactions and soft deletes
alike) and a channel in full, with its replies. (``OLD_CHAT_EDIT`` and ``OLD_CHAT_DELETE``, edits and soft deletes of
chat messages older than the window, were its limits while chats were listed newest created first down to the
window.) ``LIMITS`` stays, empty, so that a limit a later change needs is named here and in the README.

Everything (new chat messages, new roots, replies to recent and old threads, edits, reactions that move old messages
to the top of Graph's default order, soft deletes of roots with and without replies, of replies and of chat messages
of any age) must match.
"""

from __future__ import annotations

import random
import time

import pandas as pd
import pytest

import chatlens
from chatlens.backends.teams import TeamsChatAPI, wire
from chatlens.loaders import load_thread_status
from chatlens.threadsync import DAY_US
from tests.fakes.graph import FakeGraph

NOW = time.time_ns() // 1000 // 1000 * 1000
WINDOW_DAYS = 14
COLUMNS = ["id", "conversation_id", "sender_id", "created", "modified", "text", "parent", "thread_id", "subtype"]
USERS = ["U1", "U2", "U3"]
LIMITS: tuple[str, ...] = ()
TEAM = "team-1"
# Roots well away from the window's edge: old ones 20 to 53 days back, recent ones within 9 days.
AGES = [20 + 3 * i for i in range(12)] + [9 - 0.7 * i for i in range(8)]


@pytest.fixture(scope="module")
def graph():
    with FakeGraph(expand_cap=2) as fake:  # short inline threads: replies@odata.nextLink is followed too
        yield fake


class Model:
    """The fake tenant, the mutations applied to it, and what the documented limits excuse."""

    def __init__(self, graph: FakeGraph, rng: random.Random) -> None:
        self.graph, self.rng = graph, rng
        token, self.tenant = graph.add_tenant(me="U1")
        for uid in USERS:
            graph.add_user(self.tenant, uid, uid.lower(), f"{uid.lower()}@example.com")
        graph.add_team(self.tenant, TEAM, "Acme", USERS, owners=["U1"])
        self.threads = {}  # conversation id -> fake Thread
        self.excused: dict[str, str] = {}  # message id -> the limit that excuses it
        for k in range(2):
            channel = graph.add_channel(
                self.tenant, TEAM, f"19:c{k}@thread.tacv2", name=f"c{k}", created_us=NOW - 90 * DAY_US
            )
            self.threads[wire.channel_conversation_id(TEAM, channel.obj["id"])] = channel
            for age in AGES:
                root = self._post(channel, NOW - int(age * DAY_US) + rng.randrange(1_000_000))
                for j in range(rng.choice([0, 0, 1, 3])):
                    self._post(channel, int(root["id"]) + (j + 1) * 3_600_000_000, reply_to=root["id"])
        for k in range(2):
            chat = graph.add_chat(
                self.tenant, f"19:chat{k}@thread.v2", topic=f"chat {k}", chat_type="group",
                created_us=NOW - 90 * DAY_US, members=USERS,
            )  # fmt: skip
            self.threads[wire.chat_conversation_id(chat.obj["id"])] = chat
            for age in AGES * 4:  # over four Graph pages, old and recent mixed in the default order
                self._post(chat, NOW - int(age * DAY_US) - rng.randrange(DAY_US // 2))
        self.api = TeamsChatAPI(token, base_url=graph.url, admin=True, retries=0)

    def _post(self, thread, at_us: int, reply_to: str = "") -> dict:
        while str(at_us) in thread.messages or any(str(at_us) in r for r in thread.replies.values()):
            at_us += 1000
        return self.graph.add_message(
            self.tenant, thread, self.rng.choice(USERS), at_us, f"m {at_us}", reply_to=reply_to
        )

    @staticmethod
    def old(msg: dict) -> bool:
        return int(msg["id"]) < NOW - WINDOW_DAYS * DAY_US

    def mid(self, cid: str, msg: dict) -> str:
        return wire.message_id(cid, msg["id"], msg.get("replyToId") or "")

    def excuse(self, cid: str, msg: dict, limit: str) -> None:
        assert limit in LIMITS
        self.excused.setdefault(self.mid(cid, msg), limit)

    # -- mutations ---------------------------------------------------------------------------------------
    def mutate(self) -> str:
        rng, graph, tenant = self.rng, self.graph, self.tenant
        cid = rng.choice(list(self.threads))
        thread = self.threads[cid]
        chat = cid.startswith("tc1.")
        now = tenant.now_us()
        live = [m for m in thread.messages.values() if not m["deletedDateTime"]]
        old = rng.random() < 0.5
        pool = [m for m in live if self.old(m) == old] or live
        action = rng.choice(["new", "reply", "reply", "edit", "react", "react", "delete", "delete_reply"])
        if action == "new" or not pool:
            self._post(thread, now)
            return "new message" if chat else "new root"
        target = rng.choice(pool)
        age = "old" if self.old(target) else "recent"
        replies = [r for r in thread.replies.get(target["id"], {}).values() if not r["deletedDateTime"]]
        if action == "reply" and not chat:
            self._post(thread, now, reply_to=target["id"])
            return f"reply ({age} thread)"
        if action in ("edit", "react"):
            if not chat and replies and rng.random() < 0.5:
                target = rng.choice(replies)
            if action == "edit":
                graph.edit(tenant, target, f"edited {rng.random():.6f}")
            else:
                graph.react(tenant, target, rng.choice(USERS))  # moves it to the top of the default order
            return f"{action} ({age})"
        if action == "delete_reply" and replies:
            graph.soft_delete(tenant, rng.choice(replies))
            return f"delete reply ({age} thread)"
        graph.soft_delete(tenant, target)  # a root with or without replies, or a chat message
        return f"delete {'message' if chat else 'root'} ({age}, {len(replies)} replies)"


def _comparable(frame: pd.DataFrame, excused: dict[str, str]) -> pd.DataFrame:
    kept = frame[~frame["id"].astype(str).isin(list(excused))]
    return kept[COLUMNS].astype(str).sort_values("id").reset_index(drop=True)


def _never_wrong(model: Model, cache: str, frame: pd.DataFrame) -> None:
    status = load_thread_status(model.api, cache_dir=cache)
    held = frame[frame["is_reply"]].groupby("thread_id")["id"].apply(lambda s: set(s.astype(str))).to_dict()
    for row in status[status["complete"].fillna(False)].itertuples():
        cid, root_id, _ = wire.parse_message_id(str(row.thread_id))
        replies = model.threads[cid].replies.get(root_id, {}).values()
        truth = {wire.message_id(cid, r["id"], root_id) for r in replies if not r["deletedDateTime"]}
        assert held.get(row.thread_id, set()) == truth, f"{row.thread_id} called complete, and is not"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mutations_then_refresh_equal_a_full_load(graph, tmp_path, seed):
    rng = random.Random(seed)
    model = Model(graph, rng)
    cache = str(tmp_path / "cache")
    load = {"progress": False, "window": f"{WINDOW_DAYS}D"}
    chatlens.load_messages(model.api, cache_dir=cache, **load)
    history = []
    for _round in range(4):
        history += [model.mutate() for _ in range(rng.randrange(2, 8))]
        refreshed = chatlens.load_messages(model.api, cache_dir=cache, refresh=True, **load)
        full = chatlens.load_messages(model.api, cache=False, **load)
        pd.testing.assert_frame_equal(
            _comparable(refreshed, model.excused), _comparable(full, model.excused), obj=f"after {history}"
        )
        _never_wrong(model, cache, refreshed)
    assert set(model.excused.values()) <= set(LIMITS)
