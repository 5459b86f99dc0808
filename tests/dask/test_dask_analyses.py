"""The analyses of issue 22 §3 on a real two-process LocalCluster give the pandas results: on the demo workspace
(load_messages(engine="dask")), on frames with deep reply chains over many partitions (partitioned in memory, and
read back from Parquet files that split conversations, which costs one shuffle), and read_messages itself."""

from __future__ import annotations

import subprocess
import sys
import warnings

import dask_cluster
import numpy as np
import pandas as pd
import pytest
from dask_cluster import assert_same, deep_chains

import chatlens
from chatlens import analysis as A
from chatlens.analysis import _distributed
from chatlens.cache import AccountCache
from chatlens.loaders import load_messages
from chatlens.partitions import partition_by_conversation, read_messages, require_dask

#: (function, options): every function of issue 22 §3, with the options that change how partials combine.
CASES = [
    ("activity_timeline", {}),
    ("activity_timeline", {"by": "member", "freq": "W", "tz": "America/New_York"}),
    ("activity_timeline", {"by": "conversation", "freq": "h", "since": "2026-03-25"}),
    ("activity_timeline", {"freq": "2D", "tz": "Europe/Berlin"}),
    ("activity_timeline", {"by": "member", "freq": "7h"}),
    ("activity_timeline", {"freq": "6h", "tz": "Europe/Berlin"}),
    ("active_members", {"tz": "Europe/Berlin"}),
    ("active_members", {"freq": "h", "tz": "Asia/Kolkata"}),
    ("active_members", {"freq": "MS"}),
    ("dau_wau_mau", {"tz": "America/New_York"}),
    ("hour_weekday_table", {"tz": "Europe/Berlin"}),
    ("thread_depth", {}),
    ("thread_table", {}),
    ("thread_table", {"include_bots": True, "include_system": True, "since": "2026-03-28"}),
    ("reply_times", {"until": "2026-04-10"}),
    ("time_to_first_reply_summary", {}),
    ("time_to_first_reply_summary", {"hours": (9, 17), "tz": "Europe/Berlin"}),
    ("reply_rate", {}),
    ("reply_rate", {"include_bots": True}),
    ("interaction_edges", {"kinds": ("reply", "mention", "coparticipation")}),
    ("interaction_graph", {}),
    ("member_summary", {"tz": "Asia/Kolkata"}),
    ("member_summary", {"since": "2026-03-28", "until": "2026-04-20"}),
    ("conversation_summary", {}),
    ("conversation_summary", {"include_bots": True, "since": "2026-03-28"}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
#: The first case of each function.
FIRSTS = [i for i, (name, _) in enumerate(CASES) if all(CASES[j][0] != name for j in range(i))]

cluster = dask_cluster.cluster  # the module-scoped LocalCluster fixture


def _both(name, options, dask_frame, frame):
    function = getattr(A, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MissingParentWarning, UnknownTimeZoneWarning: said by pandas alone
        return function(dask_frame, **options), function(frame, **options)


def test_load_messages_engine_dask_reads_the_cache_dataset(cluster, tmp_path, monkeypatch):
    cache_dir = str(tmp_path)
    cold = load_messages("demo", progress=False, cache_dir=cache_dir, engine="dask", since="2026-03-20")
    # The workers read the cache's files: the graph starts at the dataset, not at a frame the client scattered.
    keys = " ".join(str(k) for k in cold.__dask_graph__())
    assert "read-" in keys and "from_pandas" not in keys and "scatter" not in keys
    frame = load_messages("demo", progress=False, cache_dir=cache_dir, since="2026-03-20")
    pd.testing.assert_frame_equal(cold.compute(), frame)

    import chatlens.load as load

    def no_fill(*args, **kwargs):
        raise AssertionError("a cache holding every conversation is not read on the client")

    monkeypatch.setattr(load, "_load_cached", no_fill)
    warm = load_messages("demo", ["general"], progress=False, cache_dir=cache_dir, engine="dask", until="2026-04-01")
    monkeypatch.undo()
    want = load_messages("demo", ["general"], progress=False, cache_dir=cache_dir, until="2026-04-01")
    pd.testing.assert_frame_equal(warm.compute(), want)
    assert_same(A.thread_table(warm), A.thread_table(want))


@pytest.fixture(scope="module")
def demo(cluster):
    frame = load_messages("demo", progress=False)
    # The demo's 12,000 messages fit one partition of load_messages(engine="dask"): cut smaller to be analysed.
    return partition_by_conversation(frame, partition_rows=1500).persist(), frame


def test_load_messages_engine_dask(cluster):
    frame = load_messages("demo", ["general", "random"], progress=False)
    dask_frame = load_messages("demo", ["general", "random"], progress=False, engine="dask")
    assert type(dask_frame).__module__.startswith("dask") and dask_frame.known_divisions
    pd.testing.assert_frame_equal(dask_frame.compute(), frame)
    with pytest.raises(ValueError, match="engine"):
        load_messages("demo", progress=False, engine="spark")


@pytest.fixture(scope="module")
def chains(cluster):
    frame = deep_chains()
    return partition_by_conversation(frame, partition_rows=150).persist(), frame


@pytest.fixture(scope="module")
def chains_from_files(cluster, tmp_path_factory):
    """Parquet files of messages in time order (every file holds pieces of many conversations), read back: one
    range shuffle."""
    folder = tmp_path_factory.mktemp("dataset")
    frame = deep_chains(seed=1).sort_values("created", kind="stable")
    for i, start in enumerate(range(0, len(frame), 700)):
        frame.iloc[start : start + 700].to_parquet(folder / f"part-{i:03d}.parquet", row_group_size=300)
    dask_frame = read_messages(folder, engine="dask", partition_rows=200)
    assert "shuffle" in " ".join(str(k) for k in dask_frame.__dask_graph__())
    return dask_frame.persist(), read_messages(folder)


def test_demo_is_partitioned_by_conversation(demo):
    dask_frame, frame = demo
    parts = [dask_frame.partitions[i].compute() for i in range(dask_frame.npartitions)]
    assert dask_frame.npartitions > 1 and dask_frame.known_divisions
    owners = {}
    for i, part in enumerate(parts):
        for cid in part["conversation_id"].astype(str).unique():
            assert owners.setdefault(cid, i) == i  # no conversation in two partitions
    pd.testing.assert_frame_equal(pd.concat(parts), frame)


@pytest.mark.parametrize(("name", "options"), [CASES[i] for i in FIRSTS], ids=[IDS[i] for i in FIRSTS])
def test_demo_matches_pandas(demo, name, options):
    got, want = _both(name, options, *demo)
    assert_same(got, want)
    if isinstance(want, pd.DataFrame):  # partitions of one frame: even the categoricals' categories are its own
        pd.testing.assert_frame_equal(got, want, check_freq=False)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_deep_chains_match_pandas(chains, name, options):
    dask_frame, frame = chains
    assert dask_frame.npartitions > _distributed.SPLIT_EVERY  # the reduction tree has more than one level
    assert int(A.thread_depth(frame, warn=False)["depth"].max()) >= 20
    got, want = _both(name, options, dask_frame, frame)
    assert_same(got, want)
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_freq=False)


@pytest.mark.parametrize(("name", "options"), [CASES[i] for i in FIRSTS], ids=[IDS[i] for i in FIRSTS])
def test_dataset_read_with_a_shuffle_matches_pandas(chains_from_files, name, options):
    got, want = _both(name, options, *chains_from_files)
    assert_same(got, want)


def test_read_messages_orders_and_numbers_rows(chains_from_files, tmp_path):
    dask_frame, frame = chains_from_files
    assert dask_frame.known_divisions and dask_frame.npartitions > 1
    whole = dask_frame.compute()
    pd.testing.assert_index_equal(whole.index, pd.RangeIndex(len(frame)))
    assert whole["id"].tolist() == frame["id"].tolist()
    keys = list(zip(frame["conversation_id"].astype(str), frame["created"], frame["id"]))
    assert keys == sorted(keys)
    # A dataset ordered by conversation, files and row groups cut inside conversations: no shuffle, and the
    # pieces a conversation continues into are one partition.
    ordered = deep_chains(conversations=6, seed=2)
    cut = int(ordered["conversation_id"].isin(["C000", "C001", "C002"]).sum())  # a file ends with a conversation
    ordered.iloc[:cut].to_parquet(tmp_path / "a.parquet", row_group_size=40)
    ordered.iloc[cut:].to_parquet(tmp_path / "b.parquet", row_group_size=40)
    read = read_messages(str(tmp_path / "*.parquet"), engine="dask", columns=["sender_id"])
    assert "shuffle" not in " ".join(str(k) for k in read.__dask_graph__())
    parts = [read.partitions[i].compute() for i in range(read.npartitions)]
    assert len(parts) > 1
    assert sum(p["conversation_id"].nunique() for p in parts) == ordered["conversation_id"].nunique()
    back = read.compute()
    assert back.columns.tolist() == ["conversation_id", "created", "id", "sender_id"]
    assert back["id"].tolist() == ordered["id"].tolist()
    filtered = read_messages(tmp_path, filters=[("conversation_id", "in", ["C001", "C004"])])
    assert set(filtered["conversation_id"].astype(str)) == {"C001", "C004"}
    assert len(filtered) == int(ordered["conversation_id"].isin(["C001", "C004"]).sum())


def test_on_cluster_sends_pandas_frames_to_the_cluster(chains, monkeypatch):
    _, frame = chains
    ran = []
    real = _distributed._tree
    monkeypatch.setattr(_distributed, "_tree", lambda *a: ran.append(1) or real(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = A.member_summary(frame)
        assert not ran
        with chatlens.on_cluster(partition_rows=300):
            got = A.member_summary(frame)
    assert ran
    assert_same(got, want)


@pytest.mark.filterwarnings("ignore::chatlens.analysis.MissingParentWarning")  # the chains miss parents
def test_options_are_keywords_and_errors_are_the_pandas_ones(chains):
    dask_frame, _ = chains
    with pytest.raises(TypeError, match="keywords only"):
        A.activity_timeline(dask_frame, "W")
    with pytest.raises(ValueError, match="tz"):
        A.member_summary(dask_frame, tz="Not/AZone")
    empty = A.thread_table(dask_frame, since="2030-01-01")
    assert empty.empty and empty.columns.tolist() == A.thread_table(chains[1].iloc[:0]).columns.tolist()
    assert np.isnan(A.reply_rate(dask_frame, since="2030-01-01"))


def test_pandas_use_never_imports_dask():
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "import chatlens, chatlens.analysis as A\n"
        "from chatlens.loaders import load_messages\n"
        "m = load_messages('demo', ['general'], progress=False)\n"
        "A.member_summary(m); A.interaction_graph(m); A.activity_timeline(m)\n"
        "from chatlens.partitions import require_dask\n"
        "try:\n    require_dask()\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "chatlens[dask]"' in out.stdout
    require_dask()  # here it is installed


def test_read_messages_reads_the_cache_dataset(cluster, tmp_path):
    frame = load_messages("demo", progress=False, cache_dir=str(tmp_path))
    files = AccountCache(chatlens.connect("demo").identity, cache_dir=str(tmp_path)).messages_files()
    dask_frame = read_messages(files, engine="dask", partition_rows=2000)
    assert "shuffle" not in " ".join(str(k) for k in dask_frame.__dask_graph__())  # ordered as it is written
    whole = read_messages(files)
    assert whole["id"].tolist() == frame["id"].tolist()
    pd.testing.assert_frame_equal(dask_frame.compute(), whole)
    # The dataset has no conversation_name (docs/dataset.md): the analyses that do not name conversations agree.
    assert_same(A.member_summary(dask_frame), A.member_summary(frame))
    assert_same(A.thread_table(dask_frame), A.thread_table(frame))


def test_partial_tables_stack_as_pd_concat_and_a_stable_sort():
    when = pd.to_datetime(["2026-01-02", "2026-01-01", "2026-01-02"], utc=True)
    parts = [
        pd.DataFrame(
            {"started": when, "who": pd.Categorical(["b", "a", "b"]), "n": [1, 2, 3]},
            index=pd.Index(["t1", "t2", "t3"], dtype="string[pyarrow]"),
        ),
        pd.DataFrame(
            {"started": when[:2], "who": pd.Categorical(["c", "a"]), "n": [4, 5]},
            index=pd.Index(["t4", "t5"], dtype="string[pyarrow]"),
        ),
    ]
    got = _distributed._concat(parts, order_by="started")
    union = pd.concat([p.assign(who=p["who"].astype(str)) for p in parts])
    want = union.iloc[np.argsort(union["started"].to_numpy(), kind="stable")]
    # Ties (the 2nd of January, three times) keep partition order; categories are merged, not lost.
    assert got.index.tolist() == want.index.tolist() == ["t2", "t5", "t1", "t3", "t4"]
    assert isinstance(got["who"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(got.assign(who=got["who"].astype(str)), want)
    numbered = [
        pd.DataFrame({"x": [1, 2]}, index=pd.RangeIndex(0, 2)),
        pd.DataFrame({"x": [3]}, index=pd.RangeIndex(2, 3)),
    ]
    assert isinstance(_distributed._concat(numbered).index, pd.RangeIndex)  # rows numbered as in the whole frame


def test_partial_tables_travel_narrow_and_arrive_as_the_pandas_result():
    def table(part):
        return part.assign(total=part["n"] * 2)

    parts = [
        pd.DataFrame({"n": [0, 100], "size": [1, 2]}),  # int8 on the wire
        pd.DataFrame({"n": [-129, 70_000], "size": [3, 4]}),  # int32: 70,000 exceeds int16
        pd.DataFrame({"n": [2**40, 5], "size": [5, 6]}),  # stays int64
    ]
    sent = [_distributed._narrowed(table, {}, ["n", "total"], ("size",), part) for part in parts]
    assert [str(s["n"].dtype) for s in sent] == ["int8", "int32", "int64"]
    assert [str(s["total"].dtype) for s in sent] == ["int16", "int32", "int64"]  # 200 needs two bytes
    assert all("size" not in s for s in sent)  # left out: the client derives it
    got = _distributed._concat(sent, widen={"n": np.dtype("int64"), "total": np.dtype("int64")})
    want = pd.concat([table(p).drop(columns="size") for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want)  # exact values, int64 again
    one = _distributed._concat(sent[:1], widen={"n": np.dtype("int64"), "total": np.dtype("int64")})
    assert str(one["n"].dtype) == "int64"  # one partition too


def test_workers_warnings_are_said_on_the_client(chains):
    dask_frame, frame = chains
    with pytest.warns(A.MissingParentWarning) as local:
        A.thread_depth(frame)
    with warnings.catch_warnings(record=True) as remote:
        warnings.simplefilter("always")
        A.thread_depth(dask_frame)
    said = [w for w in remote if issubclass(w.category, A.MissingParentWarning)]
    assert len(said) == 1 and said[0].filename == __file__  # once, at the caller's line, as pandas says it
    # Each partition counted its own; added up, they are the whole frame's warning, word for word.
    assert str(said[0].message) == str(local[0].message) and said[0].message.count > 5
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        A.thread_depth(dask_frame, warn=False)
    assert not [w for w in quiet if issubclass(w.category, A.MissingParentWarning)]
