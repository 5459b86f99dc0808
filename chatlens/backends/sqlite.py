"""The embedded backend: a chat workspace in one SQLite file (WAL mode).

A :class:`Workspace` holds accounts (each ``slack`` or ``ms_teams``, admin or not), their users, conversations,
memberships, messages with parent links, and an event log. :meth:`Workspace.account` returns a
:class:`SQLiteChatAPI` bound to one account, implementing the whole Chat API.

Paging is keyset paging: a page token holds the sort key of the last object returned, so inserting or deleting
rows between two pages never repeats or skips an object that existed throughout. Every write is one transaction
that also appends its event, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import bisect
import copy
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from ..chatapi import (
    DEFAULT_PAGE_SIZE,
    MAX_TEXT_LENGTH,
    MESSAGE_TABLE_SCHEMA,
    ChatAPI,
    check_id,
    check_json_depth,
    check_member_ids,
    check_name,
    check_page_size,
    check_text,
    decode_page_token,
    encode_page_token,
    iso_from_us,
    list_page,
    team_group,
    team_page,
    team_user,
)
from ..chatapi.rules import SERVICES, check_members_argument, check_operation
from ..errors import InvalidRequest, NotFound
from ._signals import MENTION_SEPARATOR, message_extensions, message_signals
from ._tables import EXTENSION_FIELDS, extension_columns, message_table, split_mentions

_CURSOR = re.compile(r"[0-9]{1,18}")  # an events cursor: ASCII digits, within 64 bits

__all__ = ["CONVERSATION_KINDS", "MAX_TEXT_LENGTH", "SQLiteChatAPI", "Workspace"]

#: ``channel`` (public), ``private_channel``, ``direct`` (two people), ``group_direct`` (several people, no name).
CONVERSATION_KINDS = ("channel", "private_channel", "direct", "group_direct")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, service TEXT NOT NULL, admin INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL, user_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    account_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, email TEXT,
    created INTEGER, updated INTEGER, is_bot INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    tz TEXT, raw TEXT,
    PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
    account_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT, private INTEGER NOT NULL, kind TEXT NOT NULL,
    created INTEGER NOT NULL, raw TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX IF NOT EXISTS conversations_order ON conversations (account_id, created, id);
CREATE TABLE IF NOT EXISTS memberships (
    account_id TEXT NOT NULL, conversation_id TEXT NOT NULL, user_id TEXT NOT NULL,
    PRIMARY KEY (account_id, conversation_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    account_id TEXT NOT NULL, id TEXT NOT NULL, conversation_id TEXT NOT NULL, sender_id TEXT NOT NULL,
    created INTEGER NOT NULL, text TEXT NOT NULL, parent TEXT NOT NULL DEFAULT '', modified INTEGER, raw TEXT,
    is_bot INTEGER NOT NULL DEFAULT 0, is_system INTEGER NOT NULL DEFAULT 0, subtype TEXT, mentions TEXT,
    extensions TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX IF NOT EXISTS messages_order ON messages (account_id, conversation_id, created DESC, id DESC);
CREATE TABLE IF NOT EXISTS user_groups (
    account_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, description TEXT, created INTEGER, raw TEXT,
    PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_members (
    account_id TEXT NOT NULL, group_id TEXT NOT NULL, user_id TEXT NOT NULL,
    PRIMARY KEY (account_id, group_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, type TEXT NOT NULL,
    object_type TEXT NOT NULL, object_id TEXT NOT NULL, modified INTEGER NOT NULL, user_id TEXT,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_account ON events (account_id, seq);
"""

#: 2 added the normalised columns of messages (is_bot, is_system, subtype, mentions); 3 added ``extensions`` (the
#: reactions, file kinds, importance and membership changes, as JSON, NULL where a message has none). Files of an
#: older version are migrated when opened, the columns derived from each message's raw object.
SCHEMA_VERSION = "3"
_SIGNAL_COLUMNS = (
    ("is_bot", "INTEGER NOT NULL DEFAULT 0"),
    ("is_system", "INTEGER NOT NULL DEFAULT 0"),
    ("subtype", "TEXT"),
    ("mentions", "TEXT"),
    ("extensions", "TEXT"),
)


def _now_us() -> int:
    return time.time_ns() // 1000


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8).upper()


def _loads(raw: str | None) -> Any:
    return orjson.loads(raw) if raw else {}


def _fragment(raw: str | None) -> Any:
    return orjson.Fragment(raw) if raw else {}


