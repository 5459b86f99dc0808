"""Bulk loads: whole accounts into a messages frame without a paging walk per conversation.

    python benchmarks/bench_bulk.py [--messages 1000000] [--work /tmp/chatlens-bench-bulk] [--runs 3]

Each case runs in a fresh child process (so peak memory is its own), ``--runs`` times, and the table shows the best
run; the ratios compare best runs. The inputs are built once under ``--work`` and reused:

- ``export/``: a Slack export folder (users.json, channels.json, one folder of day files per channel) written from
  the Slack account of a generated demo workspace of twice ``--messages`` messages, so it holds ``--messages``;
- ``many.sqlite`` and ``few.sqlite``: 100,000 messages in 5,000 and in 10 conversations;
- the demo workspace of twice ``--messages`` (its Slack account holds ``--messages``).

Cases and targets (issue 17):

1. export folder -> frame (``load_messages(..., cache=False)``) beside the lower bound (orjson per day file, then
   the same columns as Arrow arrays) and the tutorials' way (``json.load`` + ``pd.json_normalize``): within 1.3x
   of the lower bound, at least 2x faster than the tutorials' way, and peak memory (RSS growth during the load)
   under 2x the frame's ``memory_usage(deep=True)``;
2. 100,000 messages from SQLite, cold (a fresh cache, which the load fills): 5,000 conversations within 1.5x of 10;
3. ``--messages`` from SQLite, cold, no cache: within 1.5x of reading the same rows and columns with one SQL query
   through the ``sqlite3`` module into a ``pyarrow`` table (pyarrow has no SQL reader of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

SELF = Path(__file__).resolve()


# -- inputs --------------------------------------------------------------------------------------------------


def build_demo(path: Path, messages: int) -> None:
    from chatlens.demo import generate_workspace

    if not path.exists():
        generate_workspace(path, messages=2 * messages).close()


def build_export(db: Path, folder: Path) -> None:
    """The Slack account of a demo workspace as an export folder, day files cut at UTC midnight."""
    import sqlite3
    from collections import defaultdict

    if (folder / "channels.json").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    users = [
        {"id": uid, "team_id": "T0ACME42", "name": name, "real_name": name, "profile": {"display_name": name}}
        for uid, name in con.execute("SELECT id, name FROM users WHERE account_id = 'acme-slack' ORDER BY id")
    ]
    (folder / "users.json").write_bytes(orjson.dumps(users))
    lists: dict[str, list] = defaultdict(list)
    names = {}
    for cid, name, kind, created in con.execute(
        "SELECT id, name, kind, created FROM conversations WHERE account_id = 'acme-slack' ORDER BY created"
    ):
        members = [r[0] for r in con.execute("SELECT user_id FROM memberships WHERE conversation_id = ?", (cid,))]
        entry = {"id": cid, "name": name or cid, "created": created // 1_000_000, "members": members}
        file = {"channel": "channels.json", "private_channel": "groups.json"}.get(kind, "mpims.json")
        if kind == "direct":
            entry, file = {"id": cid, "created": created // 1_000_000, "members": members}, "dms.json"
        lists[file].append(entry)
        names[cid] = cid if kind == "direct" else (name or cid)
    for file, entries in lists.items():
        (folder / file).write_bytes(orjson.dumps(entries))
    for cid, folder_name in names.items():
        days: dict[str, list] = defaultdict(list)
        for created, raw in con.execute(
            "SELECT created, raw FROM messages WHERE account_id = 'acme-slack' AND conversation_id = ?"
            " ORDER BY created",
            (cid,),
        ):
            days[time.strftime("%Y-%m-%d", time.gmtime(created // 1_000_000))].append(orjson.loads(raw))
        (folder / folder_name).mkdir(exist_ok=True)
        for day, msgs in days.items():
            (folder / folder_name / f"{day}.json").write_bytes(orjson.dumps(msgs, option=orjson.OPT_INDENT_2))


def build_conversations(path: Path, conversations: int, messages: int) -> None:
    """``messages`` messages spread evenly over ``conversations`` channels, a third of them replies."""
    from chatlens.backends.sqlite import Workspace

    if path.exists():
        return
    t0 = 1_767_600_000_000_000
    ws = Workspace(path)
    ws.add_account("A", service="slack", name="bench", user_id="U0")
    ws.add_users("A", [{"id": f"U{i:03d}", "name": f"user {i}"} for i in range(50)])
    ws.add_conversations(
        "A",
        [
            {"id": f"C{i:05d}", "name": f"c{i}", "private": False, "kind": "channel", "created": t0 + i}
            for i in range(conversations)
        ],
    )

    def rows():
        for k in range(messages):
            conv, n = k % conversations, k // conversations
            ts = t0 + n * 60_000_000 + conv
            parent = f"m{k - 2 * conversations}" if n % 3 == 2 else ""
            text = f"message {n} of c{conv} <@U{k % 50:03d}>"
            raw = orjson.dumps({"type": "message", "user": f"U{k % 50:03d}", "text": text, "ts": str(ts)}).decode()
            yield (f"m{k}", f"C{conv:05d}", f"U{k % 50:03d}", ts, text, parent, None, raw)

    ws.add_messages("A", rows())
    ws.close()


# -- cases (each run in a child process) ----------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def case_export_chatlens(work: Path) -> dict:
    from chatlens.backends.slack.export import SlackExportChatAPI
    from chatlens.loaders import load_messages

    base = rss_bytes()
    t = time.perf_counter()
    df = load_messages(SlackExportChatAPI(work / "export"), cache=False, progress=False)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "rows": len(df),
        "seconds": seconds,
        "peak_growth": peak - base,
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
    }


def case_export_lower_bound(work: Path) -> dict:
    """orjson per day file, then the frame's columns as Arrow arrays: the least any loader must do."""
    import pyarrow as pa

    folder = work / "export"

    def listed(name: str) -> list:
        return orjson.loads((folder / name).read_bytes()) if (folder / name).exists() else []

    t = time.perf_counter()
    cols: dict[str, list] = {k: [] for k in ("conversation_id", "id", "sender_id", "created", "text", "parent")}
    conversations = [
        (c["id"], c["name"]) for name in ("channels.json", "groups.json", "mpims.json") for c in listed(name)
    ]
    conversations += [(c["id"], c["id"]) for c in listed("dms.json")]
    for cid, folder_name in conversations:
        for day in sorted((folder / folder_name).glob("*.json")):
            for m in orjson.loads(day.read_bytes()):
                ts = m["ts"]
                cols["conversation_id"].append(cid)
                cols["id"].append(f"{cid}-{ts}")
                cols["sender_id"].append(m.get("user"))
                seconds, _, frac = ts.partition(".")
                cols["created"].append(int(seconds) * 1_000_000 + int(frac))
                cols["text"].append(m.get("text"))
                thread = m.get("thread_ts")
                cols["parent"].append(f"{cid}-{thread}" if thread and thread != ts else None)
    created = pa.array(cols.pop("created"), type=pa.int64()).cast(pa.timestamp("us", "UTC"))
    table = pa.table({**{k: pa.array(v, type=pa.string()) for k, v in cols.items()}, "created": created})
    return {"rows": table.num_rows, "seconds": time.perf_counter() - t}


