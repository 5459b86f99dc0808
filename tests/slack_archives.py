"""Build Slack export archives (zip or folder) from Python data, for tests."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

T = 1767600000  # 2026-01-05T08:00:00Z


def ts(seconds: int, micro: int = 0) -> str:
    return f"{T + seconds}.{micro:06d}"


def sample_export() -> dict[str, Any]:
    """Files of a small export: name -> JSON value (or raw bytes for a malformed file)."""
    users = [
        {
            "id": "U1",
            "team_id": "TEAM1",
            "name": "ada",
            "real_name": "Ada",
            "profile": {"display_name": "ada", "email": "ada@x.org"},
        },
        {"id": "U2", "team_id": "TEAM1", "name": "zoe", "real_name": "Zoë", "profile": {"display_name": ""}},
        {"id": "U3", "team_id": "TEAM1", "name": "old", "deleted": True, "profile": {}},
    ]
    root, r1, r2 = ts(0), ts(3600), ts(90000)  # r2 is filed a day later than its root
    day1 = [
        {
            "type": "message",
            "user": "U1",
            "text": "release? <@U2>",
            "ts": root,
            "thread_ts": root,
            "reply_count": 2,
            "replies": [{"user": "U2", "ts": r1}, {"user": "U1", "ts": r2}],
        },
        {"type": "message", "user": "U2", "text": "yes", "ts": r1, "thread_ts": root, "parent_user_id": "U1"},
        {"type": "message", "subtype": "channel_join", "user": "U3", "text": "<@U3> has joined", "ts": ts(10)},
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B1",
            "username": "deploybot",
            "text": "deployed",
            "ts": ts(20),
        },
        {"type": "message", "user": "USLACKBOT", "text": "reminder", "ts": ts(30)},
        {"type": "message", "user": "U1", "text": "fixed typo", "ts": ts(40), "edited": {"user": "U1", "ts": ts(50)}},
    ]
    # A message just after midnight UTC filed under the previous local day (exports cut days in the team's zone).
    late = ts(16 * 3600 + 1800)
    day2 = [
        {"type": "message", "user": "U1", "text": "later", "ts": r2, "thread_ts": root, "parent_user_id": "U1"},
        {
            "type": "message",
            "subtype": "file_share",
            "user": "U2",
            "text": "a file",
            "ts": ts(90100),
            "file": {"url_private": "https://files.slack.com/f/a.js?t=xoxe-1234-5678-abcdef"},
        },
    ]
    return {
        "users.json": users,
        "channels.json": [
            {"id": "C1", "name": "general", "created": str(T - 86400), "members": ["U1", "U2", "U3"]},
            {"id": "C2", "name": "empty", "created": T - 3600, "members": ["U1"]},
        ],
        "groups.json": [{"id": "G1", "name": "secret", "created": T, "members": ["U1", "U2"], "is_private": True}],
        "dms.json": [{"id": "D1", "created": T, "members": ["U1", "U2"], "is_im": True}],
        "general/2026-01-05.json": [*day1, {"type": "message", "user": "U2", "text": "late", "ts": late}],
        "general/2026-01-06.json": day2,
        "general/2026-01-07.json": b"[{not json",
        "secret/2026-01-05.json": [{"type": "message", "user": "U2", "text": "psst", "ts": ts(5)}],
        "D1/2026-01-05.json": [{"type": "message", "user": "U1", "text": "hi", "ts": ts(6)}],
    }


def write_export(files: dict[str, Any], path: Path, *, as_zip: bool) -> Path:
    if as_zip:
        with zipfile.ZipFile(path, "w") as z:
            for name, value in files.items():
                z.writestr(name, value if isinstance(value, bytes) else json.dumps(value))
        return path
    for name, value in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
    return path
