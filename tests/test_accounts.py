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
    with pytest.raises(ValueError, match="needs a path"):
        chatlens.connect({"type": "sqlite"})


def test_unknown_workspace_account(tmp_path):
    Workspace(tmp_path / "w.sqlite")
    with pytest.raises(chatlens.NotFound, match="account 'ZZ'"):
        chatlens.connect({"type": "sqlite", "path": str(tmp_path / "w.sqlite"), "account": "ZZ"})