class Workspace:
    """A SQLite chat workspace file holding one or more accounts.

    Parameters
    ----------
    path
        The database file; created (with its schema) if it does not exist.

    Examples
    --------
    >>> ws = Workspace(":memory:")
    >>> ws.add_account("T1", service="slack", name="Acme", user_id="U1")
    >>> ws.add_users("T1", [{"id": "U1", "name": "ada"}])
    >>> api = ws.account("T1")
    >>> api.create_conversation(name="general")["name"]
    'general'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._local = threading.local()
        # ":memory:" would give each thread its own empty database: share one connection instead.
        self._shared: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        if self.path == ":memory:":
            self._shared = self._connect()
        # executescript commits on its own; every statement in the schema is idempotent.
        self.db.executescript(_SCHEMA + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');")
        self._migrate()

    def _migrate(self) -> None:
        """Bring a file written by an older chatlens to this schema, in one transaction."""
        if not self._missing_signal_columns():
            return
        with self.transaction() as db:
            missing = self._missing_signal_columns()
            if not missing:  # another process migrated it meanwhile
                return
            for column, declaration in _SIGNAL_COLUMNS:
                if column in missing:
                    db.execute(f"ALTER TABLE messages ADD COLUMN {column} {declaration}")
            rows = db.execute(
                "SELECT m.rowid, a.service, m.text, m.raw FROM messages m JOIN accounts a ON a.id = m.account_id"
            ).fetchall()
            db.executemany(
                "UPDATE messages SET raw = ?, is_bot = ?, is_system = ?, subtype = ?, mentions = ?, extensions = ?"
                " WHERE rowid = ?",
                ((*_raw_and_signals(service, text, raw), rowid) for rowid, service, text, raw in rows),
            )
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))

    def _missing_signal_columns(self) -> set[str]:
        have = {r[1] for r in self.db.execute("PRAGMA table_info(messages)")}
        return {c for c, _ in _SIGNAL_COLUMNS} - have

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=OFF")
        # A deleted message's text is overwritten on disk, not only unlinked (SQLite otherwise leaves it in the
        # page's free space until the page is reused): deleting is erasing, in the file too.
        db.execute("PRAGMA secure_delete=ON")
        return db

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads)."""
        if self._shared is not None:
            return self._shared
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): everything in it lands, or nothing does.

        Nested use joins the outer transaction, so a long job (an import) can make many calls all-or-nothing."""
        with self._lock if self._shared is not None else _nullcontext():
            db = self.db
            if db.in_transaction:
                yield db  # the outer transaction commits or rolls back
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        db = self._shared or getattr(self._local, "db", None)
        if db is not None:
            db.close()
        self._local = threading.local()
        self._shared = None

    def __repr__(self) -> str:
        return f"<Workspace {self.path!r}>"

    # -- accounts -----------------------------------------------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        """Every account: ``{id, service, admin, name, user_id}``."""
        rows = self.db.execute("SELECT id, service, admin, name, user_id FROM accounts ORDER BY id").fetchall()
        return [dict(zip(("id", "service", "admin", "name", "user_id"), (*r[:2], bool(r[2]), *r[3:]))) for r in rows]

    def account(self, account_id: str) -> SQLiteChatAPI:
        """The Chat API of one account; :class:`NotFound` if there is no such account."""
        row = self.db.execute("SELECT service, admin, user_id FROM accounts WHERE id = ?", (account_id,)).fetchone()
        if row is None:
            raise NotFound(f"account {account_id!r} does not exist in {self.path}")
        return SQLiteChatAPI(self, account_id, service=row[0], admin=bool(row[1]), user_id=row[2])

    def add_account(self, account_id: str, *, service: str, name: str, user_id: str, admin: bool = False) -> None:
        """Create an account; ``user_id`` is the user the account acts as (the default message sender)."""
        if service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}, got {service!r}")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO accounts (id, service, admin, name, user_id) VALUES (?, ?, ?, ?, ?)",
                (account_id, service, int(admin), name, user_id),
            )

    # -- bulk loading (seeding, imports): no events, one transaction per call ------------------------------
    def add_users(self, account_id: str, users: Iterable[dict[str, Any]]) -> None:
        """Insert users: dicts with ``id, name`` and optionally ``email, created, updated (us), is_bot,
        deleted, tz, raw``."""
        rows = (
            (
                account_id,
                u["id"],
                u["name"],
                u.get("email"),
                u.get("created"),
                u.get("updated"),
                int(bool(u.get("is_bot"))),
                int(bool(u.get("deleted"))),
                u.get("tz"),
                _dumps_or_none(u.get("raw")),
            )
            for u in users
        )
        with self.transaction() as db:
            db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def add_groups(self, account_id: str, groups: Iterable[dict[str, Any]]) -> None:
        """Insert groups (Slack user groups, Teams teams): dicts with ``id, name, members`` (user ids) and
        optionally ``description, created (us), raw``."""
        groups = list(groups)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO user_groups VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        account_id,
                        g["id"],
                        g["name"],
                        g.get("description"),
                        g.get("created"),
                        _dumps_or_none(g.get("raw")),
                    )
                    for g in groups
                ],
            )
            db.executemany(
                "INSERT INTO group_members VALUES (?, ?, ?)",
                [(account_id, g["id"], u) for g in groups for u in dict.fromkeys(g.get("members") or [])],
            )

    def add_conversations(self, account_id: str, conversations: Iterable[dict[str, Any]]) -> None:
        """Insert conversations: dicts with ``id, name, private, kind, created (us)``, optional ``raw`` and
        ``members`` (a list of user ids)."""
        convs = list(conversations)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        account_id,
                        c["id"],
                        c.get("name"),
                        int(bool(c.get("private"))),
                        c.get("kind", "channel"),
                        c["created"],
                        _dumps_or_none(c.get("raw")),
                    )
                    for c in convs
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO memberships VALUES (?, ?, ?)",
                [(account_id, c["id"], u) for c in convs for u in c.get("members", ())],
            )

    def add_messages(self, account_id: str, messages: Iterable[tuple[Any, ...]]) -> int:
        """Insert messages as tuples ``(id, conversation_id, sender_id, created_us, text, parent, modified_us,
        raw_json)``; returns how many. Streams: the iterable is consumed in one transaction, never held whole.

        The normalised columns (bot, system event, subtype, mentions) are derived from each ``raw_json`` by the
        account's service rules: this is the trusted path (imports, the demo), so the raw object is believed. The
        JSON is stored as orjson writes it, so every read (paged, bulk, served) gives the same text."""
        row = self.db.execute("SELECT service FROM accounts WHERE id = ?", (account_id,)).fetchone()
        if row is None:
            raise NotFound(f"account {account_id!r} does not exist in {self.path}")
        service = row[0]
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO messages (account_id, id, conversation_id, sender_id, created, text, parent, modified,"
                " raw, is_bot, is_system, subtype, mentions, extensions)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_stored_message(account_id, service, m) for m in messages),
            )
            return db.total_changes - before

    def count_messages(self, account_id: str | None = None) -> int:
        """How many messages the workspace (or one account) holds."""
        if account_id is None:
            return self.db.execute("SELECT count(*) FROM messages").fetchone()[0]
        return self.db.execute("SELECT count(*) FROM messages WHERE account_id = ?", (account_id,)).fetchone()[0]


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _stored_message(account_id: str, service: str, m: tuple[Any, ...]) -> tuple[Any, ...]:
    """An ``add_messages`` tuple as its row."""
    return (account_id, *m[:7], *_raw_and_signals(service, m[4], m[7]))


def _raw_and_signals(service: str, text: str, raw: Any) -> tuple[Any, ...]:
    """A message's raw JSON as orjson writes it (whatever text it came as), then its normalised columns."""
    obj = orjson.loads(raw) if isinstance(raw, str | bytes) and raw else raw
    return (orjson.dumps(obj).decode() if obj is not None else None, *_signal_values(service, text, obj))


