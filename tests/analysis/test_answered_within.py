"""answered_within: the share of a conversation's threads someone else answered within a threshold (issue 20 §2)."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens import analysis as A
from chatlens.loaders import load_messages


def test_it_agrees_with_time_to_first_reply_per_conversation_on_the_demo():
    m = load_messages("demo", progress=False)
    since, until = "2026-06-01", "2026-07-01"
    got = A.answered_within(m, "4h", since=since, until=until)
    t = A.time_to_first_reply(m, since=since, until=until)
    t["quick"] = t["time_to_first_reply"] <= pd.Timedelta("4h")
    ref = t.groupby(t["conversation_id"].astype(str))["quick"].agg(["size", "sum"])
    assert got["threads"].tolist() == ref["size"].tolist() and got["answered_within"].tolist() == ref["sum"].tolist()
    assert got.index.tolist() == ref.index.tolist()
    assert ((got["share"] - ref["sum"] / ref["size"]).abs() < 1e-12).all()


def test_the_threshold_is_inclusive_and_a_late_or_own_answer_is_not_within():
    t0 = pd.Timestamp("2026-01-01 09:00", tz="UTC")
    rows = [
        ("a", "", "u", 0),  # answered at exactly 24 h: within
        ("a1", "a", "v", 24 * 60),
        ("b", "", "u", 10),  # answered after 24 h 1 min: not within
        ("b1", "b", "v", 10 + 24 * 60 + 1),
        ("c", "", "u", 20),  # only its author replied: not within
        ("c1", "c", "u", 21),
    ]
    m = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "parent": [r[1] for r in rows],
            "sender_id": [r[2] for r in rows],
            "created": [t0 + pd.Timedelta(minutes=r[3]) for r in rows],
            "conversation_id": "C1",
        }
    )
    got = A.answered_within(m, "24h").loc["C1"]
    assert (got["threads"], got["answered_within"]) == (3, 1)
    with pytest.raises(ValueError, match="within"):
        A.answered_within(m, "soon")
