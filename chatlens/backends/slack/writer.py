"""Write a Slack account as a Slack workspace export (the zip an admin downloads), through the Chat API.

The layout is Slack's own (`Export your workspace data`, slack.com/help/articles/201658943): ``users.json``,
``channels.json`` (public channels), ``groups.json`` (private channels), ``dms.json``, ``mpims.json``, and one
folder per conversation (a channel's name, a direct conversation's id) of one JSON file per UTC day
(``2026-07-31.json``), each the day's messages oldest first. Every object is the service's own record as the
account keeps it (``raw``), with the conversation's member ids added where the export lists them.

This is what the notebooks practise on ("your own Slack export") and what tests read back: an export that
:func:`chatlens.connect` opens holds the account's messages, users and conversations.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from ...chatapi import iter_items

__all__ = ["write_slack_export"]

#: The index file each kind of conversation is listed in.
_INDEX = {
    "channel": "channels.json",
    "private_channel": "groups.json",
    "direct": "dms.json",
    "group_direct": "mpims.json",
}


def write_slack_export(api: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``api`` (a Slack account, as :func:`chatlens.connect` gives it) as a Slack export zip at ``path``;
    returns the path. The file appears whole or not at all.

    Examples
    --------
    >>> import tempfile, os, chatlens
    >>> path = write_slack_export(chatlens.connect("demo"), os.path.join(tempfile.mkdtemp(), "acme.zip"))
    >>> export = chatlens.connect(str(path))
    >>> export.service, export.list_conversations(page_size=100)["count"]
    ('slack', 11)
    """
    if api.service != "slack":
        raise ValueError(f"account: a Slack export is written from a Slack account, not a {api.service} one")
    users = [u["raw"] for u in iter_items(api.list_users, page_size=200)]
    index: dict[str, list[dict[str, Any]]] = {name: [] for name in _INDEX.values()}
    days: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for conversation in iter_items(api.list_conversations, page_size=200):
        record = dict(conversation["raw"])
        record.setdefault("members", [m["id"] for m in conversation.get("members") or []])
        index[_INDEX.get(conversation["kind"], "channels.json")].append(record)
        folder = record.get("name") if conversation["kind"] in ("channel", "private_channel", "group_direct") else None
        by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in iter_items(api.list_messages, conversation["id"], page_size=500):
            raw = message["raw"]
            by_day[time.strftime("%Y-%m-%d", time.gmtime(float(raw["ts"])))].append(raw)
        days[folder or conversation["id"]] = by_day
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", _json(users))
        for name, records in index.items():
            archive.writestr(name, _json(records))
        for folder, by_day in days.items():
            for day, messages in sorted(by_day.items()):
                messages.sort(key=lambda m: float(m["ts"]))  # oldest first, as Slack writes a day
                archive.writestr(f"{folder}/{day}.json", _json(messages))
    os.replace(tmp, path)
    return path


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)
