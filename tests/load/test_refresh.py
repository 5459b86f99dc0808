"""Thread-complete incremental refresh (chatlens.threadsync) against the fake Slack over real HTTP.

Every scenario ends the same way: the refreshed frames must equal a full fresh load of the same fake.
"""

from __future__ import annotations

import math
import random
import time

import pandas as pd
import pytest

from chatlens.backends.slack import SlackChatAPI
from chatlens.chatapi import ThreadRecord
from chatlens.load._columns import _finish, _message_columns, _stored_frame, _upsert
from chatlens.load._fetch import _fetch_conversation
from chatlens.threadsync import (
    DAY_US,
    Budget,
    ThreadState,
    refresh_all,
    state_from_frame,
    supports_thread_refresh,
    thread_table,
)
from tests.fakes.slack import FakeSlack, ts_from_us

NOW = time.time_ns() // 1000
CHANNELS = ["C1", "C2", "C3"]
COLUMNS = ["id", "sender_id", "created", "modified", "text", "parent", "thread_id"]


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def _workspace(slack: FakeSlack, *, token_kind: str = "user"):
    token, team = slack.add_team(user_id="U1", admin=True)  # the fake lets an admin delete others' messages
    team.bot = token_kind == "bot"
    for uid in ("U1", "U2", "U3"):
        slack.add_user(team, uid, uid.lower(), f"{uid.lower()}@example.com")
    rng = random.Random(7)
    for cid in CHANNELS:
        slack.add_channel(
            team, cid, name=cid.lower(), kind="channel", created_us=NOW - 400 * DAY_US, members=["U1", "U2", "U3"]
        )
        # 40 roots over the last 200 days, a third with replies spread after them.
        for i in range(40):
            root_us = NOW - (200 - 5 * i) * DAY_US + rng.randrange(DAY_US)
            root = ts_from_us(root_us)
            slack.add_message(team, cid, rng.choice(["U1", "U2", "U3"]), root, f"{cid} root {i}")
            if i % 3 == 0:
                for k in range(rng.randrange(1, 5)):
                    reply_us = min(root_us + (k + 1) * 3_600_000_000, NOW - 1_000_000 * (i + k + 1))
                    slack.add_message(team, cid, "U2", ts_from_us(reply_us), f"re {i}.{k}", root)
    slack.throttle("conversations.history", interval=0, limit_cap=15)  # Slack's small pages, no waiting
    api = SlackChatAPI(token, base_url=slack.url, history_limit=15, retries=0)
    return api, team


def _tools(service: str = "slack"):
    def to_frame(objs):
        return _stored_frame(_message_columns(objs))

    def drop(frame, ids):
        return _finish(frame[~frame["id"].astype(str).isin(list(ids))])

    return {"to_frame": to_frame, "upsert": _upsert, "drop": drop}


def _full(api):
    return {cid: _fetch_conversation(api, cid) for cid in CHANNELS}


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for cid in CHANNELS:
        left = a[cid][COLUMNS].astype(str).reset_index(drop=True)
        right = b[cid][COLUMNS].astype(str).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, obj=cid)


def _refresh(api, frames, states, **kw):
    out_frames, out_states = dict(frames), dict(states)

    def on_done(cid, frame, state):
        out_frames[cid], out_states[cid] = frame, state

    result = refresh_all(api, frames, states, window_us=14 * DAY_US, on_done=on_done, progress=False, **_tools(), **kw)
    return out_frames, out_states, result


def _cold(api):
    frames = _full(api)
    fetched = time.time_ns() // 1000
    return frames, {cid: state_from_frame(f, cid, fetched) for cid, f in frames.items()}


def _old_thread(team, cid: str) -> str:
    """A thread root at least 100 days old that has replies."""
    ch = team.channels[cid]
    return next(
        ts
        for ts, m in sorted(ch.messages.items())
        if m.get("reply_count") and int(ts.split(".")[0]) * 10**6 < NOW - 100 * DAY_US
    )


def test_supports_only_the_slack_connector(slack):
    api, _ = _workspace(slack)
    assert supports_thread_refresh(api)


