"""Requests a Teams refresh makes through ``load_messages`` against a full reload, on the fake Graph (issue 19).

    python benchmarks/bench_refresh_teams.py [--conversations 200] [--messages 100000] [--activity 0.01]
                                             [--chats 0.5] [--window 7D] [--seed 0]

Builds the workload of ``benchmarks/bench_refresh.py`` (``--messages`` over 200 days, about 40% replies) in
``--conversations`` conversations of one tenant, a share ``--chats`` of them group chats (their "replies" are plain
messages: chats have no threads) and the rest channels of one team, on the fake Graph held to Graph's reference
(chat messages by last modification unless ``$orderby=createdDateTime desc`` is asked, ``$filter`` only with
``$orderby`` on the same property, channels in an undocumented order, 50 messages a page, up to 1000 replies
inlined per root). A refresh lists each chat's messages changed since the last refresh
(``$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime gt ...``: new ones, and edits, reactions and
soft deletes of any age) and every channel root with its replies. It loads it cold into a cache, then counts the
requests (by ``TeamsChatAPI.calls`` kind: ``messages`` lists chat messages and channel roots with their replies,
``replies`` follows a long thread's reply pages, ``search`` (Microsoft Search) is no longer used and stays 0,
``other`` lists chats, teams, channels, members and users) for:

- a refresh with nothing new;
- a refresh after ``--activity`` new messages (half new roots or chat messages, half replies to threads of any
  age), with a reaction to as many old messages (which moves them to the top of Graph's default chat order);
- a full reload (``refresh="full"``), the naive way to stay current.

Every refresh goes through ``chatlens.load_messages(refresh=True)``, so listing the conversations and their members
again is counted, and each result is checked against a fresh full load (``equal``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_refresh import USERS, populate

import chatlens
from chatlens.backends.teams import TeamsChatAPI
from chatlens.threadsync import DAY_US
from tests.fakes.graph import FakeGraph

COLUMNS = ["id", "created", "modified", "text", "parent", "thread_id"]
KINDS = ["messages", "replies", "search", "other"]
TEAM = "team-1"


def _calls(api: TeamsChatAPI, run) -> tuple[Counter, object]:
    before = Counter(api.calls)
    out = run()
    return Counter(api.calls) - before, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--activity", type=float, default=0.01)
    parser.add_argument("--chats", type=float, default=0.5)
    parser.add_argument("--window", default="7D")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows: list[tuple[str, Counter, bool]] = []
    with FakeGraph() as graph:
        token, tenant = graph.add_tenant(me="U1")
        for uid in USERS:
            graph.add_user(tenant, uid, uid.lower(), f"{uid.lower()}@example.com")
        graph.add_team(tenant, TEAM, "Acme", USERS, owners=["U1"])
        now = time.time_ns() // 1000 // 1000 * 1000
        ids = [f"K{i:05d}" for i in range(args.conversations)]
        n_chats = int(len(ids) * args.chats)
        threads = {}
        for k, cid in enumerate(ids):
            if k < n_chats:
                threads[cid] = graph.add_chat(
                    tenant, f"19:{cid}@thread.v2", topic=cid, chat_type="group", created_us=now - 400 * DAY_US,
                    members=USERS,
                )  # fmt: skip
            else:
                threads[cid] = graph.add_channel(
                    tenant, TEAM, f"19:{cid}@thread.tacv2", name=cid, created_us=now - 400 * DAY_US
                )

        def post(cid: str, sender: str, us: int | None, text: str, root: int | None) -> None:
            chat = "chatType" in threads[cid].obj
            reply_to = "" if chat or root is None else str(root)
            graph.add_message(
                tenant, threads[cid], sender, tenant.now_us() if us is None else us, text, reply_to=reply_to
            )

        t0 = time.perf_counter()
        roots = populate(post, ids, args.messages, now, args.seed)
        print(
            f"built {args.messages:,} messages in {n_chats} chats and {len(ids) - n_chats} channels "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        api = TeamsChatAPI(token, base_url=graph.url, admin=True, retries=0)
        cache = tempfile.mkdtemp(prefix="chatlens-bench-")
        opts = {"progress": False, "window": args.window}
        cold, _ = _calls(api, lambda: chatlens.load_messages(api, cache_dir=cache, **opts))
        rows.append(("cold load (the reload's cost)", cold, True))

        def refresh(label: str) -> None:
            fresh = chatlens.load_messages(api, cache=False, **opts)[COLUMNS].astype(str).reset_index(drop=True)
            made, frame = _calls(api, lambda: chatlens.load_messages(api, cache_dir=cache, refresh=True, **opts))
            equal = frame[COLUMNS].astype(str).reset_index(drop=True).equals(fresh)
            rows.append((label, made, equal))

        refresh("refresh, nothing new")
        rng = random.Random(args.seed + 1)
        for i in range(int(args.messages * args.activity)):
            cid = rng.choice(ids)
            if i % 2 and roots[cid]:
                post(cid, "U2", None, "new reply", rng.choice(roots[cid]))
                old = threads[cid].messages.get(str(rng.choice(roots[cid])))
                if old is not None:
                    graph.react(tenant, old, "U3")
            else:
                post(cid, "U3", None, "new root", None)
        refresh(f"refresh after {args.activity:.0%} new")
        full, _ = _calls(api, lambda: chatlens.load_messages(api, cache_dir=cache, refresh="full", **opts))
        rows.append(('full reload (refresh="full")', full, True))
    print(f"{'':<40}" + "".join(f"{h:>10}" for h in KINDS) + f"{'total':>9}{'x fewer':>9}  equal")
    reload_total = sum(full.values())
    for label, made, equal in rows:
        total = sum(made.values())
        print(
            f"{label:<40}"
            + "".join(f"{made[k]:>10,}" for k in KINDS)
            + f"{total:>9,}{reload_total / max(1, total):>9.1f}  {equal}"
        )


if __name__ == "__main__":
    main()
