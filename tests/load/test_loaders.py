"""Loaders: exact frames from small workspaces, dtypes, filters, the cache, refresh, resume, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from chatlens.backends.sqlite import SQLiteChatAPI, Workspace
from chatlens.cache import AccountCache, CacheWarning, cache_info, clear_cache
from chatlens.errors import PermissionDenied, RateLimited
from chatlens.load import _cached
from chatlens.loaders import load_conversations, load_members, load_messages
from chatlens.schema import check_frame

T0 = 1_767_600_000_000_000


class Counting(SQLiteChatAPI):
    """The embedded backend, counting calls; optionally failing on the Nth list_messages call. It pages like a
    remote backend (no bulk reads), so these tests see the paging loader; tests/load/test_bulk.py has the bulk
    path's."""

    bulk_messages = False
    calls: Counter
    fail_at: int | None = None
    fail_with: BaseException | None = None
    rate_limit_every_first: bool = False

    def _count(self, name: str) -> None:
        self.calls[name] += 1

    def list_conversations(self, **kw):
        self._count("list_conversations")
        return super().list_conversations(**kw)

    def list_members(self, conversation_id, **kw):
        self._count("list_members")
        return super().list_members(conversation_id, **kw)

    def list_messages(self, conversation_id, **kw):
        self._count("list_messages")
        self._count(f"list_messages:{conversation_id}")
        if self.fail_at is not None and self.calls["list_messages"] == self.fail_at:
            raise self.fail_with
        if self.rate_limit_every_first and self.calls[f"rl:{conversation_id}:{kw.get('page')}"] == 0:
            self.calls[f"rl:{conversation_id}:{kw.get('page')}"] += 1
            raise RateLimited("slow down", retry_after=0.01)
        return super().list_messages(conversation_id, **kw)

    def list_events(self, **kw):
        self._count("list_events")
        return super().list_events(**kw)


def counting(ws: Workspace, account: str) -> Counting:
    api = ws.account(account)
    api.__class__ = Counting
    api.calls = Counter()
    return api


def small_workspace(path: Path) -> Workspace:
    ws = Workspace(path)
    ws.add_account("S", service="slack", name="s", user_id="U1")
    ws.add_users("S", [{"id": "U1", "name": "ada"}, {"id": "U2", "name": "zoë"}, {"id": "U3", "name": "bot"}])
    ws.add_conversations(
        "S",
        [
            {
                "id": "C1",
                "name": "general",
                "private": False,
                "kind": "channel",
                "created": T0,
                "members": ["U1", "U2"],
                "raw": {"id": "C1", "is_channel": True},
            },
            {
                "id": "C2",
                "name": "empty",
                "private": False,
                "kind": "channel",
                "created": T0 + 1,
                "members": ["U1"],
                "raw": {},
            },
            {
                "id": "D1",
                "name": None,
                "private": True,
                "kind": "direct",
                "created": T0 + 2,
                "members": ["U1", "U2"],
                "raw": {"id": "D1", "is_im": True},
            },
        ],
    )
    h = 3_600_000_000
    ws.add_messages(
        "S",
        [
            ("m1", "C1", "U1", T0 + 1 * h, "hello <@U2> and <@U3|bot>", "", None, '{"text": "hello"}'),
            ("m2", "C1", "U2", T0 + 2 * h, "hi ada", "m1", None, "{}"),
            ("m3", "C1", "U1", T0 + 3 * h, "how are you?", "m2", T0 + 4 * h, '{"edited": {"ts": "1"}}'),
            ("m4", "C1", "U2", T0 + 5 * h, "fine, Ça va 🎉", "m3", None, "{}"),
            ("m5", "C1", "U2", T0 + 6 * h, "orphan", "gone", None, "{}"),
            ("m6", "C1", "U3", T0 + 7 * h, "deployed", "", None, '{"subtype": "bot_message", "bot_id": "B1"}'),
            ("m7", "C1", "U2", T0 + 8 * h, "<@U2> has joined", "", None, '{"subtype": "channel_join"}'),
            ("d1", "D1", "U2", T0 + 9 * h, "psst", "", None, "{}"),
        ],
    )
    ws.add_account("T", service="ms_teams", name="t", user_id="A", admin=True)
    ws.add_users("T", [{"id": "A", "name": "Ann"}, {"id": "B", "name": "Bob"}])
    ws.add_conversations(
        "T",
        [
            {
                "id": "ch",
                "name": "General",
                "private": False,
                "kind": "channel",
                "created": T0,
                "members": ["A", "B"],
                "raw": {"membershipType": "standard"},
            }
        ],
    )
    ws.add_messages(
        "T",
        [
            (
                "t1",
                "ch",
                "A",
                T0 + h,
                "Bob look",
                "",
                None,
                '{"messageType": "message", "from": {"user": {"id": "A"}}, "mentions": [{"id": 0, "mentionText": "Bob",'
                ' "mentioned": {"user": {"id": "B", "displayName": "Bob"}}}]}',
            ),
            (
                "t2",
                "ch",
                "B",
                T0 + 2 * h,
                "Bob joined",
                "",
                None,
                '{"messageType": "systemEventMessage", "from": null}',
            ),
            (
                "t3",
                "ch",
                "B",
                T0 + 3 * h,
                "build ok",
                "t1",
                None,
                '{"messageType": "message", "from": {"application": {"id": "B"}, "user": null}}',
            ),
        ],
    )
    return ws


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return small_workspace(tmp_path / "w.sqlite")


