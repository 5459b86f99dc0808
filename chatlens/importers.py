"""Importers: copy an export into an embedded SQLite workspace (``chatlens import slack-export PATH``).

Streams conversation by conversation and page by page, so an export of millions of messages never sits in memory
whole. All or nothing: the import is one SQLite transaction, so a failure, an interrupt or a killed process
leaves the workspace as it was. Ids and shapes equal what
:class:`~chatlens.backends.slack_export.SlackExportChatAPI` returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from tqdm.auto import tqdm

from .backends.slack_export import SlackExportChatAPI
from .backends.sqlite import Workspace
from .chatapi import iter_items, iter_pages, us_from_iso

__all__ = ["import_slack_export"]


def import_slack_export(
    path: str | os.PathLike[str],
    db: str | os.PathLike[str],
    *,
    account_id: str | None = None,
    replace: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Copy a Slack export (.zip or folder) into the workspace ``db`` as one ``slack`` account.

    Returns ``{"account", "conversations", "users", "messages", "problems"}``. An account of the same id already
    in ``db`` is an error unless ``replace=True``.

    Examples
    --------
    >>> import tempfile, os
    >>> from pathlib import Path
    >>> archive = Path("../shared/data/slack-export-small/testarchive.zip")
    >>> if archive.exists():
    ...     counts = import_slack_export(archive, os.path.join(tempfile.mkdtemp(), "w.sqlite"), progress=False)
    ...     counts["messages"]
    ... else:
    ...     158
    158
    """
    source = SlackExportChatAPI(path, account_id=account_id)
    ws = Workspace(db)
    acct = source.account_id
    owner = next(iter(source.users), "unknown")
    # One transaction for the whole import: an error, Ctrl-C or even SIGKILL leaves the workspace as it was, and
    # readers (WAL) keep reading the old state meanwhile. Other writers to this file wait until it is done.
    with ws.transaction():
        if any(a["id"] == acct for a in ws.accounts()):
            if not replace:
                raise ValueError(f"{db} already holds account {acct!r}; pass replace=True to import it again")
            _remove_account(ws, acct)
        ws.add_account(acct, service="slack", name=f"Slack export {Path(path).name}", user_id=owner)
        ws.add_users(acct, (_user(u) for u in source.users.values()))
        convs = list(iter_items(source.list_conversations, page_size=1000))
        ws.add_conversations(acct, (_conversation(source, c) for c in convs))
        total = 0
        with tqdm(total=len(convs), desc=f"import {Path(path).name}", unit="conv", disable=not progress) as bar:
            for conv in convs:
                for page in iter_pages(source.list_messages, conv["id"], page_size=1000):
                    total += ws.add_messages(acct, (_row(m) for m in page["objects"]))
                bar.update(1)
                bar.set_postfix(messages=f"{total:,}", refresh=False)
    return {
        "account": acct,
        "conversations": len(convs),
        "users": len(source.users),
        "messages": total,
        "problems": list(source.problems),
    }


def _user(raw: dict[str, Any]) -> dict[str, Any]:
    profile = raw.get("profile") or {}
    return {
        "id": raw["id"],
        "name": profile.get("display_name") or raw.get("real_name") or raw.get("name") or raw["id"],
        "email": profile.get("email"),
        "is_bot": bool(raw.get("is_bot")),
        "deleted": bool(raw.get("deleted")),
        "tz": raw.get("tz"),
        "raw": raw,
    }


def _conversation(source: SlackExportChatAPI, conv: dict[str, Any]) -> dict[str, Any]:
    _raw, kind, _folder = source._conversations[conv["id"]]
    return {
        "id": conv["id"],
        "name": conv["name"],
        "private": conv["private"],
        "kind": kind,
        "created": us_from_iso(conv["created"]),
        "members": [m["id"] for m in conv["members"]],
        "raw": conv["raw"],
    }


def _row(m: dict[str, Any]) -> tuple[Any, ...]:
    return (
        m["id"],
        m["conversation_id"],
        m["sender"]["id"],
        us_from_iso(m["created"]),
        m["text"],
        m["parent"],
        us_from_iso(m["modified"]) if m["modified"] else None,
        orjson.dumps(m["raw"]).decode(),
    )


def _remove_account(ws: Workspace, account_id: str) -> None:
    with ws.transaction() as db:
        for table in ("messages", "memberships", "conversations", "users", "events"):
            db.execute(f"DELETE FROM {table} WHERE account_id = ?", (account_id,))
        db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
