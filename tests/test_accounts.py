"""connect(): the demo, named accounts from the accounts file, and refusal of literal tokens."""

from __future__ import annotations

import os

import pytest

import chatlens
from chatlens.backends.sqlite import Workspace


def _write_config(text: str) -> None:
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(text)


def test_connect_demo_defaults_to_slack_account():
    api = chatlens.connect()
    assert (api.service, api.account_id) == ("slack", "acme-slack")
    assert chatlens.connect("demo", account="acme-teams").service == "ms_teams"


def test_connect_named_sqlite_account(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    ws.add_account("T1", service="ms_teams", name="t", user_id="U1", admin=True)
    _write_config(f'[accounts.work]\ntype = "sqlite"\npath = "{tmp_path / "w.sqlite"}"\n')
    api = chatlens.connect("work")
    assert (api.account_id, api.service, api.admin) == ("T1", "ms_teams", True)
    assert chatlens.list_accounts() == ["demo", "work"]
    assert "sqlite:" in api.identity and api.identity.endswith("#T1")


def test_workspace_with_several_accounts_needs_account(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    ws.add_account("A", service="slack", name="a", user_id="U1")
    ws.add_account("B", service="slack", name="b", user_id="U1")
    config = {"type": "sqlite", "path": str(tmp_path / "w.sqlite")}
    with pytest.raises(ValueError, match=r"accounts \['A', 'B'\].*account ="):
        chatlens.connect(config)
    assert chatlens.connect(config, account="B").account_id == "B"


def test_literal_token_is_refused():
    _write_config('[accounts.remote]\ntype = "http"\nbase_url = "http://127.0.0.1:1"\ntoken = "xoxb-123"\n')
    with pytest.raises(ValueError, match="literal token") as info:
        chatlens.connect("remote")
    assert "xoxb-123" not in str(info.value)


def test_unknown_account_names_the_known_ones():
    with pytest.raises(ValueError, match="no account named 'nope'.*demo"):
        chatlens.connect("nope")


def test_bad_config_file_is_named():
    _write_config("[accounts.x\n")
    with pytest.raises(ValueError, match="not a valid TOML"):
        chatlens.connect("x")


def test_unknown_type_and_missing_path():
    with pytest.raises(ValueError, match="unknown account type 'carrier-pigeon'"):
        chatlens.connect({"type": "carrier-pigeon"})
    with pytest.raises(ValueError, match="a 'sqlite' account needs 'path'"):
        chatlens.connect({"type": "sqlite"})


def test_unknown_workspace_account(tmp_path):
    Workspace(tmp_path / "w.sqlite")
    with pytest.raises(chatlens.NotFound, match="account 'ZZ'"):
        chatlens.connect({"type": "sqlite", "path": str(tmp_path / "w.sqlite"), "account": "ZZ"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"service": "sqlite", "path": "w.sqlite"}, "'type' is missing"),
        ({"type": "sqlite", "service": "x", "path": "w.sqlite"}, "unknown key 'service' \\('type' says what"),
        ({"type": "sqlite", "file": "w.sqlite"}, "unknown key 'file'; a 'sqlite' account takes: type, path, account"),
        ({"type": "slack_export"}, "a 'slack_export' account needs 'path'"),
        ({"type": "http", "base_url": "http://127.0.0.1:1"}, "needs 'token_env'"),
        ({"type": "slak", "token_env": "X"}, "unknown account type 'slak' \\(known: sqlite, http, slack"),
    ],
    ids=["no-type", "extra-key", "misspelt-path", "no-path", "no-token-env", "unknown-type"],
)
def test_a_config_with_a_wrong_or_missing_key_names_it_and_the_valid_ones(tmp_path, config, message):
    with pytest.raises(ValueError, match=message):
        chatlens.connect(config)
    assert not (tmp_path / "w.sqlite").exists() and not os.path.exists("w.sqlite")  # nothing opened as SQLite


def test_an_account_file_entry_with_a_wrong_key_is_named_with_its_account(tmp_path):
    _write_config(f'[accounts.work]\nservice = "sqlite"\npath = "{tmp_path / "w.sqlite"}"\n')
    with pytest.raises(ValueError, match="account 'work': 'type' is missing"):
        chatlens.connect("work")


def test_a_path_where_an_account_name_goes_opens_the_file_it_is(tmp_path):
    from tests.slack_archives import sample_export, write_export

    ws = Workspace(tmp_path / "w.sqlite")
    ws.add_account("T1", service="slack", name="t", user_id="U1")
    assert chatlens.connect(str(tmp_path / "w.sqlite")).account_id == "T1"
    export = write_export(sample_export(), tmp_path / "e.zip", as_zip=True)
    with pytest.warns(UserWarning):
        api = chatlens.connect(str(export))
    assert (api.service, api.account_id, api.layout) == ("slack", "TEAM1", "export")
    with pytest.raises(ValueError, match="no account named .* and no such file or folder"):
        chatlens.connect(str(tmp_path / "absent.zip"))


def test_a_slack_account_may_skip_refetching_unchanged_threads(monkeypatch):
    monkeypatch.setenv("CHATLENS_TEST_SLACK", "xoxb-not-a-real-token")
    _write_config(
        '[accounts.s]\ntype = "slack"\ntoken_env = "CHATLENS_TEST_SLACK"\nbase_url = "http://127.0.0.1:1"\n'
        "refetch_unchanged_threads = false\n"
    )
    assert chatlens.connect("s").refetch_unchanged_threads is False
    assert chatlens.connect("demo").refetch_unchanged_threads is True  # declared on every backend
