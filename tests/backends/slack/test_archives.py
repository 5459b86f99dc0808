"""Real archives, nothing silently lost (issue 18 §1): zip names without the UTF-8 flag, conversations without a
folder, paths that are not exports, Enterprise Grid org exports, the slack-log layout, and duplicates across day
files. Each case is an archive as people have them, built with the tools that make them (Info-ZIP's ``zip``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import chatlens
import chatlens.cli
from chatlens.backends.slack.archive import NotAnExportError
from chatlens.backends.slack.export import ExportProblemWarning, SlackExportChatAPI
from tests.slack_archives import T, ts, write_export

HASKELL = Path(__file__).resolve().parents[4] / "shared" / "data" / "haskell-jp-slack"
NAMES = {"C1": "雑談", "C2": "café-crème", "C3": "🎉-party", "C4": "general"}


def _users() -> list[dict]:
    return [
        {"id": "U1", "team_id": "T1", "name": "ada", "profile": {"display_name": "ada"}},
        {"id": "U2", "team_id": "T1", "name": "bo", "profile": {"display_name": "bo"}},
    ]


def _unicode_export(root: Path) -> Path:
    files = {
        "users.json": _users(),
        "channels.json": [{"id": c, "name": n, "created": T, "members": ["U1", "U2"]} for c, n in NAMES.items()],
    }
    for k, name in enumerate(NAMES.values()):
        files[f"{name}/2026-01-05.json"] = [
            {"type": "message", "user": "U1", "text": f"hello {name}", "ts": ts(10 * k)},
            {"type": "message", "user": "U2", "text": "hi", "ts": ts(10 * k + 1)},
        ]
    return write_export(files, root, as_zip=False)


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP's zip command is not installed")
def test_a_zip_made_by_the_zip_command_loads_every_non_ascii_channel(tmp_path):
    folder = _unicode_export(tmp_path / "export")
    archive = tmp_path / "export.zip"
    subprocess.run(["zip", "-q", "-r", str(archive), "."], cwd=folder, check=True)
    flags = {i.filename: i.flag_bits & 0x800 for i in zipfile.ZipFile(archive).infolist()}
    assert not any(flags.values()), "zip set the UTF-8 flag: this test needs names without it"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExportProblemWarning)  # not one channel may go missing
        api = SlackExportChatAPI(archive)
        msgs = chatlens.load_messages(api, cache=False, progress=False)
    assert api.problems == []
    assert msgs.groupby("conversation_id", observed=True).size().to_dict() == {c: 2 for c in NAMES}


def test_a_listed_conversation_without_a_folder_is_a_problem_not_an_empty_channel(tmp_path):
    files = {
        "users.json": _users(),
        "channels.json": [{"id": "C1", "name": "general", "created": T}, {"id": "C2", "name": "lost", "created": T}],
        "dms.json": [{"id": "D1", "created": T, "members": ["U1", "U2"]}],
        "general/2026-01-05.json": [{"type": "message", "user": "U1", "text": "hi", "ts": ts(0)}],
    }
    with pytest.warns(ExportProblemWarning) as caught:
        api = SlackExportChatAPI(write_export(files, tmp_path / "e", as_zip=False))
    assert len(api.problems) == 2
    assert "#lost (C2)" in api.problems[0] and "lost/" in api.problems[0]
    assert "D1" in api.problems[1] and "dms.json" in api.problems[1]
    assert [str(w.message) for w in caught] == [f"Slack export e: {p}" for p in api.problems]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"notes.txt": b"hello"}, "found: notes.txt"),
        ({"export/channels.json": [], "export/users.json": []}, "found a channels.json in export/"),
        ({"C0123ABCD.json": {"channel_id": "C0123ABCD", "messages": []}}, "slackdump dump"),
        ({}, "found: nothing"),
    ],
    ids=["unrelated", "nested-twice", "slackdump", "empty"],
)
def test_a_path_that_is_not_an_export_is_an_error_saying_what_was_expected_and_found(tmp_path, files, expected):
    target = tmp_path / "thing"
    target.mkdir()
    if "export/channels.json" in files:
        files = {**files, "other.txt": b"x"}  # two tops, so the zip is not read from inside its one folder
    write_export(files, target, as_zip=False)
    with pytest.raises(NotAnExportError, match="is not a Slack export: expected channels.json") as caught:
        SlackExportChatAPI(target)
    assert expected in str(caught.value)


def test_chatlens_import_of_a_non_export_exits_non_zero_and_writes_no_database(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    db = tmp_path / "w.sqlite"
    code = chatlens.cli.main(["import", "slack-export", str(tmp_path / "photos"), "--db", str(db), "--quiet"])
    assert code == 2
    assert "is not a Slack export" in capsys.readouterr().err
    assert not db.exists()


def test_an_import_with_problems_exits_1_after_importing_what_is_there(tmp_path, capsys):
    files = {
        "users.json": _users(),
        "channels.json": [{"id": "C1", "name": "general", "created": T}, {"id": "C2", "name": "lost", "created": T}],
        "general/2026-01-05.json": [{"type": "message", "user": "U1", "text": "hi", "ts": ts(0)}],
    }
    source = write_export(files, tmp_path / "e", as_zip=False)
    with pytest.warns(ExportProblemWarning):
        code = chatlens.cli.main(["import", "slack-export", str(source), "--db", str(tmp_path / "w.sqlite"), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "imported 1 messages" in out.out and "#lost (C2)" in out.out


def _grid(root: Path) -> Path:
    """An Enterprise Grid org export: org users and org-level DMs at the top, a folder per workspace."""
    users = [{**u, "enterprise_user": {"enterprise_id": "E1"}} for u in _users()]
    files = {
        "org_users.json": users,
        "dms.json": [{"id": "D1", "created": T, "members": ["U1", "U2"]}],
        "D1/2026-01-05.json": [{"type": "message", "user": "U1", "text": "psst", "ts": ts(0)}],
        "eng/channels.json": [{"id": "C1", "name": "general", "created": T, "members": ["U1", "U2"]}],
        "eng/general/2026-01-05.json": [{"type": "message", "user": "U1", "text": "eng hi", "ts": ts(1)}],
        "sales/channels.json": [{"id": "C2", "name": "general", "created": T, "members": ["U2"]}],
        "sales/groups.json": [{"id": "G1", "name": "deals", "created": T, "members": ["U2"], "is_private": True}],
        "sales/users.json": [{"id": "U3", "team_id": "T2", "name": "cy", "profile": {"display_name": "cy"}}],
        "sales/general/2026-01-05.json": [{"type": "message", "user": "U2", "text": "sales hi", "ts": ts(2)}],
        "sales/deals/2026-01-06.json": [{"type": "message", "user": "U2", "text": "a deal", "ts": ts(90000)}],
    }
    return write_export(files, root, as_zip=False)


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_an_enterprise_grid_export_is_one_org_account_and_each_workspace_can_be_its_own(tmp_path, as_zip):
    folder = _grid(tmp_path / "org")
    path = folder
    if as_zip:
        if shutil.which("zip") is None:
            pytest.skip("Info-ZIP's zip command is not installed")
        path = tmp_path / "org.zip"
        subprocess.run(["zip", "-q", "-r", str(path), "."], cwd=folder, check=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExportProblemWarning)
        org = SlackExportChatAPI(path)
        assert org.layout == "enterprise-grid" and org.workspaces == ["eng", "sales"]
        msgs = chatlens.load_messages(org, cache=False, progress=False)
        convs = chatlens.load_conversations(org, cache=False, progress=False)
        assert sorted(msgs["text"]) == ["a deal", "eng hi", "psst", "sales hi"]
        assert sorted(convs["id"]) == ["C1", "C2", "D1", "G1"]
        assert {c["id"]: c["raw"].get("workspace") for c in chatlens.chatapi.iter_items(org.list_conversations)} == {
            "C1": "eng",
            "C2": "sales",
            "G1": "sales",
            "D1": None,
        }
        sales = chatlens.connect({"type": "slack_export", "path": str(path), "workspace": "sales"})
        assert sorted(chatlens.load_messages(sales, cache=False, progress=False)["text"]) == ["a deal", "sales hi"]
        assert (org.account_id, sales.account_id) == ("E1", "E1-sales")
        # A workspace's users.json adds the users org_users.json lacks.
        assert org.retrieve_user("U3")["name"] == "cy" and org.retrieve_user("U1")["name"] == "ada"
    with pytest.raises(NotAnExportError, match="no workspace 'hr'.*eng, sales"):
        SlackExportChatAPI(path, workspace="hr")


def test_the_same_ts_in_two_day_files_is_one_message_and_the_note_says_so(tmp_path):
    broadcast = {"type": "message", "user": "U2", "text": "also in channel", "ts": ts(90000), "thread_ts": ts(0)}
    files = {
        "users.json": _users(),
        "channels.json": [{"id": "C1", "name": "general", "created": T}],
        "general/2026-01-05.json": [
            {"type": "message", "user": "U1", "text": "root", "ts": ts(0), "thread_ts": ts(0)},
            broadcast,
        ],
        "general/2026-01-06.json": [{**broadcast, "subtype": "thread_broadcast"}],
    }
    source = write_export(files, tmp_path / "e", as_zip=False)
    for bulk in (True, False):
        api = SlackExportChatAPI(source)
        if bulk:
            table = next(api.message_tables(["C1"]))
            assert table.num_rows == 2
        else:
            msgs = list(chatlens.chatapi.iter_items(api.list_messages, "C1"))
            assert [m["text"] for m in msgs] == ["also in channel", "root"]
            assert msgs[0]["subtype"] == "thread_broadcast"  # the later file's copy
        assert api.notes == [
            "#general (C1): 1 message appeared in more than one file; each is loaded once (the copy in the later file)"
        ]
    frame = chatlens.load_messages(SlackExportChatAPI(source), cache=False, progress=False)
    assert len(frame) == 2 and frame["id"].is_unique


@pytest.mark.skipif(not HASKELL.exists(), reason=f"{HASKELL} is absent (shared datasets not beside the project)")
def test_the_slack_log_layout_loads_as_it_is_and_matches_its_readme(tmp_path):
    api = chatlens.connect({"type": "slack_export", "path": str(HASKELL / "docs" / "json")})
    assert api.layout == "slack-log" and api.problems == []
    assert api.account_id == "haskell-jp-slack"
    df = chatlens.load_messages(api, cache=False, progress=False)
    # The README's independent counts, after deduplicating by (channel, ts).
    assert len(df) == 24_924 and df["conversation_id"].nunique() == 24
    senders = df["sender_id"].astype(str)
    assert senders[senders != "unknown"].nunique() == 1_245
    assert int(df["is_reply"].sum()) == 2_562
    assert df.loc[df["is_reply"], "thread_id"].nunique() == 605
    assert str(df["created"].min().date()) == "2017-10-02" and str(df["created"].max().date()) == "2026-08-16"
    names = dict(zip(df["conversation_id"].astype(str), df["conversation_name"].astype(str), strict=False))
    assert names["C4LFB6DE0"] == "general"
    # The same archive rewritten in Slack's export layout (the README's reading of it) gives the same rows.
    from tests.backends.slack.test_export import haskell_jp_as_export

    converted = SlackExportChatAPI(haskell_jp_as_export(tmp_path / "hjp"))
    other = chatlens.load_messages(converted, cache=False, progress=False)
    columns = ["id", "conversation_id", "sender_id", "created", "text", "parent", "is_bot", "is_system"]
    mine, theirs = (f[columns].sort_values("id").reset_index(drop=True) for f in (df, other))
    pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.parametrize("given", ["docs/json", "docs", "."])
def test_a_slack_log_archive_is_named_by_the_repository_it_is_published_from(tmp_path, given):
    # slack-log writes its archive to docs/json of the repository that publishes it (GitHub Pages serves docs/).
    json_folder = tmp_path / "team-logs" / "docs" / "json"
    (json_folder / "C1234567").mkdir(parents=True)
    (json_folder / ".users.json").write_text('{"U1": "ada"}')
    (json_folder / "channel-names.json").write_text('{"C1234567": "general"}')
    message = {"type": "message", "user": "U1", "ts": "1700000000.000100", "text": "hi"}
    (json_folder / "C1234567" / "1.json").write_text(json.dumps([message]))
    api = SlackExportChatAPI(tmp_path / "team-logs" / given)
    assert api.layout == "slack-log" and api.problems == []
    assert api.account_id == "team-logs"  # not "json" or "docs"
    frame = chatlens.load_messages(api, cache=False, progress=False)
    assert frame["account"].astype(str).tolist() == ["team-logs"]
    assert SlackExportChatAPI(json_folder, account_id="hjp").account_id == "hjp"  # a name given is kept


def test_the_report_of_an_archive_says_what_the_archive_left_out(tmp_path):
    from chatlens.reports import report

    files = {
        "users.json": _users(),
        "channels.json": [{"id": "C1", "name": "general", "created": T}, {"id": "C2", "name": "lost", "created": T}],
        "general/2026-01-05.json": [{"type": "message", "user": "U1", "text": "hi?", "ts": ts(0)}],
    }
    source = write_export(files, tmp_path / "e", as_zip=False)
    with pytest.warns(ExportProblemWarning):
        path = report(str(source), since="all", out=tmp_path / "r.html", progress=False)
    page = path.read_text(encoding="utf-8")
    assert "Not in this report, as the source could not read it: #lost (C2) is listed in channels.json" in page


def test_the_cache_knows_a_new_export_saved_over_the_old_one_and_each_grid_account(tmp_path):
    files = {
        "users.json": _users(),
        "channels.json": [{"id": "C1", "name": "general", "created": T}],
        "general/2026-01-05.json": [{"type": "message", "user": "U1", "text": "old", "ts": ts(0)}],
    }
    source = write_export(files, tmp_path / "e.zip", as_zip=True)
    first = chatlens.load_messages(SlackExportChatAPI(source), progress=False, cache_dir=str(tmp_path / "c"))
    files["general/2026-01-06.json"] = [{"type": "message", "user": "U2", "text": "new", "ts": ts(90000)}]
    write_export(files, source, as_zip=True)
    os.utime(source, ns=(time.time_ns(), time.time_ns()))
    second = chatlens.load_messages(SlackExportChatAPI(source), progress=False, cache_dir=str(tmp_path / "c"))
    assert sorted(first["text"]) == ["old"] and sorted(second["text"]) == ["new", "old"]
    org = _grid(tmp_path / "org")
    whole = chatlens.load_conversations(SlackExportChatAPI(org), progress=False, cache_dir=str(tmp_path / "c"))
    one = chatlens.load_conversations(
        SlackExportChatAPI(org, workspace="eng"), progress=False, cache_dir=str(tmp_path / "c")
    )
    assert sorted(whole["id"]) == ["C1", "C2", "D1", "G1"] and sorted(one["id"]) == ["C1"]


def test_a_load_from_the_cache_still_says_what_the_archive_left_out(tmp_path):
    from chatlens.loaders import SourceProblemWarning

    files = {
        "users.json": _users(),
        "channels.json": [{"id": "C1", "name": "general", "created": T}],
        "general/2026-01-05.json": [{"type": "message", "user": "U1", "text": "hi", "ts": ts(0)}],
        "general/2026-01-06.json": b"[{not json",
    }
    source = write_export(files, tmp_path / "e", as_zip=False)
    cache = str(tmp_path / "c")
    with pytest.warns(ExportProblemWarning, match="2026-01-06.json is not valid JSON"):
        first = SlackExportChatAPI(source)
        chatlens.load_messages(first, progress=False, cache_dir=cache)
    again = SlackExportChatAPI(source)  # reads nothing: every message comes from the cache
    with pytest.warns(SourceProblemWarning, match="left out: general/2026-01-06.json is not valid JSON") as caught:
        frame = chatlens.load_messages(again, progress=False, cache_dir=cache)
    assert caught[0].filename == __file__  # the user's own line
    assert len(frame) == 1 and again.problems == first.problems
    assert chatlens.cli.main(["summary", "--account", str(source)]) == 1  # and the command line exits 1