def test_new_replies_to_months_old_threads_are_found(slack):
    api, team = _workspace(slack)
    frames, states = _cold(api)
    old = _old_thread(team, "C2")
    slack.add_message(team, "C2", "U3", team.next_ts(), "late reply to an old thread", old)
    slack.add_message(team, "C1", "U1", team.next_ts(), "a new root")
    calls = sum(api.calls.values())
    frames, states, result = _refresh(api, frames, states)
    spent = sum(api.calls.values()) - calls
    _same(frames, _full(api))
    recent = sum(
        1
        for ch in team.channels.values()
        for ts, m in ch.messages.items()
        if m.get("reply_count") and m.get("thread_ts", ts) == ts and int(ts.split(".")[0]) * 10**6 >= NOW - 14 * DAY_US
    )
    # The old thread, and the threads started within the window (fetched every time: edits show nowhere else).
    assert not result.partial and result.requests["replies"] == 1 + recent
    assert "late reply to an old thread" in set(frames["C2"]["text"])
    table = thread_table(states)
    assert table["complete"].all() and len(table) == 121  # 120 roots and the new one
    full = sum(_count_full(api).values())
    assert spent * 5 < full, (spent, full)  # 3 history pages, 1 search, 1 replies against a full reload


def _count_full(api):
    before = dict(api.calls)
    _full(api)
    return {m: n - before.get(m, 0) for m, n in api.calls.items()}


def test_edits_and_deletions_within_the_window(slack):
    api, team = _workspace(slack)
    slack_ts = [team.next_ts() for _ in range(3)]
    root, reply, lonely = slack_ts
    slack.add_message(team, "C3", "U1", root, "recent root")
    slack.add_message(team, "C3", "U2", reply, "recent reply", root)
    slack.add_message(team, "C3", "U1", lonely, "recent lonely root")
    frames, states = _cold(api)
    edited_reply = team.next_ts()
    slack.add_message(team, "C3", "U1", edited_reply, "a reply I will edit", root)
    frames, states = _cold(api)
    api._call("chat.update", write=True, channel="C3", ts=edited_reply, text="a reply, edited")
    api._call("chat.update", write=True, channel="C3", ts=root, text="recent root (edited)")
    api._call("chat.delete", write=True, channel="C3", ts=reply)
    api._call("chat.delete", write=True, channel="C3", ts=lonely)
    frames, states, _ = _refresh(api, frames, states)
    _same(frames, _full(api))
    texts = set(frames["C3"]["text"])
    assert "a reply, edited" in texts and "a reply I will edit" not in texts
    assert "recent root (edited)" in texts and "recent reply" not in texts and "recent lonely root" not in texts


@pytest.mark.parametrize("seed", range(3))
def test_any_sequence_of_refreshes_equals_a_full_load(slack, seed):
    api, team = _workspace(slack)
    frames, states = _cold(api)
    rng = random.Random(seed)
    for _round in range(3):
        for _ in range(rng.randrange(1, 6)):
            cid = rng.choice(CHANNELS)
            ch = team.channels[cid]
            action = rng.random()
            if action < 0.4:
                slack.add_message(team, cid, rng.choice(["U1", "U2"]), team.next_ts(), "new root")
            elif action < 0.8:
                roots = [ts for ts, m in ch.messages.items() if m.get("thread_ts", ts) == ts and "subtype" not in m]
                slack.add_message(team, cid, "U3", team.next_ts(), "new reply", rng.choice(roots))
            else:
                # Deletions inside the window (Slack reports no deletion in an older thread: refresh="full" does)
                recent = [
                    ts
                    for ts, m in ch.messages.items()
                    if int(m.get("thread_ts", ts).split(".")[0]) * 10**6 > NOW - 10 * DAY_US
                ]
                if recent:
                    api._call("chat.delete", write=True, channel=cid, ts=rng.choice(recent))
        frames, states, result = _refresh(api, frames, states)
        assert not result.partial
        _same(frames, _full(api))


def test_a_budget_that_runs_out_leaves_a_partial_resumable_result(slack):
    api, team = _workspace(slack)
    frames, states = _cold(api)
    for cid in CHANNELS:
        slack.add_message(team, cid, "U1", team.next_ts(), f"new in {cid}")
    frames, states, result = _refresh(api, frames, states, budget=Budget(requests=3))
    assert result.partial and result.pending
    assert sum(result.requests.values()) <= 3 + 1  # the search page, then nothing the budget could not pay for
    untouched = result.pending
    assert all(f"new in {cid}" not in set(frames[cid]["text"]) for cid in untouched)
    frames, states, result = _refresh(api, frames, states)
    assert not result.partial
    _same(frames, _full(api))


