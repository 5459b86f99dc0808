"""``chatlens report --scheduler ADDRESS`` gives the figures the report gives without one, computed on a real
LocalCluster; ``chatlens import slack-export PATH --to DATASET --scheduler ADDRESS`` parses the export on its
workers into a dataset that reads back as the loaders' frame."""

from __future__ import annotations

import json
import socket

import dask
import dask_cluster
import pandas as pd
import pytest
from dask_cluster import distributed, plain

from chatlens.accounts import connect
from chatlens.cli import main
from chatlens.ingest import import_slack_export_dataset
from chatlens.loaders import load_messages
from chatlens.partitions import read_messages
from tests.slack_archives import sample_export, write_export

cluster = dask_cluster.cluster  # the module-scoped LocalCluster fixture


def _tasks_run(client, run):
    with distributed.get_task_stream(client) as stream:
        out = run()
    return out, len(stream.data)


def test_report_with_a_scheduler_gives_the_same_figures(cluster, tmp_path, capsys):
    address = cluster.scheduler.address
    args = ["report", "--account", "demo", "--since", "all", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a.html"), "--json", str(tmp_path / "a.json")]) == 0
    status, tasks = _tasks_run(
        cluster,
        lambda: main(
            [*args, "--out", str(tmp_path / "b.html"), "--json", str(tmp_path / "b.json"), "--scheduler", address]
        ),
    )
    assert status == 0
    assert tasks > 0  # the analyses ran on the cluster's workers
    assert f"analyses on the cluster at {address}" in capsys.readouterr().out
    local, remote = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert local["figures"] and local["members"] and local["conversations"]
    assert remote == local


def test_report_scheduler_unreachable_is_an_error(tmp_path, capsys):
    # A port nothing listens on (found free, then closed).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        status = main(
            ["report", "--quiet", "--out", str(tmp_path / "r.html"), "--scheduler", f"tcp://127.0.0.1:{port}"]
        )
    assert status == 2
    assert f"no Dask scheduler reachable at tcp://127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("per_task", [1, 16])
def test_import_to_a_dataset_on_the_cluster(cluster, tmp_path, per_task):
    export = write_export(sample_export(), tmp_path / "export", as_zip=True)
    dataset = tmp_path / "messages"
    counts, tasks = _tasks_run(
        cluster, lambda: import_slack_export_dataset(export, dataset, conversations_per_task=per_task)
    )
    api = connect(str(export))
    want = load_messages(api, cache=False, progress=False)
    assert tasks >= counts["files"] >= 1
    assert counts["messages"] == len(want) > 0
    assert counts["conversations"] == api.list_conversations(page_size=1000)["count"]
    assert counts["problems"] == api.problems  # the malformed day file is named, the rest imported
    files = sorted(p.name for p in dataset.iterdir())
    assert files == [f for f in files if f.startswith("part-") and f.endswith(".parquet")]
    pd.testing.assert_frame_equal(plain(read_messages(dataset)), plain(want))
    # In conversation order, file by file: read on Dask without a shuffle.
    frame = read_messages(dataset, engine="dask")
    assert "shuffle" not in " ".join(str(k) for k in frame.__dask_graph__())
    pd.testing.assert_frame_equal(plain(frame.compute()), plain(want))
    with pytest.raises(ValueError, match="already holds Parquet"):
        import_slack_export_dataset(export, dataset)


def test_cli_import_to_with_scheduler(cluster, tmp_path, capsys):
    export = write_export(sample_export(), tmp_path / "export", as_zip=False)
    dataset = tmp_path / "ds"
    status = main(
        ["import", "slack-export", str(export), "--to", str(dataset), "--scheduler", cluster.scheduler.address]
    )
    out = capsys.readouterr()
    n = len(load_messages(connect(str(export)), cache=False, progress=False))
    assert status == 1  # the export's malformed file is a problem, printed
    assert f"wrote {n:,} messages" in out.out and "problem:" in out.err
    assert len(read_messages(dataset)) == n
