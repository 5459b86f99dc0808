"""The chatlens command, run as a real subprocess where it matters."""

from __future__ import annotations

import os
import subprocess
import sys

from chatlens.cli import main


def test_summary_lists_demo_conversations(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("acme-slack (slack):")
    assert "general" in out and "total" in out
    total = int(out.strip().splitlines()[-1].split()[-1].replace(",", ""))
    assert total > 10_000


def test_summary_of_teams_account(capsys):
    assert main(["summary", "--account-id", "acme-teams"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("acme-teams (ms_teams):")
    # The demo's Teams account is an admin account: it lists messages, and no member-to-member chats.
    assert "(direct)" not in out and "n/a" not in out


def test_summary_shows_na_where_messages_cannot_be_listed(tmp_path, capsys):
    from chatlens.backends.sqlite import Workspace

    ws = Workspace(tmp_path / "t.sqlite")
    ws.add_account("T", service="ms_teams", name="t", user_id="U1")
    ws.add_users("T", [{"id": "U1", "name": "ada"}])
    ws.account("T").create_conversation(name="general")
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(f'[accounts.t]\ntype = "sqlite"\npath = "{tmp_path / "t.sqlite"}"\n')
    assert main(["summary", "--account", "t"]) == 0
    assert "n/a" in capsys.readouterr().out


def test_errors_are_one_line(capsys):
    assert main(["summary", "--account", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatlens: error: no account named 'nope'") and "Traceback" not in err


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "chatlens.cli"], capture_output=True, text=True, env=os.environ, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "acme-slack" in proc.stdout


def test_cache_info_and_clear_commands(capsys):
    from chatlens.loaders import load_messages

    assert main(["cache", "info"]) == 0
    assert "is empty" in capsys.readouterr().out
    load_messages("demo", ["general"], progress=False)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "demo.sqlite#acme-slack" in out
    assert main(["cache", "clear", "acme-slack"]) == 0
    assert "removed 1 cached dataset(s)" in capsys.readouterr().out


def test_serve_refuses_a_rate_limit_that_is_not_a_finite_positive_number(capsys):
    """Before: --rate-limit nan started a server whose limiter compared against NaN (issue 23, item 11)."""
    import pytest

    for bad in ("nan", "inf", "-1", "0", "fast"):
        with pytest.raises(SystemExit) as caught:
            main(["serve", "--rate-limit", bad])
        assert caught.value.code == 2
        assert "--rate-limit" in capsys.readouterr().err
