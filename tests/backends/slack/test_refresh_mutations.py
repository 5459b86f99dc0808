"""Randomized mutation sequences on the fake Slack, each followed by ``load_messages(refresh=True)``: the refreshed
frame must equal a fresh full load, except for the documented limits, each named below, and
``load_thread_status`` must never call a thread complete that is not.

The documented limits of the thread-complete refresh (README, "Staying current with Slack"), for threads whose
root is older than the window:

- ``OLD_EDIT``: an edit to such a root, or to a reply in such a thread, is not seen (nothing lists it again);
- ``OLD_DELETE``: a deletion there (a reply, a root, a root becoming its tombstone) is not seen;
- ``BOT_OLD_REPLY``: with a bot token (no ``search.messages``) a new reply there is not seen, unless it was also
  sent to the channel (a ``thread_broadcast`` is in the history listing);
- ``UNCHANGED_EDIT``: with ``refetch_unchanged_threads=False``, an edit to a reply of a recent thread whose counts
  did not change is not seen.

Each of these marks the messages it touches; they are left out of the comparison (on both sides) from then on.
Everything else (new roots, replies to recent and old threads, broadcasts, edits and deletions within the window,
tombstones there, new and archived channels) must match exactly.
"""

from __future__ import annotations

import random
import time

import pandas as pd
import pytest

import chatlens
from chatlens.backends.slack import SlackChatAPI
from chatlens.loaders import load_thread_status
from chatlens.threadsync import DAY_US
from tests.fakes.slack import FakeSlack, ts_from_us

NOW = time.time_ns() // 1000
WINDOW_DAYS = 14
COLUMNS = ["id", "conversation_id", "sender_id", "created", "modified", "text", "parent", "thread_id", "subtype"]
USERS = ["U1", "U2", "U3"]
LIMITS = ("OLD_EDIT", "OLD_DELETE", "BOT_OLD_REPLY", "UNCHANGED_EDIT")


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


class Model:
    """The fake workspace, the mutations applied to it, and what the documented limits excuse."""

    def __init__(self, slack: FakeSlack, rng: random.Random, *, bot: bool, refetch: bool) -> None:
        self.slack, self.rng, self.bot, self.refetch = slack, rng, bot, refetch
        token, self.team = slack.add_team(user_id="U1", admin=True)
        self.team.bot = bot
        for uid in USERS:
            slack.add_user(self.team, uid, uid.lower())
        self.channels: list[str] = []
        self.excused: dict[str, str] = {}  # message id -> the limit that excuses it
        for _ in range(3):
            self.new_channel(old=True)
        slack.throttle("conversations.history", interval=0, limit_cap=15)
        slack.throttle("conversations.replies", interval=0, limit_cap=15)
        self.api = SlackChatAPI(
            token, base_url=slack.url, history_limit=15, retries=0, refetch_unchanged_threads=refetch
        )

    # -- the workspace -----------------------------------------------------------------------------------
    def new_channel(self, *, old: bool = False) -> None:
        cid = f"C{len(self.channels) + 1}"
        self.slack.add_channel(
            self.team, cid, name=cid.lower(), kind="channel", created_us=NOW - 90 * DAY_US, members=USERS
        )
        self.channels.append(cid)
        # Roots well away from the window's edge: old ones 20 to 60 days back, recent ones within 9 days.
        ages = [20 + 3 * i for i in range(12)] + [9 - 0.7 * i for i in range(8)] if old else [0.5]
        for age in ages:
            us = NOW - int(age * DAY_US) + self.rng.randrange(1_000_000)
            root = ts_from_us(us)
            self.slack.add_message(self.team, cid, self.rng.choice(USERS), root, f"root {cid} {age:.1f}")
            for k in range(self.rng.choice([0, 0, 1, 3])):
                reply = ts_from_us(min(us + (k + 1) * 3_600_000_000, NOW - 1000 * (k + 1)))
                self.slack.add_message(self.team, cid, self.rng.choice(USERS), reply, f"re {k}", root)

    def live(self) -> list[str]:
        return [c for c in self.channels if not self.team.channels[c].obj["is_archived"]]

    def old(self, ts: str) -> bool:
        return int(ts.split(".")[0]) * 1_000_000 < NOW - WINDOW_DAYS * DAY_US

    def roots(self, cid: str, *, old: bool | None = None) -> list[str]:
        msgs = self.team.channels[cid].messages
        return [
            ts
            for ts, m in msgs.items()
            if m.get("thread_ts", ts) == ts and m.get("subtype") != "tombstone" and (old is None or self.old(ts) == old)
        ]

    def replies(self, cid: str, root: str) -> list[str]:
        msgs = self.team.channels[cid].messages
        return [ts for ts, m in msgs.items() if m.get("thread_ts") == root != ts]

    def excuse(self, cid: str, ts: str, limit: str) -> None:
        assert limit in LIMITS
        self.excused.setdefault(f"{cid}-{ts}", limit)

    # -- mutations ---------------------------------------------------------------------------------------
    def mutate(self) -> str:
        rng, team, cid = self.rng, self.team, self.rng.choice(self.live())
        action = rng.choice(
            ["root", "reply", "reply", "broadcast", "edit", "edit", "delete_reply", "delete_root", "channel", "archive"]
        )
        old = rng.random() < 0.5
        roots = self.roots(cid, old=old)
        if action == "root" or not roots:
            self.slack.add_message(team, cid, rng.choice(USERS), team.next_ts(), "a new root")
            return "root"
        root = rng.choice(roots)
        if action in ("reply", "broadcast"):
            ts = team.next_ts()
            broadcast = action == "broadcast"
            self.slack.add_message(team, cid, rng.choice(USERS), ts, f"new {action}", root, broadcast=broadcast)
            if old and self.bot and not broadcast:
                self.excuse(cid, ts, "BOT_OLD_REPLY")
            return f"{action} ({'old' if old else 'recent'} thread)"
        if action == "edit":
            target = rng.choice([root, *self.replies(cid, root)])
            self.api._call("chat.update", write=True, channel=cid, ts=target, text=f"edited {rng.random():.6f}")
            if old:
                self.excuse(cid, target, "OLD_EDIT")
            elif target != root and not self.refetch:
                self.excuse(cid, target, "UNCHANGED_EDIT")
            return f"edit ({'old' if old else 'recent'})"
        if action == "delete_reply":
            replies = self.replies(cid, root)
            if not replies:
                return "nothing"
            target = rng.choice(replies)
            tombstoned = team.channels[cid].messages[root].get("subtype") == "tombstone"
            self.api._call("chat.delete", write=True, channel=cid, ts=target)
            if old:
                self.excuse(cid, target, "OLD_DELETE")
                if tombstoned:
                    self.excuse(cid, root, "OLD_DELETE")  # the tombstone went with its last reply
            return f"delete reply ({'old' if old else 'recent'})"
        if action == "delete_root":
            self.api._call("chat.delete", write=True, channel=cid, ts=root)  # a tombstone if it had replies
            if old:
                self.excuse(cid, root, "OLD_DELETE")
            return f"delete root ({'old' if old else 'recent'})"
        if action == "channel":
            self.new_channel()
            return "new channel"
        if len(self.live()) > 1:
            self.api._call("conversations.archive", write=True, channel=cid)
            return "archive"
        return "nothing"


