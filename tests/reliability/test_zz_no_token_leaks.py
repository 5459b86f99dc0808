"""The last test of the session: no token handed out during the session appears in any file the suite wrote (caches,
workspaces, reports, exports, logs), in any log record, or in the committed notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.secrets_seen import ISSUED, SESSION_LOG

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.last
def test_no_token_in_any_file_log_or_notebook(tmp_path_factory):
    if len(ISSUED) < 5:
        pytest.skip(f"only {len(ISSUED)} tokens were issued: run the whole suite for this check")
    needles = [t.encode() for t in ISSUED]
    roots = [tmp_path_factory.getbasetemp(), NOTEBOOKS]
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert len(files) > 100  # the suite wrote caches, workspaces, reports: there is something to search
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # SQLite's -shm/-wal of a workspace closed meanwhile: its data is in the file
            continue
        leaked = [n[:8] for n in needles if n in data]
        assert not leaked, f"{path} contains a token starting {leaked[0]!r}"
    log = SESSION_LOG.getvalue()
    assert log  # the session did log something
    assert not [t[:8] for t in ISSUED if t in log]
