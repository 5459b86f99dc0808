"""The analyses of issue 22 §3 on Dask (1 and 2 local workers) against pandas in one process (issue 22 §4).

    python benchmarks/bench_dask.py [--messages 10000000] [--work /tmp/chatlens-bench-dask] [--workers 1 2]
                                    [--only NAME ...] [--runs 1]

The benchmark first writes ``--messages`` synthetic messages as a Parquet dataset in the messages schema under
``--work`` (reused if there): conversations of about 2,000 messages, ordered by conversation, files of about
1,000,000 rows in 40 row groups of whole conversations (250,000 rows at 10M messages; a Dask partition each, so a
reduced run keeps the proportions of a worker's share), reply chains
(most replies answer the message before them, so chains run deep), bots, system events, mentions, members in
proportion to the messages. Then, each in a fresh process:

- pandas: ``read_messages(dataset)`` and every function ``--runs`` times, timed (the first call is printed, then
  the median of the others, which reuse the frame's resolved reply chains); the process's peak memory (RSS, from
  ``getrusage``) and the frame's own size (``memory_usage(deep=True)``);
- Dask on a ``LocalCluster`` of N worker processes (one thread each, no memory limit), for each N of
  ``--workers``: ``read_messages(dataset, engine="dask")`` (lazy: every analysis reads the dataset from disk, so no
  worker ever holds the whole frame) and every function ``--runs`` times in a row, timed, results collected on
  the client (the median is printed, and for the targets' rows every call); each worker's peak RSS.

Targets (issue 22): each worker's peak memory under a quarter of what pandas needs for the whole frame; 2 workers at
least 1.6x faster than 1 on the thread and member analyses. Timings on a shared machine are noisy (one call of
thread_table on 2 workers measured 5.9 to 7.2 s here within minutes): say so when quoting them, and prefer
``--runs 3``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SELF = Path(__file__).resolve()

#: The functions of issue 22 §3, with the options they are timed with.
FUNCTIONS = {
    "activity_timeline": {},
    "active_members": {},
    "dau_wau_mau": {},
    "hour_weekday_table": {},
    "thread_depth": {"warn": False},
    "thread_table": {},
    "reply_times": {},
    "time_to_first_reply_summary": {},
    "reply_rate": {},
    "interaction_edges": {},
    "interaction_graph": {},
    "member_summary": {},
    "conversation_summary": {},
}
#: The thread- and member-level analyses the 1.6x target is about.
THREAD_AND_MEMBER = (
    "thread_depth",
    "thread_table",
    "reply_times",
    "time_to_first_reply_summary",
    "reply_rate",
    "interaction_edges",
    "member_summary",
    "conversation_summary",
)

FILE_ROWS = 1_000_000
CONVERSATION_ROWS = 2_000
#: Partitions (row groups) of the dataset: 40 at any size, so a reduced run has the full run's proportions (each
#: partition a fortieth of the frame; 250,000 rows at 10M messages).
PARTITIONS = 40


# -- the dataset -------------------------------------------------------------------------------------------------


def build(folder: Path, messages: int, seed: int = 0) -> None:
    """Write ``messages`` synthetic messages under ``folder`` (module docs), unless already there."""
    import numpy as np

    done = folder / "_done.json"
    if done.exists() and json.loads(done.read_text())["messages"] == messages:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    rng = np.random.default_rng(seed)
    group_rows = max(CONVERSATION_ROWS, messages // PARTITIONS)
    conversations = max(1, messages // CONVERSATION_ROWS)
    members = max(50, messages // 2_000)
    per_file = max(1, FILE_ROWS // CONVERSATION_ROWS)
    t0 = time.perf_counter()
    written = 0
    for n, first in enumerate(range(0, conversations, per_file)):
        convs = min(per_file, conversations - first)
        rows = messages - written if first + convs >= conversations else convs * CONVERSATION_ROWS
        _write_file(folder / f"part-{n:05d}.parquet", rng, first, convs, rows, written, members, group_rows)
        written += rows
    done.write_text(json.dumps({"messages": messages}))
    print(f"wrote {messages:,} messages to {folder} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _write_file(
    path: Path, rng, first_conv: int, convs: int, rows: int, first_id: int, members: int, group_rows: int
) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    conv = np.sort(rng.integers(0, convs, rows))
    counts = np.bincount(conv, minlength=convs)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    index = np.arange(rows)
    # Times: each conversation a random walk of gaps from its own start in 2025-2026.
    gaps = rng.exponential(30 * 60 * 1e6, rows).astype(np.int64) + 1_000_000
    walk = np.cumsum(gaps)
    begin = rng.integers(0, 300 * 86_400_000_000, convs) + 1_735_689_600_000_000  # from 2025-01-01
    created = walk - np.repeat(np.r_[0, walk[starts[1:] - 1]], counts) + np.repeat(begin, counts)
    # Replies: most answer the message before them (deep chains), some an earlier one, none across conversations.
    reply = (rng.random(rows) < 0.6) & (index > starts[conv])
    back = np.where(rng.random(rows) < 0.8, 1, rng.integers(1, 50, rows))
    parent = index - back
    reply &= parent >= starts[conv]
    ids = np.char.add("M", (index + first_id).astype(str)).astype(object)
    parents = np.where(reply, ids[np.clip(parent, 0, None)], None)
    # Members: a skewed few post most; the first three are bots.
    sender = np.minimum((rng.pareto(1.2, rows) * members / 20).astype(np.int64), members - 1)
    mention = rng.random(rows) < 0.05
    mentioned = rng.integers(0, members, rows)
    mentions = pa.ListArray.from_arrays(
        np.r_[0, np.cumsum(mention)].astype(np.int32),
        pa.array(np.char.add("U", mentioned[mention].astype(str)).astype(object), type=pa.string()),
    )
    conv_names = np.char.add("C", np.char.zfill((np.arange(convs) + first_conv).astype(str), 7)).astype(object)
    senders = np.char.add("U", np.arange(members).astype(str)).astype(object)
    frame = pd.DataFrame(
        {
            "conversation_id": pd.Categorical.from_codes(conv, categories=conv_names),
            "conversation_name": pd.Categorical.from_codes(conv, categories=[f"channel {c}" for c in conv_names]),
            "id": pd.array(ids, dtype="str"),
            "sender_id": pd.Categorical.from_codes(sender, categories=senders),
            "sender_name": pd.Categorical.from_codes(sender, categories=[f"member {s}" for s in senders]),
            "created": pd.to_datetime(created, unit="us", utc=True).astype("datetime64[us, UTC]"),
            "parent": pd.array(parents, dtype="str"),
            "is_bot": sender < 3,
            "is_system": rng.random(rows) < 0.01,
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column("mentions", mentions)
    # Row groups of whole conversations, about group_rows each: a Dask partition each, read with no shuffle.
    bounds = [0]
    for s in starts[1:].tolist():
        if s - bounds[-1] >= group_rows:
            bounds.append(s)
    bounds.append(rows)
    with pq.ParquetWriter(path, table.schema) as writer:
        for a, b in itertools.pairwise(bounds):
            writer.write_table(table.slice(a, b - a), row_group_size=b - a)


# -- the phases (each in its own process) ------------------------------------------------------------------------


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _calls(only: list[str] | None) -> dict:
    from chatlens import analysis

    names = only or list(FUNCTIONS)
    return {name: (getattr(analysis, name), FUNCTIONS[name]) for name in names}


def _timed(calls: dict, frame, runs: int) -> dict:
    """Each call's seconds, ``runs`` calls of each function in a row: {name: [seconds, ...]}."""
    import warnings

    times = {}
    for name, (function, options) in calls.items():
        times[name] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                function(frame, **options)
            times[name].append(time.perf_counter() - t0)
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in times[name])} s", file=sys.stderr)
    return times


