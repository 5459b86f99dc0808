"""Private conversations (private channels, DMs, group DMs) are left out of reports by default, as the Slack and
Teams admin dashboards do; include_private=True / --include-private counts them, and the report says which."""

from __future__ import annotations

import json

import pytest

from chatlens.analysis import message_count
from chatlens.cli import main
from chatlens.loaders import load_conversations
from chatlens.reports import PRIVATE_KINDS, load_report_messages, render_report, report_data


@pytest.fixture(scope="module")
def messages():
    return load_report_messages("demo", progress=False)


def test_the_loaded_frame_knows_each_conversations_kind(messages):
    convs = load_conversations("demo", progress=False).set_index("id")
    kinds = messages.drop_duplicates("conversation_id").set_index("conversation_id")["conversation_kind"]
    assert {str(k): str(v) for k, v in kinds.items()} == {str(k): str(convs.loc[str(k), "kind"]) for k in kinds.index}
    assert set(kinds.astype(str)) & set(PRIVATE_KINDS)  # the demo has some, so the test below means something


def test_private_conversations_are_left_out_by_default(messages):
    data = report_data("demo", plots=False, progress=False)
    public = messages[~messages["conversation_kind"].astype(str).isin(PRIVATE_KINDS).to_numpy()]
    value = next(f["value"] for f in data.figures if f["key"] == "message_count")
    assert (
        value
        == message_count(public, since=data.since, until=data.until)
        < message_count(messages, since=data.since, until=data.until)
    )
    assert data.private == "left out" and data.left_out["messages in private conversations"] > 0
    assert not set(data.conversations["name"]) & set(
        messages.loc[~messages.index.isin(public.index), "conversation_name"].astype(str)
    )
    html = render_report(data)
    assert "Public channels only" in html and "--include-private" in html
    assert data.to_dict()["private_conversations"] == "left out"


def test_include_private_counts_them_and_says_so(messages):
    data = report_data("demo", plots=False, progress=False, include_private=True)
    value = next(f["value"] for f in data.figures if f["key"] == "message_count")
    assert value == message_count(messages, since=data.since, until=data.until)
    assert data.private == "included" and "messages in private conversations" not in data.left_out
    assert "private channels, direct and group direct messages included" in render_report(data)


def test_report_command_include_private(tmp_path):
    js = tmp_path / "r.json"
    args = ["report", "--out", str(tmp_path / "r.html"), "--json", str(js), "--quiet"]
    assert main(args) == 0
    left_out = json.loads(js.read_text(encoding="utf-8"))
    assert main([*args, "--include-private"]) == 0
    included = json.loads(js.read_text(encoding="utf-8"))
    assert (left_out["private_conversations"], included["private_conversations"]) == ("left out", "included")
    assert included["figures"][0]["value"] > left_out["figures"][0]["value"]
