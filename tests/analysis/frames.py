"""Random message frames for property tests, shaped like the loaders' output."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

# Around two DST changes (Europe/Berlin 2026-03-29, America/New_York 2026-11-01) and on exact local midnights.
ANCHORS = [
    pd.Timestamp("2026-03-28T22:00:00Z"),
    pd.Timestamp("2026-10-31T22:00:00Z"),
    pd.Timestamp("2026-11-01T04:00:00Z"),
    pd.Timestamp("2026-03-28T23:00:00Z"),
]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


@st.composite
def message_frames(draw, max_size: int = 30, allow_missing: bool = True):
    n = draw(st.integers(1, max_size))
    senders = [f"u{draw(st.integers(0, 4))}" for _ in range(n)]
    times = []
    for _ in range(n):
        anchor = draw(st.sampled_from(ANCHORS))
        times.append(anchor + pd.Timedelta(minutes=draw(st.integers(-3000, 3000))))
    times.sort()
    parents = []
    for i in range(n):
        choice = draw(st.integers(0, 9))
        if i and choice < 5:
            parents.append(f"m{draw(st.integers(0, i - 1))}")  # any earlier message: chains of any depth
        elif allow_missing and choice == 9:
            parents.append("gone")
        else:
            parents.append(None)
    mentions = [[f"u{draw(st.integers(0, 4))}"] if draw(st.booleans()) else [] for _ in range(n)]
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(n)],
            "conversation_id": [f"C{draw(st.integers(0, 1))}" for _ in range(n)],
            "conversation_name": "x",
            "sender_id": senders,
            "sender_name": [s.upper() for s in senders],
            "created": pd.to_datetime(times, utc=True).astype("datetime64[us, UTC]"),
            "parent": pd.array(parents, dtype="string"),
            "is_bot": [draw(st.integers(0, 9)) == 0 for _ in range(n)],
            "is_system": [draw(st.integers(0, 9)) == 0 for _ in range(n)],
            "mentions": mentions,
        }
    )