def test_exact_slack_frame(ws):
    frame = load_messages(ws.account("S"), progress=False)
    check_frame(frame, "messages")
    df = frame.set_index("id")
    assert df.loc["m4", "thread_id"] == "m1"  # chain m4 -> m3 -> m2 -> m1
    assert df.loc["m5", "thread_id"] == "m5"  # its parent is missing: its own root
    assert df.loc["m5", "parent"] == "gone" and df.loc["m5", "is_reply"]
    assert list(df.loc["m1", "mentions"]) == ["U2", "U3"]
    assert df.loc["m3", "edited"] and not df.loc["m2", "edited"]
    assert df.loc["m6", "is_bot"] and not df.loc["m1", "is_bot"]
    assert df.loc["m7", "is_system"] and df.loc["m7", "subtype"] == "channel_join"
    assert df.loc["m4", "text"] == "fine, Ça va 🎉"
    assert df.loc["d1", "conversation_name"] == "dm: zoë"
    assert df.loc["m1", "created"] == pd.Timestamp("2026-01-05T09:00:00Z")
    assert list(df.index) == ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "d1"]  # by conversation, then time


def test_exact_teams_frame(ws):
    df = load_messages(ws.account("T"), progress=False).set_index("id")
    assert list(df.loc["t1", "mentions"]) == ["B"]
    assert df.loc["t2", "is_system"] and df.loc["t2", "subtype"] == "systemEventMessage"
    assert df.loc["t3", "is_bot"] and df.loc["t3", "thread_id"] == "t1"
    assert set(df["service"]) == {"ms_teams"}


def test_dtypes_and_empty_results(ws):
    api = ws.account("S")
    full = load_messages(api, progress=False)
    check_frame(full, "messages")
    empty = load_messages(api, ["empty"], progress=False)
    check_frame(empty, "messages")
    assert empty.empty
    none_in_range = load_messages(api, since="2030-01-01", progress=False)
    check_frame(none_in_range, "messages")
    assert none_in_range.empty
    with_raw = load_messages(api, raw=True, progress=False)
    check_frame(with_raw, "messages", raw=True)
    assert '"bot_id"' in with_raw.set_index("id").loc["m6", "raw"]
    check_frame(load_conversations(api, progress=False), "conversations")
    check_frame(load_members(api, progress=False), "members")


def test_filters(ws):
    api = ws.account("S")
    assert set(load_messages(api, ["C1"], progress=False)["conversation_id"]) == {"C1"}
    assert set(load_messages(api, "general", progress=False)["conversation_id"]) == {"C1"}
    with pytest.raises(ValueError, match="nope"):
        load_messages(api, ["nope"], progress=False)
    window = load_messages(api, since="2026-01-05T10:00:00Z", until=pd.Timestamp("2026-01-05T13:00:01"), progress=False)
    assert window["id"].tolist() == ["m2", "m3", "m4"]
    assert window.set_index("id").loc["m2", "thread_id"] == "m1"  # roots resolved before filtering


def test_members_and_conversations(ws):
    members = load_members(ws.account("S"), progress=False)
    assert sorted(zip(members["conversation_id"], members["user_id"])) == [
        ("C1", "U1"),
        ("C1", "U2"),
        ("C2", "U1"),
        ("D1", "U1"),
        ("D1", "U2"),
    ]
    convs = load_conversations(ws.account("S"), progress=False).set_index("id")
    assert convs.loc["D1", "kind"] == "direct" and convs.loc["C1", "member_count"] == 2


