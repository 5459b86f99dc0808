"""A read-only backend over a Slack archive: a workspace export, an Enterprise Grid org export, or a slack-log
archive, as a .zip or its unpacked folder (the layouts: :mod:`.archive`).

Replies sit in the day file of their own ``ts``; threads are grouped by ``thread_ts``. A message whose ``ts``
appears in more than one file (thread broadcasts, renamed channels, slack-log's roots) is one message: the copy in
the later file is kept, and :attr:`~SlackExportChatAPI.notes` says how many copies were merged.

Scale: the archive is never loaded whole. On first use of a conversation its day files are read once to build an
index of ``(ts, day file)`` pairs (a few bytes a message); pages then parse only the day files they touch, through
a small cache. Because day files may be cut in a non-UTC zone, order comes from the index (sorted by ``ts``), not
from file names. What the archive lacks is never an empty result: a conversation listed without a folder, or a
missing or malformed file, is reported by name (a warning, and in :attr:`~SlackExportChatAPI.problems`), and the
rest still loads; a path that is no archive chatlens reads is a :class:`~.archive.NotAnExportError`. Every write
and the activity feed raise :class:`~chatlens.errors.PermissionDenied`.
"""

from __future__ import annotations

import bisect
import copy
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ...chatapi import (
    DEFAULT_PAGE_SIZE,
    ChatAPI,
    check_id,
    check_page_size,
    decode_page_token,
    encode_page_token,
    list_page,
    slice_by_id,
    team_page,
)
from ...chatapi.rules import ServiceRules, check_operation, read_only_rules
from ...errors import InvalidRequest, NotFound
from . import wire
from .archive import Archive, Conversation, NotAnExportError, read_layout

_TS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")  # a Slack ts, as page tokens of this listing hold

__all__ = ["SlackExportChatAPI", "ExportProblemWarning", "NotAnExportError", "from_config"]

READ_ONLY = "Slack export archives are read-only"


class ExportProblemWarning(UserWarning):
    """A file of the export is missing or malformed; the rest still loads."""


@dataclass
class _Index:
    """One conversation's messages, newest first: ts, its day file, sort key, and ts -> position."""

    stamps: list[str]
    files: list[str]
    keys: list[int]
    position: dict[str, int]


