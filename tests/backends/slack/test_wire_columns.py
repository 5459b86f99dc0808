"""The Slack part's two ways of reading a message agree: the bulk columns (signals derived a column at a time) give
what the wire object gives, for any mix of subtypes, bots, mentions, edits, threads and tokens."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chatlens.backends.slack import wire as _slack

SUBTYPES = st.sampled_from(
    [
        None,
        "bot_message",
        "thread_broadcast",
        "file_share",
        "me_message",
        7,
        "not_a_subtype_yet",
        *_slack.SYSTEM_SUBTYPES,
    ]
)
USERS = {"U1": {"id": "U1", "name": "ada", "profile": {"display_name": "Ada"}}}


@st.composite
def slack_message(draw, seconds: int):
    second = 1_700_000_000 + seconds
    frac = draw(st.integers(0, 999_999))
    # Slack's own shape, and the odd ones archives hold: fewer digits, no fraction, a number.
    ts = draw(st.sampled_from([f"{second}.{frac:06d}", f"{second}.{frac % 1000}", f"{second}", second]))
    m = {"type": "message", "ts": ts}
    ts = str(ts)
    words = draw(st.lists(st.sampled_from(["hi", "<@U1>", "<@W2|bo>", "<@", "?", "ü", "https://x?t=xoxb-1-a"])))
    if draw(st.booleans()):
        m["text"] = " ".join(words)
    for key, values in (
        ("user", ["U1", "U9", "USLACKBOT", None]),
        ("bot_id", ["B1", "", None]),
        ("username", ["deploy", None]),
    ):
        value = draw(st.sampled_from(values))
        if value is not None:
            m[key] = value
    subtype = draw(SUBTYPES)
    if subtype is not None:
        m["subtype"] = subtype
    if draw(st.booleans()):
        m["thread_ts"] = draw(st.sampled_from([ts, "1600000000.000001"]))
    if draw(st.booleans()):
        m["edited"] = {"user": "U1", "ts": draw(st.sampled_from([f"{1_800_000_000 + seconds}.000001", "1800000000.5"]))}
    return m


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 10_000), unique=True, max_size=12).flatmap(
        lambda secs: st.tuples(*(slack_message(s) for s in secs))
    ),
    st.booleans(),
)
def test_bulk_columns_equal_the_wire_objects(messages, raw):
    cols = _slack.MessageColumns(USERS, raw=raw)
    cols.add("C1", [*messages, "not a message", {"no": "ts"}])
    rows = cols.table().to_pylist()
    assert len(rows) == len(messages)
    for row, m in zip(rows, messages):
        wire = _slack.message_object(m, "C1", USERS, "")
        assert row["id"] == wire["id"] and row["text"] == wire["text"] and (row["parent"] or "") == wire["parent"]
        assert (row["sender_id"], row["sender_name"]) == (wire["sender"]["id"], wire["sender"]["name"])
        assert row["created"].strftime("%Y-%m-%dT%H:%M:%S.%fZ") == wire["created"]
        modified = row["modified"].strftime("%Y-%m-%dT%H:%M:%S.%fZ") if row["modified"] else None
        assert modified == wire["modified"]
        signals = (row["is_bot"], row["is_system"], row["subtype"], row["mentions"])
        assert signals == (wire["is_bot"], wire["is_system"], wire["subtype"], wire["mentions"])
        if raw:
            import orjson

            assert orjson.loads(row["raw"]) == wire["raw"]
