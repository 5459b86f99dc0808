"""The loaders' bulk path: a backend that reads whole conversations at once (``bulk_messages``) gives the very frame
the paging walk gives, caches each batch as a file of the account's messages dataset, resumes, refreshes (leaving
only current rows in the dataset), and survives a damaged file."""

from __future__ import annotations

import sqlite3
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from chatlens.backends.sqlite import SQLiteChatAPI, Workspace
from chatlens.cache import AccountCache, CacheWarning
from chatlens.loaders import load_messages, load_thread_status
from tests.load.test_loaders import small_workspace

T0 = 1_767_600_000_000_000
H = 3_600_000_000


class Paging(SQLiteChatAPI):
    """The same workspace read the other way: page by page, as every backend without bulk reads is."""

    bulk_messages = False
    calls: Counter

    def list_messages(self, conversation_id, **kw):
        if hasattr(self, "calls"):
            self.calls["list_messages"] += 1
        return super().list_messages(conversation_id, **kw)


class Bulk(SQLiteChatAPI):
    """Bulk reads counted, one conversation per table, optionally failing at the Nth table."""

    _TABLE_ROWS = 1
    calls: Counter
    fail_at: int | None = None

    def message_tables(self, conversation_ids, *, raw=True):
        self.calls["message_tables"] += 1
        self.calls["conversations"] += len(conversation_ids)
        for n, table in enumerate(super().message_tables(conversation_ids, raw=raw), start=1):
            if n == self.fail_at:
                raise KeyboardInterrupt
            yield table

    def list_messages(self, conversation_id, **kw):
        self.calls["list_messages"] += 1
        return super().list_messages(conversation_id, **kw)


def as_(cls, api: SQLiteChatAPI):
    api.__class__ = cls
    api.calls = Counter()
    return api


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return small_workspace(tmp_path / "w.sqlite")


def paged(ws: Workspace, account: str, **kw) -> pd.DataFrame:
    return load_messages(as_(Paging, ws.account(account)), cache=False, progress=False, **kw)


@pytest.mark.parametrize("account", ["acme-slack", "acme-teams"])
@pytest.mark.parametrize("options", [{}, {"raw": True}, {"text": False}])
def test_bulk_and_paged_loads_give_the_same_frame(demo_db, account, options):
    ws = Workspace(demo_db)
    expected = paged(ws, account, **options)
    assert len(expected) > 10_000
    for cache in (False, True, True):  # no cache; a cold cached load; a warm one
        got = load_messages(ws.account(account), cache=cache, progress=False, **options)
        pd.testing.assert_frame_equal(got, expected)


def test_a_cached_bulk_load_writes_one_dataset_file_and_the_next_load_reads_it(ws):
    api = as_(Bulk, ws.account("S"))
    api._TABLE_ROWS = 10_000
    first = load_messages(api, progress=False)
    assert api.calls == {"message_tables": 1, "conversations": 3}
    store = AccountCache(api.identity)
    entries = store.manifest()["conversations"]
    files = {e.get("file") for cid, e in entries.items() if e["rows"]}
    assert len(files) == 1 and next(iter(files)).startswith("messages/part-")
    assert [p.name for p in store.messages_dir.glob("*.parquet")] == [Path(next(iter(files))).name]
    api.calls.clear()
    again = load_messages(api, progress=False)
    assert sum(api.calls.values()) == 0
    pd.testing.assert_frame_equal(again, first)
    pd.testing.assert_frame_equal(first, paged(ws, "S"))


def test_an_interrupted_bulk_load_keeps_the_batches_done_and_resumes_with_the_rest(ws):
    api = as_(Bulk, ws.account("S"))
    api.fail_at = 2  # the second conversation with messages
    with pytest.raises(KeyboardInterrupt):
        load_messages(api, progress=False)
    assert list(AccountCache(api.identity).manifest()["conversations"]) == ["C1"]
    api.fail_at = None
    api.calls.clear()
    resumed = load_messages(api, progress=False)
    assert api.calls == {"message_tables": 1, "conversations": 2}  # C2 (empty) and D1
    pd.testing.assert_frame_equal(resumed, paged(ws, "S"))


