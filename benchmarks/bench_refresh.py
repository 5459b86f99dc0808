"""Thread-complete refresh against a naive full reload, on a fake Slack workspace or Microsoft Teams tenant.

    python benchmarks/bench_refresh.py [--service slack|teams] [--conversations 200] [--messages 100000]
                                       [--activity 0.01] [--window-days 7] [--seed 0]

Builds ``--conversations`` channels holding ``--messages`` messages over 200 days (about 40% thread replies, mostly
to recent threads) on a fake service on loopback:

- ``slack`` (default): a Slack workspace (tests/fakes/slack.py) through :class:`chatlens.backends.slack
  .SlackChatAPI`, with ``conversations.history`` and ``conversations.replies`` capped at 15 messages a page as for
  apps under Slack's 2025 limits;
- ``teams``: the channels of one team in a Microsoft Graph tenant (tests/fakes/graph.py, its default
  ``expand_cap`` of 1000 replies inlined per root, Graph's documented default for ``$expand=replies``) through
  :class:`chatlens.backends.teams.TeamsChatAPI`.

It loads everything once (the cold load a naive reload repeats), then adds ``--activity`` new messages, posted
after that load (half new roots, half replies to threads of any age, months-old ones included), refreshes with
:mod:`chatlens.threadsync`, checks the refreshed frames equal a fresh full load, and prints requests and simulated
minutes for both. How each refresh finds what changed: on Slack, ``conversations.history`` down to the newest
root known or the window, ``conversations.replies`` for each thread started within the window and each thread
``search.messages`` names (new replies to older threads); on Teams, every root of every channel is listed again
with its replies inline (``$expand=replies``: Graph documents no order for channel messages to stop at), which sees
every thread of any age with no search (chats, which this benchmark has none of, are listed by what changed since
the last refresh: ``benchmarks/bench_refresh_teams.py``). The columns are the connector's request counts: on Slack
its Web API methods (``conversations.history``, ``conversations.replies``, ``search.messages``); on Teams the kinds
of ``TeamsChatAPI.calls`` (history = ``messages``: the channels' root listings, with their replies inlined;
replies = ``replies``: further reply pages of a thread longer than Graph inlines; search = ``search``: always 0,
the connector no longer uses Microsoft Search); "requests" also counts Teams' ``other`` (channels, users).
Simulated minutes follow the connector's ``rate_limits()``: on Slack history and replies at one call a minute and
search at 20; on Teams 60 a minute for each kind (Graph's per-channel limit, as if every request hit one channel),
50 for a kind it does not name (as :mod:`chatlens.threadsync` counts).
Target (Slack): the refresh makes at least 20 times fewer requests than the reload.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import pandas as pd

from chatlens.backends.slack import SlackChatAPI
from chatlens.backends.teams import TeamsChatAPI
from chatlens.backends.teams.wire import channel_conversation_id
from chatlens.chatapi import ChatAPI
from chatlens.load._columns import _finish, _message_columns, _stored_frame, _upsert
from chatlens.load._fetch import _fetch_conversation
from chatlens.threadsync import DAY_US, RefreshResult, refresh_all, state_from_frame
from tests.fakes.graph import FakeGraph
from tests.fakes.slack import FakeSlack, ts_from_us

USERS = [f"U{i}" for i in range(1, 51)]
TEAM = "team-1"

#: post(conversation, sender, created us or None for the service's next post time, text, root's created us or None)
Post = Callable[[str, str, int | None, str, int | None], None]


@dataclass
class Workspace:
    """A populated fake service: the connector, its conversations, how to post, and which of the connector's
    request kinds are the table's history, replies and search columns."""

    api: ChatAPI
    ids: list[str]
    roots: dict[str, list[int]]  # conversation -> its roots' creation times (us), oldest first
    post: Post
    columns: tuple[str, str, str]
    target: int | None = None  # the reload / refresh ratio of requests aimed at


def populate(post: Post, ids: list[str], messages: int, now: int, seed: int) -> dict[str, list[int]]:
    """``messages`` messages over the 200 days before ``now``: half in a few busy channels, about 40% replies,
    mostly to a channel's 50 latest threads. Creation times are unique within a channel (Slack's ts and the fake
    Graph's message ids are the creation time). Returns each channel's roots."""
    rng = random.Random(seed)
    roots: dict[str, list[int]] = {cid: [] for cid in ids}
    used: dict[str, set[int]] = {cid: set() for cid in ids}
    stamps = sorted(now - rng.randrange(1, 200 * DAY_US) for _ in range(messages))
    for us in stamps:
        cid = ids[min(int(rng.paretovariate(1.2)) - 1, len(ids) - 1)] if rng.random() < 0.5 else rng.choice(ids)
        while us in used[cid]:
            us += 1
        used[cid].add(us)
        if roots[cid] and rng.random() < 0.4:
            parent = rng.choice(roots[cid][-50:])  # replies mostly go to recent threads
            post(cid, rng.choice(USERS), us, "reply", parent)
        else:
            post(cid, rng.choice(USERS), us, "root", None)
            roots[cid].append(us)
    return roots


