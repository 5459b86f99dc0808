"""A Slack account written as a Slack export (chatlens.write_slack_export) reads back as the same account: every
message, sender, time, thread and kind, every conversation and user; what the notebooks practise on."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

import chatlens


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return chatlens.write_slack_export(chatlens.connect("demo"), tmp_path_factory.mktemp("export") / "acme.zip")


def test_the_export_has_slacks_layout(export):
    names = zipfile.ZipFile(export).namelist()
    assert {"users.json", "channels.json", "groups.json", "dms.json", "mpims.json"} <= set(names)
    assert "general/2026-07-31.json" in names
    day = json.loads(zipfile.ZipFile(export).read("general/2026-07-31.json"))
    assert [float(m["ts"]) for m in day] == sorted(float(m["ts"]) for m in day)  # oldest first


def test_the_export_reads_back_as_the_account(export):
    api = chatlens.connect(str(export))
    assert api.service == "slack" and api.problems == []
    back = chatlens.load_messages(api, progress=False)
    demo = chatlens.load_messages("demo", progress=False)
    key = ["created", "sender_id"]
    columns = ["created", "sender_id", "is_bot", "is_system", "subtype", "is_reply", "text"]
    a = back[columns].sort_values(key, kind="stable").reset_index(drop=True)
    b = demo[columns].sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a.astype(str), b.astype(str))
    threads = back.groupby("thread_id").size().sort_values().to_numpy()
    assert (threads == demo.groupby("thread_id").size().sort_values().to_numpy()).all()
    assert set(chatlens.load_users(api, progress=False)["id"]) == set(chatlens.load_users("demo", progress=False)["id"])
    kinds = chatlens.load_conversations(api, progress=False)["kind"].astype(str).value_counts().to_dict()
    assert kinds == chatlens.load_conversations("demo", progress=False)["kind"].astype(str).value_counts().to_dict()


def test_only_a_slack_account_is_written(tmp_path):
    with pytest.raises(
        ValueError, match="^account: a Slack export is written from a Slack account, not a ms_teams one"
    ):
        chatlens.write_slack_export(chatlens.connect("demo", account="acme-teams"), tmp_path / "x.zip")
    assert not list(tmp_path.iterdir())


def test_dir_lists_the_lazily_loaded_names():
    names = dir(chatlens)
    for name in ("load_messages", "dashboard", "report", "analysis", "plotting", "pseudonymize", "write_slack_export"):
        assert name in names
        assert getattr(chatlens, name) is not None
    assert names == sorted(names) and "connect" in names
