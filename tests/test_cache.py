"""The messages cache as one Parquet dataset (issue 22 §1): what any engine reads from the folder is exactly the
rows load_messages returns; files stay few, sorted, each conversation whole in one file; refreshes and killed
writers never leave superseded rows behind once the dataset is settled."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from chatlens import cache as cache_module
from chatlens.backends.sqlite import Workspace
from chatlens.cache import AccountCache, CacheWarning, cache_root
from chatlens.loaders import load_messages

T0 = 1_767_600_000_000_000
H = 3_600_000_000
KEYS = ["conversation_id", "created", "id"]


def many(path: Path, conversations: int = 300, per: int = 7) -> Workspace:
    """``conversations`` channels of ``per`` messages each (every third a reply), and a few empty ones."""
    ws = Workspace(path)
    ws.add_account("A", service="slack", name="a", user_id="U0")
    ws.add_users("A", [{"id": f"U{i}", "name": f"user {i}"} for i in range(12)])
    ids = [f"C{i:04d}" for i in range(conversations + 5)]
    ws.add_conversations(
        "A", [{"id": c, "name": c.lower(), "private": False, "kind": "channel", "created": T0} for c in ids]
    )
    rows = []
    for i, c in enumerate(ids[:conversations]):
        for k in range(per):
            parent = f"{c}-{k - 1}" if k % 3 == 2 else ""
            rows.append((f"{c}-{k}", c, f"U{(i + k) % 12}", T0 + k * H + i, f"hi {k} <@U{k}>", parent, None, "{}"))
    ws.add_messages("A", rows)
    return ws


def paged(api):
    api.bulk_messages = False
    return api


def in_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS, kind="stable").reset_index(drop=True)


def as_plain(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns as Python values (ids and names as str, times as microseconds, missing as None): what every
    engine agrees on."""
    out = {}
    for c in columns:
        values = frame[c].tolist()
        if c == "created" and not pd.api.types.is_integer_dtype(frame[c]):
            values = [pd.Timestamp(v).value // 1000 for v in values]
        elif c == "mentions":
            values = [None if v is None else sorted(v) for v in values]
        missing = [v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) for v in values]
        out[c] = pd.Series([None if m else v for v, m in zip(values, missing)], dtype=object)
    return pd.DataFrame(out)


def directory_rows(store: AccountCache) -> pd.DataFrame:
    """The folder read the way a stranger would: every .parquet file in it, as one pyarrow dataset."""
    return pads.dataset(store.messages_dir, format="parquet").to_table().to_pandas()


@pytest.fixture
def small_files(monkeypatch):
    """Files and row groups cut small, so a few hundred conversations make several of each."""
    monkeypatch.setattr(cache_module, "ROW_GROUP_BYTES", 4_000)
    monkeypatch.setattr(cache_module, "FILE_BYTES", 40_000)
    monkeypatch.setattr(cache_module, "SMALL_BYTES", 10_000)


COLUMNS = ["account", "service", "conversation_id", "id", "sender_id", "created", "text", "parent", "thread_id"]
COLUMNS += ["is_reply", "is_bot", "is_system", "mentions"]


