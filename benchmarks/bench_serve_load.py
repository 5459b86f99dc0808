"""Load on `chatlens serve`: N concurrent clients on loopback, a read-mostly mix, bounded in requests.

    python benchmarks/bench_serve_load.py [--db PATH] [--clients 1 4 16 64] [--requests 200] [--seconds S]
                                          [--rate-limit R]

Starts ``chatlens serve`` on a copy of the demo workspace in its own process and, for each client count, runs that
many threads (one HTTP session and one token each), every one sending ``--requests`` requests (or, with
``--seconds``, as many as it can for that long): 60% list a
conversation's messages (page_size 100), 20% list conversations, 15% retrieve a message, 5% post a message.
Prints requests/s, p50 and p99 latency and the error count (anything but 2xx; must be 0 below the rate limit).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from chatlens.demo import demo_workspace_path


@dataclass
class LoadResult:
    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def run_load(
    url: str, tokens: list[str], *, requests_each: int, seconds: float | None = None, seed: int = 0
) -> LoadResult:
    """Each token's client sends ``requests_each`` requests at once with the others; latencies and failures."""
    base = f"{url}/v1/accounts/me/messaging"
    probe = requests.get(f"{base}/conversations", headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30)
    conversations = [c["id"] for c in probe.json()["objects"]]
    latencies: list[float] = []
    errors = [0]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def client(k: int, token: str) -> None:
        rng = random.Random(seed * 1000 + k)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        message_ids: list[str] = []
        mine, bad, seen = [], 0, Counter()
        stop = time.perf_counter() + seconds if seconds else None
        i = 0
        while (i < requests_each) if stop is None else (time.perf_counter() < stop):
            i += 1
            roll, conv = rng.random(), rng.choice(conversations)
            t0 = time.perf_counter()
            if roll < 0.60:
                r = session.get(f"{base}/conversations/{conv}/messages", params={"page_size": 100}, timeout=60)
                if r.ok:
                    message_ids = [m["id"] for m in r.json()["objects"]] or message_ids
            elif roll < 0.80:
                r = session.get(f"{base}/conversations", params={"page_size": 20}, timeout=60)
            elif roll < 0.95 and message_ids:
                r = session.get(f"{base}/messages/{rng.choice(message_ids)}", timeout=60)
            else:
                r = session.post(f"{base}/conversations/{conv}/messages", json={"text": f"load {k}-{i}"}, timeout=60)
            mine.append(time.perf_counter() - t0)
            bad += not r.ok
            seen[r.status_code] += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad
            statuses.update(seen)

    threads = [threading.Thread(target=client, args=(k, t)) for k, t in enumerate(tokens)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    cuts = statistics.quantiles(latencies, n=100)
    return LoadResult(len(tokens), len(latencies), seconds, cuts[49] * 1000, cuts[98] * 1000, errors[0], statuses)


def _serve(db: str, accounts: int, rate_limit: float | None) -> tuple[subprocess.Popen, str, list[str]]:
    """`chatlens serve` in its own process; every client uses the acme-slack token it prints (so a rate limit,
    being per token, applies to all clients together)."""
    cmd = [sys.executable, "-m", "chatlens.cli", "serve", "--db", db, "--port", "0"]
    if rate_limit:
        cmd += ["--rate-limit", str(rate_limit)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().split()[2].removesuffix("/v1")
    tokens = {}
    for line in proc.stdout:
        parts = line.split()
        tokens[parts[1].rstrip(":")] = parts[-1]
        if len(tokens) == 2:
            break
    return proc, url, [tokens["acme-slack"]] * accounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=None, help="workspace to serve (default: a copy of the demo)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--seconds", type=float, default=None, help="run each client this long instead")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s per token (default: none)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="chatlens-load-")
    db = args.db or os.path.join(work, "demo.sqlite")
    if args.db is None:
        shutil.copyfile(demo_workspace_path(), db)
    print("| clients | requests | seconds | requests/s | p50 ms | p99 ms | errors |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.clients:
        proc, url, tokens = _serve(db, n, args.rate_limit)
        try:
            r = run_load(url, tokens, requests_each=args.requests, seconds=args.seconds)
        finally:
            proc.terminate()
            proc.wait()
        figures = f"{r.seconds:.1f} | {r.per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f}"
        print(f"| {n} | {r.requests} | {figures} | {r.errors} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
