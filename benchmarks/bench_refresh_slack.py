"""Requests a Slack refresh makes through ``load_messages`` against a full reload, on the fake Slack (issue 19).

    python benchmarks/bench_refresh_slack.py [--conversations 200] [--messages 100000] [--activity 0.01]
                                             [--window 7D] [--seed 0]

Builds the workspace of ``benchmarks/bench_refresh.py`` (``--messages`` over 200 days in ``--conversations``
channels, about 40% replies, Slack's 15-message pages as for apps under the 2025 limits), loads it cold into a
cache, then measures what each Web API method was called for, for:

- a refresh with nothing new (default: every thread started within the window fetched again, to catch reply
  edits), and the same with ``refetch_unchanged_threads=False``;
- a refresh after ``--activity`` new messages (half new roots, half replies to threads of any age), both ways;
- a full reload (``refresh="full"``), the naive way to stay current.

Every refresh goes through ``chatlens.load_messages(refresh=True)``, so listing the conversations and their
members again is counted (the budget pays for it too), and each result is checked against a fresh full load
(``frames equal``; the cheaper choice may differ only by reply edits, of which this workload has none).
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
from chatlens.backends.slack import SlackChatAPI
from chatlens.threadsync import DAY_US
from tests.fakes.slack import FakeSlack, ts_from_us

COLUMNS = ["id", "created", "modified", "text", "parent", "thread_id"]
METHODS = ["conversations.history", "conversations.replies", "search.messages", "conversations.list"]


def _calls(api: SlackChatAPI, run) -> tuple[Counter, object]:
    before = Counter(api.calls)
    out = run()
    return Counter(api.calls) - before, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--activity", type=float, default=0.01)
    parser.add_argument("--window", default="7D")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows: list[tuple[str, Counter, bool]] = []
    with FakeSlack() as slack:
        token, team = slack.add_team(user_id="U1")
        for uid in USERS:
            slack.add_user(team, uid, uid.lower())
        now = time.time_ns() // 1000
        ids = [f"C{i:05d}" for i in range(args.conversations)]
        for cid in ids:
            slack.add_channel(team, cid, name=cid.lower(), kind="channel", created_us=now - 400 * DAY_US, members=USERS)

        def post(cid: str, sender: str, us: int | None, text: str, root: int | None) -> None:
            ts = team.next_ts() if us is None else ts_from_us(us)
            slack.add_message(team, cid, sender, ts, text, ts_from_us(root) if root is not None else "")

        t0 = time.perf_counter()
        roots = populate(post, ids, args.messages, now, args.seed)
        slack.throttle("conversations.history", interval=0, limit_cap=15)
        slack.throttle("conversations.replies", interval=0, limit_cap=15)
        print(f"built {args.messages:,} messages in {args.conversations} channels in {time.perf_counter() - t0:.1f} s")
        apis = {
            skip: SlackChatAPI(
                token, base_url=slack.url, history_limit=15, retries=0, refetch_unchanged_threads=not skip
            )
            for skip in (False, True)
        }
        caches = {skip: tempfile.mkdtemp(prefix="chatlens-bench-") for skip in apis}
        opts = {"progress": False, "window": args.window}
        cold, _ = _calls(apis[False], lambda: chatlens.load_messages(apis[False], cache_dir=caches[False], **opts))
        chatlens.load_messages(apis[True], cache_dir=caches[True], **opts)
        rows.append(("cold load (the reload's cost)", cold, True))

        def refresh(label: str) -> None:
            fresh = chatlens.load_messages(apis[False], cache=False, **opts)[COLUMNS].astype(str)
            for skip, api in apis.items():
                made, frame = _calls(
                    api,
                    lambda api=api, skip=skip: chatlens.load_messages(
                        api, cache_dir=caches[skip], refresh=True, **opts
                    ),
                )
                equal = frame[COLUMNS].astype(str).reset_index(drop=True).equals(fresh.reset_index(drop=True))
                rows.append((f"{label}{', skip unchanged' if skip else ''}", made, equal))

        refresh("refresh, nothing new")
        rng = random.Random(args.seed + 1)
        for i in range(int(args.messages * args.activity)):
            cid = rng.choice(ids)
            if i % 2 and roots[cid]:
                post(cid, "U2", None, "new reply", rng.choice(roots[cid]))
            else:
                post(cid, "U3", None, "new root", None)
        refresh(f"refresh after {args.activity:.0%} new")
        full, _ = _calls(
            apis[False],
            lambda: chatlens.load_messages(apis[False], cache_dir=caches[False], refresh="full", **opts),
        )
        rows.append(('full reload (refresh="full")', full, True))
    heads = ["history", "replies", "search", "list", "members", "other"]
    print(f"{'':<40}" + "".join(f"{h:>9}" for h in heads) + f"{'total':>9}{'x fewer':>9}  equal")
    reload_total = sum(full.values())
    for label, made, equal in rows:
        members = made["conversations.members"]
        known = sum(made[m] for m in METHODS) + members
        cells = [*(made[m] for m in METHODS), members, sum(made.values()) - known]
        total = sum(made.values())
        print(
            f"{label:<40}"
            + "".join(f"{c:>9,}" for c in cells)
            + f"{total:>9,}{reload_total / max(1, total):>9.1f}  {equal}"
        )


if __name__ == "__main__":
    main()
