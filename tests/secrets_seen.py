"""Every secret the test session handed out (server tokens, fake service tokens), so the last test can check that
none of them reached a file, a log record or a notebook (tests/reliability/test_zz_no_token_leaks.py)."""

from __future__ import annotations

import io

ISSUED: set[str] = set()
#: Every log record of the session at DEBUG (chatlens, urllib3, uvicorn...), written by tests/conftest.py.
SESSION_LOG = io.StringIO()


def remember(token: str) -> str:
    ISSUED.add(token)
    return token
