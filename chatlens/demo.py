"""The demo workspace: a deterministic, realistic chat workspace for the demo, the notebooks, tests and benchmarks.

Two accounts of the fictional Acme Robotics: ``acme-slack`` (Slack, a normal account) and ``acme-teams`` (Teams, an
admin account, so its channel messages can be listed). Each has 35 users across six time zones (two bots, one
deactivated user who still has messages, non-ASCII names), eleven conversations (six public channels, a private
one, three direct and one group direct conversation), and messages from 2026-01-05 to 2026-07-31 whose hours follow
each sender's own working day and week. About 40% of messages are thread replies, a few percent of replies answer
an earlier reply (chains four deep and more), some threads go unanswered; there are edits, @mentions in each
service's own markup, emoji, join events, bot posts, one message with HTML that must be escaped, and ``raw``
objects shaped like Slack's and Microsoft Graph's.

Everything comes from ``numpy.random.default_rng(seed)``: the same seed and size give the same rows.

Examples
--------
>>> from chatlens.demo import generate_workspace, describe
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "small.sqlite")
>>> ws = generate_workspace(path, messages=2_000)
>>> describe(ws)["messages"]
2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import platformdirs
from filelock import FileLock

from .backends.sqlite import Workspace
from .chatapi import iso_from_us

__all__ = ["DEMO_VERSION", "DEFAULT_MESSAGES", "generate_workspace", "demo_workspace_path", "open_demo", "describe"]

DEMO_VERSION = "3"  # 2: user groups (Slack user groups, Teams teams); 3: reactions by several, files, importance
DEFAULT_MESSAGES = 24_000
START = pd.Timestamp("2026-01-05", tz="UTC")
END = pd.Timestamp("2026-08-01", tz="UTC")  # exclusive

_PEOPLE = [
    ("Ada Lovelace", "Europe/London"),
    ("Grace Hopper", "America/New_York"),
    ("Linus Torvalds", "America/Los_Angeles"),
    ("Zoë Müller", "Europe/Berlin"),
    ("José Álvarez", "Europe/Berlin"),
    ("山田 太郎", "Asia/Tokyo"),
    ("Priya Natarajan", "Asia/Kolkata"),
    ("Chidi Okafor", "Europe/London"),
    ("Margaret Hamilton", "America/New_York"),
    ("Søren Kierkegaard", "Europe/Berlin"),
    ("Ana Lucía Pérez", "America/New_York"),
    ("Wei Zhang", "Asia/Tokyo"),
    ("Fatima Zahra", "Europe/London"),
    ("Dmitri Ivanov", "Europe/Berlin"),
    ("Aroha Ngata", "Asia/Tokyo"),
    ("Kwame Mensah", "Europe/London"),
    ("Ingrid Bergström", "Europe/Berlin"),
    ("Rahul Mehta", "Asia/Kolkata"),
    ("Camille Dubois", "Europe/Berlin"),
    ("Tomás O'Brien", "Europe/London"),
    ("Yuki Sato", "Asia/Tokyo"),
    ("Nadia Haddad", "Europe/Berlin"),
    ("Oluwaseun Adeyemi", "America/New_York"),
    ("Emily Chen", "America/Los_Angeles"),
    ("Lars Johansson", "Europe/Berlin"),
    ("Sofía Romero", "America/Los_Angeles"),
    ("Arjun Rao", "Asia/Kolkata"),
    ("Hannah Schmidt", "Europe/Berlin"),
    ("Mateus Silva", "America/New_York"),
    ("Élodie Laurent", "Europe/London"),
    ("Kenji Watanabe", "Asia/Tokyo"),
    ("Mia Kowalski", "America/Los_Angeles"),
    ("Noah Williams", "America/New_York"),  # deactivated in March
]
_DELETED = "Noah Williams"
_BOTS = [("deploy-bot", "Deploy Bot"), ("standup-bot", "Standup Bot")]

# name, kind, share of traffic, which people (indices into _PEOPLE; None = everyone)
_CONVERSATIONS: list[tuple[str | None, str, float, list[int] | None]] = [
    ("general", "channel", 0.20, None),
    ("random", "channel", 0.12, None),
    ("engineering", "channel", 0.22, [0, 1, 2, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]),
    ("design", "channel", 0.09, [3, 4, 8, 10, 12, 14, 16, 18, 20, 22]),
    ("support", "channel", 0.12, [1, 6, 8, 10, 12, 16, 24, 26, 28, 30, 32]),
    ("announcements", "channel", 0.03, None),
    ("leadership", "private_channel", 0.07, [0, 1, 8, 13, 21]),
    (None, "direct", 0.06, [0, 1]),
    (None, "direct", 0.04, [3, 4]),
    (None, "direct", 0.02, [5, 11]),
    ("launch-crew", "group_direct", 0.03, [0, 2, 5, 6]),
]

_OPENERS = [
    "Has anyone looked at the {thing} yet?",
    "Quick question about the {thing}: is it blocking the release?",
    "Heads up: the {thing} is {state} today.",
    "I pushed a fix for the {thing}, reviews welcome",
    "Can we move the {thing} sync to tomorrow?",
    "The {thing} numbers look {mood} this week",
    "Who owns the {thing} now?",
    "Draft for the {thing} is in the shared folder",
    "FYI the {thing} dashboard moved",
    "Any objections to shipping the {thing} on Friday?",
    "Reminder: {thing} retro at 3pm",
    "Lunch? 🍜",
    "Ça marche, I'll take the {thing}",
    "ありがとう! The {thing} works now 🎉",
    "Good morning ☀️",
    "Does `make test` pass for you on the {thing} branch?",
    "Notes from today's {thing} review: https://wiki.acme.example/{slug}",
]
_REPLIES = [
    "Looking now",
    "Yes, on it 👍",
    "Not yet, will check after lunch",
    "+1",
    "I think {name} knows more about it",
    "Merged, thanks!",
    "Works for me",
    "Can you share the logs?",
    "Fixed in the latest build 🎉",
    "Let's discuss in standup",
    "Danke! 🙏",
    "Sounds good",
    "Hmm, I see the same on my side",
    "No objection from me",
    "Great work on the {thing}!",
]
_THINGS = [
    "gripper firmware",
    "arm calibration",
    "vision model",
    "release notes",
    "CI pipeline",
    "battery tests",
    "onboarding doc",
    "Q2 roadmap",
    "customer demo",
    "pricing page",
    "safety review",
    "motor driver",
    "warehouse pilot",
    "design system",
    "support backlog",
    "hiring plan",
]
_STATES = ["down", "flaky", "back up", "slow", "green again", "under maintenance"]
_MOODS = ["great", "worse", "about the same", "promising", "odd"]
_EMOJI = ["thumbsup", "tada", "eyes", "heart", "rocket", "white_check_mark"]
# Teams' reaction types (chatMessageReaction.reactionType: like, angry, sad, laugh, heart, surprised).
_TEAMS_REACTIONS = ["like", "heart", "laugh", "surprised", "like", "heart"]
_XSS = 'Testing the wiki embed: <script>alert("xss")</script> and <b>bold</b> & more'

# Working-hour profile of a person's local day (weights for hours 0..23) and week (Mon..Sun).
_HOURS = np.array([1, 1, 1, 1, 1, 2, 4, 10, 24, 40, 46, 42, 28, 36, 44, 42, 36, 26, 14, 9, 6, 4, 2, 1], float)
_WEEK = np.array([1.0, 1.05, 1.05, 1.0, 0.85, 0.10, 0.06])


def _hex_id(rng: np.random.Generator, prefix: str, n: int = 8) -> str:
    return prefix + "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), n))


def _guid(rng: np.random.Generator) -> str:
    h = "".join(rng.choice(list("0123456789abcdef"), 32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _slug(name: str) -> str:
    slug = "".join(c for c in name.lower().replace(" ", ".") if c.isascii() and (c.isalnum() or c == "."))
    return slug.strip(".")


def _make_users(rng: np.random.Generator, service: str) -> list[dict[str, Any]]:
    users = []
    team = "T0ACME42"
    for i, (name, tz) in enumerate(_PEOPLE):
        uid = _hex_id(rng, "U0") if service == "slack" else _guid(rng)
        email = f"{_slug(name) or 'user' + str(i)}@acme.example"
        deleted = name == _DELETED
        if service == "slack":
            raw = {
                "id": uid,
                "team_id": team,
                "name": _slug(name) or f"user{i}",
                "real_name": name,
                "deleted": deleted,
                "is_bot": False,
                "tz": tz,
                "profile": {"display_name": name.split()[0], "real_name": name, "email": email},
            }
        else:
            raw = {
                "id": uid,
                "displayName": name,
                "mail": email,
                "userPrincipalName": email,
                "accountEnabled": not deleted,
            }
        users.append(
            {
                "id": uid,
                "name": name,
                "email": email,
                "tz": tz,
                "deleted": deleted,
                "is_bot": False,
                "created": int(START.value // 1000) - 86_400_000_000 * (400 - 7 * i),
                "raw": raw,
            }
        )
    for handle, name in _BOTS:
        uid = _hex_id(rng, "U0") if service == "slack" else _guid(rng)
        raw = (
            {
                "id": uid,
                "team_id": team,
                "name": handle,
                "real_name": name,
                "deleted": False,
                "is_bot": True,
                "tz": "UTC",
                "profile": {"display_name": name, "real_name": name},
            }
            if service == "slack"
            else {"id": uid, "displayName": name, "applicationType": "bot"}
        )
        users.append(
            {
                "id": uid,
                "name": name,
                "email": None,
                "tz": "UTC",
                "deleted": False,
                "is_bot": True,
                "created": int(START.value // 1000) - 86_400_000_000 * 300,
                "raw": raw,
            }
        )
    return users


def _make_conversations(rng: np.random.Generator, service: str, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    humans = [u["id"] for u in users if not u["is_bot"]]
    bots = [u["id"] for u in users if u["is_bot"]]
    team_id = _guid(rng)
    convs = []
    for i, (name, kind, _share, people) in enumerate(_CONVERSATIONS):
        members = humans if people is None else [humans[p] for p in people]
        if name in ("engineering", "general"):
            members = [*members, *bots]
        created = int(START.value // 1000) - 86_400_000_000 * (200 - 10 * i)
        private = kind != "channel"
        if service == "slack":
            prefix = {"channel": "C0", "private_channel": "G0", "direct": "D0", "group_direct": "G0"}[kind]
            cid = _hex_id(rng, prefix)
            raw: dict[str, Any] = {
                "id": cid,
                "created": created // 1_000_000,
                "creator": members[0],
                "is_archived": False,
                "is_channel": kind == "channel",
                "is_group": kind == "private_channel",
                "is_im": kind == "direct",
                "is_mpim": kind == "group_direct",
                "is_private": private,
            }
            if kind == "direct":
                raw["user"] = members[1]
                shown = None
            else:
                handles = [u["raw"]["name"] for u in users if u["id"] in members[:3]]
                shown = name if kind != "group_direct" else "mpdm-" + "--".join(handles) + "-1"
                raw |= {
                    "name": shown,
                    "topic": {"value": "", "creator": "", "last_set": 0},
                    "purpose": {"value": f"All things {name}", "creator": members[0], "last_set": 0},
                }
        else:
            if kind in ("channel", "private_channel"):
                cid = f"19:{_guid(rng).replace('-', '')}@thread.tacv2"
                shown = name.capitalize() if name != "general" else "General"
                raw = {
                    "id": cid,
                    "displayName": shown,
                    "description": f"All things {name}",
                    "membershipType": "private" if private else "standard",
                    "createdDateTime": iso_from_us(created)[:-4] + "Z",
                    "teamId": team_id,
                }
            else:
                cid = f"19:{_guid(rng).replace('-', '')}@thread.v2"
                shown = None if kind == "direct" else "Launch crew"
                raw = {
                    "id": cid,
                    "topic": shown,
                    "chatType": "oneOnOne" if kind == "direct" else "group",
                    "createdDateTime": iso_from_us(created)[:-4] + "Z",
                    "tenantId": team_id,
                }
        convs.append(
            {
                "id": cid,
                "name": shown,
                "private": private,
                "kind": kind,
                "created": created,
                "members": members,
                "raw": raw,
            }
        )
    return convs


def _local_times(rng: np.random.Generator, n: int, tzs: np.ndarray) -> np.ndarray:
    """n timestamps (UTC microseconds) on working days and hours of each sender's own time zone."""
    days = pd.date_range(START.tz_localize(None), END.tz_localize(None), freq="D", inclusive="left")
    growth = np.linspace(0.7, 1.3, len(days)) * (1 + 0.25 * np.sin(np.arange(len(days)) / 9.0))
    weights = growth * _WEEK[days.day_of_week]
    day = rng.choice(len(days), size=n, p=weights / weights.sum())
    hour = rng.choice(24, size=n, p=_HOURS / _HOURS.sum())
    seconds = rng.integers(0, 3600, size=n)
    micros = rng.integers(0, 1_000_000, size=n)
    local = days.values[day] + hour.astype("timedelta64[h]") + seconds.astype("timedelta64[s]")
    out = np.empty(n, dtype=np.int64)
    for tz in np.unique(tzs):
        mask = tzs == tz
        stamps = pd.DatetimeIndex(local[mask]).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
        out[mask] = stamps.tz_convert("UTC").as_unit("us").asi8
    out += micros
    lo, hi = START.value // 1000, END.value // 1000 - 1
    return np.clip(out, lo, hi)


