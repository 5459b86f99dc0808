"""Shared test set-up: every test runs with its own chatlens cache, config and demo locations, progress bars off,
and matplotlib on Agg, so nothing depends on (or writes to) the developer's own directories."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
