"""Importers: copy any account into an embedded SQLite workspace (``chatlens import slack-export PATH``).

:func:`import_account` reads through the Chat API and Team API alone, so it knows no service: users, conversations
(with their kind and members) and every message with its raw object. :func:`import_slack_export` opens a Slack
export as an account and imports it.

Streams conversation by conversation and page by page, so an export of millions of messages never sits in memory
whole. All or nothing: the import is one SQLite transaction, so a failure, an interrupt or a killed process
leaves the workspace as it was. Ids and shapes equal what the source returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from ._progress import progress_bar
from .accounts import connect
from .backends.sqlite import Workspace
from .chatapi import ChatAPI, iter_items, iter_pages, us_from_iso

__all__ = ["import_account", "import_slack_export"]


def import_slack_export(
    path: str | os.PathLike[str],
    db: str | os.PathLike[str],
    *,
    account_id: str | None = None,
    replace: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Copy a Slack export (.zip or folder) into the workspace ``db`` as one ``slack`` account.

    Returns ``{"account", "conversations", "users", "messages", "problems", "notes"}``. An account of the same id
    already in ``db`` is an error unless ``replace=True``.

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
    config = {"type": "slack_export", "path": str(path), **({"account": account_id} if account_id else {})}
    return import_account(
        connect(config), db, replace=replace, progress=progress, name=f"Slack export {Path(path).name}"
    )


def import_account(
    source: ChatAPI,
    db: str | os.PathLike[str],
    *,
    replace: bool = False,
    progress: bool = True,
    name: str | None = None,
) -> dict[str, Any]:
    """Copy an account of any backend into the workspace ``db``, as an account of the source's id and service.

    Returns ``{"account", "conversations", "users", "messages", "problems", "notes"}`` (``problems``: what the
    source said it could not read; ``notes``: what it merged). An account of the same id already in ``db`` is an
    error unless ``replace=True``.

    Examples
    --------
    >>> import tempfile, os, chatlens
    >>> counts = import_account(chatlens.connect("demo"), os.path.join(tempfile.mkdtemp(), "w.sqlite"), progress=False)
    >>> counts["account"], counts["conversations"], counts["users"], counts["messages"]
    ('acme-slack', 11, 35, 12000)
    """
    ws = Workspace(db)
    acct = source.account_id
    users = list(iter_items(source.list_users, page_size=1000))
    owner = source.user_id or next((u["id"] for u in users), "unknown")
    # One transaction for the whole import: an error, Ctrl-C or even SIGKILL leaves the workspace as it was, and
    # readers (WAL) keep reading the old state meanwhile. Other writers to this file wait until it is done.
    with ws.transaction():
        if any(a["id"] == acct for a in ws.accounts()):
            if not replace:
                raise ValueError(f"{db} already holds account {acct!r}; pass replace=True to import it again")
            _remove_account(ws, acct)
        ws.add_account(
            acct, service=source.service, admin=source.admin, name=name or f"import of {acct}", user_id=owner
        )
        ws.add_users(acct, (_user(u) for u in users))
        convs = list(iter_items(source.list_conversations, page_size=1000))
        ws.add_conversations(acct, (_conversation(c) for c in convs))
        total = 0
        with progress_bar(total=len(convs), desc=f"import {name or acct}", unit="conv", progress=progress) as bar:
            for conv in convs:
                for page in iter_pages(source.list_messages, conv["id"], page_size=1000):
                    total += ws.add_messages(acct, (_row(m) for m in page["objects"]))
                bar.update(1)
                bar.set_postfix(messages=f"{total:,}", refresh=False)
    return {
        "account": acct,
        "conversations": len(convs),
        "users": len(users),
        "messages": total,
        "problems": list(source.problems),
        "notes": list(source.notes),
    }


def _user(user: dict[str, Any]) -> dict[str, Any]:
    """A Team API user as the workspace stores it."""
    return {
        "id": user["id"],
        "name": user.get("name") or user["id"],
        "email": user.get("email"),
        "created": us_from_iso(user["created"]) if user.get("created") else None,
        "updated": us_from_iso(user["updated"]) if user.get("updated") else None,
        "is_bot": bool(user.get("is_bot")),
        "deleted": bool(user.get("deleted")),
        "tz": user.get("timezone"),
        "raw": user.get("raw") or None,
    }


def _conversation(conv: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": conv["id"],
        "name": conv["name"],
        "private": conv["private"],
        "kind": conv["kind"],
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
