"""What the Dask tests share: a real two-process LocalCluster on loopback, frames with deep reply chains, and one
comparison of a Dask result with the pandas one (imported by the test modules; no conftest, so that this folder's
name never shadows the dask package)."""

from __future__ import annotations

import warnings
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

distributed = pytest.importorskip("distributed")  # the dask extra: installed with chatlens[test]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, on 127.0.0.1, no dashboard; the client is the default scheduler
    for the module's tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up notices (ports, memory limits)
        lc = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        )
        client = distributed.Client(lc)
    try:
        yield client
    finally:
        client.close()
        lc.close()


def deep_chains(*, conversations: int = 40, seed: int = 0) -> pd.DataFrame:
    """A messages frame shaped like load_messages' (sorted by conversation, time, id): per conversation a few
    roots with reply chains dozens deep, branches, people answering bots, system events, replies to messages
    not in the frame, mentions, senders in several zones; one conversation has no messages from people."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    start = pd.Timestamp("2026-03-20T00:00:00Z")
    people = [f"U{i:02d}" for i in range(12)]
    zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", None, "US/Pacific-New"]
    for c in range(conversations):
        cid = f"C{c:03d}"
        t = start + pd.Timedelta(hours=int(rng.integers(0, 200)))
        ids: list[str] = []
        n = int(rng.integers(20, 90)) if c != 7 else 5
        for i in range(n):
            mid = f"{cid}-{i:04d}"
            t = t + pd.Timedelta(minutes=int(rng.integers(1, 600)))
            kind = rng.random()
            deep = c % 4 == 0  # every fourth conversation is mostly one long chain
            if not ids or kind < (0.02 if deep else 0.2):
                parent = None
            elif kind < (0.9 if deep else 0.75):
                parent = ids[-1]  # the chain goes on: depth grows by one
            elif kind < 0.97:
                parent = ids[int(rng.integers(0, len(ids)))]  # a branch anywhere above
            else:
                parent = f"{cid}-gone"  # a parent outside the frame: a root, with a warning
            bot = c == 7 or rng.random() < 0.05
            sender = "B01" if bot else people[int(rng.integers(0, len(people)))]
            mentioned = [people[int(rng.integers(0, len(people)))]] if rng.random() < 0.15 else []
            rows.append(
                {
                    "conversation_id": cid,
                    "conversation_name": f"channel-{c}",
                    "id": mid,
                    "sender_id": sender,
                    "sender_name": None if sender == "U03" and rng.random() < 0.5 else f"name-{sender}",
                    "created": t,
                    "parent": parent,
                    "is_bot": bot,
                    "is_system": bool(rng.random() < 0.03),
                    "mentions": mentioned,
                    "sender_timezone": zones[int(sender[1:]) % len(zones)],
                }
            )
            ids.append(mid)
    frame = pd.DataFrame(rows)
    for column in ("conversation_id", "conversation_name", "sender_id", "sender_name", "sender_timezone"):
        frame[column] = frame[column].astype("category")
    frame["id"] = frame["id"].astype("str")
    frame["parent"] = frame["parent"].astype("str")
    frame["created"] = frame["created"].astype("datetime64[us, UTC]")
    frame["mentions"] = pd.array(frame["mentions"].tolist(), dtype=pd.ArrowDtype(pa.list_(pa.string())))
    return frame


def plain(value: Any) -> Any:
    """A result with categoricals as text (the categories a Parquet file carries differ from one read to another)."""
    if isinstance(value, pd.DataFrame):
        out = value.copy()
        for c in out.columns:
            if isinstance(out[c].dtype, pd.CategoricalDtype):
                out[c] = out[c].astype(str)
        return out
    return value


def assert_same(got: Any, want: Any) -> None:
    """The Dask result equals the pandas one: frames and series exactly (dtypes, index, order), dicts and floats
    equal, graphs with the same nodes and edges and their attributes."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(plain(got), plain(want), check_freq=False)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_freq=False)
    elif isinstance(want, nx.DiGraph):
        assert isinstance(got, nx.DiGraph)
        assert dict(got.nodes(data=True)) == dict(want.nodes(data=True))
        assert sorted(got.edges(data=True)) == sorted(want.edges(data=True))
    elif isinstance(want, float) and np.isnan(want):
        assert isinstance(got, float) and np.isnan(got)
    else:
        assert type(got) is type(want)
        assert got == want
