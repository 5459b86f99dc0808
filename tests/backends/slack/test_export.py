"""The Slack export backend and importer: built archives with exact expectations, and the real 2016 export."""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from chatlens.backends.slack.export import ExportProblemWarning, SlackExportChatAPI
from chatlens.chatapi import iter_items, iter_pages
from chatlens.errors import InvalidRequest, NotFound, PermissionDenied
from chatlens.importers import import_slack_export
from chatlens.loaders import load_messages
from tests.contract.test_chatapi_contract import check_conversation, check_message, check_page
from tests.slack_archives import T, sample_export, write_export

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "slack-export-small" / "testarchive.zip"


@pytest.fixture(params=["zip", "folder"])
def export(request, tmp_path):
    target = tmp_path / ("e.zip" if request.param == "zip" else "e")
    write_export(sample_export(), target, as_zip=request.param == "zip")
    with pytest.warns(ExportProblemWarning):
        api = SlackExportChatAPI(target)
        list(iter_items(api.list_messages, "C1"))  # reading general meets the malformed day file
    return api


def test_conversations_and_members(export):
    page = export.list_conversations()
    check_page(page)
    for conv in page["objects"]:
        check_conversation(conv)
    by_id = {c["id"]: c for c in page["objects"]}
    assert [c["id"] for c in page["objects"]] == ["C1", "C2", "D1", "G1"]  # oldest first, then by id
    assert by_id["D1"]["name"] is None and by_id["D1"]["private"] and by_id["G1"]["private"]
    assert by_id["C1"]["created"] == "2026-01-04T08:00:00.000000Z"  # "created" given as a string
    assert [m["id"] for m in iter_items(export.list_members, "C1", page_size=1)] == ["U1", "U2", "U3"]
    assert export.account_id == "TEAM1"


def test_users_from_the_users_file_and_no_groups(export, tmp_path):
    users = list(iter_items(export.list_users, page_size=2))
    assert [u["id"] for u in users] == ["U1", "U2", "U3"]
    assert users[0]["email"] == "ada@x.org" and users[2]["deleted"] and not users[0]["deleted"]
    assert export.retrieve_user("U2")["name"] == "Zoë"
    with pytest.raises(NotFound, match="U9"):
        export.retrieve_user("U9")
    assert export.list_groups()["objects"] == []  # exports carry no user groups
    with pytest.raises(NotFound, match="no user groups"):
        export.list_group_members("S1")
    with pytest.warns(ExportProblemWarning):
        import_slack_export(export.path, tmp_path / "u.sqlite", progress=False)
    from chatlens.backends.sqlite import Workspace

    imported = Workspace(tmp_path / "u.sqlite").account("TEAM1")
    keys = ("id", "name", "email", "deleted", "is_bot", "timezone")
    assert [[u[k] for k in keys] for u in iter_items(imported.list_users)] == [[u[k] for k in keys] for u in users]


def test_messages_newest_first_with_threads(export):
    msgs = list(iter_items(export.list_messages, "C1", page_size=3))
    for m in msgs:
        check_message(m)
    created = [m["created"] for m in msgs]
    assert created == sorted(created, reverse=True) and len(msgs) == 9
    by_text = {m["text"]: m for m in msgs}
    root = by_text["release? <@U2>"]
    assert by_text["yes"]["parent"] == root["id"] == f"C1-{T}.000000"
    assert by_text["later"]["parent"] == root["id"]  # a reply filed in a later day file
    assert root["parent"] == ""
    assert by_text["fixed typo"]["modified"] is not None
    assert by_text["reminder"]["sender"]["name"] == "USLACKBOT"  # unknown user kept as a placeholder
    assert by_text["deployed"]["sender"] == {
        "id": "B1",
        "name": "deploybot",
        "email": None,
        "type": "user",
        "api": "team",
    }
    assert by_text["yes"]["sender"]["name"] == "Zoë"  # real_name when display_name is empty
    assert "xoxe" not in str(by_text["a file"]["raw"]) and "t=REDACTED" in str(by_text["a file"]["raw"])
    for size in (1, 7, 1000):
        assert [m["id"] for m in iter_items(export.list_messages, "C1", page_size=size)] == [m["id"] for m in msgs]
    assert export.retrieve_message(root["id"]) == root