def test_refused_by_service_rules_before_any_work(tmp_path):
    ws = Workspace(tmp_path / "t.sqlite")
    ws.add_account("N", service="ms_teams", name="n", user_id="A")
    api = counting(ws, "N")
    with pytest.raises(PermissionDenied, match="Teams normal accounts cannot list conversation messages"):
        load_messages(api, progress=False)
    assert sum(api.calls.values()) == 0


def test_second_load_makes_no_request(ws):
    api = counting(ws, "S")
    first = load_messages(api, progress=False)
    assert api.calls["list_messages"] >= 3
    api.calls.clear()
    again = load_messages(api, progress=False)
    assert sum(api.calls.values()) == 0
    pd.testing.assert_frame_equal(first, again)


def test_refresh_sees_new_edited_and_deleted_messages(ws):
    api = counting(ws, "S")
    load_messages(api, progress=False)
    api.create_message("C1", text="brand new", parent="m1")
    api.update_message("m2", text="hi ada (edited)")
    api.delete_message("m6")
    api.calls.clear()
    refreshed = load_messages(api, refresh=True, progress=False)
    fresh = load_messages(ws.account("S"), cache=False, progress=False)
    pd.testing.assert_frame_equal(refreshed, fresh)
    assert "brand new" in set(refreshed["text"]) and "m6" not in set(refreshed["id"])
    assert refreshed.set_index("id").loc["m2", "edited"]
    # incremental: one page per conversation (stopping at the first known message), not a re-listing
    assert api.calls["list_messages"] == 3
    assert load_messages(api, progress=False).equals(refreshed)  # and the cache holds the refreshed state


def test_refresh_sees_a_deleted_thread_root_become_a_tombstone(ws):
    """A root with replies, deleted, stays as a tombstone (a system event the analyses leave out) in a refreshed
    cache just as in a fresh load; its replies keep their thread."""
    api = ws.account("S")
    root = api.create_message("C1", text="to be deleted")
    api.create_message("C1", text="its reply", parent=root["id"])
    load_messages(api, progress=False)
    api.delete_message(root["id"])
    refreshed = load_messages(api, refresh=True, progress=False)
    fresh = load_messages(ws.account("S"), cache=False, progress=False)
    pd.testing.assert_frame_equal(refreshed, fresh)
    tomb = refreshed.set_index("id").loc[root["id"]]
    assert tomb["is_system"] and tomb["subtype"] == "tombstone" and tomb["text"] == ""
    reply = refreshed[refreshed["text"] == "its reply"].iloc[0]
    assert reply["thread_id"] == root["id"]


def test_full_refresh_refetches_everything(ws):
    api = counting(ws, "S")
    load_messages(api, progress=False)
    api.calls.clear()
    load_messages(api, refresh="full", progress=False)
    assert api.calls["list_messages"] == 3


def test_interrupted_load_resumes_with_the_rest(ws):
    api = counting(ws, "S")
    api.fail_at, api.fail_with = 2, KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        load_messages(api, progress=False, max_workers=1)
    done = AccountCache(api.identity).manifest()["conversations"]
    assert len(done) == 1
    api.fail_at = None
    api.calls.clear()
    resumed = load_messages(api, progress=False)
    assert api.calls["list_messages"] == 2  # only the two that had not finished
    pd.testing.assert_frame_equal(resumed, load_messages(ws.account("S"), cache=False, progress=False))


def test_rate_limits_are_waited_out(ws):
    api = counting(ws, "S")
    api.rate_limit_every_first = True
    df = load_messages(api, progress=False)
    assert len(df) == 8


def test_corrupted_cache_file_is_reported_and_refetched(ws, monkeypatch):
    monkeypatch.setattr(_cached, "FLUSH_SECONDS", 0)  # each conversation written as it completes, a file each
    api = counting(ws, "S")
    expected = load_messages(api, progress=False)
    path = AccountCache(api.identity).conversation_file("C1")
    path.write_bytes(path.read_bytes()[:100])
    api.calls.clear()
    with pytest.warns(CacheWarning, match=r"\.parquet is unreadable"):
        again = load_messages(api, progress=False)
    pd.testing.assert_frame_equal(again, expected)
    assert api.calls["list_messages:C1"] == 1 and api.calls["list_messages:D1"] == 0


