"""Faults between client and server: a full load through a fault-injecting proxy (tests/reliability/faultproxy.py)
gives exactly the fault-free DataFrame, and writes through it are never applied twice."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens import loaders
from chatlens.backends.http import HttpChatAPI
from chatlens.backends.sqlite import Workspace
from chatlens.chatapi import iter_items
from chatlens.errors import ServiceError
from chatlens.load import _fetch
from chatlens.server import ServerThread
from tests.reliability.faultproxy import FAULTS, FaultProxy


@pytest.fixture
def server(demo_db):
    with ServerThread(Workspace(demo_db).account) as srv:
        srv.token = srv.issue("acme-slack")
        yield srv


def _client(url: str, token: str) -> HttpChatAPI:
    # Retry-After is capped so the 429/503 bursts cost milliseconds, not seconds, in the test.
    return HttpChatAPI(url, "acme-slack", token, retries=6, backoff_factor=0.01, max_retry_after=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_full_load_through_faults_equals_the_fault_free_load(server, monkeypatch, seed, tmp_path):
    monkeypatch.setattr(_fetch, "PAGE_SIZE", 50)  # many pages, so many requests meet a fault
    clean = loaders.load_messages(_client(server.url, server.token), cache=False, progress=False)
    with FaultProxy(server.url, rate=0.3, seed=seed) as proxy:
        faulty = loaders.load_messages(
            _client(proxy.url, server.token), cache=True, cache_dir=str(tmp_path), progress=False
        )
    assert set(proxy.applied) == set(FAULTS), proxy.applied  # every kind of fault happened
    assert sum(proxy.applied.values()) >= 60
    assert faulty["id"].is_unique and len(faulty) == len(clean) == 12_000
    pd.testing.assert_frame_equal(
        faulty.sort_values("id").reset_index(drop=True), clean.sort_values("id").reset_index(drop=True)
    )


def test_writes_through_faults_are_applied_at_most_once(server):
    direct = _client(server.url, server.token)
    conv = next(iter_items(direct.list_conversations))["id"]
    with FaultProxy(server.url, rate=0.4, seed=3) as proxy:
        api = _client(proxy.url, server.token)
        succeeded, uncertain = [], []
        for i in range(60):
            text = f"fault-write-{i}"
            try:
                api.create_message(conv, text=text)
                succeeded.append(text)
            except ServiceError:
                uncertain.append(text)  # dropped or answered 503: maybe applied, maybe not, never twice
    texts = [m["text"] for m in iter_items(direct.list_messages, conv, page_size=1000)]
    assert all(texts.count(t) == 1 for t in succeeded)
    assert all(texts.count(t) <= 1 for t in uncertain)
    applied = sum(t.startswith("fault-write-") for t in texts)
    assert applied == proxy.forwarded["POST"]  # every POST the server received created one message, no more
    assert uncertain and proxy.applied["drop_after"] >= 1  # the uncertain case really happened