def slack_workspace(slack: FakeSlack, conversations: int, messages: int, seed: int) -> Workspace:
    token, team = slack.add_team(user_id="U1")
    for uid in USERS:
        slack.add_user(team, uid, uid.lower())
    now = time.time_ns() // 1000
    ids = [f"C{i:05d}" for i in range(conversations)]
    for cid in ids:
        slack.add_channel(team, cid, name=cid.lower(), kind="channel", created_us=now - 400 * DAY_US, members=USERS)

    def post(cid: str, sender: str, us: int | None, text: str, root: int | None) -> None:
        ts = team.next_ts() if us is None else ts_from_us(us)
        slack.add_message(team, cid, sender, ts, text, ts_from_us(root) if root is not None else "")

    roots = populate(post, ids, messages, now, seed)
    slack.throttle("conversations.history", interval=0, limit_cap=15)
    slack.throttle("conversations.replies", interval=0, limit_cap=15)
    api = SlackChatAPI(token, base_url=slack.url, history_limit=15, retries=0)
    return Workspace(api, ids, roots, post, ("history", "replies", "search"), target=20)


def teams_workspace(graph: FakeGraph, conversations: int, messages: int, seed: int) -> Workspace:
    token, tenant = graph.add_tenant(me="U1")
    for uid in USERS:
        graph.add_user(tenant, uid, uid.lower(), f"{uid.lower()}@example.com")
    graph.add_team(tenant, TEAM, "Acme", USERS, owners=["U1"])
    now = time.time_ns() // 1000
    channels = {}
    for i in range(conversations):
        channel_id = f"19:c{i:05d}@thread.tacv2"
        channel = graph.add_channel(tenant, TEAM, channel_id, name=f"c{i:05d}", created_us=now - 400 * DAY_US)
        channels[channel_conversation_id(TEAM, channel_id)] = channel
    ids = list(channels)

    def post(cid: str, sender: str, us: int | None, text: str, root: int | None) -> None:
        at = max(tenant.last_us + 1, time.time_ns() // 1000) if us is None else us  # as Slack's next ts
        graph.add_message(tenant, channels[cid], sender, at, text, reply_to=str(root) if root is not None else "")

    roots = populate(post, ids, messages, now, seed)
    api = TeamsChatAPI(token, base_url=graph.url, admin=True, retries=0)
    return Workspace(api, ids, roots, post, ("history", "replies", "search"))


def full_load(api: ChatAPI, ids: list[str]) -> dict[str, pd.DataFrame]:
    return {cid: _fetch_conversation(api, cid) for cid in ids}


def compare(ws: Workspace, activity: float, messages: int, window_days: float, seed: int):
    """Load everything, post the new activity, refresh, and check against a fresh full load: (requests of the
    reload by kind, the refresh's result, its wall time in s, whether the frames equal the fresh load)."""
    api, ids = ws.api, ws.ids
    rng = random.Random(seed)
    before = dict(api.calls)
    frames = full_load(api, ids)
    reload_calls: dict[str, int] = {}
    for call, n in api.calls.items():  # by the refresh's kinds, as its result counts them
        kind = api.request_kinds.get(call, "other")
        reload_calls[kind] = reload_calls.get(kind, 0) + n - before.get(call, 0)
    fetched = time.time_ns() // 1000
    states = {cid: state_from_frame(f, cid, fetched) for cid, f in frames.items()}

    for i in range(int(messages * activity)):
        cid = rng.choice(ids)
        if i % 2 and ws.roots[cid]:
            ws.post(cid, "U2", None, "new reply", rng.choice(ws.roots[cid]))
        else:
            ws.post(cid, "U3", None, "new root", None)

    def on_done(cid: str, frame: pd.DataFrame, state) -> None:
        frames[cid], states[cid] = frame, state

    t0 = time.perf_counter()
    result = refresh_all(
        api,
        frames,
        states,
        window_us=int(window_days * DAY_US),
        to_frame=lambda objs: _stored_frame(_message_columns(objs)),
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
    return reload_calls, result, t_refresh, equal


def report(ws: Workspace, reload_calls: dict[str, int], result: RefreshResult, t_refresh: float, equal: bool) -> None:
    rates = ws.api.rate_limits()

    def minutes(calls: dict[str, int]) -> float:
        return sum(n / rates.get(m, 50.0) for m, n in calls.items())

    print(f"{'':<28} {'history':>9} {'replies':>9} {'search':>8} {'requests':>9} {'sim. minutes':>13}")
    for name, calls in (("naive full reload", reload_calls), ("thread-complete refresh", result.requests)):
        row = [calls.get(m, 0) for m in ws.columns]
        print(f"{name:<28} {row[0]:>9,} {row[1]:>9,} {row[2]:>8,} {sum(calls.values()):>9,} {minutes(calls):>13,.0f}")
    ratio = sum(reload_calls.values()) / max(1, sum(result.requests.values()))
    print(f"estimate before the refresh: {result.plan}")
    print(f"refresh took {t_refresh:.1f} s here; frames equal a fresh full load: {equal}")
    print(f"requests: reload / refresh = {ratio:.1f}x" + (f" (target >= {ws.target})" if ws.target else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", choices=["slack", "teams"], default="slack")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--activity", type=float, default=0.01)
    parser.add_argument("--window-days", type=float, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fake, workspace = (FakeSlack(), slack_workspace) if args.service == "slack" else (FakeGraph(), teams_workspace)
    with fake:
        t0 = time.perf_counter()
        ws = workspace(fake, args.conversations, args.messages, args.seed)
        print(f"built {args.messages:,} messages in {args.conversations} channels in {time.perf_counter() - t0:.1f} s")
        outcome = compare(ws, args.activity, args.messages, args.window_days, args.seed + 1)
    report(ws, *outcome)


if __name__ == "__main__":
    main()