def test_the_plan_estimates_before_fetching_and_orders_recent_first(slack):
    api, team = _workspace(slack)
    frames, states = _cold(api)
    slack.add_message(team, "C3", "U1", team.next_ts(), "newest")
    frames, states, _ = _refresh(api, frames, states)
    _, _, result = _refresh(api, frames, states)
    assert result.plan.order[0] == "C3"
    assert result.plan.requests["history"] >= 3 and "min" in str(result.plan)
    assert sum(result.requests.values()) <= sum(result.plan.requests.values())


def test_without_search_old_threads_wait_for_a_rescan_and_say_so(slack):
    api, team = _workspace(slack, token_kind="bot")
    frames, states = _cold(api)
    old = _old_thread(team, "C1")
    slack.add_message(team, "C1", "U3", team.next_ts(), "late reply", old)
    frames, states, _ = _refresh(api, frames, states)
    assert "late reply" not in set(frames["C1"]["text"])  # a bot token cannot search: documented limit
    assert ThreadState.from_json(states["C1"].to_json()).threads == states["C1"].threads


def test_load_messages_refresh_uses_it_through_the_cache(slack, tmp_path):
    import chatlens
    from chatlens.loaders import RefreshIncompleteWarning, load_thread_status

    api, team = _workspace(slack)
    cache = str(tmp_path / "cache")
    cold = chatlens.load_messages(api, cache_dir=cache, progress=False)
    old = _old_thread(team, "C2")
    slack.add_message(team, "C2", "U3", team.next_ts(), "late reply, loaded", old)
    for cid in CHANNELS:
        slack.add_message(team, cid, "U1", team.next_ts(), f"fresh in {cid}")
    # The budget pays for listing the conversations again too: conversations.list and 3 conversations.members
    # calls, then the search page and 3 history pages, and it is spent.
    with pytest.warns(RefreshIncompleteWarning, match="stopped at its budget"):
        partial = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=8, progress=False)
    assert len(cold) < len(partial) < len(cold) + 4
    from chatlens.cache import AccountCache

    spent = AccountCache(api.identity, cache_dir=cache).manifest()["last_refresh"]["requests"]
    assert spent["conversations"] == 1 and spent["members"] == 3 and sum(spent.values()) <= 8 + 1
    calls = dict(api.calls)
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    assert sum(api.calls.values()) - sum(calls.values()) < 20  # incremental, not a reload
    full = chatlens.load_messages(api, cache=False, progress=False)
    pd.testing.assert_frame_equal(refreshed[COLUMNS].astype(str), full[COLUMNS].astype(str))
    assert "late reply, loaded" in set(refreshed["text"])
    status = load_thread_status(api, cache_dir=cache)
    assert len(status) == 123 and status["complete"].all()
    with pytest.raises(ValueError, match="budget"):
        chatlens.load_messages("demo", refresh=True, budget=10, progress=False)


class _Opaque:
    """A service object the refresh may carry but never read: any subscript or attribute fails the test."""

    def __init__(self, message: dict):
        object.__setattr__(self, "_message", message)

    def __getitem__(self, key):
        raise AssertionError(f"threadsync read {key!r} of a service's object")

    def get(self, key, default=None):
        raise AssertionError(f"threadsync read {key!r} of a service's object")