def _signal_values(service: str, text: str, obj: Any) -> tuple[int, int, str | None, str | None, str | None]:
    """The stored normalised columns of one message, from its service object (parsed) and text."""
    is_bot, is_system, subtype, mentions = message_signals(service, obj, text)
    extensions = message_extensions(service, obj)
    return (
        int(is_bot),
        int(is_system),
        subtype,
        MENTION_SEPARATOR.join(mentions) if mentions else None,
        orjson.dumps(extensions).decode() if any(extensions.values()) else None,
    )


def _mention_list(stored: str | None) -> list[str]:
    return stored.split(MENTION_SEPARATOR) if stored else []


def _dumps_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class SQLiteChatAPI(ChatAPI):
    """The Chat API of one account of a :class:`Workspace`.

    ``href_base`` is prefixed to every object's path (``chatlens serve`` sets it to its own URL); by default
    ``href`` is the object's path on a Chat API server, e.g. ``/v1/accounts/T1/messaging/conversations/C1``.
    """

    def __init__(self, workspace: Workspace, account_id: str, *, service: str, admin: bool, user_id: str) -> None:
        self.workspace = workspace
        self.account_id = account_id
        self.service = service
        self.admin = admin
        self.user_id = user_id
        self.href_base = ""
        # Set by the server: raw comes back as orjson.Fragment (the stored JSON, unparsed), which orjson.dumps
        # embeds as-is. It saves a parse and a re-serialisation of every message on the listing hot path.
        self.raw_as_json_fragment = False

    #: In-process and pure Python: loaders gain nothing from fetching its conversations on threads.
    parallel_fetch = False
    #: A few SQL queries read a whole account's messages (:meth:`message_tables`).
    bulk_messages = True

    @property
    def identity(self) -> str:
        return f"sqlite:{os.path.abspath(self.workspace.path)}#{self.account_id}"

    @property
    def _db(self) -> sqlite3.Connection:
        return self.workspace.db

    def _check(self, operation: str) -> None:
        check_operation(self.rules, operation)

    def _prefix(self) -> str:
        return f"{self.href_base}/v1/accounts/{self.account_id}/messaging"

    # -- object builders ----------------------------------------------------------------------------------
    def _user(self, uid: str, name: str | None, email: str | None) -> dict[str, Any]:
        return {"id": uid, "name": name if name is not None else uid, "email": email, "type": "user", "api": "team"}

    def _users(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(ids))
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = ",".join("?" * len(chunk))
            for uid, name, email in self._db.execute(
                f"SELECT id, name, email FROM users WHERE account_id = ? AND id IN ({q})", (self.account_id, *chunk)
            ):
                found[uid] = self._user(uid, name, email)
        # A sender with no user record (a deleted or foreign user) stays a placeholder, never dropped.
        return {uid: found.get(uid) or self._user(uid, None, None) for uid in ids}

    def _conversation(self, row: tuple[Any, ...], members: list[dict[str, Any]]) -> dict[str, Any]:
        cid, name, private, kind, created, raw = row
        return {
            "id": cid,
            "private": bool(private),
            "name": name,
            "created": iso_from_us(created),
            "members": members,
            "kind": kind,
            "type": "conversation",
            "raw": _loads(raw),
            "api": "messaging",
            "href": f"{self._prefix()}/conversations/{cid}",
        }

    def _conversation_objects(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        q = ",".join("?" * len(ids))
        members: dict[str, list[str]] = {cid: [] for cid in ids}
        for cid, uid in self._db.execute(
            f"SELECT conversation_id, user_id FROM memberships WHERE account_id = ? AND conversation_id IN ({q})"
            " ORDER BY conversation_id, user_id",
            (self.account_id, *ids),
        ):
            members[cid].append(uid)
        users = self._users(u for ms in members.values() for u in ms)
        return [self._conversation(r, [users[u] for u in members[r[0]]]) for r in rows]

    def _message_objects(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        users = self._users(r[2] for r in rows)
        prefix = self._prefix()
        raw_of = _fragment if self.raw_as_json_fragment else _loads
        return [
            {
                "id": mid,
                "conversation_id": cid,
                "sender": users[sender],
                "created": iso_from_us(created),
                "modified": iso_from_us(modified) if modified is not None else None,
                "text": text,
                "parent": parent,
                "is_bot": bool(is_bot),
                "is_system": bool(is_system),
                "subtype": subtype,
                "mentions": _mention_list(mentions),
                **_extensions(extensions),
                "type": "message",
                "raw": raw_of(raw),
                "api": "messaging",
                "href": f"{prefix}/messages/{mid}",
            }
            for (
                mid,
                cid,
                sender,
                created,
                text,
                parent,
                modified,
                raw,
                is_bot,
                is_system,
                subtype,
                mentions,
                extensions,
            ) in rows
        ]

    # -- lookups ------------------------------------------------------------------------------------------
    _CONV_COLS = "id, name, private, kind, created, raw"
    _MSG_COLS = (
        "id, conversation_id, sender_id, created, text, parent, modified, raw, is_bot, is_system, subtype, mentions,"
        " extensions"
    )

    def _conversation_row(self, conversation_id: str) -> tuple[Any, ...]:
        if not isinstance(conversation_id, str) or not conversation_id:
            raise InvalidRequest(f"conversation_id: must be a non-empty string, got {conversation_id!r}")
        row = self._db.execute(
            f"SELECT {self._CONV_COLS} FROM conversations WHERE account_id = ? AND id = ?",
            (self.account_id, conversation_id),
        ).fetchone()
        if row is None or not self._visible(row[3]):
            raise NotFound(f"conversation {conversation_id!r} does not exist")
        return row

    def _visible(self, kind: str) -> bool:
        return self.rules.lists_direct_conversations or kind not in ("direct", "group_direct")

    def _message_row(self, message_id: str) -> tuple[Any, ...]:
        if not isinstance(message_id, str) or not message_id:
            raise InvalidRequest(f"message_id: must be a non-empty string, got {message_id!r}")
        row = self._db.execute(
            f"SELECT {self._MSG_COLS} FROM messages WHERE account_id = ? AND id = ?", (self.account_id, message_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"message {message_id!r} does not exist")
        return row

    def _member_ids(self, members: Any) -> list[str]:
        ids = check_member_ids(members)
        known = self._users_exist(ids)
        missing = [u for u in ids if u not in known]
        if missing:
            raise InvalidRequest(f"members: unknown user ids {missing}")
        return ids

    def _users_exist(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        q = ",".join("?" * len(ids))
        return {
            r[0]
            for r in self._db.execute(
                f"SELECT id FROM users WHERE account_id = ? AND id IN ({q})", (self.account_id, *ids)
            )
        }

    def _event(self, db: sqlite3.Connection, type_: str, object_type: str, obj: dict[str, Any]) -> None:
        # Stored without href, which depends on who reads (the server's public URL): list_events adds it.
        stored = {k: v for k, v in obj.items() if k != "href"}
        if type_ == "delete" and object_type == "message":
            # Deleting is erasing: the delete event says which message went, never what it said.
            stored = _erased(stored)
            self._erase_events(db, obj["id"])
        db.execute(
            "INSERT INTO events (account_id, type, object_type, object_id, modified, user_id, metadata)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.account_id, type_, object_type, obj["id"], _now_us(), self.user_id, orjson.dumps(stored).decode()),
        )

    def _erase_events(self, db: sqlite3.Connection, message_id: str) -> None:
        """A deleted message's earlier events lose its text, raw, mentions and sender (their ids and times stay)."""
        for seq, metadata in db.execute(
            "SELECT seq, metadata FROM events WHERE account_id = ? AND object_type = 'message' AND object_id = ?",
            (self.account_id, message_id),
        ).fetchall():
            erased = orjson.dumps(_erased(orjson.loads(metadata))).decode()
            db.execute("UPDATE events SET metadata = ? WHERE seq = ?", (erased, seq))

    # -- conversations ------------------------------------------------------------------------------------
    def list_conversations(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        self._check("list_conversations")
        page_size = check_page_size(page_size)
        hide = "" if self.rules.lists_direct_conversations else " AND kind NOT IN ('direct', 'group_direct')"
        if page is None:
            rows = self._db.execute(
                f"SELECT {self._CONV_COLS} FROM conversations WHERE account_id = ?{hide} ORDER BY created, id LIMIT ?",
                (self.account_id, page_size + 1),
            ).fetchall()
        else:
            created, cid = decode_page_token("conversations", page, (int, str))
            rows = self._db.execute(
                f"SELECT {self._CONV_COLS} FROM conversations WHERE account_id = ?{hide}"
                " AND (created, id) > (?, ?) ORDER BY created, id LIMIT ?",
                (self.account_id, created, cid, page_size + 1),
            ).fetchall()
        more = len(rows) > page_size
        rows = rows[:page_size]
        next_page = encode_page_token("conversations", [rows[-1][4], rows[-1][0]]) if more else None
        return list_page(self._conversation_objects(rows), page, next_page)

    def create_conversation(
        self, *, name: str, private: bool = False, members: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        self._check("create_conversation")
        check_members_argument(self.rules, members)
        name = check_name(name)
        if not isinstance(private, bool):
            raise InvalidRequest(f"private: must be true or false, got {private!r}")
        member_ids = self._member_ids(members) if members is not None else [self.user_id]
        cid = _new_id("C")
        created = _now_us()
        kind = "private_channel" if private else "channel"
        with self.workspace.transaction() as db:
            if db.execute(
                "SELECT 1 FROM conversations WHERE account_id = ? AND name = ?", (self.account_id, name)
            ).fetchone():
                raise InvalidRequest(f"name: a conversation named {name!r} already exists")
            raw = self._raw_conversation(cid, name, private, created)
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.account_id, cid, name, int(private), kind, created, orjson.dumps(raw).decode()),
            )
            db.executemany("INSERT INTO memberships VALUES (?, ?, ?)", [(self.account_id, cid, u) for u in member_ids])
            obj = self._conversation_objects([(cid, name, int(private), kind, created, orjson.dumps(raw))])[0]
            self._event(db, "add", "conversation", obj)
        return obj

    def _raw_conversation(self, cid: str, name: str, private: bool, created: int) -> dict[str, Any]:
        # The service's own object shape, so raw means the same whatever backend produced it.
        if self.service == "slack":
            return {
                "id": cid,
                "name": name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_mpim": False,
                "is_private": private,
                "is_archived": False,
                "created": created // 1_000_000,
                "creator": self.user_id,
            }
        return {
            "id": cid,
            "displayName": name,
            "membershipType": "private" if private else "standard",
            "createdDateTime": iso_from_us(created),
        }

    def served_view(self, *, href_base: str, raw_as_json_fragment: bool) -> ChatAPI:
        view = copy.copy(self)
        view.href_base = href_base
        view.raw_as_json_fragment = raw_as_json_fragment
        return view

    def retrieve_conversation(self, conversation_id: str) -> dict[str, Any]:
        self._check("retrieve_conversation")
        return self._conversation_objects([self._conversation_row(conversation_id)])[0]

    def update_conversation(
        self,
        conversation_id: str,
        *,
        name: str | None = None,
        private: bool | None = None,
        members: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        self._check("update_conversation")
        check_members_argument(self.rules, members)
        if name is not None:
            name = check_name(name)
        if private is not None and not isinstance(private, bool):
            raise InvalidRequest(f"private: must be true or false, got {private!r}")
        member_ids = self._member_ids(members) if members is not None else None
        with self.workspace.transaction() as db:
            row = self._conversation_row(conversation_id)
            if (
                name is not None
                and db.execute(
                    "SELECT 1 FROM conversations WHERE account_id = ? AND name = ? AND id != ?",
                    (self.account_id, name, conversation_id),
                ).fetchone()
            ):
                raise InvalidRequest(f"name: a conversation named {name!r} already exists")
            raw = _loads(row[5])
            if name is not None:
                raw["name" if self.service == "slack" else "displayName"] = name
            kind = row[3]
            if private is not None and kind in ("channel", "private_channel"):
                kind = "private_channel" if private else "channel"
            db.execute(
                "UPDATE conversations SET name = ?, private = ?, kind = ?, raw = ? WHERE account_id = ? AND id = ?",
                (
                    name if name is not None else row[1],
                    int(private) if private is not None else row[2],
                    kind,
                    orjson.dumps(raw).decode(),
                    self.account_id,
                    conversation_id,
                ),
            )
            if member_ids is not None:
                db.execute(
                    "DELETE FROM memberships WHERE account_id = ? AND conversation_id = ?",
                    (self.account_id, conversation_id),
                )
                db.executemany(
                    "INSERT INTO memberships VALUES (?, ?, ?)",
                    [(self.account_id, conversation_id, u) for u in member_ids],
                )
            obj = self._conversation_objects([self._conversation_row(conversation_id)])[0]
            self._event(db, "update", "conversation", obj)
        return obj

    def delete_conversation(self, conversation_id: str) -> None:
        self._check("delete_conversation")
        with self.workspace.transaction() as db:
            obj = self._conversation_objects([self._conversation_row(conversation_id)])[0]
            key = (self.account_id, conversation_id)
            db.execute("DELETE FROM messages WHERE account_id = ? AND conversation_id = ?", key)
            db.execute("DELETE FROM memberships WHERE account_id = ? AND conversation_id = ?", key)
            db.execute("DELETE FROM conversations WHERE account_id = ? AND id = ?", key)
            self._event(db, "delete", "conversation", obj)

    def list_members(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        self._check("list_members")
        page_size = check_page_size(page_size)
        self._conversation_row(conversation_id)
        after = ""
        if page is not None:
            (after,) = decode_page_token("members", page, (str,))
        rows = self._db.execute(
            "SELECT m.user_id, u.name, u.email FROM memberships m LEFT JOIN users u"
            " ON u.account_id = m.account_id AND u.id = m.user_id"
            " WHERE m.account_id = ? AND m.conversation_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?",
            (self.account_id, conversation_id, after, page_size + 1),
        ).fetchall()
        more = len(rows) > page_size
        rows = rows[:page_size]
        next_page = encode_page_token("members", [rows[-1][0]]) if more else None
        return list_page([self._user(*r) for r in rows], page, next_page)

    # -- messages -----------------------------------------------------------------------------------------
    def list_messages(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        self._check("list_messages")
        page_size = check_page_size(page_size)
        self._conversation_row(conversation_id)
        if page is None:
            rows = self._db.execute(
                f"SELECT {self._MSG_COLS} FROM messages WHERE account_id = ? AND conversation_id = ?"
                " ORDER BY created DESC, id DESC LIMIT ?",
                (self.account_id, conversation_id, page_size + 1),
            ).fetchall()
        else:
            created, mid = decode_page_token("messages", page, (int, str))
            rows = self._db.execute(
                f"SELECT {self._MSG_COLS} FROM messages WHERE account_id = ? AND conversation_id = ?"
                " AND (created, id) < (?, ?) ORDER BY created DESC, id DESC LIMIT ?",
                (self.account_id, conversation_id, created, mid, page_size + 1),
            ).fetchall()
        more = len(rows) > page_size
        rows = rows[:page_size]
        next_page = encode_page_token("messages", [rows[-1][3], rows[-1][0]]) if more else None
        return list_page(self._message_objects(rows), page, next_page)

    #: Rows a bulk read gathers before it hands over a table (cut at a conversation's end, so tables hold whole
    #: conversations and their Python rows are freed as they go).
    _TABLE_ROWS = 200_000

    def message_tables(self, conversation_ids: Sequence[str], *, raw: bool = True) -> Iterator[pa.Table]:
        """Every message of the conversations as Arrow tables (:data:`~chatlens.chatapi.MESSAGE_TABLE_SCHEMA`),
        read with one query per 500 conversations instead of a paging walk per conversation.

        Examples
        --------
        >>> from chatlens.chatapi import iter_items
        >>> from chatlens.demo import demo_workspace_path
        >>> api = Workspace(demo_workspace_path()).account("acme-slack")
        >>> convs = [c["id"] for c in api.list_conversations(page_size=2)["objects"]]
        >>> sum(t.num_rows for t in api.message_tables(convs, raw=False)) == sum(
        ...     len(list(iter_items(api.list_messages, c, page_size=1000))) for c in convs)
        True
        """
        self._check("list_messages")
        # Sorted once, so the rows of every query, and of all of them in turn, come by conversation.
        ids = sorted(dict.fromkeys(check_id(c, "conversation_id") for c in conversation_ids))
        kinds = dict(self._conversation_kinds(ids))
        hidden = [c for c in ids if c not in kinds or not self._visible(kinds[c])]
        if hidden:
            raise NotFound(f"conversations {hidden[:5]} do not exist" + (" ..." if len(hidden) > 5 else ""))
        raw_column = ", m.raw" if raw else ""
        pending: list[tuple[Any, ...]] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = ",".join("?" * len(chunk))
            cursor = self._db.execute(
                "SELECT m.conversation_id, m.id, m.sender_id, coalesce(nullif(u.name, ''), m.sender_id), m.created,"
                " m.modified, m.text, nullif(m.parent, ''), m.is_bot, m.is_system, m.subtype, m.mentions,"
                f" m.extensions{raw_column}"
                " FROM messages m LEFT JOIN users u ON u.account_id = m.account_id AND u.id = m.sender_id"
                f" WHERE m.account_id = ? AND m.conversation_id IN ({q}) ORDER BY m.conversation_id, m.created, m.id",
                (self.account_id, *chunk),
            )
            while rows := cursor.fetchmany(50_000):
                pending.extend(rows)
                if len(pending) >= self._TABLE_ROWS:
                    # Rows come by conversation: hand over all but the last one, which may go on.
                    cut = bisect.bisect_left(pending, pending[-1][0], key=lambda row: row[0])
                    if cut:
                        yield _message_table(pending[:cut], raw)
                        del pending[:cut]
        if pending:
            yield _message_table(pending, raw)

    def _conversation_kinds(self, ids: list[str]) -> Iterator[tuple[str, str]]:
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT id, kind FROM conversations WHERE account_id = ? AND id IN ({q})", (self.account_id, *chunk)
            )

    def create_message(
        self,
        conversation_id: str,
        *,
        text: str,
        sender: str | None = None,
        parent: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._check("create_message")
        text = check_text(text)
        sender = self.user_id if sender is None else sender
        if not isinstance(sender, str) or not sender:
            raise InvalidRequest(f"sender: must be a user id, got {sender!r}")
        if parent is not None and (not isinstance(parent, str)):
            raise InvalidRequest(f"parent: must be a message id, got {parent!r}")
        if raw is not None and not isinstance(raw, dict):
            raise InvalidRequest(f"raw: must be a JSON object, got {type(raw).__name__}")
        check_json_depth(raw, "raw")
        with self.workspace.transaction() as db:
            self._conversation_row(conversation_id)
            if not self._users_exist([sender]):
                raise InvalidRequest(f"sender: unknown user id {sender!r}")
            if parent:
                prow = db.execute(
                    "SELECT conversation_id FROM messages WHERE account_id = ? AND id = ?", (self.account_id, parent)
                ).fetchone()
                if prow is None or prow[0] != conversation_id:
                    raise InvalidRequest(f"parent: message {parent!r} is not in conversation {conversation_id!r}")
            mid = _new_id("M")
            # Strictly increasing within the conversation, so "newest first" is never ambiguous for new posts.
            last = db.execute(
                "SELECT max(created) FROM messages WHERE account_id = ? AND conversation_id = ?",
                (self.account_id, conversation_id),
            ).fetchone()[0]
            created = max(_now_us(), (last or 0) + 1)
            # The normalised fields come from what the workspace itself knows (text, sender, parent), as the
            # service's own object would carry them: a caller's raw is stored and returned as given, and never
            # decides whether a message is a bot's, a system event, or whom it mentions.
            trusted = self._raw_message(conversation_id, mid, sender, created, text, parent)
            raw = raw if raw is not None else trusted
            raw_json = orjson.dumps(raw).decode()
            row = (
                mid,
                conversation_id,
                sender,
                created,
                text,
                parent or "",
                None,
                raw_json,
                *_signal_values(self.service, text, trusted),
            )
            db.execute(
                "INSERT INTO messages (account_id, id, conversation_id, sender_id, created, text, parent, modified,"
                " raw, is_bot, is_system, subtype, mentions, extensions)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.account_id, *row),
            )
            obj = self._message_objects([row])[0]
            self._event(db, "add", "message", obj)
        return obj

    def _raw_message(
        self, cid: str, mid: str, sender: str, created: int, text: str, parent: str | None
    ) -> dict[str, Any]:
        if self.service == "slack":
            ts = f"{created // 1_000_000}.{created % 1_000_000:06d}"
            raw: dict[str, Any] = {"type": "message", "user": sender, "text": text, "ts": ts}
            if parent:
                raw["thread_ts"] = parent
            return raw
        return {
            "id": mid,
            "replyToId": parent or None,
            "messageType": "message",
            "createdDateTime": iso_from_us(created),
            "lastEditedDateTime": None,
            "deletedDateTime": None,
            "chatId": cid,
            "from": {"user": {"id": sender}},
            "body": {"contentType": "text", "content": text},
            "mentions": [],
        }

    def retrieve_message(self, message_id: str) -> dict[str, Any]:
        self._check("retrieve_message")
        row = self._message_row(message_id)
        self._conversation_row(row[1])  # a message of a hidden conversation is hidden too
        return self._message_objects([row])[0]

    def update_message(self, message_id: str, *, text: str) -> dict[str, Any]:
        self._check("update_message")
        text = check_text(text)
        with self.workspace.transaction() as db:
            mid, cid, sender, created, _old, parent, _mod, raw_text, *stored = self._message_row(message_id)
            if stored[2] == "tombstone":
                raise NotFound(f"message {message_id!r} does not exist (it was deleted; its replies remain)")
            modified = max(_now_us(), created + 1)
            raw = _loads(raw_text)
            if self.service == "slack":
                raw["text"] = text
                raw["edited"] = {"user": self.user_id, "ts": f"{modified // 1_000_000}.{modified % 1_000_000:06d}"}
            else:
                raw.setdefault("body", {})["content"] = text
                raw["lastEditedDateTime"] = iso_from_us(modified)
            raw_json = orjson.dumps(raw).decode()
            # An edit changes the text: Slack's mentions are in it; the rest of what the message is stays as stored.
            mentions = _signal_values("slack", text, {})[3] if self.service == "slack" else stored[3]
            signals = (*stored[:3], mentions, stored[4])
            db.execute(
                "UPDATE messages SET text = ?, modified = ?, raw = ?, is_bot = ?, is_system = ?, subtype = ?,"
                " mentions = ?, extensions = ? WHERE account_id = ? AND id = ?",
                (text, modified, raw_json, *signals, self.account_id, mid),
            )
            obj = self._message_objects([(mid, cid, sender, created, text, parent, modified, raw_json, *signals)])[0]
            self._event(db, "update", "message", obj)
        return obj

    def delete_message(self, message_id: str) -> None:
        """Delete a message. A thread root with replies becomes a tombstone, as on Slack and Teams: the row stays
        (so no reply points at a parent that does not exist) with its text, raw and mentions gone, ``subtype``
        ``"tombstone"`` and ``is_system`` set; an ``update`` event says so. Any other message is removed, with a
        ``delete`` event. Either way every event of the message loses its content (see :meth:`_event`)."""
        self._check("delete_message")
        with self.workspace.transaction() as db:
            row = self._message_row(message_id)
            mid, cid, sender, created, _text, parent, _modified, _raw, *stored = row
            if stored[2] == "tombstone":
                raise NotFound(f"message {message_id!r} does not exist (it was deleted; its replies remain)")
            replied = db.execute(
                "SELECT 1 FROM messages WHERE account_id = ? AND parent = ? LIMIT 1", (self.account_id, mid)
            ).fetchone()
            if not replied:
                obj = self._message_objects([row])[0]
                db.execute("DELETE FROM messages WHERE account_id = ? AND id = ?", (self.account_id, mid))
                self._event(db, "delete", "message", obj)
                return
            now = max(_now_us(), created + 1)
            raw = (
                {"subtype": "tombstone", "hidden": True}
                if self.service == "slack"
                else {"deletedDateTime": iso_from_us(now)}
            )
            raw_json = orjson.dumps(raw).decode()
            db.execute(
                "UPDATE messages SET text = '', modified = ?, raw = ?, is_bot = 0, is_system = 1,"
                " subtype = 'tombstone', mentions = NULL, extensions = NULL WHERE account_id = ? AND id = ?",
                (now, raw_json, self.account_id, mid),
            )
            self._erase_events(db, mid)
            tomb = self._message_objects(
                [(mid, cid, sender, created, "", parent, now, raw_json, 0, 1, "tombstone", None, None)]
            )
            self._event(db, "update", "message", tomb[0])

    # -- activity -----------------------------------------------------------------------------------------
    def _with_href(self, object_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        collection = "messages" if object_type == "message" else "conversations"
        obj["href"] = f"{self._prefix()}/{collection}/{obj['id']}"
        return obj

    def list_events(self, *, cursor: str | None = None, page_size: int = 100) -> dict[str, Any]:
        self._check("list_events")
        page_size = check_page_size(page_size)
        after = _check_cursor(cursor)
        rows = self._db.execute(
            "SELECT seq, type, object_type, modified, user_id, metadata FROM events"
            " WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self.account_id, after, page_size),
        ).fetchall()
        last = rows[-1][0] if rows else after
        remaining = self._db.execute(
            "SELECT count(*) FROM events WHERE account_id = ? AND seq > ?", (self.account_id, last)
        ).fetchone()[0]
        objects = [
            {
                "id": str(seq),
                "account": self.account_id,
                "type": type_,
                "object_type": object_type,
                "modified": iso_from_us(modified),
                "user_id": user_id,
                "metadata": self._with_href(object_type, orjson.loads(metadata)),
            }
            for seq, type_, object_type, modified, user_id, metadata in rows
        ]
        return {
            "count": len(objects),
            "cursor": str(last),
            "remaining": remaining,
            "objects": objects,
            "type": "object_list",
            "api": "messaging",
        }

    def latest_cursor(self) -> str:
        self._check("list_events")
        row = self._db.execute("SELECT max(seq) FROM events WHERE account_id = ?", (self.account_id,)).fetchone()
        return str(row[0] or 0)

    # -- Team API ---------------------------------------------------------------------------------------------
    _USER_COLUMNS = "u.id, u.name, u.email, u.created, u.updated, u.is_bot, u.deleted, u.tz, u.raw"

    def _team_user(self, row: tuple[Any, ...]) -> dict[str, Any]:
        uid, name, email, created, updated, is_bot, deleted, tz, raw = row
        data = _loads(raw) or {}
        profile = data.get("profile") or {}
        return team_user(
            uid,
            name,
            email=email,
            created_us=created,
            updated_us=updated,
            display_name=profile.get("display_name") or data.get("displayName") or name,
            is_bot=bool(is_bot),
            deleted=bool(deleted),
            guest=bool(data.get("is_restricted") or data.get("is_ultra_restricted") or data.get("userType") == "Guest"),
            timezone=tz,
            raw=data,
            href_prefix=f"{self.href_base}/v1/accounts/{self.account_id}/team",
        )

    def _after_id(self, kind: str, page: str | None) -> str:
        return "" if page is None else decode_page_token(kind, page, (str,))[0]

    def list_users(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        page_size = check_page_size(page_size)
        rows = self._db.execute(
            f"SELECT {self._USER_COLUMNS} FROM users u WHERE u.account_id = ? AND u.id > ? ORDER BY u.id LIMIT ?",
            (self.account_id, self._after_id("users", page), page_size + 1),
        ).fetchall()
        next_page = encode_page_token("users", [rows[page_size - 1][0]]) if len(rows) > page_size else None
        return team_page([self._team_user(r) for r in rows[:page_size]], page, next_page)

    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        check_id(user_id, "user_id")
        row = self._db.execute(
            f"SELECT {self._USER_COLUMNS} FROM users u WHERE u.account_id = ? AND u.id = ?", (self.account_id, user_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"user {user_id!r} does not exist")
        return self._team_user(row)

    def list_groups(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        page_size = check_page_size(page_size)
        rows = self._db.execute(
            "SELECT id, name, description, created, raw FROM user_groups WHERE account_id = ? AND id > ?"
            " ORDER BY id LIMIT ?",
            (self.account_id, self._after_id("groups", page), page_size + 1),
        ).fetchall()
        next_page = encode_page_token("groups", [rows[page_size - 1][0]]) if len(rows) > page_size else None
        prefix = f"{self.href_base}/v1/accounts/{self.account_id}/team"
        objects = [
            team_group(gid, name, description=desc, created_us=created, raw=_loads(raw) or {}, href_prefix=prefix)
            for gid, name, desc, created, raw in rows[:page_size]
        ]
        return team_page(objects, page, next_page)

    def list_group_members(
        self, group_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        page_size = check_page_size(page_size)
        check_id(group_id, "group_id")
        after = self._after_id("group-members", page)
        exists = self._db.execute(
            "SELECT 1 FROM user_groups WHERE account_id = ? AND id = ?", (self.account_id, group_id)
        ).fetchone()
        if exists is None:
            raise NotFound(f"group {group_id!r} does not exist")
        rows = self._db.execute(
            f"SELECT m.user_id, {self._USER_COLUMNS.replace('u.id, ', '')} FROM group_members m LEFT JOIN users u"
            " ON u.account_id = m.account_id AND u.id = m.user_id"
            " WHERE m.account_id = ? AND m.group_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?",
            (self.account_id, group_id, after, page_size + 1),
        ).fetchall()
        next_page = encode_page_token("group-members", [rows[page_size - 1][0]]) if len(rows) > page_size else None
        return team_page([self._team_user(r) for r in rows[:page_size]], page, next_page)


# The bulk query's columns, in its order: the table's, with the extension columns as one JSON column.
_BULK_COLUMNS = [f.name for f in MESSAGE_TABLE_SCHEMA if f.name not in EXTENSION_FIELDS]
_BULK_COLUMNS.insert(_BULK_COLUMNS.index("mentions") + 1, "extensions")


def _message_table(rows: list[tuple[Any, ...]], raw: bool) -> pa.Table:
    columns = dict(zip(_BULK_COLUMNS, zip(*rows) if rows else [()] * len(_BULK_COLUMNS)))
    columns["mentions"] = split_mentions(columns["mentions"], MENTION_SEPARATOR)
    stored = columns.pop("extensions")
    found = [(i, orjson.loads(e)) for i, e in enumerate(stored) if e is not None]  # the few messages with any
    columns.update(extension_columns(len(stored), found))
    return message_table(columns, raw=raw)


def _extensions(stored: str | None) -> dict[str, Any]:
    """A message's extension fields (reactions, file kinds, ...) from their stored JSON; empty where NULL."""
    fields = copy.deepcopy(EXTENSION_FIELDS)  # fresh lists: a caller may change the object it is given
    return fields | orjson.loads(stored) if stored else fields


def _check_cursor(cursor: Any) -> int:
    if cursor is None:
        return 0
    text = str(cursor)
    # ASCII digits only: str.isdigit() takes "²" (which int() refuses) and "١" (which int() reads as 1).
    if not _CURSOR.fullmatch(text):
        raise InvalidRequest(f"cursor: {cursor!r} is not an event cursor (a decimal number from /events)")
    return int(text)


#: What an event keeps of a deleted message: enough for a client to find and drop it, nothing it said.
_KEPT_OF_DELETED = ("id", "conversation_id", "parent", "created", "type", "api")


def _erased(message: dict[str, Any]) -> dict[str, Any]:
    """A message object with its content gone (text, raw, mentions, sender): what events keep of a deleted one."""
    kept = {k: message[k] for k in _KEPT_OF_DELETED if k in message}
    return {**kept, "deleted": True}