def test_a_refresh_writes_its_changes_as_a_new_file_and_the_dataset_keeps_only_current_rows(ws):
    api = as_(Bulk, ws.account("S"))
    api._TABLE_ROWS = 10_000
    load_messages(api, progress=False)
    store = AccountCache(api.identity)
    (first,) = store.messages_dir.glob("*.parquet")
    api.create_message("C1", text="brand new", parent="m1")
    api.update_message("d1", text="psst (edited)")
    refreshed = load_messages(api, refresh=True, progress=False)
    pd.testing.assert_frame_equal(refreshed, paged(ws, "S"))
    entries = store.manifest()["conversations"]
    assert entries["C1"]["file"] == entries["D1"]["file"] != f"messages/{first.name}"  # one new file for both
    assert not first.exists()  # it held only superseded rows
    # Whoever opens the folder as a dataset reads exactly the current rows: the edit once, the new message once.
    rows = pads.dataset(store.messages_dir, format="parquet").to_table().to_pandas()
    assert sorted(rows["id"]) == sorted(refreshed["id"])
    assert rows.set_index("id").loc["d1", "text"] == "psst (edited)"
    pd.testing.assert_frame_equal(load_messages(api, progress=False), refreshed)
    full = load_messages(api, refresh="full", progress=False)
    pd.testing.assert_frame_equal(full, refreshed)
    assert len(list(store.messages_dir.glob("*.parquet"))) == 1


def test_a_damaged_dataset_file_is_reported_and_its_conversations_fetched_again(ws):
    api = as_(Bulk, ws.account("S"))
    api._TABLE_ROWS = 10_000
    expected = load_messages(api, progress=False)
    store = AccountCache(api.identity)
    (part,) = store.messages_dir.glob("*.parquet")
    part.write_bytes(part.read_bytes()[:200])
    api.calls.clear()
    with pytest.warns(CacheWarning, match="unreadable"):
        again = load_messages(api, progress=False)
    pd.testing.assert_frame_equal(again, expected)
    assert api.calls["conversations"] == 2  # the two in the file; the empty one is remembered with no file


def test_a_dataset_file_whose_rows_do_not_match_the_manifest_is_not_misread(ws):
    api = as_(Bulk, ws.account("S"))
    api._TABLE_ROWS = 10_000
    expected = load_messages(api, progress=False)
    store = AccountCache(api.identity)
    manifest = store.manifest()
    manifest["conversations"]["C1"]["offset"] = 1  # a slice that starts in the wrong place
    store.write_manifest(manifest)
    with pytest.warns(CacheWarning, match="does not hold what the manifest says"):
        again = load_messages(api, progress=False)
    pd.testing.assert_frame_equal(again, expected)


def test_replies_never_thread_across_conversations(tmp_path):
    """A trusted import may name a parent in another conversation; each conversation threads alone, as paging
    does, so the reply is a root of its own in both."""
    ws = small_workspace(tmp_path / "w.sqlite")
    ws.add_messages("S", [("x1", "D1", "U2", T0 + 30 * H, "about m1", "m1", None, "{}")])
    bulk = load_messages(ws.account("S"), cache=False, progress=False)
    pd.testing.assert_frame_equal(bulk, paged(ws, "S"))
    assert bulk.set_index("id").loc["x1", "thread_id"] == "x1"


def test_many_conversations_load_the_same_frame_either_way(tmp_path):
    ws = Workspace(tmp_path / "many.sqlite")
    ws.add_account("A", service="slack", name="a", user_id="U0")
    ws.add_users("A", [{"id": f"U{i}", "name": f"user {i}"} for i in range(20)])
    ws.add_conversations(
        "A",
        [
            {"id": f"D{i:04d}", "name": None, "private": True, "kind": "direct", "created": T0 + i, "members": []}
            for i in range(700)
        ],
    )
    rows = []
    for i in range(700):
        for k in range(i % 4):  # every fourth conversation is empty
            parent = f"m{i}-0" if k else ""
            rows.append((f"m{i}-{k}", f"D{i:04d}", f"U{(i + k) % 20}", T0 + k * H, f"hi <@U{k}>", parent, None, "{}"))
    ws.add_messages("A", rows)
    api = ws.account("A")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_messages(api, progress=False)
        warm = load_messages(api, progress=False)
    expected = paged(ws, "A")
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(warm, expected)
    assert len(got) == len(rows) and got["conversation_id"].nunique() == 525
    assert load_thread_status(api).empty  # never refreshed thread by thread


