"""The messages cache as a dataset: how many files an account's cache holds, and what a load and a refresh cost.

    python benchmarks/bench_dataset.py [--conversations 5000] [--messages 500000] [--work /tmp/chatlens-bench-ds]

A workspace of ``--messages`` messages spread evenly over ``--conversations`` channels (built once under
``--work``, copied for each run) is loaded into a fresh cache three ways, each in a fresh cache directory:

- bulk: the SQLite backend's bulk reads (whole conversations as Arrow tables), cold, then warm;
- paged: the same account read page by page (``bulk_messages = False``, as every remote backend reads), cold;
- refresh: after 1% of the conversations get a new message and one message is edited, ``refresh=True`` on the
  bulk-filled cache.

Each step prints its seconds and the number of Parquet files under the account's cache afterwards (with their
total size), and the refreshed frame is checked against a fresh load without cache.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

T0 = 1_767_600_000_000_000


def build(path: Path, conversations: int, messages: int) -> None:
    """``messages`` messages spread evenly over ``conversations`` channels, a third of them replies: the workspace
    bench_bulk.py measures the bulk path on."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_bulk import build_conversations

    build_conversations(path, conversations, messages)


def files_of(cache_dir: Path) -> tuple[int, int]:
    files = [p for p in cache_dir.rglob("*.parquet") if p.parent.name == "messages"]
    return len(files), sum(p.stat().st_size for p in files)


def timed(step):
    t = time.perf_counter()
    out = step()
    return out, time.perf_counter() - t


def main() -> None:
    from chatlens.backends.sqlite import Workspace
    from chatlens.loaders import load_messages

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/chatlens-bench-ds"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pristine = args.work / f"ws-{args.conversations}-{args.messages}.sqlite"
    build(pristine, args.conversations, args.messages)
    db = args.work / "run.sqlite"  # the refresh step writes to it: every run starts from the same workspace
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, db)
    rows = []
    print(f"{args.conversations:,} conversations, {args.messages:,} messages")
    print(f"{'step':<40} {'messages':>9} {'seconds':>8} {'files':>6} {'MB':>7}")

    def step(name, cache_dir, call):
        df, seconds = timed(call)
        n, size = files_of(cache_dir)
        rows.append((name, len(df), seconds, n, size))
        print(f"{name:<40} {len(df):>9,} {seconds:>8.2f} {n:>6} {size / 1e6:>7.1f}", flush=True)
        return df

    for kind in ("bulk", "paged"):
        cache_dir = args.work / f"cache-{kind}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        api = Workspace(db).account("A")
        api.bulk_messages = kind == "bulk"
        for when in ("cold", "warm"):
            step(
                f"{kind}: {when} load",
                cache_dir,
                lambda a=api, c=cache_dir: load_messages(a, progress=False, cache_dir=str(c)),
            )

    cache_dir = args.work / "cache-bulk"
    ws = Workspace(db)
    api = ws.account("A")
    changed = range(0, args.conversations, 100)
    for n, conv in enumerate(changed):
        api.create_message(f"C{conv:05d}", text=f"new message {n}", sender="U001")
    api.update_message("m0", text="edited")
    got = step(
        "bulk: refresh=True after 1% changed",
        cache_dir,
        lambda: load_messages(api, refresh=True, progress=False, cache_dir=str(cache_dir)),
    )
    step("bulk: warm load after it", cache_dir, lambda: load_messages(api, progress=False, cache_dir=str(cache_dir)))
    pd.testing.assert_frame_equal(got, load_messages(Workspace(db).account("A"), cache=False, progress=False))
    print("refreshed frame equal to a fresh load without cache")


if __name__ == "__main__":
    main()
