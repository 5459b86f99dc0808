"""Thread-complete refresh against a naive full reload, under Slack's small-page limits.

    python benchmarks/bench_refresh.py [--conversations 200] [--messages 100000] [--activity 0.01] [--seed 0]

Builds a fake Slack workspace (tests/fakes/slack.py, on loopback) of ``--conversations`` channels and
``--messages`` messages over 200 days (about 40% thread replies), with ``conversations.history`` capped at 15
messages a page as for apps under Slack's 2025 limits. It loads everything once (the cold load a naive reload
repeats), adds ``--activity`` new messages (half new roots, half replies to threads of any age, old ones
included), refreshes with :mod:`chatlens.threadsync`, checks the refreshed frames equal a fresh full load, and
prints requests and simulated minutes (history and replies at one call a minute, search at 20) for both.
Target: the refresh makes at least 20 times fewer requests than the reload.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import pandas as pd

from chatlens.backends.slack import SlackChatAPI
from chatlens.loaders import _fetch_conversation, _finish, _message_columns, _stored_frame, _upsert
from chatlens.threadsync import DAY_US, refresh_all, state_from_frame
from tests.fakes.slack import FakeSlack, ts_from_us


def build(slack: FakeSlack, conversations: int, messages: int, seed: int):
    rng = random.Random(seed)
    token, team = slack.add_team(user_id="U1")
    users = [f"U{i}" for i in range(1, 51)]
    for uid in users:
        slack.add_user(team, uid, uid.lower())
    now = time.time_ns() // 1000
    ids = [f"C{i:05d}" for i in range(conversations)]
    for cid in ids:
        slack.add_channel(team, cid, name=cid.lower(), kind="channel", created_us=now - 400 * DAY_US, members=users)
    roots: dict[str, list[str]] = {cid: [] for cid in ids}
    stamps = sorted(now - rng.randrange(1, 200 * DAY_US) for _ in range(messages))
    for us in stamps:
        cid = ids[min(int(rng.paretovariate(1.2)) - 1, conversations - 1)] if rng.random() < 0.5 else rng.choice(ids)
        ts = ts_from_us(us)
        while ts in team.channels[cid].messages:
            us += 1
            ts = ts_from_us(us)
        if roots[cid] and rng.random() < 0.4:
            parent = rng.choice(roots[cid][-50:])  # replies mostly go to recent threads
            slack.add_message(team, cid, rng.choice(users), ts, "reply", parent)
        else:
            slack.add_message(team, cid, rng.choice(users), ts, "root")
            roots[cid].append(ts)
    return token, team, ids, roots


def full_load(api: SlackChatAPI, ids: list[str]) -> dict[str, pd.DataFrame]:
    return {cid: _fetch_conversation(api, cid) for cid in ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--activity", type=float, default=0.01)
    parser.add_argument("--window-days", type=float, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed + 1)
    with FakeSlack() as slack:
        t0 = time.perf_counter()
        token, team, ids, roots = build(slack, args.conversations, args.messages, args.seed)
        print(f"built {args.messages:,} messages in {args.conversations} channels in {time.perf_counter() - t0:.1f} s")
        slack.throttle("conversations.history", interval=0, limit_cap=15)
        slack.throttle("conversations.replies", interval=0, limit_cap=15)
        api = SlackChatAPI(token, base_url=slack.url, history_limit=15, retries=0)
        rates = api.rate_limits()

        before = dict(api.calls)
        frames = full_load(api, ids)
        reload_calls = {m: n - before.get(m, 0) for m, n in api.calls.items() if n - before.get(m, 0)}
        fetched = time.time_ns() // 1000
        states = {cid: state_from_frame(f, cid, fetched) for cid, f in frames.items()}

        new = int(args.messages * args.activity)
        for i in range(new):
            cid = rng.choice(ids)
            if i % 2 and roots[cid]:
                slack.add_message(team, cid, "U2", team.next_ts(), "new reply", rng.choice(roots[cid]))
            else:
                slack.add_message(team, cid, "U3", team.next_ts(), "new root")

        def on_done(cid: str, frame: pd.DataFrame, state) -> None:
            frames[cid], states[cid] = frame, state

        t0 = time.perf_counter()
        result = refresh_all(
            api,
            frames,
            states,
            window_us=int(args.window_days * DAY_US),
            to_frame=lambda objs: _stored_frame(_message_columns(objs, "slack")),
            upsert=_upsert,
            drop=lambda f, gone: _finish(f[~f["id"].astype(str).isin(list(gone))]),
            on_done=on_done,
            progress=False,
        )
        t_refresh = time.perf_counter() - t0
        fresh = full_load(api, ids)
        cols = ["id", "created", "text", "parent", "thread_id"]
        equal = all(
            frames[c][cols].astype(str).reset_index(drop=True).equals(fresh[c][cols].astype(str).reset_index(drop=True))
            for c in ids
        )

    def minutes(calls: dict[str, int]) -> float:
        return sum(n / rates.get(m, 50.0) for m, n in calls.items())

    print(f"{'':<28} {'history':>9} {'replies':>9} {'search':>8} {'requests':>9} {'sim. minutes':>13}")
    for name, calls in (("naive full reload", reload_calls), ("thread-complete refresh", result.requests)):
        row = [calls.get(m, 0) for m in ("conversations.history", "conversations.replies", "search.messages")]
        print(f"{name:<28} {row[0]:>9,} {row[1]:>9,} {row[2]:>8,} {sum(calls.values()):>9,} {minutes(calls):>13,.0f}")
    ratio = sum(reload_calls.values()) / max(1, sum(result.requests.values()))
    print(f"estimate before the refresh: {result.plan}")
    print(f"refresh took {t_refresh:.1f} s here; frames equal a fresh full load: {equal}")
    print(f"requests: reload / refresh = {ratio:.1f}x (target >= 20)")


if __name__ == "__main__":
    main()