def test_problems_are_named(export):
    assert any("general/2026-01-07.json" in p for p in export.problems)


def test_reads_only(export):
    for call in (
        lambda: export.create_message("C1", text="x"),
        lambda: export.update_message("C1-1.0", text="x"),
        lambda: export.delete_message("C1-1.0"),
        lambda: export.create_conversation(name="x"),
        lambda: export.update_conversation("C1", name="y"),
        lambda: export.delete_conversation("C1"),
        lambda: export.list_events(),
        lambda: export.latest_cursor(),
    ):
        with pytest.raises(PermissionDenied, match="Slack export archives are read-only"):
            call()


def test_bad_input(export):
    with pytest.raises(InvalidRequest, match="page_size"):
        export.list_messages("C1", page_size=0)
    with pytest.raises(InvalidRequest, match="page"):
        export.list_messages("C1", page="garbage")
    with pytest.raises(NotFound, match="CNOPE"):
        export.list_messages("CNOPE")
    with pytest.raises(InvalidRequest, match="message_id"):
        export.retrieve_message("nonsense")
    with pytest.raises(NotFound):
        export.retrieve_message("C1-1.000000")


def test_loaders_read_the_export(export):
    df = load_messages(export, progress=False).set_index("text")
    assert df.loc["later", "thread_id"] == df.loc["yes", "thread_id"] == f"C1-{T}.000000"
    assert df.loc["deployed", "is_bot"] and df.loc["<@U3> has joined", "is_system"]
    assert list(df.loc["release? <@U2>", "mentions"]) == ["U2"]


def test_import_equals_backend_reads(export, tmp_path):
    with pytest.warns(ExportProblemWarning):
        counts = import_slack_export(export.path, tmp_path / "w.sqlite", progress=False)
    assert counts["messages"] == 11 and counts["conversations"] == 4 and counts["problems"]
    from chatlens.backends.sqlite import Workspace

    imported = Workspace(tmp_path / "w.sqlite").account("TEAM1")
    for cid in ("C1", "G1", "D1"):
        a = [
            (m["id"], m["text"], m["parent"], m["created"], m["modified"], m["sender"]["id"])
            for m in iter_items(export.list_messages, cid)
        ]
        b = [
            (m["id"], m["text"], m["parent"], m["created"], m["modified"], m["sender"]["id"])
            for m in iter_items(imported.list_messages, cid)
        ]
        assert a == b
    with pytest.raises(ValueError, match="already holds account 'TEAM1'"):
        import_slack_export(export.path, tmp_path / "w.sqlite", progress=False)


def test_import_is_all_or_nothing(tmp_path, monkeypatch):
    write_export(sample_export(), tmp_path / "e.zip", as_zip=True)
    from chatlens import importers

    calls = {"n": 0}
    real = importers._row

    def failing(m):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return real(m)

    monkeypatch.setattr(importers, "_row", failing)
    with pytest.warns(ExportProblemWarning), pytest.raises(OSError, match="disk full"):
        import_slack_export(tmp_path / "e.zip", tmp_path / "w.sqlite", progress=False)
    db = sqlite3.connect(tmp_path / "w.sqlite")
    assert [
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("accounts", "users", "conversations", "memberships", "messages")
    ] == [0, 0, 0, 0, 0]