class _NeutralConnector:
    """The smallest connector of the refresh protocol, for a service chatlens has never heard of: records carry an
    opaque object, so a refresh that reads anything but the records' neutral fields fails."""

    history_limit = 2
    replies_inline = False
    threads_by_reference = False

    def __init__(self):
        self.request_kinds = {"list": "history", "thread": "replies"}
        self.calls = {"list": 0, "thread": 0}
        self.roots: dict[str, dict] = {}  # key -> message
        self.replies: dict[str, list[dict]] = {}  # root key -> replies, newest first

    def post(self, us: int, text: str, root: str | None = None) -> str:
        key = ts_from_us(us)
        message = {
            "id": "m" + key,
            "sender": {"id": "U1", "name": "Ada"},
            "created": pd.Timestamp(us, unit="us", tz="UTC").isoformat().replace("+00:00", "Z"),
            "text": text,
            "parent": "m" + root if root else "",
        }
        if root:
            self.replies.setdefault(root, []).insert(0, message)
        else:
            self.roots[key] = message
        return key

    def _record(self, key: str, thread: str, message: dict) -> ThreadRecord:
        replies = self.replies.get(key, []) if key == thread else []
        latest = max((ts_from_us(pd.Timestamp(r["created"]).value // 1000) for r in replies), default=None)
        return ThreadRecord(
            key=key, thread_key=thread, reply_count=len(replies), latest_reply=latest, raw=_Opaque(message)
        )

    def history_page(self, conversation_id, *, oldest_us=None, cursor=None):
        self.calls["list"] += 1
        keys = sorted((k for k in self.roots if oldest_us is None or int(float(k) * 1e6) >= oldest_us), reverse=True)
        start = int(cursor or 0)
        page = keys[start : start + self.history_limit]
        more = start + self.history_limit < len(keys)
        return [self._record(k, k, self.roots[k]) for k in page], str(start + self.history_limit) if more else None

    def thread_replies(self, conversation_id, root_key):
        self.calls["thread"] += 1
        return [
            self._record(ts_from_us(pd.Timestamp(r["created"]).value // 1000), root_key, r)
            for r in self.replies.get(root_key, [])
        ]

    def to_messages(self, records, conversation_id):
        return [{**r.raw._message, "conversation_id": conversation_id} for r in records]

    def threads_active_since(self, since_us):
        return None

    def lists_changes(self, conversation_id):
        return False

    def rate_limits(self):
        return {"history": 60.0, "replies": 60.0}


def test_the_refresh_reads_only_the_neutral_fields_of_a_connectors_records():
    api = _NeutralConnector()
    old = api.post(NOW - 30 * DAY_US, "an old root")
    api.post(NOW - 30 * DAY_US + 1000, "its reply", old)
    recent = api.post(NOW - 2 * DAY_US, "a recent root")
    frames = {"C1": pd.DataFrame()}
    tools = _tools()
    frames["C1"] = tools["to_frame"]([])
    states = {"C1": ThreadState()}
    out = {}
    result = refresh_all(
        api,
        frames,
        states,
        window_us=14 * DAY_US,
        on_done=lambda c, f, s: out.update({c: (f, s)}),
        progress=False,
        **tools,
    )
    frame, state = out["C1"]
    assert sorted(frame["text"]) == ["a recent root", "an old root", "its reply"]
    assert (state.threads[old].reply_count, state.threads[old].replies_fetched) == (1, 1)
    assert state.threads[recent].reply_count == 0
    assert result.requests == {"history": 1, "replies": 1}  # one page of two roots, one thread with replies
    # A new reply to the recent root and a new root: the next refresh brings both, with no rescan of the old thread.
    api.post(NOW - DAY_US, "a new reply", recent)
    api.post(NOW - 1000, "a new root")
    result = refresh_all(
        api,
        {"C1": frame},
        {"C1": state},
        window_us=14 * DAY_US,
        on_done=lambda c, f, s: out.update({c: (f, s)}),
        progress=False,
        **tools,
    )
    frame, state = out["C1"]
    assert sorted(frame["text"]) == ["a new reply", "a new root", "a recent root", "an old root", "its reply"]
    assert thread_table({"C1": state}).set_index("thread_id")["complete"].all()


def test_a_reply_also_sent_to_the_channel_is_merged_once(slack):
    """conversations.history lists a thread_broadcast and conversations.replies lists it again: one row, and the
    state advances (before, resolve_chains raised 'message ids must be unique' on every later refresh)."""
    api, team = _workspace(slack)
    root = team.next_ts()
    slack.add_message(team, "C1", "U1", root, "a recent root")
    slack.add_message(team, "C1", "U2", team.next_ts(), "a reply", root)
    frames, states = _cold(api)
    slack.add_message(team, "C1", "U3", team.next_ts(), "also sent to #c1", root, broadcast=True)
    old = _old_thread(team, "C2")
    slack.add_message(team, "C2", "U3", team.next_ts(), "an old thread's broadcast", old, broadcast=True)
    for _ in range(2):  # and again with nothing new: the broadcast is listed by both once more
        frames, states, result = _refresh(api, frames, states)
        assert not result.partial
        _same(frames, _full(api))
    assert list(frames["C1"]["text"]).count("also sent to #c1") == 1
    assert "an old thread's broadcast" in set(frames["C2"]["text"])


def _raw(frame: pd.DataFrame, mid: str) -> dict:
    import orjson

    return orjson.loads(frame.set_index("id").loc[mid, "raw"])


def test_old_roots_get_fresh_thread_fields_and_their_tombstone(slack):
    """A thread re-fetched because search named it brings its root as Slack answers it now: fresh reply_count,
    latest_reply and reply_users in raw, and the tombstone of a root deleted while it had replies."""
    api, team = _workspace(slack)
    frames, states = _cold(api)
    old, gone = _old_thread(team, "C2"), _old_thread(team, "C3")
    reply = team.next_ts()
    slack.add_message(team, "C2", "U1", reply, "a late reply", old)
    api._call("chat.delete", write=True, channel="C3", ts=gone)  # it has replies: a tombstone stays
    slack.add_message(team, "C3", "U1", team.next_ts(), "and a late reply to it", gone)
    frames, states, _ = _refresh(api, frames, states)
    root = _raw(frames["C2"], f"C2-{old}")
    assert root["latest_reply"] == reply and "U1" in root["reply_users"]
    assert root["reply_count"] == team.channels["C2"].messages[old]["reply_count"]
    tombstone = frames["C3"].set_index("id").loc[f"C3-{gone}"]
    assert tombstone["subtype"] == "tombstone" and tombstone["text"] == "This message was deleted."
    _same(frames, _full(api))


def _status_is_never_wrong(status: pd.DataFrame, team, frame: pd.DataFrame) -> None:
    """Every thread the status calls complete holds exactly the replies Slack has; returns nothing, fails loudly."""
    replies = frame[frame["is_reply"]].groupby("thread_id")["id"].apply(set).to_dict()
    for row in status[status["complete"].fillna(False)].itertuples():
        cid, ts = row.thread_id.rsplit("-", 1)
        slack_replies = {
            f"{cid}-{m['ts']}"
            for m in team.channels[cid].messages.values()
            if m.get("thread_ts") == ts and m["ts"] != ts
        }
        assert replies.get(row.thread_id, set()) == slack_replies, row.thread_id


def test_thread_status_is_true_or_unknown(slack, tmp_path):
    import chatlens
    from chatlens.loaders import RefreshIncompleteWarning, load_thread_status

    api, team = _workspace(slack, token_kind="bot")
    cache = str(tmp_path / "cache")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    with_new, with_deleted = _old_thread(team, "C1"), _old_thread(team, "C2")
    slack.add_message(team, "C1", "U3", team.next_ts(), "a late reply a bot token cannot find", with_new)
    old_reply = max(ts for ts, m in team.channels["C2"].messages.items() if m.get("thread_ts") == with_deleted != ts)
    api._call("chat.delete", write=True, channel="C2", ts=old_reply)
    frame = chatlens.load_messages(api, cache_dir=cache, refresh=True, progress=False)
    status = load_thread_status(api, cache_dir=cache).set_index("thread_id")
    assert status.loc[f"C1-{with_new}", "complete"] is pd.NA
    assert status.loc[f"C2-{with_deleted}", "complete"] is pd.NA
    recent = status["checked"] == status["checked"].max()
    assert status.loc[recent, "complete"].all() and status.loc[~recent, "complete"].isna().all()
    _status_is_never_wrong(status.reset_index(), team, frame)
    # A budget that never reaches a conversation: it is listed, every thread unknown.
    for cid in CHANNELS:
        slack.add_message(team, cid, "U1", team.next_ts(), f"new in {cid}")
    with pytest.warns(RefreshIncompleteWarning):
        chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=6, progress=False)
    status = load_thread_status(api, cache_dir=cache)
    assert set(status["conversation_id"]) == set(CHANNELS)
    by = status.groupby("conversation_id")["complete"].apply(lambda c: c.isna().all())
    assert by.sum() >= 1  # the ones the budget never reached say unknown throughout


def test_a_cold_load_then_a_spent_budget_lists_every_conversation(slack, tmp_path):
    import chatlens
    from chatlens.loaders import RefreshIncompleteWarning, load_thread_status

    api, _ = _workspace(slack)
    cache = str(tmp_path / "cache")
    chatlens.load_messages(api, cache_dir=cache, progress=False)
    with pytest.warns(RefreshIncompleteWarning):
        chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=6, progress=False)
    status = load_thread_status(api, cache_dir=cache)
    assert set(status["conversation_id"]) == set(CHANNELS) and len(status) == 120
    assert status["complete"].isna().any()


def _big_channel(slack: FakeSlack):
    """One channel of 90 threads over 300 days (15 messages a history page), for refreshes with a 400-day window,
    which list every root and fetch every thread again."""
    token, team = slack.add_team(user_id="U1", admin=True)
    for uid in ("U1", "U2"):
        slack.add_user(team, uid, uid.lower(), f"{uid.lower()}@example.com")
    slack.add_channel(team, "C1", name="big", kind="channel", created_us=NOW - 400 * DAY_US, members=["U1", "U2"])
    roots = []
    for i in range(90):
        root_us = NOW - (300 - 3 * i) * DAY_US
        roots.append(ts_from_us(root_us))
        slack.add_message(team, "C1", "U1", roots[-1], f"root {i}")
        for k in range(1 + i % 2):
            slack.add_message(team, "C1", "U2", ts_from_us(root_us + (k + 1) * 60_000_000), f"re {i}.{k}", roots[-1])
    slack.throttle("conversations.history", interval=0, limit_cap=15)
    return SlackChatAPI(token, base_url=slack.url, history_limit=15, retries=0), team, roots


def _big_changes(api, slack: FakeSlack, team, roots: list[str]) -> None:
    slack.add_message(team, "C1", "U1", team.next_ts(), "a new root")
    slack.add_message(team, "C1", "U1", team.next_ts(), "a late reply to the oldest thread", roots[0])
    api._call("chat.update", write=True, channel="C1", ts=roots[40], text="root 40, edited")


def test_a_spent_budget_keeps_what_it_fetched_of_a_conversation_and_the_next_refresh_continues(slack):
    """A refresh that runs out of budget part-way through a conversation hands back (``result.states``) its state
    with the pages listed, the threads fetched and the cursor; refreshes that start from it continue, so a channel
    whose refresh costs over three budgets completes after a bounded number of them and equals a full load. (Before,
    each refresh started that channel again from its first page and never finished it.)"""
    api, team, roots = _big_channel(slack)
    frames = {"C1": _fetch_conversation(api, "C1")}
    states = {"C1": state_from_frame(frames["C1"], "C1", time.time_ns() // 1000)}
    _big_changes(api, slack, team, roots)
    window, budget, rounds, spent = 400 * DAY_US, 20, 0, 0
    while True:
        rounds += 1
        out_frames, out_states = dict(frames), dict(states)

        def on_done(cid, frame, state, out_frames=out_frames, out_states=out_states):
            out_frames[cid], out_states[cid] = frame, state

        result = refresh_all(
            api, frames, states, window_us=window, on_done=on_done, progress=False, budget=Budget(requests=budget),
            **_tools(),
        )  # fmt: skip
        spent += sum(result.requests.values())
        out_states.update(result.states)  # what the caller saves for the conversation the budget stopped in
        frames, states = out_frames, out_states
        if not result.partial or rounds == 12:
            break
        assert states["C1"].resume is not None
        assert ThreadState.from_json(states["C1"].to_json()) == states["C1"]  # saved as JSON, read back the same
        assert "a new root" not in set(frames["C1"]["text"])  # nothing applied before the pass completes
    # 7 history pages (91 roots, 15 a page) and 90 thread fetches, over three budgets; each round pays for the
    # search page (1) too, so 19 go to the channel.
    assert spent > 3 * budget
    assert rounds <= math.ceil((7 + 90) / (budget - 1)) + 1, rounds
    assert states["C1"].resume is None
    full = _fetch_conversation(api, "C1")
    pd.testing.assert_frame_equal(frames["C1"][COLUMNS].astype(str), full[COLUMNS].astype(str))
    assert {"a new root", "a late reply to the oldest thread", "root 40, edited"} <= set(frames["C1"]["text"])


def test_through_the_cache_a_conversation_costing_three_budgets_completes_in_bounded_refreshes(slack, tmp_path):
    """The same through load_messages(refresh=True, budget=...): the state the cache keeps for the channel holds
    what a spent budget fetched, so refreshes continue it and complete it. (Before, every refresh started the
    channel again from its first page and none ever completed it.)"""
    import warnings

    import chatlens
    from chatlens.loaders import RefreshIncompleteWarning

    api, team, roots = _big_channel(slack)
    cache = str(tmp_path / "cache")
    load = {"progress": False, "window": "400D"}
    chatlens.load_messages(api, cache_dir=cache, **load)
    _big_changes(api, slack, team, roots)
    before = dict(api.calls)
    budget, rounds = 30, 0
    while True:
        rounds += 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RefreshIncompleteWarning)
            refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=budget, **load)
        if not any(issubclass(w.category, RefreshIncompleteWarning) for w in caught) or rounds == 12:
            break
    spent = sum(n - before.get(k, 0) for k, n in api.calls.items())
    # 7 history pages and 90 thread fetches; each round also pays for listing the channel, its members and the
    # search page (3) again, so 27 go to the channel.
    assert spent > 3 * budget
    assert rounds <= math.ceil((7 + 90) / (budget - 3)) + 1, rounds
    full = chatlens.load_messages(api, cache=False, **load)
    pd.testing.assert_frame_equal(refreshed[COLUMNS].astype(str), full[COLUMNS].astype(str))
    assert {"a new root", "a late reply to the oldest thread", "root 40, edited"} <= set(refreshed["text"])


def test_a_kept_pass_is_not_continued_on_a_frame_reloaded_since(slack, tmp_path):
    """What a spent budget kept was fetched for the cached frame of then: after a full reload it may be older than
    the frame (an edit since), so the next refresh starts afresh instead of continuing it."""
    import warnings

    import chatlens
    from chatlens.loaders import RefreshIncompleteWarning

    api, team, roots = _big_channel(slack)
    cache = str(tmp_path / "cache")
    load = {"progress": False, "window": "400D"}
    chatlens.load_messages(api, cache_dir=cache, **load)
    _big_changes(api, slack, team, roots)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefreshIncompleteWarning)
        chatlens.load_messages(api, cache_dir=cache, refresh=True, budget=12, **load)  # lists the newest pages
    api._call("chat.update", write=True, channel="C1", ts=roots[-1], text="the newest root, edited after")
    chatlens.load_messages(api, cache_dir=cache, refresh="full", **load)
    refreshed = chatlens.load_messages(api, cache_dir=cache, refresh=True, **load)
    full = chatlens.load_messages(api, cache=False, **load)
    pd.testing.assert_frame_equal(refreshed[COLUMNS].astype(str), full[COLUMNS].astype(str))
    assert "the newest root, edited after" in set(refreshed["text"])


def test_a_kept_cursor_the_service_no_longer_takes_starts_the_pass_again(slack):
    """Page tokens may expire between refreshes: when the service refuses the kept cursor (InvalidRequest), the
    refresh starts the conversation's pass again rather than failing, and still equals a full load."""
    from chatlens.errors import InvalidRequest

    api, team, roots = _big_channel(slack)
    frames = {"C1": _fetch_conversation(api, "C1")}
    states = {"C1": state_from_frame(frames["C1"], "C1", time.time_ns() // 1000)}
    _big_changes(api, slack, team, roots)
    tools = {"window_us": 400 * DAY_US, "progress": False, **_tools()}
    result = refresh_all(api, frames, states, on_done=lambda *a: None, budget=Budget(requests=3), **tools)
    kept = result.states["C1"].resume
    assert kept is not None and kept.cursor is not None
    listing = api.history_page
    refused = []

    def history_page(cid, *, oldest_us=None, cursor=None):
        if cursor == kept.cursor and not refused:  # the kept token has expired; a new listing's are taken
            refused.append(cursor)
            raise InvalidRequest("conversations.history -> invalid_cursor")
        return listing(cid, oldest_us=oldest_us, cursor=cursor)

    api.history_page = history_page
    done = {}
    result = refresh_all(
        api, frames, result.states, on_done=lambda cid, f, s: done.update({cid: (f, s)}), **tools
    )  # fmt: skip
    assert refused and not result.partial
    frame, state = done["C1"]
    assert state.resume is None
    pd.testing.assert_frame_equal(
        frame[COLUMNS].astype(str), _fetch_conversation(api, "C1")[COLUMNS].astype(str)
    )  # fmt: skip