def test_cache_info_and_clear(ws):
    load_messages(ws.account("S"), progress=False)
    load_messages(ws.account("T"), progress=False)
    info = cache_info()
    assert len(info) == 2 and set(info["messages"]) == {8, 3}
    assert clear_cache("T") == 1
    assert cache_info()["identity"].str.endswith("#S").all()
    assert clear_cache() == 1 and cache_info().empty


def test_a_killed_writers_temporary_files_are_removed_and_never_counted(ws):
    """A load killed mid-write leaves ``.<name>.<random>.tmp`` beside the file it was writing; ``cache info`` does
    not count it, and the next load (which holds the lock every writer holds) removes it (issue 23, item 11)."""
    load_messages(ws.account("S"), progress=False)
    (info,) = cache_info().itertuples()
    folder = Path(info.path)
    stray = [folder / ".manifest.json.abc123.tmp", folder / "messages" / ".x.parquet.def456.tmp"]
    for path in stray:
        path.write_bytes(b"\0" * 100_000)
    assert cache_info()["bytes"].tolist() == [info.bytes]
    load_messages(ws.account("S"), progress=False)
    assert not any(path.exists() for path in stray)
    assert not list(folder.rglob("*.tmp"))


def _load_in_process(path: str, cache_dir: str) -> int:
    os.environ["CHATLENS_CACHE_DIR"] = cache_dir
    return len(load_messages(Workspace(path).account("acme-slack"), progress=False))


def test_two_processes_loading_the_same_account(demo_db, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        counts = pool.starmap(_load_in_process, [(str(demo_db), str(tmp_path / "c"))] * 2)
    expected = load_messages(Workspace(demo_db).account("acme-slack"), cache=False, progress=False)
    assert counts == [len(expected)] * 2
    os.environ["CHATLENS_CACHE_DIR"] = str(tmp_path / "c")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        cached = load_messages(Workspace(demo_db).account("acme-slack"), progress=False)
    pd.testing.assert_frame_equal(cached, expected)
    assert len(list((tmp_path / "c").rglob("*.tmp"))) == 0


def test_http_backend_loads_the_same_frame_and_caches_no_token(demo_db):
    from chatlens.backends.http import HttpChatAPI
    from chatlens.server import ServerThread

    local = load_messages(Workspace(demo_db).account("acme-teams"), cache=False, progress=False)
    with ServerThread(Workspace(demo_db).account) as server:
        token = server.issue("acme-teams")
        remote = HttpChatAPI(server.url, "acme-teams", token)
        df = load_messages(remote, progress=False)
        load_members(remote, progress=False)
    pd.testing.assert_frame_equal(df, local)
    root = Path(os.environ["CHATLENS_CACHE_DIR"])
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if token.encode() in p.read_bytes()]


def test_a_cache_missing_columns_is_refetched_not_misread(ws, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(_cached, "FLUSH_SECONDS", 0)  # each conversation written as it completes, a file each
    api = counting(ws, "S")
    expected = load_messages(api, progress=False)
    path = AccountCache(api.identity).conversation_file("C1")
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["thread_id"]), path)
    api.calls.clear()
    with pytest.warns(CacheWarning, match="C1|lacks columns|unreadable"):
        again = load_messages(api, progress=False)
    pd.testing.assert_frame_equal(again, expected)
    assert api.calls["list_messages:C1"] == 1


def test_the_garbage_collector_is_restored_after_a_load_and_after_a_failure(ws):
    import gc

    from chatlens.errors import ServiceError

    assert gc.isenabled()
    load_messages(ws.account("S"), cache=False, progress=False)
    assert gc.isenabled()

    def failing(*args, **kwargs):
        assert not gc.isenabled()  # paused while fetching
        raise ServiceError("boom")

    for read in ("list_messages", "message_tables"):  # the paging walk, and the bulk reads
        api = ws.account("S")
        setattr(api, read, failing)
        api.bulk_messages = read == "message_tables"
        with pytest.raises(ServiceError, match="boom"):
            load_messages(api, cache=False, progress=False)
        assert gc.isenabled()