def _comparable(frame: pd.DataFrame, excused: dict[str, str]) -> pd.DataFrame:
    kept = frame[~frame["id"].astype(str).isin(list(excused))]
    return kept[COLUMNS].astype(str).sort_values("id").reset_index(drop=True)


def _never_wrong(model: Model, cache: str, frame: pd.DataFrame) -> None:
    status = load_thread_status(model.api, cache_dir=cache)
    held = frame[frame["is_reply"]].groupby("thread_id")["id"].apply(lambda s: set(s.astype(str))).to_dict()
    live = set(model.live())
    for row in status[status["complete"].fillna(False)].itertuples():
        if row.conversation_id not in live:
            continue  # archived: no longer loaded
        cid, ts = str(row.thread_id).rsplit("-", 1)
        truth = {f"{cid}-{r}" for r in model.replies(cid, ts)}
        assert held.get(row.thread_id, set()) == truth, f"{row.thread_id} called complete, and is not"


@pytest.mark.parametrize(
    ("seed", "bot", "refetch"),
    [(0, False, True), (1, False, True), (2, True, True), (3, True, True), (4, False, False), (5, True, False)],
)
def test_mutations_then_refresh_equal_a_full_load(slack, tmp_path, seed, bot, refetch):
    rng = random.Random(seed)
    model = Model(slack, rng, bot=bot, refetch=refetch)
    cache = str(tmp_path / "cache")
    load = {"progress": False, "window": f"{WINDOW_DAYS}D"}
    chatlens.load_messages(model.api, cache_dir=cache, **load)
    history = []
    for _round in range(4):
        history += [model.mutate() for _ in range(rng.randrange(2, 7))]
        refreshed = chatlens.load_messages(model.api, cache_dir=cache, refresh=True, **load)
        full = chatlens.load_messages(model.api, cache=False, **load)
        pd.testing.assert_frame_equal(
            _comparable(refreshed, model.excused), _comparable(full, model.excused), obj=f"after {history}"
        )
        _never_wrong(model, cache, refreshed)
    assert set(model.excused.values()) <= set(LIMITS)