def _account_messages(
    rng: np.random.Generator, service: str, n: int, users: list[dict[str, Any]], convs: list[dict[str, Any]]
) -> pd.DataFrame:
    """The account's messages as a frame: id, conversation, sender, created, text, parent, modified, raw parts."""
    by_id = {u["id"]: u for u in users}
    n_roots = max(1, int(n * 0.6))
    shares = np.array([c[2] for c in _CONVERSATIONS])
    conv_idx = rng.choice(len(convs), size=n_roots, p=shares / shares.sum())
    # Senders: a few people talk a lot (Zipf-like), bots post only in engineering.
    sender = np.empty(n_roots, dtype=object)
    for ci, conv in enumerate(convs):
        mask = conv_idx == ci
        people = [m for m in conv["members"] if not by_id[m]["is_bot"]]
        w = 1.0 / np.arange(1, len(people) + 1) ** 0.8
        sender[mask] = np.array(people, dtype=object)[rng.permutation(len(people))][
            rng.choice(len(people), size=mask.sum(), p=w / w.sum())
        ]
        if (conv["name"] or "").lower() == "engineering":
            bots = [m for m in conv["members"] if by_id[m]["is_bot"]]
            botmask = mask & (rng.random(n_roots) < 0.08)
            sender[botmask] = np.array(bots, dtype=object)[rng.integers(0, len(bots), botmask.sum())]
    tzs = np.array([by_id[s]["tz"] for s in sender])
    # Leave room below the window's end for the microsecond lifts that make times unique.
    created = np.minimum(_local_times(rng, n_roots, tzs), END.value // 1000 - 1 - n)
    roots = pd.DataFrame(
        {"conv": conv_idx, "sender": sender, "created": created, "parent_row": -1, "thread_row": np.arange(n_roots)}
    )

    # Replies: 45% of human roots get a thread; sizes are geometric; each reply follows its parent by minutes to
    # hours; some replies answer an earlier reply rather than the root, which makes deeper chains.
    n_replies = n - n_roots
    is_bot_root = np.array([by_id[s]["is_bot"] for s in sender])
    candidates = np.flatnonzero(~is_bot_root)
    threaded = rng.choice(candidates, size=max(1, int(len(candidates) * 0.45)), replace=False)
    sizes = rng.geometric(0.32, size=len(threaded))
    sizes = np.maximum(1, np.round(sizes * n_replies / sizes.sum()).astype(int))
    diff = n_replies - sizes.sum()
    while diff != 0:  # fix rounding so the total is exact (a handful of iterations at most)
        k = rng.integers(0, len(sizes), size=abs(diff))
        np.add.at(sizes, k, 1 if diff > 0 else -1)
        sizes = np.maximum(sizes, 1)
        diff = n_replies - sizes.sum()
    thread_of = np.repeat(threaded, sizes)
    order_in_thread = np.concatenate([np.arange(s) for s in sizes]) if len(sizes) else np.array([], int)
    rconv = roots["conv"].to_numpy()[thread_of]
    delay = np.exp(rng.normal(np.log(40 * 60), 1.3, size=len(thread_of))).astype(np.int64) * 1_000_000
    rcreated = roots["created"].to_numpy()[thread_of]
    # Cumulative delays within a thread keep replies in time order.
    cum = pd.Series(delay).groupby(thread_of).cumsum().to_numpy()
    rcreated = rcreated + cum + rng.integers(1, 1_000_000, size=len(cum))
    rsender = np.empty(len(thread_of), dtype=object)
    for ci, conv in enumerate(convs):
        mask = rconv == ci
        people = [m for m in conv["members"] if not by_id[m]["is_bot"]]
        rsender[mask] = np.array(people, dtype=object)[rng.integers(0, len(people), mask.sum())]
    replies = pd.DataFrame(
        {"conv": rconv, "sender": rsender, "created": rcreated, "thread_row": thread_of, "order": order_in_thread}
    )
    msgs = pd.concat([roots.assign(order=-1), replies], ignore_index=True)
    msgs["parent_row"] = -1
    reply_rows = np.flatnonzero(msgs["order"].to_numpy() >= 0)
    thread_rows = msgs["thread_row"].to_numpy()
    parent_row = np.where(msgs["order"].to_numpy() >= 0, thread_rows, -1)
    # 6% of replies (after the first of their thread) answer the previous reply instead of the root.
    prev_is_reply = (msgs["order"].to_numpy() >= 1) & (rng.random(len(msgs)) < 0.06)
    parent_row = np.where(prev_is_reply, np.arange(len(msgs)) - 1, parent_row)
    # One guaranteed deep chain: the largest thread's first five replies each answer the one before.
    if len(sizes):
        big = threaded[np.argmax(sizes)]
        chain = reply_rows[thread_rows[reply_rows] == big][:5]
        parent_row[chain[1:]] = chain[:-1]
    msgs["parent_row"] = parent_row
    # A thread running past the end of the window is compressed in time (its delays scaled down), which keeps
    # every reply after its parent and the window's end exact.
    limit = END.value // 1000 - 1 - len(msgs)
    root_time = msgs["created"].to_numpy()[msgs["thread_row"].to_numpy()]
    last = msgs.groupby("thread_row")["created"].transform("max").to_numpy()
    over = last > limit
    span = np.maximum(last - root_time, 1)
    scale = np.where(over, np.maximum(limit - root_time, 0) / span, 1.0)
    msgs["created"] = np.where(
        over,
        root_time + ((msgs["created"].to_numpy() - root_time) * scale).astype(np.int64),
        msgs["created"].to_numpy(),
    )

    # Unique, strictly increasing times per conversation that keep every reply after its parent: sort, then
    # lift any tie by a microsecond (a monotone map, so order is preserved).
    msgs = msgs.sort_values(["conv", "created"], kind="stable")
    c = msgs["created"].to_numpy()
    grp = msgs["conv"].to_numpy()
    idx = np.arange(len(c))
    start = np.r_[0, np.flatnonzero(np.diff(grp)) + 1]
    rank = idx - np.repeat(start, np.diff(np.r_[start, len(c)]))
    base = c - rank
    base = pd.Series(base).groupby(grp).cummax().to_numpy()
    msgs["created"] = base + rank
    # Deleted user stops posting in March: reassign their later messages to the first member.
    return msgs


def _build_rows(
    rng: np.random.Generator,
    service: str,
    msgs: pd.DataFrame,
    users: list[dict[str, Any]],
    convs: list[dict[str, Any]],
    xss: bool,
    extra: np.random.Generator | None = None,
) -> Iterator[tuple[Any, ...]]:
    by_id = {u["id"]: u for u in users}
    humans = [u for u in users if not u["is_bot"] and not u["deleted"]]
    n = len(msgs)
    conv_idx = msgs["conv"].to_numpy()
    senders = msgs["sender"].to_numpy()
    created = msgs["created"].to_numpy()
    parent_rows = msgs["parent_row"].to_numpy()
    thread_rows = msgs["thread_row"].to_numpy()
    order = msgs["order"].to_numpy()

    # ids
    if service == "slack":
        ts = [f"{c // 1_000_000}.{c % 1_000_000:06d}" for c in created]
        ids = [f"{convs[ci]['id']}-{t}" for ci, t in zip(conv_idx, ts)]
    else:
        ms = np.sort(created // 1000)
        uniq = ms - np.arange(n)
        uniq = np.maximum.accumulate(uniq) + np.arange(n)  # strictly increasing epoch-ms, unique in the account
        rank = np.argsort(np.argsort(created, kind="stable"), kind="stable")
        gid = uniq[rank]
        ids = [str(g) for g in gid]
        ts = ids
    id_of_row = dict(zip(msgs.index.to_numpy(), ids))
    parent_ids = ["" if p < 0 else id_of_row[p] for p in parent_rows]
    root_ids = [id_of_row[t] for t in thread_rows]

    # text and flags
    r = rng.random((n, 6))
    opener = rng.integers(0, len(_OPENERS), n)
    reply = rng.integers(0, len(_REPLIES), n)
    thing = rng.integers(0, len(_THINGS), n)
    state = rng.integers(0, len(_STATES), n)
    mood = rng.integers(0, len(_MOODS), n)
    mention_who = rng.integers(0, len(humans), n)
    edit_delay = rng.integers(30, 3600, n).astype(np.int64) * 1_000_000
    emoji = rng.integers(0, len(_EMOJI), n)
    extra = extra if extra is not None else np.random.default_rng(0)
    more_reactors = extra.integers(0, 4, n)  # people reacting besides the first
    reactors = extra.integers(0, max(len(humans), 1), (n, 3))
    unnamed = extra.random(n) < 0.05  # Slack names a sample of the users when many reacted
    shares_file = extra.random(n) < 0.04
    file_of = extra.integers(0, len(_FILES), n)
    importance = extra.random(n)

    # thread aggregates for Slack roots
    reply_mask = order >= 0
    thread_info: dict[str, tuple[int, list[str], str]] = {}
    if service == "slack":
        frame = pd.DataFrame(
            {
                "root": np.array(root_ids, dtype=object)[reply_mask],
                "sender": senders[reply_mask],
                "ts": np.array(ts, dtype=object)[reply_mask],
            }
        )
        for root, g in frame.groupby("root", sort=False):
            thread_info[root] = (len(g), list(dict.fromkeys(g["sender"]))[:5], g["ts"].iloc[-1])
    id_to_ts = dict(zip(ids, ts))
    id_to_sender = dict(zip(ids, senders))

    xss_done = not xss
    for i in range(n):
        ci = conv_idx[i]
        conv = convs[ci]
        sender = senders[i]
        user = by_id[sender]
        fill = {
            "thing": _THINGS[thing[i]],
            "state": _STATES[state[i]],
            "mood": _MOODS[mood[i]],
            "slug": _THINGS[thing[i]].replace(" ", "-"),
            "name": humans[mention_who[i]]["name"],
        }
        is_reply = order[i] >= 0
        text = (_REPLIES[reply[i]] if is_reply else _OPENERS[opener[i]]).format(**fill)
        subtype = None
        if user["is_bot"]:
            text = (
                f"Deployed build #{1000 + i % 9000} of the {fill['thing']} to staging ✅"
                if "deploy" in user["name"].lower()
                else f"Standup reminder: what are you working on today? ({fill['thing']})"
            )
            subtype = "bot_message"
        mention = None
        if not user["is_bot"] and r[i, 0] < 0.08:
            target = humans[mention_who[i]]
            if target["id"] != sender:
                mention = target
        if not xss_done and (conv["name"] or "").lower() == "random" and not is_reply and not user["is_bot"]:
            text, xss_done = _XSS, True
        edited = not user["is_bot"] and r[i, 1] < 0.03
        modified = int(created[i] + edit_delay[i]) if edited else None
        if edited:
            text = text + " (edited)"
        if service == "slack":
            body = f"<@{mention['id']}> {text}" if mention else text
            raw: dict[str, Any] = {"type": "message", "user": sender, "text": body, "ts": ts[i], "team": "T0ACME42"}
            if subtype:
                raw |= {"subtype": subtype, "bot_id": "B" + sender[2:], "username": user["name"]}
            if is_reply:
                root = root_ids[i]
                raw |= {"thread_ts": id_to_ts[root], "parent_user_id": id_to_sender[root]}
            elif ids[i] in thread_info:
                count, reply_users, latest = thread_info[ids[i]]
                raw |= {
                    "thread_ts": ts[i],
                    "reply_count": count,
                    "reply_users": reply_users,
                    "reply_users_count": len(reply_users),
                    "latest_reply": latest,
                }
            if edited:
                raw["edited"] = {"user": sender, "ts": f"{modified // 1_000_000}.{modified % 1_000_000:06d}"}
            if r[i, 2] < 0.1:
                who = _reactors(humans, mention_who[i], reactors[i], more_reactors[i])
                count = len(who) + (int(10 + reactors[i, 0] % 20) if unnamed[i] else 0)
                raw["reactions"] = [{"name": _EMOJI[emoji[i]], "users": who, "count": count}]
            if shares_file[i] and not user["is_bot"]:
                name, mimetype, filetype = _FILES[file_of[i]]
                raw["files"] = [{"id": f"F{i:08d}", "name": name, "mimetype": mimetype, "filetype": filetype}]
            plain = body
        else:
            plain = f"{mention['name']} {text}" if mention else text
            html = (
                f'<div><at id="0">{_escape(mention["name"])}</at> {_escape(text)}</div>'
                if mention
                else f"<div>{_escape(text)}</div>"
            )
            raw = {
                "id": ids[i],
                "replyToId": id_of_row[thread_rows[i]] if is_reply else None,
                "etag": ids[i],
                "messageType": "message",
                "createdDateTime": iso_from_us(created[i])[:-4] + "Z",
                "lastModifiedDateTime": iso_from_us(modified or created[i])[:-4] + "Z",
                "lastEditedDateTime": iso_from_us(modified)[:-4] + "Z" if modified else None,
                "deletedDateTime": None,
                "importance": ("urgent" if importance[i] < 0.005 else "high" if importance[i] < 0.025 else "normal"),
                "locale": "en-us",
                "from": (
                    {
                        "application": {"id": sender, "displayName": user["name"], "applicationIdentityType": "bot"},
                        "user": None,
                        "device": None,
                    }
                    if user["is_bot"]
                    else {
                        "user": {"id": sender, "displayName": user["name"], "userIdentityType": "aadUser"},
                        "application": None,
                        "device": None,
                    }
                ),
                "body": {"contentType": "html", "content": html},
                "attachments": (
                    [
                        {
                            "id": f"a{i:08d}",
                            "contentType": "reference",
                            "contentUrl": f"https://acme.sharepoint.example/{_FILES[file_of[i]][0]}",
                            "name": _FILES[file_of[i]][0],
                        }
                    ]
                    if shares_file[i] and not user["is_bot"]
                    else []
                ),
                "mentions": (
                    [
                        {
                            "id": 0,
                            "mentionText": mention["name"],
                            "mentioned": {
                                "user": {
                                    "id": mention["id"],
                                    "displayName": mention["name"],
                                    "userIdentityType": "aadUser",
                                }
                            },
                        }
                    ]
                    if mention
                    else []
                ),
                "reactions": (
                    [
                        {
                            "reactionType": _TEAMS_REACTIONS[emoji[i] % len(_TEAMS_REACTIONS)],
                            "createdDateTime": raw_time(int(created[i]) + (k + 1) * 60_000_000),
                            "user": {"user": {"id": who}},
                        }
                        for k, who in enumerate(_reactors(humans, mention_who[i], reactors[i], more_reactors[i]))
                    ]
                    if r[i, 2] < 0.1
                    else []
                ),
            }
            if conv["kind"] in ("channel", "private_channel"):
                raw["channelIdentity"] = {"teamId": conv["raw"]["teamId"], "channelId": conv["id"]}
            else:
                raw["chatId"] = conv["id"]
            if user["is_bot"]:
                subtype = "bot_message"
        yield (ids[i], conv["id"], sender, int(created[i]), plain, parent_ids[i], modified, orjson.dumps(raw).decode())


_FILES = [
    ("whiteboard.png", "image/png", "png"),
    ("Q3 roadmap.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    ("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("design-spec.pdf", "application/pdf", "pdf"),
    ("screenshot.png", "image/png", "png"),
    ("notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
]


def _reactors(humans: list[dict[str, Any]], first: int, others: np.ndarray, more: int) -> list[str]:
    """The ids of the people reacting to a message: the first, then up to ``more`` others, each once."""
    picked = [first, *others[:more].tolist()]
    return list(dict.fromkeys(humans[j]["id"] for j in picked))


def raw_time(us: int) -> str:
    return iso_from_us(us)[:-4] + "Z"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _join_events(service: str, users: list[dict[str, Any]], convs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One join system message per member of #engineering and #design, on the Sunday before the window opens
    (before every other message, so their times and ids never collide with the generated ones)."""
    rows = []
    by_id = {u["id"]: u for u in users}
    for c, conv in enumerate(convs):
        if conv["name"] not in ("engineering", "design", "Engineering", "Design"):
            continue
        for k, uid in enumerate(m for m in conv["members"] if not by_id[m]["is_bot"]):
            created = int(START.value // 1000) - 20 * 3_600_000_000 + c * 3_600_000_000 + k * 61_000_000
            if service == "slack":
                ts = f"{created // 1_000_000}.{created % 1_000_000:06d}"
                text = f"<@{uid}> has joined the channel"
                raw = {"type": "message", "subtype": "channel_join", "user": uid, "text": text, "ts": ts}
                mid = f"{conv['id']}-{ts}"
            else:
                mid = str(created // 1000)
                text = f"{by_id[uid]['name']} joined the channel"
                raw = {
                    "id": mid,
                    "replyToId": None,
                    "messageType": "systemEventMessage",
                    "createdDateTime": raw_time(created),
                    "from": None,
                    "body": {"contentType": "html", "content": "<systemEventMessage/>"},
                    "eventDetail": {
                        "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                        "members": [{"id": uid, "displayName": by_id[uid]["name"]}],
                        "initiator": {"user": {"id": uid, "displayName": by_id[uid]["name"]}},
                    },
                    "channelIdentity": {"teamId": conv["raw"].get("teamId"), "channelId": conv["id"]},
                    "mentions": [],
                    "reactions": [],
                }
            rows.append((mid, conv["id"], uid, created, text, "", None, orjson.dumps(raw).decode()))
    return rows


def generate_workspace(
    path: str | os.PathLike[str], *, messages: int = DEFAULT_MESSAGES, seed: int = 0, progress: bool = False
) -> Workspace:
    """Build the demo workspace into a new SQLite file.

    Parameters
    ----------
    path
        Where to write; must not exist.
    messages
        How many messages in all (split evenly between the two accounts; join events included).
    seed
        The random seed: the same seed and size give identical rows.
    progress
        Print one line per account to stderr.

    Returns
    -------
    Workspace

    Examples
    --------
    >>> import tempfile, os
    >>> ws = generate_workspace(os.path.join(tempfile.mkdtemp(), "w.sqlite"), messages=1_000)
    >>> [a["id"] for a in ws.accounts()]
    ['acme-slack', 'acme-teams']
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; the demo generator never overwrites a workspace")
    if messages < 200:
        raise ValueError(f"messages must be at least 200, got {messages}")
    rng = np.random.default_rng(seed)
    ws = Workspace(path)
    for k, (account, service, label, admin) in enumerate(
        [
            ("acme-slack", "slack", "Acme Robotics (Slack)", False),
            ("acme-teams", "ms_teams", "Acme Robotics (Teams)", True),
        ]
    ):
        t0 = time.perf_counter()
        users = _make_users(rng, service)
        convs = _make_conversations(rng, service, users)
        joins = _join_events(service, users, convs)
        n = messages // 2 + (messages % 2 if k == 0 else 0) - len(joins)
        msgs = _account_messages(rng, service, n, users, convs)
        msgs = _retire_deleted_user(msgs, users, convs)
        ws.add_account(account, service=service, name=label, user_id=users[0]["id"], admin=admin)
        ws.add_users(account, users)
        ws.add_groups(account, _make_groups(service, users))
        ws.add_conversations(account, convs)
        ws.add_messages(account, joins)
        # A generator: rows stream into SQLite, so a million messages never sit in memory as JSON at once.
        # The signals of version 3 (more reactors, files, importance) draw from a generator of their own, so the
        # messages, their texts and times stay those of version 2.
        extra = np.random.default_rng([seed, k])
        ws.add_messages(account, _build_rows(rng, service, msgs, users, convs, xss=True, extra=extra))
        if progress:
            print(
                f"{account}: {len(msgs) + len(joins):,} messages in {time.perf_counter() - t0:.1f} s", file=sys.stderr
            )
    return ws


_GROUPS = ["engineering", "design", "support", "leadership"]


def _make_groups(service: str, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User groups spanning the conversations: one per team channel (its people), and on Teams the company-wide
    team too. Built without the random generator, so adding them changed no message."""
    import uuid

    humans = [u["id"] for u in users if not u["is_bot"]]
    people = {name: members for name, _kind, _share, members in _CONVERSATIONS if name in _GROUPS}
    created = int(START.value // 1000) - 86_400_000_000 * 180
    groups = []
    for name in _GROUPS:
        members = [humans[p] for p in people[name] or range(len(humans))]
        if service == "slack":
            gid = f"S0{name[:3].upper()}{len(name):04d}"
            raw = {"id": gid, "handle": name, "name": name.title(), "date_create": created // 1_000_000}
        else:
            gid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://acme.example/teams/{name}"))
            raw = {"id": gid, "displayName": name.title(), "description": f"The {name} team"}
        groups.append(
            {
                "id": gid,
                "name": name,
                "description": f"The {name} team",
                "created": created,
                "members": members,
                "raw": raw,
            }
        )
    if service == "ms_teams":
        gid = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://acme.example/teams/acme-robotics"))
        raw = {"id": gid, "displayName": "Acme Robotics", "description": "Everyone"}
        groups.append(
            {
                "id": gid,
                "name": "Acme Robotics",
                "description": "Everyone",
                "created": created,
                "members": humans,
                "raw": raw,
            }
        )
    return groups


def _retire_deleted_user(msgs: pd.DataFrame, users: list[dict[str, Any]], convs: list[dict[str, Any]]) -> pd.DataFrame:
    """The deactivated user posts until mid-March; later posts go to the conversation's first member."""
    deleted = next(u["id"] for u in users if u["deleted"])
    cutoff = pd.Timestamp("2026-03-16", tz="UTC").value // 1000
    late = (msgs["sender"].to_numpy() == deleted) & (msgs["created"].to_numpy() >= cutoff)
    first = np.array([convs[c]["members"][0] for c in msgs["conv"].to_numpy()], dtype=object)
    msgs = msgs.copy()
    msgs["sender"] = np.where(late, first, msgs["sender"].to_numpy())
    return msgs


def demo_workspace_path() -> Path:
    """The demo workspace file, generated on first use (default size, seed 0).

    ``CHATLENS_DEMO_DB`` names the file; otherwise it lives in the user cache directory. Safe when two processes
    ask at once (a file lock) and when interrupted (built in a temporary file, then renamed into place).
    """
    env = os.environ.get("CHATLENS_DEMO_DB")
    path = (
        Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("chatlens")) / f"demo-{DEMO_VERSION}.sqlite"
    )
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            for leftover in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
                leftover.unlink(missing_ok=True)
            ws = generate_workspace(tmp)
            ws.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            ws.db.execute("PRAGMA journal_mode=DELETE")
            ws.close()
            os.replace(tmp, path)
    return path


def open_demo() -> Workspace:
    """The demo :class:`~chatlens.backends.sqlite.Workspace` (generated on first use)."""
    return Workspace(demo_workspace_path())


def describe(workspace: Workspace) -> dict[str, Any]:
    """The workspace's figures: accounts, conversations, users, messages, time span, threads, deepest chain.

    Examples
    --------
    >>> d = describe(open_demo())
    >>> d["accounts"], d["messages"] >= 20_000, d["deepest_chain"] >= 3
    (2, True, True)
    """
    db = workspace.db
    q = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    first, last = db.execute("SELECT min(created), max(created) FROM messages").fetchone()
    depth = _deepest_chain(db)
    per_account = {
        a: {"conversations": c, "users": u, "messages": m}
        for a, c, u, m in db.execute(
            "SELECT a.id, (SELECT count(*) FROM conversations WHERE account_id = a.id),"
            " (SELECT count(*) FROM users WHERE account_id = a.id),"
            " (SELECT count(*) FROM messages WHERE account_id = a.id) FROM accounts a ORDER BY a.id"
        )
    }
    return {
        "accounts": q("SELECT count(*) FROM accounts"),
        "per_account": per_account,
        "conversations": q("SELECT count(*) FROM conversations"),
        "users": q("SELECT count(*) FROM users"),
        "messages": q("SELECT count(*) FROM messages"),
        "first": iso_from_us(first) if first is not None else None,
        "last": iso_from_us(last) if last is not None else None,
        "messages_with_replies": q(
            "SELECT count(DISTINCT account_id || ' ' || parent) FROM messages WHERE parent != ''"
        ),
        "replies": q("SELECT count(*) FROM messages WHERE parent != ''"),
        "deepest_chain": depth,
        "bots": q("SELECT count(*) FROM users WHERE is_bot"),
        "deleted_users": q("SELECT count(*) FROM users WHERE deleted"),
        "edited": q("SELECT count(*) FROM messages WHERE modified IS NOT NULL"),
    }


def _deepest_chain(db: Any) -> int:
    """The longest run of parent links in the workspace, by pointer jumping over integer arrays."""
    frame = pd.DataFrame(
        db.execute("SELECT account_id || ' ' || id, account_id || ' ' || parent, parent FROM messages").fetchall(),
        columns=["key", "pkey", "parent"],
    )
    if frame.empty:
        return 0
    pos = pd.Index(frame["key"])
    parent = np.where(frame["parent"].to_numpy() == "", -1, pos.get_indexer(frame["pkey"]))
    depth = np.zeros(len(frame), dtype=np.int64)
    cur = parent.copy()
    for _ in range(len(frame)):
        alive = cur >= 0
        if not alive.any():
            break
        depth[alive] += 1
        cur[alive] = parent[cur[alive]]
    return int(depth.max())


def main(argv: list[str] | None = None) -> int:
    """``python -m chatlens.demo --messages N --seed S --out PATH``: build a workspace and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m chatlens.demo", description="Build a demo chat workspace.")
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    ws = generate_workspace(args.out, messages=args.messages, seed=args.seed, progress=True)
    took = time.perf_counter() - t0
    figures = describe(ws)
    for key, value in figures.items():
        print(f"{key:<15} {value}")
    print(f"{'seconds':<15} {took:.1f}")
    print(f"{'bytes':<15} {os.path.getsize(args.out):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