@pytest.mark.parametrize("order", ["newest first", "oldest first", "shuffled"])
@pytest.mark.parametrize("n", [0, 1, 2, 60])
def test_frames_come_out_in_created_then_id_order_whatever_order_rows_arrive_in(order, n):
    """The sort is skipped when rows are already in order (a fetch reverses its newest-first pages); ties in
    time ordered by id, and any other order, must give what a sort by (created, id) gives."""
    import random

    from chatlens.load._columns import _FETCHED, _stored_frame

    rng = random.Random(n)
    rows = [(f"2026-01-01T00:00:0{rng.randint(0, 3)}Z", f"m{i:03d}") for i in rng.sample(range(999), n)]
    rows = {"newest first": sorted(rows, reverse=True), "oldest first": sorted(rows), "shuffled": rows}[order]
    cols = {c: [None] * n for c in _FETCHED}
    cols.update(created=[r[0] for r in rows], id=[r[1] for r in rows], text=[f"t{r[1]}" for r in rows])
    cols.update(sender_id=["U1"] * n, sender_name=["a"] * n, mentions=[[] for _ in rows])
    cols.update(is_bot=[False] * n, is_system=[False] * n, raw=[b"{}"] * n)
    frame = _stored_frame(cols)
    assert list(zip(frame["created"].astype(str), frame["id"])) == [(str(pd.Timestamp(c)), i) for c, i in sorted(rows)]
    assert (frame["text"] == "t" + frame["id"].astype(str)).all()  # rows kept whole


def test_a_conversation_past_arrows_2_gib_per_column_keeps_its_pages_as_chunks(monkeypatch):
    """Arrow's string arrays have 32-bit offsets: joining pages whose text or raw JSON passes 2 GiB fails, so the
    pages stay chunks, and a frame built from chunks equals one built from whole arrays (2 GiB of messages is too
    much for a test: the failure is simulated)."""
    import pyarrow as pa

    from chatlens.load._columns import _joined, _message_columns, _page_arrays, _stored_frame
    from chatlens.loaders import iter_messages

    objects = list(iter_messages("demo", load_conversations("demo", progress=False)["id"].iloc[0]))[::-1]
    cols = _message_columns(objects)
    pages = [_page_arrays({c: v[:40] for c, v in cols.items()}), _page_arrays({c: v[40:] for c, v in cols.items()})]
    whole = _stored_frame({c: pa.concat_arrays([p[c] for p in pages]) for c in cols})

    def overflow(arrays):
        raise pa.ArrowInvalid("offset overflow while concatenating arrays")

    with monkeypatch.context() as patched:
        patched.setattr(pa, "concat_arrays", overflow)
        joined = {c: _joined([p[c] for p in pages]) for c in cols}
    assert all(isinstance(a, pa.ChunkedArray) and a.num_chunks == 2 for a in joined.values())
    assert len(whole) > 40
    pd.testing.assert_frame_equal(_stored_frame(joined), whole)


def test_direct_conversations_are_labelled_by_their_members_whatever_the_service_calls_them():
    """Slack names a group DM after its members' handles ("mpdm-ada--bob-1"); the frame knows it by its kind, so
    its name is <NA> (as the schema says of direct conversations) and its label lists the other members' names."""
    convs = load_conversations("demo", progress=False)
    direct = convs[convs["kind"].isin(["direct", "group_direct"])]
    assert set(direct["kind"]) == {"direct", "group_direct"}  # the demo has both, so the test means something
    assert direct["name"].isna().all()
    assert direct["label"].str.startswith("dm: ").all()
    assert not direct["label"].str.contains("mpdm-").any()
    members = load_members("demo", progress=False)
    group = direct[direct["kind"] == "group_direct"].iloc[0]
    names = set(members.loc[members["conversation_id"] == group["id"], "name"].astype(str))
    assert set(group["label"].removeprefix("dm: ").split(", ")) < names  # everyone but the account's own user
    channels = convs[~convs.index.isin(direct.index)]
    assert (channels["label"] == channels["name"]).all()


def test_a_conversation_is_named_with_or_without_its_hash():
    plain = load_messages("demo", ["general"], progress=False)
    hashed = load_messages("demo", ["#general"], progress=False)
    assert len(plain) > 0 and plain["id"].tolist() == hashed["id"].tolist()
    assert len(load_members("demo", "#general", progress=False)) == len(load_members("demo", "general", progress=False))
    with pytest.raises(ValueError, match=r"no conversation with id or name \['#nope'\]"):
        load_messages("demo", ["#nope", "#general"], progress=False)