def case_export_tutorial(work: Path) -> dict:
    """What most tutorials do: json.load each day file, then pandas.json_normalize."""
    import pandas as pd

    folder = work / "export"
    t = time.perf_counter()
    frames = []
    for day in sorted(folder.glob("*/*.json")):
        with open(day, encoding="utf-8") as fh:
            frame = pd.json_normalize(json.load(fh))
        frame["channel"] = day.parent.name
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    return {"rows": len(df), "seconds": time.perf_counter() - t}


def case_sqlite_cold(work: Path, db: str, cache: bool) -> dict:
    from chatlens.backends.sqlite import Workspace
    from chatlens.loaders import load_messages

    api = Workspace(work / db).account("A" if db != "demo.sqlite" else "acme-slack")
    with tempfile.TemporaryDirectory() as cache_dir:
        t = time.perf_counter()
        df = load_messages(api, cache=cache, cache_dir=cache_dir, progress=False)
        return {"rows": len(df), "seconds": time.perf_counter() - t}


def case_sqlite_pyarrow(work: Path) -> dict:
    """The same rows and columns through one SQL query into a pyarrow table (sqlite3 rows, then Arrow arrays)."""
    import sqlite3

    import pyarrow as pa

    t = time.perf_counter()
    con = sqlite3.connect(work / "demo.sqlite")
    rows = con.execute(
        "SELECT m.conversation_id, m.id, m.sender_id, u.name, m.created, m.modified, m.text, m.parent, m.is_bot,"
        " m.is_system, m.subtype, m.mentions FROM messages m LEFT JOIN users u"
        " ON u.account_id = m.account_id AND u.id = m.sender_id WHERE m.account_id = 'acme-slack'"
    ).fetchall()
    names = ["conversation_id", "id", "sender_id", "sender_name", "created", "modified", "text", "parent"]
    names += ["is_bot", "is_system", "subtype", "mentions"]
    table = pa.table({n: pa.array(c) for n, c in zip(names, zip(*rows))})
    return {"rows": table.num_rows, "seconds": time.perf_counter() - t}


