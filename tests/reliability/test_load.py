"""Load: concurrent clients against `chatlens serve` on loopback, bounded in count and requests. Below the rate limit
nothing fails; above it the excess is refused with 429, never with an error. Throughput and latency figures come
from benchmarks/bench_serve_load.py (the same load generator), not from this test."""

from __future__ import annotations

from benchmarks.bench_serve_load import run_load
from chatlens.backends.sqlite import Workspace
from chatlens.server import ServerThread


def test_concurrent_clients_below_the_rate_limit_see_no_error(demo_db):
    with ServerThread(Workspace(demo_db).account, rate_limit=5000) as server:
        tokens = [server.issue("acme-slack") for _ in range(8)]
        result = run_load(server.url, tokens, requests_each=40)
    assert result.requests == 320
    assert result.errors == 0 and set(result.statuses) <= {200, 201}


def test_one_token_over_the_rate_limit_gets_429s_not_errors(demo_db):
    with ServerThread(Workspace(demo_db).account, rate_limit=20) as server:
        token = server.issue("acme-slack")
        result = run_load(server.url, [token] * 6, requests_each=20)
    assert 0 < result.errors < result.requests  # the excess was refused, the rest answered
    assert set(result.statuses) <= {200, 201, 429} and result.statuses[429] == result.errors