@pytest.mark.parametrize("how", ["bulk", "paged"])
def test_pyarrow_dataset_and_duckdb_read_the_rows_load_messages_returns(tmp_path, small_files, how):
    ws = many(tmp_path / "w.sqlite")
    api = ws.account("A") if how == "bulk" else paged(ws.account("A"))
    frame = load_messages(api, progress=False)
    store = AccountCache(api.identity)
    files = store.messages_files()
    assert len(files) > 2  # cut by FILE_BYTES, so the reads below cross files
    expected = as_plain(in_order(frame), COLUMNS)

    table = store.messages_dataset().to_table()
    assert table.num_rows == len(frame)
    pd.testing.assert_frame_equal(as_plain(in_order(table.to_pandas()), COLUMNS), expected)
    pd.testing.assert_frame_equal(as_plain(in_order(directory_rows(store)), COLUMNS), expected)
    pd.testing.assert_frame_equal(as_plain(in_order(pd.read_parquet(store.messages_dir)), COLUMNS), expected)

    picked = ", ".join(c if c not in ("created",) else "epoch_us(created) AS created" for c in COLUMNS)
    got = duckdb.sql(
        f"SELECT {picked} FROM read_parquet('{store.messages_dir}/*.parquet') ORDER BY conversation_id, created, id"
    ).df()
    pd.testing.assert_frame_equal(as_plain(got, COLUMNS), expected)
    # A filter on the statistics-bearing columns: DuckDB and pyarrow agree with pandas.
    one = "C0042"
    n = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{store.messages_dir}/*.parquet') WHERE conversation_id = '{one}'"
    )
    assert n.fetchall()[0][0] == int((frame["conversation_id"] == one).sum()) == 7
    assert store.messages_dataset().count_rows(filter=pads.field("conversation_id") == one) == 7


def test_files_are_sorted_hold_whole_conversations_and_carry_statistics(tmp_path, small_files):
    ws = many(tmp_path / "w.sqlite")
    frame = load_messages(ws.account("A"), progress=False)
    store = AccountCache(ws.account("A").identity)
    files = store.messages_files()
    seen: dict[str, Path] = {}
    firsts = []
    schemas = {pq.read_schema(f).remove_metadata() for f in files}
    assert len(schemas) == 1  # one schema in every file: readers need no unification
    for path in files:
        meta = pq.read_metadata(path)
        assert meta.num_row_groups > 1  # cut at about ROW_GROUP_BYTES
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        group = meta.row_group(0)
        for column in ("conversation_id", "created"):
            stats = group.column(names.index(column)).statistics
            assert stats is not None and stats.has_min_max
        assert [names[s.column_index] for s in group.sorting_columns] == KEYS
        rows = pq.read_table(path, columns=KEYS).to_pandas()
        pd.testing.assert_frame_equal(rows, in_order(rows))
        for cid in rows["conversation_id"].unique():
            assert seen.setdefault(cid, path) == path  # never in two files
        firsts.append(rows["conversation_id"].iloc[0])
    assert firsts == sorted(firsts)  # messages_files lists them in read order
    assert len(seen) == frame["conversation_id"].nunique() == 300


def test_refreshes_leave_only_current_rows_and_few_files(tmp_path):
    """A paged load writes a file per conversation, merged when it ends; each refresh writes its changes as a new
    file, and the files holding their old rows are rewritten without them."""
    ws = many(tmp_path / "w.sqlite", conversations=60)
    api = paged(ws.account("A"))
    load_messages(api, progress=False)
    store = AccountCache(api.identity)
    assert len(list(store.messages_dir.glob("*.parquet"))) == 1  # 60 small files merged into one
    for round_ in range(6):
        for c in (f"C{round_:04d}", f"C{59 - round_:04d}"):
            api.create_message(c, text=f"round {round_}", sender="U1")
        api.update_message("C0030-0", text=f"edited {round_}")
        frame = load_messages(api, refresh=True, progress=False)
        rows = directory_rows(store)
        assert len(rows) == len(frame) and rows["id"].is_unique
        assert set(rows["id"]) == set(frame["id"].astype(str))
        assert rows.set_index("id").loc["C0030-0", "text"] == f"edited {round_}"
        assert len(list(store.messages_dir.glob("*.parquet"))) <= cache_module.SMALL_FILES + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        pd.testing.assert_frame_equal(load_messages(api, progress=False), frame)


def test_a_writer_killed_before_it_settled_leaves_nothing_a_reader_of_the_files_sees(tmp_path, monkeypatch):
    """Killed after a refresh wrote its new file and manifest but before the old rows were removed (and with a
    stray file of a rewrite that never reached the manifest): messages_files settles first, and so does the next
    load, so readers get exactly the current rows."""
    ws = many(tmp_path / "w.sqlite", conversations=20)
    api = ws.account("A")
    load_messages(api, progress=False)
    store = AccountCache(api.identity)
    (first,) = store.messages_dir.glob("*.parquet")
    (store.messages_dir / "part-0-stray.parquet").write_bytes(first.read_bytes())
    api.create_message("C0003", text="new", sender="U1")
    with monkeypatch.context() as m:
        m.setattr(AccountCache, "settle", lambda self, manifest: False)  # the kill
        frame = load_messages(api, refresh=True, progress=False)
    assert len(directory_rows(store)) > len(frame)  # superseded and stray rows still on disk
    files = store.messages_files()
    assert sorted(p.name for p in store.messages_dir.glob("*.parquet")) == sorted(p.name for p in files)
    rows = directory_rows(store)
    assert len(rows) == len(frame) and set(rows["id"]) == set(frame["id"].astype(str))
    pd.testing.assert_frame_equal(load_messages(api, progress=False), frame)


def test_the_text_free_dataset_never_holds_text(tmp_path):
    ws = many(tmp_path / "w.sqlite", conversations=10)
    api = ws.account("A")
    frame = load_messages(api, text=False, progress=False)
    store = AccountCache(api.identity, text=False)
    files = store.messages_files()
    assert files
    for path in files:
        names = pq.read_schema(path).names
        assert "text" not in names and "raw" not in names and "text_length" in names
        assert b"hi 3" not in path.read_bytes()
    assert store.messages_dataset().count_rows() == len(frame)


def test_an_empty_cache_is_an_empty_dataset_with_the_schema(tmp_path):
    store = AccountCache("sqlite:/nowhere#A", cache_dir=tmp_path)
    dataset = store.messages_dataset()
    assert dataset.count_rows() == 0
    assert dataset.schema.names == store.dataset_columns()


def test_a_cache_of_the_previous_layout_is_never_read(tmp_path):
    """v1 kept a file per conversation; its folder is not where v2 looks, so its data is fetched again."""
    ws = many(tmp_path / "w.sqlite", conversations=3)
    api = ws.account("A")
    store = AccountCache(api.identity)
    old = store.path.parent.parent / "v1" / store.path.name
    (old / "messages").mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"identity": api.identity, "conversations": {"C0000": {"rows": 1}}}))
    assert cache_root().name == "v2" and store.path.parent == cache_root()
    frame = load_messages(api, progress=False)
    assert len(frame) == 21


def test_docs_dataset_names_every_column_of_both_datasets():
    """docs/dataset.md is what Spark and DuckDB users read: a column the dataset gains must be listed there."""
    doc = (Path(__file__).parents[1] / "docs" / "dataset.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")}
    for text in (True, False):
        columns = AccountCache("sqlite:/x#A", text=text).dataset_columns()
        assert set(columns) <= listed, f"docs/dataset.md lacks {sorted(set(columns) - listed)}"


def test_clearing_everything_removes_caches_of_an_older_layout(tmp_path):
    from chatlens.cache import clear_cache

    old = tmp_path / "v1" / "0123456789abcdef0123"
    (old / "messages").mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    assert clear_cache(cache_dir=tmp_path) == 1
    assert not (tmp_path / "v1").exists()