def test_an_older_workspace_file_gains_the_normalised_columns_when_opened(tmp_path):
    """Schema 1 kept only raw; opening the file derives bot, system, subtype and mentions (schema 2) and the
    reactions, files, importance and membership changes (schema 3) from it, once."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE accounts (id TEXT PRIMARY KEY, service TEXT NOT NULL, admin INTEGER NOT NULL DEFAULT 0,
            name TEXT NOT NULL, user_id TEXT NOT NULL);
        INSERT INTO accounts VALUES ('S', 'slack', 0, 's', 'U1'), ('T', 'ms_teams', 0, 't', 'u1');
        CREATE TABLE messages (
            account_id TEXT NOT NULL, id TEXT NOT NULL, conversation_id TEXT NOT NULL, sender_id TEXT NOT NULL,
            created INTEGER NOT NULL, text TEXT NOT NULL, parent TEXT NOT NULL DEFAULT '', modified INTEGER,
            raw TEXT, PRIMARY KEY (account_id, id));
        INSERT INTO messages VALUES
            ('S', 'a', 'C1', 'U1', 1, 'hi <@U2>', '', NULL, '{"type": "message"}'),
            ('S', 'b', 'C1', 'U9', 2, 'deployed', '', NULL, '{"subtype": "bot_message", "bot_id": "B1"}'),
            ('S', 'c', 'C1', 'U2', 3, '<@U2> has joined', '', NULL, '{"subtype": "channel_join"}'),
            ('T', 'd', 'X1', 'u1', 4, 'hello', '', NULL,
             '{"messageType": "message", "mentions": [{"mentioned": {"user": {"id": "u2"}}}]}'),
            ('T', 'e', 'X1', 'u2', 5, 'look', '', NULL,
             '{"messageType": "message", "importance": "high", "reactions": [{"reactionType": "like",
               "user": {"user": {"id": "u1"}}}], "attachments": [{"contentType": "reference", "name": "a.pdf"}]}');
        """
    )
    db.commit()
    db.close()
    ws = Workspace(path)
    got = {r[0]: r[1:] for r in ws.db.execute("SELECT id, is_bot, is_system, subtype, mentions FROM messages")}
    assert got == {
        "a": (0, 0, None, "U2"),
        "b": (1, 0, "bot_message", None),
        "c": (0, 1, "channel_join", "U2"),
        "d": (0, 0, None, "u2"),
        "e": (0, 0, None, None),
    }
    import json

    stored = dict(ws.db.execute("SELECT id, extensions FROM messages"))
    assert json.loads(stored.pop("e")) == {
        "reactions": [{"emoji": "like", "user": "u1", "count": 1, "created": None}],
        "file_kinds": ["pdf"],
        "importance": "high",
        "members_joined": [],
        "members_left": [],
    }
    assert set(stored.values()) == {None}  # nothing to say of the others
    assert ws.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    Workspace(path)  # opening it again changes nothing


def _export_sources(tmp_path):
    from tests.backends.slack.test_export import HASKELL, REAL, haskell_jp_as_export
    from tests.slack_archives import sample_export, write_export

    write_export(sample_export(), tmp_path / "sample.zip", as_zip=True)
    yield "sample zip", tmp_path / "sample.zip"
    write_export(sample_export(), tmp_path / "sample", as_zip=False)
    yield "sample folder", tmp_path / "sample"
    if REAL.exists():
        yield "real 2016 zip", REAL
    if HASKELL.exists():
        yield "haskell-jp", haskell_jp_as_export(tmp_path / "hjp")


