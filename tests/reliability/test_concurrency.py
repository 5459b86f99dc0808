"""Concurrency: processes loading and refreshing one account's cache while writers post through the server, and
many concurrent writers through `chatlens serve`: no lost update, no duplicate, no corrupt file."""

from __future__ import annotations

import multiprocessing
import threading
import warnings

import pandas as pd
import pytest

from chatlens import loaders
from chatlens.backends.http import HttpChatAPI
from chatlens.backends.sqlite import Workspace
from chatlens.cache import CacheWarning
from chatlens.chatapi import iter_items
from chatlens.server import ServerThread

WRITERS, EACH = 8, 40


def _load_and_refresh(db: str, cache_dir: str, rounds: int) -> int:
    api = Workspace(db).account("acme-slack")
    n = 0
    for _ in range(rounds):
        n = len(loaders.load_messages(api, cache_dir=cache_dir, refresh=True, progress=False))
    return n


@pytest.fixture
def server(demo_db):
    ws = Workspace(demo_db)
    with ServerThread(ws.account) as srv:
        srv.ws, srv.token = ws, srv.issue("acme-slack")
        yield srv


def _writers(server, conv: str, n_threads: int, each: int, tag: str) -> list[str]:
    created: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def write(k: int) -> None:
        api = HttpChatAPI(server.url, "acme-slack", server.token)
        try:
            for i in range(each):
                msg = api.create_message(conv, text=f"{tag}-{k}-{i}")
                with lock:
                    created.append(msg["id"])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            api.close()

    threads = [threading.Thread(target=write, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return created


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(server):
    api = HttpChatAPI(server.url, "acme-slack", server.token)
    conv = next(iter_items(api.list_conversations))["id"]
    cursor = api.latest_cursor()
    created = _writers(server, conv, WRITERS, EACH, "w")
    assert len(created) == len(set(created)) == WRITERS * EACH
    listed = [m for m in iter_items(api.list_messages, conv, page_size=1000) if m["text"].startswith("w-")]
    assert sorted(m["id"] for m in listed) == sorted(created)
    assert sorted(m["text"] for m in listed) == sorted(f"w-{k}-{i}" for k in range(WRITERS) for i in range(EACH))
    events = list(iter_items(lambda **kw: _events(api, cursor, **kw), page_size=1000))
    assert sorted(e["metadata"]["id"] for e in events if e["type"] == "add") == sorted(created)

    # Concurrent edits of distinct messages: every one lands.
    def edit(ids: list[str]) -> None:
        client = HttpChatAPI(server.url, "acme-slack", server.token)
        for mid in ids:
            client.update_message(mid, text=f"edited {mid}")
        client.close()

    chunks = [created[k::WRITERS] for k in range(WRITERS)]
    threads = [threading.Thread(target=edit, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = {m["id"]: m["text"] for m in iter_items(api.list_messages, conv, page_size=1000)}
    assert all(texts[mid] == f"edited {mid}" for mid in created)


def _events(api, cursor, *, page_size, page=None):
    # list_events pages by cursor; adapt it to the page/next_page walk of iter_items.
    result = api.list_events(cursor=page or cursor, page_size=page_size)
    return {**result, "page": page, "next_page": result["cursor"] if result["remaining"] else None}


@pytest.mark.slow
def test_processes_refreshing_one_cache_while_writers_post(server, tmp_path):
    cache_dir = str(tmp_path / "cache")
    ctx = multiprocessing.get_context("spawn")
    conv = server.ws.account("acme-slack").list_conversations(page_size=1)["objects"][0]["id"]
    with ctx.Pool(3) as pool:
        pending = pool.starmap_async(_load_and_refresh, [(str(server.ws.path), cache_dir, 4)] * 3)
        _writers(server, conv, 4, 25, "p")
        counts = pending.get(timeout=300)
    assert all(12_000 <= n <= 12_100 for n in counts), counts
    api = server.ws.account("acme-slack")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # no corrupt or inconsistent file anywhere in the cache
        final = loaders.load_messages(api, cache_dir=cache_dir, refresh=True, progress=False)
    fresh = loaders.load_messages(api, cache=False, progress=False)
    pd.testing.assert_frame_equal(
        final.sort_values("id").reset_index(drop=True), fresh.sort_values("id").reset_index(drop=True)
    )
    assert len(fresh) == 12_100