def test_many_day_files_stream(tmp_path):
    files = sample_export()
    files = {k: v for k, v in files.items() if not k.startswith("general/")}
    for day in range(400):
        files[f"general/2027-{day:04d}.json"] = [
            {"type": "message", "user": "U1", "text": "x" * 200, "ts": f"{T + day * 86400 + k}.000000"}
            for k in range(250)
        ]
    write_export(files, tmp_path / "big.zip", as_zip=True)
    tracemalloc.start()
    counts = import_slack_export(tmp_path / "big.zip", tmp_path / "w.sqlite", progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert counts["messages"] == 100_000 + 2
    assert peak < 120_000_000  # ~100k messages of ~300 bytes of JSON each: never all parsed at once


@pytest.mark.skipif(not REAL.exists(), reason=f"{REAL} is absent (shared datasets not beside the project)")
def test_the_real_2016_export():
    api = SlackExportChatAPI(REAL)
    msgs = [m for c in iter_items(api.list_conversations) for m in iter_items(api.list_messages, c["id"])]
    assert len(msgs) == 158  # the README's count
    subtypes = {}
    for m in msgs:
        subtypes[m["raw"].get("subtype")] = subtypes.get(m["raw"].get("subtype"), 0) + 1
    assert subtypes == {
        "bot_message": 94,
        None: 49,
        "channel_join": 8,
        "bot_add": 3,
        "file_share": 3,
        "file_comment": 1,
    }
    assert sum(m["modified"] is not None for m in msgs) == 1  # the one edited marker
    assert not any("xox" in str(m["raw"]) for m in msgs)  # the era's file tokens are redacted
    assert len(list(iter_pages(api.list_messages, msgs[0]["conversation_id"], page_size=7))) > 1


def test_an_export_account_served_over_the_wire(tmp_path):
    import chatlens
    from chatlens.backends.http import HttpChatAPI
    from chatlens.server import ServerThread

    write_export(sample_export(), tmp_path / "e.zip", as_zip=True)
    with pytest.warns(ExportProblemWarning):
        api = chatlens.connect({"type": "slack_export", "path": str(tmp_path / "e.zip")})
        local = [m["id"] for m in iter_items(api.list_messages, "C1")]
    with ServerThread(lambda account_id: api) as server:
        remote = HttpChatAPI(server.url, "TEAM1", server.issue("TEAM1"))
        assert [m["id"] for m in iter_items(remote.list_messages, "C1", page_size=4)] == local
        with pytest.raises(PermissionDenied, match="read-only"):
            remote.create_message("C1", text="hello")


HASKELL = Path(__file__).resolve().parents[4] / "shared" / "data" / "haskell-jp-slack"


def haskell_jp_as_export(target: Path) -> Path:
    """The haskell-jp archive (pages plus thread files, see its README) rewritten in Slack's export layout."""
    import json
    from collections import defaultdict
    from datetime import UTC, datetime

    root = HASKELL / "docs" / "json"
    names = json.loads((HASKELL / "channel-names.json").read_text(encoding="utf-8"))
    users = json.loads((root / ".users.json").read_text(encoding="utf-8"))
    channels = []
    for cid, name in sorted(names.items()):
        by_ts: dict[str, dict] = {}
        for page in sorted((root / cid).glob("*.json")):
            for m in json.loads(page.read_text(encoding="utf-8")):
                by_ts.setdefault(m["ts"], m)
        for thread in sorted((root / cid).glob("*/*.json")):
            messages = json.loads(thread.read_text(encoding="utf-8"))
            root_ts = thread.stem
            for m in messages:
                m = dict(m)
                m["thread_ts"] = root_ts
                by_ts[m["ts"]] = {**by_ts.get(m["ts"], {}), **m}
        days = defaultdict(list)
        for m in by_ts.values():
            day = datetime.fromtimestamp(int(m["ts"].split(".")[0]), tz=UTC).strftime("%Y-%m-%d")
            days[day].append(m)
        for day, messages in days.items():
            path = target / name / f"{day}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(messages), encoding="utf-8")
        channels.append({"id": cid, "name": name, "created": 0, "members": []})
    (target / "channels.json").write_text(json.dumps(channels), encoding="utf-8")
    (target / "users.json").write_text(
        json.dumps([{"id": u, "name": n or u} for u, n in users.items()]), encoding="utf-8"
    )
    return target


@pytest.mark.skipif(not HASKELL.exists(), reason=f"{HASKELL} is absent (shared datasets not beside the project)")
def test_haskell_jp_figures_match_its_readme(tmp_path):
    api = SlackExportChatAPI(haskell_jp_as_export(tmp_path / "hjp"))
    df = load_messages(api, progress=False, cache=False)
    assert df["conversation_id"].nunique() == 24
    assert len(df) == 24_924
    # 761 messages carry "user": null; they are kept under the placeholder sender "unknown" (never dropped),
    # which the README's count of distinct senders leaves out.
    senders = df["sender_id"].astype(str)
    assert int((senders == "unknown").sum()) == 761
    assert senders[senders != "unknown"].nunique() == 1_245
    assert int(df["is_reply"].sum()) == 2_562
    assert df.loc[df["is_reply"], "thread_id"].nunique() == 605
    assert str(df["created"].min().date()) == "2017-10-02" and str(df["created"].max().date()) == "2026-08-16"