CASES = {
    "export_chatlens": lambda w: case_export_chatlens(w),
    "export_lower_bound": lambda w: case_export_lower_bound(w),
    "export_tutorial": lambda w: case_export_tutorial(w),
    "many_cold": lambda w: case_sqlite_cold(w, "many.sqlite", True),
    "few_cold": lambda w: case_sqlite_cold(w, "few.sqlite", True),
    "sqlite_1m_nocache": lambda w: case_sqlite_cold(w, "demo.sqlite", False),
    "sqlite_1m_pyarrow": lambda w: case_sqlite_pyarrow(w),
}


def run(case: str, work: Path, runs: int) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, str(SELF), "--child", case, "--work", str(work)], capture_output=True, text=True
        )
        if out.returncode:
            raise SystemExit(f"{case} failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return min(results, key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--work", default="/tmp/chatlens-bench-bulk")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="run only these cases")
    args = parser.parse_args()
    work = Path(args.work)
    if args.child:
        print(json.dumps(CASES[args.child](work)))
        return
    work.mkdir(parents=True, exist_ok=True)
    build_demo(work / "demo.sqlite", args.messages)
    build_export(work / "demo.sqlite", work / "export")
    build_conversations(work / "many.sqlite", 5_000, 100_000)
    build_conversations(work / "few.sqlite", 10, 100_000)
    got = {case: run(case, work, args.runs) for case in (args.only or CASES)}

    print(f"{'case':<22} {'messages':>10} {'seconds':>8} {'messages/s':>11}")
    for case, r in got.items():
        print(f"{case:<22} {r['rows']:>10,} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>11,.0f}")

    def ratio(a: str, b: str) -> float | None:
        return got[a]["seconds"] / got[b]["seconds"] if a in got and b in got else None

    checks = [
        ("export: chatlens / lower bound", ratio("export_chatlens", "export_lower_bound"), "<= 1.3"),
        ("export: tutorial way / chatlens", ratio("export_tutorial", "export_chatlens"), ">= 2"),
        ("sqlite: 5,000 / 10 conversations", ratio("many_cold", "few_cold"), "<= 1.5"),
        ("sqlite: chatlens / sql->pyarrow", ratio("sqlite_1m_nocache", "sqlite_1m_pyarrow"), "<= 1.5"),
    ]
    if "export_chatlens" in got:
        r = got["export_chatlens"]
        checks.append(("export: peak RSS growth / frame", r["peak_growth"] / r["frame_bytes"], "< 2"))
    for name, value, target in checks:
        if value is not None:
            print(f"{name:<36} {value:>6.2f}  (target {target})")


if __name__ == "__main__":
    main()
