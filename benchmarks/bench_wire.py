"""Wire-protocol throughput: list every message of a large workspace through ``chatlens serve``.

Runs ``chatlens serve`` on the workspace in its own process (one core's worth of server), then lists every message
of every conversation at page_size=1000 twice: through :class:`~chatlens.backends.http.HttpChatAPI`, and through a
bare ``requests`` + ``json`` loop over the same endpoints. Prints messages/s for both and their ratio.

    python benchmarks/bench_wire.py                         # builds /tmp/chatlens-bench-1m.sqlite if missing
    python benchmarks/bench_wire.py --db PATH --messages N

Targets: client within 1.2x of the bare loop; server at least 100,000 messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import requests

from chatlens.backends.http import HttpChatAPI
from chatlens.chatapi import iter_pages
from chatlens.demo import generate_workspace


def start_server(db: str) -> tuple[subprocess.Popen, str, dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatlens.cli", "serve", "--db", db, "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    url = proc.stdout.readline().split()[2].removesuffix("/v1")
    tokens = {}
    for line in proc.stdout:
        parts = line.split()
        tokens[parts[1].rstrip(":")] = parts[-1]
        if len(tokens) == 2:
            break
    return proc, url, tokens


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_loop(url: str, account: str, token: str) -> int:
    api = HttpChatAPI(url, account, token)
    n = 0
    for conv in [c for page in iter_pages(api.list_conversations, page_size=1000) for c in page["objects"]]:
        for page in iter_pages(api.list_messages, conv["id"], page_size=1000):
            n += page["count"]
    return n


def bare_loop(url: str, account: str, token: str) -> int:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    base = f"{url}/v1/accounts/{account}/messaging"
    convs = session.get(f"{base}/conversations", params={"page_size": 1000}).json()["objects"]
    n = 0
    for conv in convs:
        page = None
        while True:
            params = {"page_size": 1000} | ({"page": page} if page else {})
            data = json.loads(session.get(f"{base}/conversations/{conv['id']}/messages", params=params).content)
            n += data["count"]
            page = data["next_page"]
            if not page:
                break
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="/tmp/chatlens-bench-1m.sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    if not os.path.exists(args.db):
        print(f"building {args.messages:,} messages into {args.db} ...", file=sys.stderr)
        generate_workspace(args.db, messages=args.messages).close()
    with open(args.db, "rb") as fh:  # warm the page cache so neither loop pays for the first disk read
        while fh.read(1 << 24):
            pass
    proc, url, tokens = start_server(args.db)
    try:
        rows = []
        for name, loop in (("bare requests+json", bare_loop), ("chatlens HttpChatAPI", client_loop)):
            total, seconds = 0, 0.0
            cpu0 = cpu_seconds(proc.pid)
            for account, token in tokens.items():
                t0 = time.perf_counter()
                total += loop(url, account, token)
                seconds += time.perf_counter() - t0
            rows.append((name, total, seconds, cpu_seconds(proc.pid) - cpu0))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"{'loop':<22} {'messages':>10} {'seconds':>8} {'messages/s':>11} {'server CPU s':>12} {'msgs/CPU s':>11}")
    for name, total, seconds, cpu in rows:
        print(f"{name:<22} {total:>10,} {seconds:>8.2f} {total / seconds:>11,.0f} {cpu:>12.2f} {total / cpu:>11,.0f}")
    print(f"client / bare time ratio: {rows[1][2] / rows[0][2]:.2f} (target <= 1.2)")
    print(
        f"server: {rows[1][1] / rows[1][3]:,.0f} messages per CPU-second of the server process "
        "(target >= 100,000 on one core)"
    )


if __name__ == "__main__":
    main()