def _imports() -> None:
    """What the work imports, imported first, so the memory counted is the data's and the work's."""
    import pyarrow.dataset
    import pyarrow.parquet  # noqa: F401

    import chatlens.analysis
    import chatlens.partitions  # noqa: F401


def phase_pandas(folder: Path, only: list[str] | None, runs: int) -> dict:
    from chatlens.partitions import read_messages

    calls = _calls(only)
    _imports()
    base = peak_rss()
    t0 = time.perf_counter()
    frame = read_messages(folder)
    read = time.perf_counter() - t0
    times = _timed(calls, frame, runs)
    return {
        "rows": len(frame),
        "read": read,
        "times": times,
        "frame_bytes": int(frame.memory_usage(deep=True).sum()),
        "peak_rss": peak_rss(),
        "base_rss": base,
    }


def _worker_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def phase_dask(folder: Path, workers: int, only: list[str] | None, runs: int) -> dict:
    import warnings

    from distributed import Client, LocalCluster

    from chatlens.partitions import read_messages

    calls = _calls(only)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=0,
        )
    with cluster, Client(cluster) as client:
        client.run(_imports)
        base = client.run(_worker_peak)
        t0 = time.perf_counter()
        frame = read_messages(folder, engine="dask")
        read = time.perf_counter() - t0  # the one pass over conversation ids that checks the partitioning
        times, after = {}, {}
        for name, call in calls.items():
            times.update(_timed({name: call}, frame, runs))
            # Peaks only grow: the function that raised a worker's peak is the one after which it grew.
            after[name] = max(client.run(_worker_peak).values())
        peaks = client.run(_worker_peak)
    return {
        "workers": workers,
        "partitions": frame.npartitions,
        "read": read,
        "times": times,
        "peak_after": after,
        "worker_peak_rss": [peaks[w] for w in sorted(peaks)],
        "worker_base_rss": [base[w] for w in sorted(peaks)],
        "client_peak_rss": peak_rss(),
    }