class SlackExportChatAPI(ChatAPI):
    """The Chat API, read-only, over a Slack export.

    Parameters
    ----------
    path
        The archive's .zip file or unpacked folder.
    account_id
        The account id to report; default: the team id found in the users file, else the archive's name (for a
        slack-log archive the folder its ``docs/json`` is in, not ``json``).
    workspace
        Enterprise Grid org exports only: one workspace's channels (a folder name, as in :attr:`workspaces`);
        default: the whole org, its direct conversations included.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "notes.txt").write_text("not an export")
    >>> SlackExportChatAPI(root)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chatlens.backends.slack.archive.NotAnExportError: ... is not a Slack export: ...; found: notes.txt
    """

    service = "slack"
    admin = False

    def __init__(
        self, path: str | os.PathLike[str], *, account_id: str | None = None, workspace: str | None = None
    ) -> None:
        self.path = Path(path).expanduser().resolve()
        self._source = Archive(self.path)
        self.problems: list[str] = []
        self._merged: dict[str, int] = {}
        self.href_base = ""
        self._workspace = workspace
        found = read_layout(self._source, self._json_list, workspace=workspace)
        for problem in found.problems:
            self._problem(problem)
        #: ``"export"``, ``"enterprise-grid"`` or ``"slack-log"``.
        self.layout = found.layout
        #: An Enterprise Grid export's workspaces (folder names); empty for other layouts.
        self.workspaces = found.workspaces
        self._thread_files = found.thread_files
        self.users = {u["id"]: u for u in found.users if isinstance(u, dict) and u.get("id")}
        # The account: a workspace export's team id; an org export's enterprise id (and its workspace's name).
        if found.layout == "enterprise-grid":
            org = next((e for u in self.users.values() if (e := _enterprise_id(u))), None) or self.path.stem
            team = f"{org}-{workspace}" if workspace else org
        elif found.layout == "export":
            team = next((u.get("team_id") for u in self.users.values() if u.get("team_id")), None)
        else:
            team = _slack_log_name(self.path)
        self.account_id = account_id or team or self.path.stem
        self._conversations: dict[str, Conversation] = found.conversations
        self._order = sorted(
            self._conversations, key=lambda c: (int(float(self._conversations[c].raw.get("created") or 0)), c)
        )
        self._index: dict[str, _Index] = {}
        self._index_lock = threading.Lock()
        self._cache: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()

    @property
    def notes(self) -> list[str]:
        """What was merged rather than lost: messages found in more than one file, per conversation read so far."""
        return [
            f"{self._label(cid)}: {n:,} message{'s' if n != 1 else ''} appeared in more than one file; each is loaded "
            "once (the copy in the later file)"
            for cid, n in self._merged.items()
            if n
        ]

    def _label(self, cid: str) -> str:
        conv = self._conversations[cid]
        name = conv.raw.get("name")
        return f"#{name} ({cid})" if name and conv.kind in ("channel", "private_channel") else cid

    # -- plumbing ---------------------------------------------------------------------------------------------
    @property
    def rules(self) -> ServiceRules:
        return read_only_rules("slack", READ_ONLY)

    @property
    def identity(self) -> str:
        # The cache's key: which archive (a new export saved over the old one is another archive), and which of
        # its accounts (an Enterprise Grid org and each of its workspaces).
        return f"slack-export:{self.path}#{self._source.fingerprint}#{self._workspace or ''}#{self.account_id}"

    def __repr__(self) -> str:
        return f"<SlackExportChatAPI {self.path.name} account {self.account_id!r}>"

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        warnings.warn(f"Slack export {self.path.name}: {message}", ExportProblemWarning, stacklevel=3)

    def _json_list(self, name: str, *, required: bool = False, quiet: bool = False) -> list[Any]:
        report = (lambda message: None) if quiet else self._problem
        if name not in self._source:
            if required:
                report(f"{name} is missing")
            return []
        try:
            data = orjson.loads(self._source.read(name))
        except orjson.JSONDecodeError as exc:
            report(f"{name} is not valid JSON ({exc.msg}); skipped")
            return []
        if not isinstance(data, list):
            report(f"{name} does not hold a JSON array; skipped")
            return []
        return data

    def _prefix(self) -> str:
        return f"{self.href_base}/v1/accounts/{self.account_id}/messaging"

    def _conversation(self, conversation_id: str) -> Conversation:
        found = self._conversations.get(conversation_id) if isinstance(conversation_id, str) else None
        if found is None:
            raise NotFound(f"conversation {conversation_id!r} does not exist in {self.path.name}")
        return found

    def _file_messages(self, name: str, *, quiet: bool = False) -> list[Any]:
        """The messages of one file; those of a slack-log thread file carry their root's ts as ``thread_ts``."""
        messages = self._json_list(name, quiet=quiet)
        if name in self._thread_files:
            root = name.rsplit("/", 1)[1][: -len(".json")]
            messages = [{**m, "thread_ts": root} for m in messages if isinstance(m, dict)]
        return messages

    def _day(self, name: str) -> dict[str, dict[str, Any]]:
        """A file's messages by ts (cached: pages near each other share files)."""
        with self._index_lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name]
        messages = {str(m["ts"]): m for m in self._file_messages(name) if isinstance(m, dict) and m.get("ts")}
        with self._index_lock:
            self._cache[name] = messages
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return messages

    def _message_index(self, conversation_id: str) -> _Index:
        index = self._index.get(conversation_id)
        if index is not None:
            return index
        files = self._conversation(conversation_id).files
        where: dict[str, int] = {}  # ts -> its file; a ts in several files keeps the later one
        copies = 0
        for i, name in enumerate(files):
            stamps = self._day(name)
            copies += len(stamps)
            where.update(dict.fromkeys(stamps, i))
        self._merged[conversation_id] = copies - len(where)
        triples = sorted(((wire.ts_to_us(ts), ts, i) for ts, i in where.items()), reverse=True)  # newest first
        index = _Index(
            stamps=[ts for _, ts, _ in triples],
            files=[files[i] for _, _, i in triples],
            keys=[-us for us, _, _ in triples],
            position={ts: k for k, (_, ts, _) in enumerate(triples)},
        )
        with self._index_lock:
            self._index[conversation_id] = index
        return index

    # -- reads ------------------------------------------------------------------------------------------------
    def list_conversations(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        check_operation(self.rules, "list_conversations")
        page_size = check_page_size(page_size)
        start = 0
        if page is not None:
            (after,) = decode_page_token("conversations", page, (str,))
            if after not in self._conversations:
                raise InvalidRequest(f"page: conversation {after!r} of the token is not in this export")
            start = self._order.index(after) + 1
        ids = self._order[start : start + page_size]
        more = start + page_size < len(self._order)
        objects = [self.retrieve_conversation(cid) for cid in ids]
        return list_page(objects, page, encode_page_token("conversations", [ids[-1]]) if more and ids else None)

    def served_view(self, *, href_base: str, raw_as_json_fragment: bool) -> ChatAPI:
        view = copy.copy(self)
        view.href_base = href_base
        return view

    def retrieve_conversation(self, conversation_id: str) -> dict[str, Any]:
        check_operation(self.rules, "retrieve_conversation")
        conv = self._conversation(conversation_id)
        return wire.conversation_object(conv.raw, conv.kind, self.users, self._prefix())

    def list_members(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        check_operation(self.rules, "list_members")
        page_size = check_page_size(page_size)
        members = self.retrieve_conversation(conversation_id)["members"]
        after = decode_page_token("members", page, (str,))[0] if page is not None else ""
        rest = [m for m in members if m["id"] > after]
        chunk = rest[:page_size]
        more = len(rest) > page_size
        return list_page(chunk, page, encode_page_token("members", [chunk[-1]["id"]]) if more else None)

    def list_messages(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        check_operation(self.rules, "list_messages")
        page_size = check_page_size(page_size)
        index = self._message_index(conversation_id)
        start = 0
        if page is not None:
            (after,) = decode_page_token("messages", page, (str,))
            if not _TS.fullmatch(after):
                raise InvalidRequest("page: the page token is malformed")
            # Newest first: resume at the first message strictly older than the token's.
            start = bisect.bisect_right(index.keys, -wire.ts_to_us(after))
        chosen = range(start, min(start + page_size, len(index.stamps)))
        objects = [
            wire.message_object(self._day(index.files[i])[index.stamps[i]], conversation_id, self.users, self._prefix())
            for i in chosen
        ]
        more = start + page_size < len(index.stamps)
        next_page = encode_page_token("messages", [index.stamps[chosen[-1]]]) if more and len(chosen) else None
        return list_page(objects, page, next_page)

    #: Day files are parsed straight into columns (:meth:`message_tables`).
    bulk_messages = True
    #: Messages a bulk read gathers before it hands over a table (cut at a conversation's end). The parsed day
    #: files of one table are the load's transient memory: at 50,000 a 1M-message load peaked at 1.89x its frame,
    #: at 20,000 1.78x, in the same time (benchmarks/bench_bulk.py).
    _TABLE_ROWS = 20_000

    def message_tables(self, conversation_ids: Sequence[str], *, raw: bool = True) -> Iterator[pa.Table]:
        """Every message of the conversations as Arrow tables, parsed from their day files once each: the messages
        and values :meth:`list_messages` pages through, without a wire object per message.

        Examples
        --------
        >>> import json, pathlib, tempfile
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general", "created": 1}]))
        >>> (root / "general").mkdir()
        >>> _ = (root / "general" / "2026-01-05.json").write_text(json.dumps([{"ts": "1.000002", "text": "hi"}]))
        >>> [t.column("id").to_pylist() for t in SlackExportChatAPI(root).message_tables(["C1"])]
        [['C1-1.000002']]
        """
        check_operation(self.rules, "list_messages")
        wanted = [(cid, self._conversation(cid).files) for cid in dict.fromkeys(conversation_ids)]
        cols = wire.MessageColumns(self.users, raw=raw)
        chunk: list[tuple[str, list[str]]] = []  # the conversations, and their files, of the table being built
        for cid, files in wanted:
            for name in files:
                cols.add(cid, self._file_messages(name))
            chunk.append((cid, files))
            if len(cols) >= self._TABLE_ROWS:
                yield self._without_repeats(cols, chunk)
                chunk = []
        if len(cols):
            yield self._without_repeats(cols, chunk)

    def _without_repeats(self, cols: wire.MessageColumns, chunk: list[tuple[str, list[str]]]) -> pa.Table:
        """The table gathered, checked (vectorised) for a message id seen twice; then its conversations are read
        again the way paging reads them: a ts found twice (in one file or in several) counts once, its copy in
        the later file, as in _message_index."""
        table = cols.table()
        if pc.count_distinct(table.column("id")).as_py() == table.num_rows:
            for cid, _ in chunk:
                self._merged[cid] = 0
            return table
        for cid, files in chunk:
            once: dict[str, Any] = {}
            copies = 0
            for name in files:
                # Their problems were reported on the first read.
                messages = [m for m in self._file_messages(name, quiet=True) if isinstance(m, dict) and m.get("ts")]
                in_file = {str(m["ts"]): m for m in messages}  # a ts twice in one file: its last copy, as _day
                copies += len(in_file)
                once.update(in_file)
            self._merged[cid] = copies - len(once)  # copies in more than one file, as _message_index counts
            cols.add(cid, once.values())
        return cols.table()

    def retrieve_message(self, message_id: str) -> dict[str, Any]:
        check_operation(self.rules, "retrieve_message")
        channel, ts = wire.parse_message_id(message_id)
        if channel not in self._conversations:
            raise NotFound(f"message {message_id!r} does not exist")
        index = self._message_index(channel)
        k = index.position.get(ts)
        if k is None:
            raise NotFound(f"message {message_id!r} does not exist")
        return wire.message_object(self._day(index.files[k])[ts], channel, self.users, self._prefix())

    # -- refused ----------------------------------------------------------------------------------------------
    def _refuse(self, operation: str) -> Any:
        check_operation(self.rules, operation)
        raise AssertionError("unreachable: read-only rules refuse every write")

    def create_conversation(self, *, name: str, private: bool = False, members: Any = None) -> dict[str, Any]:
        return self._refuse("create_conversation")

    def update_conversation(
        self, conversation_id: str, *, name: Any = None, private: Any = None, members: Any = None
    ) -> dict[str, Any]:
        return self._refuse("update_conversation")

    def delete_conversation(self, conversation_id: str) -> None:
        self._refuse("delete_conversation")

    def create_message(
        self, conversation_id: str, *, text: str, sender: Any = None, parent: Any = None, raw: Any = None
    ) -> dict[str, Any]:
        return self._refuse("create_message")

    def update_message(self, message_id: str, *, text: str) -> dict[str, Any]:
        return self._refuse("update_message")

    def delete_message(self, message_id: str) -> None:
        self._refuse("delete_message")

    # -- Team API: the users file; exports carry no user groups ---------------------------------------------
    @property
    def _team_href(self) -> str:
        return f"{self.href_base}/v1/accounts/{self.account_id}/team"

    def list_users(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        chosen, token = slice_by_id([{"id": u} for u in self.users], "export-users", page_size, page)
        return team_page([wire.team_user_object(u["id"], self.users, self._team_href) for u in chosen], page, token)

    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        if check_id(user_id, "user_id") not in self.users:
            raise NotFound(f"user {user_id!r} does not exist in {self.path.name}'s users file")
        return wire.team_user_object(user_id, self.users, self._team_href)

    def list_groups(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        # A Slack export has no user groups file: the list is empty, not an error.
        chosen, token = slice_by_id([], "export-groups", page_size, page)
        return team_page(chosen, page, token)

    def list_group_members(
        self, group_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        check_id(group_id, "group_id")
        check_page_size(page_size)
        raise NotFound(f"group {group_id!r} does not exist (a Slack export carries no user groups)")


def _slack_log_name(path: Path) -> str:
    """A slack-log archive's name: slack-log writes its archive to ``docs/json`` in the repository that publishes
    it (GitHub Pages serves ``docs``), so a path to ``.../NAME/docs/json`` or ``.../NAME/docs`` names the archive
    NAME, not "json" or "docs". Any other path names it by its own name, as other archives are.

    >>> _slack_log_name(Path("/data/haskell-jp-slack/docs/json")), _slack_log_name(Path("/data/logs.zip"))
    ('haskell-jp-slack', 'logs')
    """
    names = [path.stem, *(folder.name for folder in path.absolute().parents)]
    at = 0
    for layer in ("json", "docs"):
        if names[at] == layer and names[at + 1 :][:1] != [""]:
            at += 1
    return names[at] or path.stem


def _enterprise_id(user: dict[str, Any]) -> str | None:
    enterprise = user.get("enterprise_user")
    value = enterprise.get("enterprise_id") if isinstance(enterprise, dict) else None
    return value if isinstance(value, str) and value else None


def from_config(config: Mapping[str, Any]) -> SlackExportChatAPI:
    """A :class:`SlackExportChatAPI` from an accounts-file table (``path``; optional ``account``, ``workspace``)."""
    if not config.get("path"):
        raise ValueError("slack_export account: path (the export's .zip or folder) is required")
    return SlackExportChatAPI(str(config["path"]), account_id=config.get("account"), workspace=config.get("workspace"))
