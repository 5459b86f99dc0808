"""Crash and resume: loads and imports killed with SIGKILL at random points, then run again.

After every kill the cache must be readable (every Parquet file and the manifest parse; a half-written file never
takes a real name), and the next run must give exactly what an uninterrupted run gives. The same for
``chatlens import slack-export``: the workspace is either untouched or complete, and a re-run completes it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from chatlens import loaders
from chatlens.backends.sqlite import Workspace
from chatlens.demo import generate_workspace
from tests.slack_archives import T, sample_export, write_export

TRIALS = 20
ROOT = Path(__file__).resolve().parents[2]

LOAD = """
import sys
from chatlens import loaders
from chatlens.backends.sqlite import SQLiteChatAPI, Workspace
from chatlens.load import _fetch
# Many pages, batches and cache writes: many distinct places to be killed, on the bulk path or the paging walk.
_fetch.PAGE_SIZE = 100
SQLiteChatAPI._TABLE_ROWS = 100
SQLiteChatAPI.bulk_messages = sys.argv[3] == "bulk"
api = Workspace(sys.argv[1]).account("acme-slack")
print("ready", flush=True)
loaders.load_messages(api, cache_dir=sys.argv[2], progress=False)
loaders.load_members(api, cache_dir=sys.argv[2], progress=False)
print("done", flush=True)
"""

IMPORT = """
import sys
from chatlens.importers import import_slack_export
print("ready", flush=True)
import_slack_export(sys.argv[1], sys.argv[2], progress=False)
print("done", flush=True)
"""


def _start(script: str, *args: str) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc, time.monotonic()


def _full_run_seconds(script: str, *args: str) -> float:
    proc, t0 = _start(script, *args)
    assert proc.stdout.readline().strip() == "done"
    elapsed = time.monotonic() - t0
    assert proc.wait(timeout=120) == 0
    return elapsed


def _kill_at_random(script: str, args: list[str], seconds: float, rng: random.Random) -> bool:
    """Run, SIGKILL after a random part of ``seconds``; True if the kill landed before the run finished."""
    proc, _ = _start(script, *args)
    time.sleep(rng.uniform(0, seconds))
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return not finished


def _check_cache_readable(cache_dir: Path) -> None:
    for path in cache_dir.rglob("*"):
        if path.suffix == ".parquet":
            pq.read_table(path)  # raises on a torn file
        elif path.name == "manifest.json":
            json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_loads_killed_at_random_points_resume_to_the_same_frame(tmp_path):
    db = tmp_path / "w.sqlite"
    generate_workspace(db, messages=6000)
    api = Workspace(db).account("acme-slack")
    reference = loaders.load_messages(api, cache=False, progress=False).sort_values("id").reset_index(drop=True)
    members = loaders.load_members(api, cache=False, progress=False)
    seconds = _full_run_seconds(LOAD, str(db), str(tmp_path / "timing-cache"), "bulk")
    rng = random.Random(0)
    interrupted = 0
    for trial in range(TRIALS):
        cache_dir = tmp_path / f"cache-{trial}"
        how = "paging" if trial % 4 >= 2 else "bulk"  # both ways of loading, each killed once and twice
        interrupted += _kill_at_random(LOAD, [str(db), str(cache_dir), how], seconds, rng)
        _check_cache_readable(cache_dir)
        if trial % 2:  # half the trials are killed twice before the resume
            _kill_at_random(LOAD, [str(db), str(cache_dir), how], seconds, rng)
            _check_cache_readable(cache_dir)
        resumed = loaders.load_messages(api, cache_dir=str(cache_dir), progress=False)
        pd.testing.assert_frame_equal(resumed.sort_values("id").reset_index(drop=True), reference)
        pd.testing.assert_frame_equal(loaders.load_members(api, cache_dir=str(cache_dir), progress=False), members)
    assert interrupted >= TRIALS // 2  # most kills landed mid-load, not after it


def _big_export(path: Path) -> Path:
    files = sample_export()
    for day in range(60):
        files[f"general/2027-01-{day:04d}.json"] = [
            {"type": "message", "user": "U1", "text": f"m{day}-{k}", "ts": f"{T + 10_000_000 + day * 86400 + k}.000000"}
            for k in range(400)
        ]
    return write_export(files, path, as_zip=True)


def _dump(db: Path) -> list[tuple]:
    ws = Workspace(db)
    with ws.transaction() as conn:
        return conn.execute(
            "SELECT account_id, id, conversation_id, sender_id, created, text, parent FROM messages ORDER BY 1, 2"
        ).fetchall()


@pytest.mark.slow
def test_imports_killed_at_random_points_are_all_or_nothing(tmp_path):
    archive = _big_export(tmp_path / "export.zip")
    reference_db = tmp_path / "reference.sqlite"
    seconds = _full_run_seconds(IMPORT, str(archive), str(reference_db))
    reference = _dump(reference_db)
    assert len(reference) > 24_000
    rng = random.Random(1)
    interrupted = 0
    for trial in range(TRIALS):
        db = tmp_path / f"w-{trial}.sqlite"
        interrupted += _kill_at_random(IMPORT, [str(archive), str(db)], seconds, rng)
        if db.exists():
            assert _dump(db) in ([], reference)  # nothing, or everything: never a part
            with Workspace(db).transaction() as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not db.exists() or not _dump(db):
            assert _full_run_seconds(IMPORT, str(archive), str(db)) > 0
        assert _dump(db) == reference
    assert interrupted >= TRIALS // 2