def _run_phase(args: list[str]) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}
    out = subprocess.run([sys.executable, str(SELF), *args], capture_output=True, text=True, env=env)
    sys.stderr.write(out.stderr[-4000:] if out.returncode else "")
    if out.returncode:
        raise SystemExit(f"phase {args} failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(pandas: dict, dask_runs: list[dict]) -> str:
    lines = []
    runs = len(next(iter(pandas["times"].values()), [None]))
    if runs > 1:
        lines += [
            f"Dask: each time is the median of {runs} calls in a row (each call reads the dataset again). pandas: the "
            "first call, then the median of the others, which reuse the frame's resolved reply chains.",
            "",
        ]
    heads = ["function", "pandas (1 process)", *(f"dask {r['workers']} worker(s)" for r in dask_runs)]
    two = {r["workers"]: r for r in dask_runs}
    if 1 in two and 2 in two:
        heads.append("2 vs 1 workers")
    lines.append(" | ".join(heads))
    lines.append(" | ".join("---" for _ in heads))
    for name, seconds in pandas["times"].items():
        alone = f"{seconds[0]:.2f} s" + (f" (then {statistics.median(seconds[1:]):.2f} s)" if len(seconds) > 1 else "")
        row = [name, alone, *(f"{statistics.median(r['times'][name]):.2f} s" for r in dask_runs)]
        if len(heads) > len(row):
            speed = statistics.median(two[1]["times"][name]) / statistics.median(two[2]["times"][name])
            mark = " (target 1.6x)" if name in THREAD_AND_MEMBER else ""
            row.append(f"{speed:.2f}x{mark}")
        lines.append(" | ".join(row))
    lines.append(
        " | ".join(["read (pandas: whole frame; dask: partition check)", f"{pandas['read']:.2f} s"])
        + "".join(f" | {r['read']:.2f} s" for r in dask_runs)
    )
    if runs > 1:
        for r in dask_runs:
            calls = [
                f"{name} {', '.join(f'{t:.2f}' for t in r['times'][name])}"
                for name in r["times"]
                if name in THREAD_AND_MEMBER
            ]
            lines.append(f"every call (s), {r['workers']} worker(s): " + "; ".join(calls))
    for r in dask_runs:
        base = max(r["worker_base_rss"])
        grew = [f"{name} {_mb(peak - base)}" for name, peak in r["peak_after"].items()]
        lines.append(f"largest worker peak growth after each function, {r['workers']} worker(s): " + ", ".join(grew))
    lines.append("")
    need = pandas["peak_rss"] - pandas["base_rss"]
    lines.append(
        f"pandas: {pandas['rows']:,} messages, frame {_mb(pandas['frame_bytes'])}, process peak RSS "
        f"{_mb(pandas['peak_rss'])} ({_mb(need)} over the process after imports)"
    )
    for r in dask_runs:
        peaks = ", ".join(_mb(p) for p in r["worker_peak_rss"])
        # Growth over each worker's own start (its interpreter and imports), as pandas' need is counted.
        grown = [p - b for p, b in zip(r["worker_peak_rss"], r["worker_base_rss"])]
        lines.append(
            f"dask {r['workers']} worker(s), {r['partitions']} partitions: worker peak RSS {peaks}; growth over "
            f"start {', '.join(_mb(g) for g in grown)} (largest = {max(grown) / need:.2f} of pandas' need; "
            f"target < 0.25); client peak {_mb(r['client_peak_rss'])}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/chatlens-bench-dask"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="+", choices=sorted(FUNCTIONS), default=None)
    parser.add_argument("--runs", type=int, default=1, help="calls of each function per phase (the median is printed)")
    parser.add_argument("--phase", choices=["pandas", "dask"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    folder = args.work / f"dataset-{args.messages}"
    if args.phase == "pandas":
        print(json.dumps(phase_pandas(folder, args.only, args.runs)))
        return 0
    if args.phase == "dask":
        print(json.dumps(phase_dask(folder, args.workers[0], args.only, args.runs)))
        return 0
    build(folder, args.messages)
    only = ["--only", *args.only] if args.only else []
    common = ["--messages", str(args.messages), "--work", str(args.work), "--runs", str(args.runs), *only]
    print("pandas ...", file=sys.stderr)
    pandas = _run_phase([*common, "--phase", "pandas"])
    runs = []
    for n in args.workers:
        print(f"dask, {n} worker(s) ...", file=sys.stderr)
        runs.append(_run_phase([*common, "--phase", "dask", "--workers", str(n)]))
    print(report(pandas, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
