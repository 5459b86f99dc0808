"""The last test of the session: no token handed out during the session appears in any file the suite wrote (caches,
workspaces, reports, exports, logs), in any log record, or in the committed notebooks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.secrets_seen import ISSUED, SESSION_LOG

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.last
def test_no_token_in_any_file_log_or_notebook(tmp_path_factory):
    if len(ISSUED) < 5:
        pytest.skip(f"only {len(ISSUED)} tokens were issued: run the whole suite for this check")
    any_token = _one_pattern(sorted(t.encode() for t in ISSUED))
    roots = [tmp_path_factory.getbasetemp(), NOTEBOOKS]
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    assert len(files) > 100  # the suite wrote caches, workspaces, reports: there is something to search
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # SQLite's -shm/-wal of a workspace closed meanwhile: its data is in the file
            continue
        leaked = any_token.search(data)
        assert leaked is None, f"{path} contains a token starting {leaked.group()[:8]!r}"
    log = SESSION_LOG.getvalue()
    assert log  # the session did log something
    assert not [t[:8] for t in ISSUED if t in log]


def _one_pattern(tokens: list[bytes]) -> re.Pattern[bytes]:
    """One regex matching any of ``tokens``, written as their prefix tree ("cl_(?:Ab...|Xy...)|xoxp-(?:...)"): a
    single pass over each file that gives up at the first byte no token continues with, instead of one scan of
    the file per token (thousands of tokens over the session's files took two minutes)."""
    tree: dict = {}
    for token in tokens:
        node = tree
        for byte in token:
            node = node.setdefault(byte, {})
        node[None] = {}  # a whole token ends here: matching it is enough, longer ones need not be tried

    def written(node: dict) -> bytes:
        if None in node:
            return b""
        branches = [re.escape(bytes([byte])) + written(child) for byte, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"

    return re.compile(written(tree))