def test_export_bulk_reads_give_the_frame_paging_gives(tmp_path):
    """Day files parsed straight into columns give the frame the wire objects give: on a made-up export with its
    quirks (a malformed day file, replies filed a day later, tokens in URLs) and on the real ones beside us."""
    from chatlens.backends.slack.export import ExportProblemWarning, SlackExportChatAPI

    seen = []
    for name, path in _export_sources(tmp_path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExportProblemWarning)
            bulk_api, paged_api = SlackExportChatAPI(path), SlackExportChatAPI(path)
            paged_api.bulk_messages = False
            for options in ({"raw": True}, {"text": False}):
                bulk = load_messages(bulk_api, cache=False, progress=False, **options)
                pd.testing.assert_frame_equal(bulk, load_messages(paged_api, cache=False, progress=False, **options))
            cached = load_messages(bulk_api, progress=False, raw=True)
            pd.testing.assert_frame_equal(cached, load_messages(paged_api, progress=False, cache=False, raw=True))
        assert not cached["raw"].str.contains("xox[a-z]-", regex=True).any(), name
        seen.append((name, len(cached)))
    assert seen[0][1] == seen[1][1] > 0


@pytest.mark.parametrize("cls", [Bulk, Paging], ids=["bulk", "paging"])
def test_the_cache_keeps_the_services_json_only_for_loads_that_ask_for_it(ws, cls):
    """raw is most of what a cache would write: a plain load caches none; a raw=True load fetches it (again) and
    keeps it; a plain load after that reads the cache without it, and fetches nothing."""
    api = as_(cls, ws.account("S"))
    api._TABLE_ROWS = 10_000
    plain = load_messages(api, progress=False)
    store = AccountCache(api.identity)
    assert not any(e["raw"] for e in store.manifest()["conversations"].values())
    # Every file of the dataset has the one schema (a raw column), and a plain load writes no value in it.
    files = list(store.messages_dir.glob("*.parquet"))
    assert files and all(
        pq.read_table(p, columns=["raw"]).column("raw").null_count == pq.read_metadata(p).num_rows for p in files
    )
    api.calls.clear()
    with_raw = load_messages(api, raw=True, progress=False)
    assert sum(api.calls.values()) > 0  # fetched again, with the JSON this time
    pd.testing.assert_frame_equal(with_raw, paged(ws, "S", raw=True))
    api.calls.clear()
    again = load_messages(api, progress=False)
    pd.testing.assert_frame_equal(again, plain)
    pd.testing.assert_frame_equal(load_messages(api, raw=True, progress=False), with_raw)
    assert sum(api.calls.values()) == 0
    api.create_message("C1", text="new one", parent="m1")
    refreshed = load_messages(api, refresh=True, progress=False)  # without raw: the cache drops it
    pd.testing.assert_frame_equal(refreshed, paged(ws, "S"))
    pd.testing.assert_frame_equal(load_messages(api, raw=True, progress=False), paged(ws, "S", raw=True))


def test_bulk_tables_hold_whole_conversations_whatever_order_they_are_asked_in(tmp_path):
    """More conversations than one query takes (500), asked for in reverse, with tables cut small: each
    conversation still comes whole, in one table."""
    ws = Workspace(tmp_path / "many.sqlite")
    ws.add_account("A", service="slack", name="a", user_id="U0")
    ws.add_users("A", [{"id": "U0", "name": "ada"}])
    ids = [f"D{i:04d}" for i in range(700)]
    ws.add_conversations(
        "A", [{"id": c, "name": None, "private": True, "kind": "direct", "created": T0, "members": []} for c in ids]
    )
    ws.add_messages("A", [(f"{c}-{k}", c, "U0", T0 + k, "hi", "", None, "{}") for c in ids for k in range(3)])
    api = ws.account("A")
    api._TABLE_ROWS = 4
    seen: list[str] = []
    for table in api.message_tables(ids[::-1], raw=False):
        held = table.column("conversation_id").to_pylist()
        assert all(held.count(c) == 3 for c in set(held))
        seen += sorted(set(held))
    assert sorted(seen) == ids
