"""Shared test set-up: every test runs with its own chatlens cache, config and demo locations, progress bars off,
and matplotlib on Agg, so nothing depends on (or writes to) the developer's own directories."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from tests.secrets_seen import SESSION_LOG, remember

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["TQDM_DISABLE"] = "1"


@pytest.fixture(scope="session", autouse=True)
def demo_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's demo workspace lives; generated on first use (read-only: copy before writing).

    Session-scoped and autouse so that even module- and session-scoped fixtures never touch the developer's own
    cache, config or demo files."""
    home = tmp_path_factory.mktemp("session-home")
    path = home / "demo.sqlite"
    os.environ["CHATLENS_DEMO_DB"] = str(path)
    os.environ["CHATLENS_CACHE_DIR"] = str(home / "cache")
    os.environ["CHATLENS_CONFIG"] = str(home / "accounts.toml")
    return path


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, demo_db_master: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("CHATLENS_CONFIG", str(home / "accounts.toml"))
    monkeypatch.setenv("CHATLENS_DEMO_DB", str(demo_db_master))
    yield


@pytest.fixture
def demo_db(tmp_path: Path, demo_db_master: Path) -> Path:
    """A private, writable copy of the demo workspace."""
    from chatlens.demo import demo_workspace_path

    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_workspace_path(), path)
    return path


@pytest.fixture(scope="session", autouse=True)
def _remember_tokens_and_logs():
    """Record every token a chatlens server issues, and every log line, for the last test's leak check."""
    from chatlens.server.app import TokenStore

    issue = TokenStore.issue

    def issue_and_remember(self: TokenStore, account_id: str) -> str:
        return remember(issue(self, account_id))

    TokenStore.issue = issue_and_remember  # type: ignore[method-assign]
    handler = logging.StreamHandler(SESSION_LOG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield
    root.setLevel(previous)
    root.removeHandler(handler)
    TokenStore.issue = issue  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The leak check reads what every other test wrote, so it runs last.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
