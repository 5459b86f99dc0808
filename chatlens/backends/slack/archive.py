"""The files of a Slack archive, as people really have them: which layout it is, and where each conversation's
messages are.

Layouts read (``layout`` of :func:`read_layout`):

- ``"export"``: Slack's workspace export. ``users.json``, ``channels.json`` (public), ``groups.json`` (private),
  ``mpims.json``, ``dms.json``, and one folder per conversation (channels and groups by name, direct messages by
  id) of ``YYYY-MM-DD.json`` arrays.
- ``"enterprise-grid"``: Slack's Enterprise Grid org export. ``org_users.json`` at the top, the org's direct
  conversations (``dms.json``, ``mpims.json`` and their folders) beside it, and one folder per workspace holding
  that workspace's ``channels.json``/``groups.json`` and channel folders. The whole org is one account; each
  conversation names its workspace (``raw["workspace"]``), and ``workspace=`` picks one workspace's channels.
- ``"slack-log"``: the `slack-log <https://github.com/haskell-jp/slack-log>`_ archive (``.users.json`` of id ->
  name; ``<channel id>/<n>.json`` pages; ``<channel id>/<n>/<root ts>.json`` thread files whose first message is
  the root), with channel names from a ``channel-names.json`` (id -> name) beside or above it.

Anything else is :class:`NotAnExportError`, naming what was expected and what was found (a slackdump dump by
name). Zip entry names without the UTF-8 flag (Slack's own export zips and Info-ZIP's ``zip`` set none, so Python
reads them as cp437) are decoded as UTF-8 where they are valid UTF-8, as slack-export-viewer and Zulip's importer
do: otherwise a channel named in Japanese, with accents or with an emoji matches no folder.
"""

from __future__ import annotations

import hashlib
import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from . import wire

__all__ = ["Archive", "Layout", "NotAnExportError", "open_archive", "read_layout"]

_LISTS = (
    ("channels.json", "channel"),
    ("groups.json", "private_channel"),
    ("mpims.json", "group_direct"),
    ("dms.json", "direct"),
)
_UTF8_FLAG = 0x800
_DAY = re.compile(r"[0-9]{4}.*\.json")  # YYYY-MM-DD.json; the date itself is never read (order comes from ts)
_PAGE = re.compile(r"[0-9]+\.json")
_THREAD = re.compile(r"[0-9]+/([0-9]{1,12}\.[0-9]{1,6})\.json")
_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


class NotAnExportError(ValueError):
    """The path is not a Slack archive chatlens reads: the message says what was expected and what was found."""


class Archive:
    """The files of a zip or a folder by relative name (``/``-separated, UTF-8); thread-safe reads.

    A zip whose entries all sit in one top folder is read as if that folder were the top; ``__MACOSX/`` entries
    (Finder's resource forks) are ignored.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._zip: zipfile.ZipFile | None = None
        self._entries: dict[str, Any] = {}
        if path.is_dir():
            for p in path.rglob("*"):
                if p.is_file():
                    self._entries[p.relative_to(path).as_posix()] = p
        elif path.is_file() and zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                if not info.flag_bits & _UTF8_FLAG:
                    try:
                        name = name.encode("cp437").decode("utf-8")
                    except UnicodeError:
                        pass  # not UTF-8 either: keep zipfile's cp437 reading
                if name.startswith("__MACOSX/"):
                    continue
                self._entries[name] = info
            tops = {n.split("/", 1)[0] for n in self._entries}
            if len(tops) == 1 and all("/" in n for n in self._entries):
                prefix = tops.pop() + "/"
                self._entries = {n[len(prefix) :]: v for n, v in self._entries.items()}
        elif path.exists():
            raise NotAnExportError(
                f"{path} is neither a folder nor a .zip file: expected a Slack export (.zip or folder)"
            )
        else:
            raise FileNotFoundError(f"{path} does not exist: expected a Slack export (.zip or folder)")
        self.names = sorted(self._entries)
        self._set = set(self.names)
        #: Changes when the archive's content may have: the zip's size and time, or each file's in a folder.
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> str:
        if self._zip is not None:
            st = self.path.stat()
            return f"{st.st_size}-{st.st_mtime_ns}"
        digest = hashlib.blake2b(digest_size=8)
        for name in self.names:
            st = self._entries[name].stat()
            digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def __contains__(self, name: str) -> bool:
        return name in self._set

    def read(self, name: str) -> bytes:
        entry = self._entries[name]
        if self._zip is None:
            return entry.read_bytes()
        with self._lock:
            return self._zip.read(entry)

    def found(self, limit: int = 8) -> str:
        """What the top of the archive holds, for an error message."""
        tops: dict[str, int] = {}
        for n in self.names:
            top, sep, _ = n.partition("/")
            tops[top + sep] = tops.get(top + sep, 0) + 1
        shown = [t if not t.endswith("/") else f"{t} ({k} files)" for t, k in list(tops.items())[:limit]]
        more = f" and {len(tops) - limit} more" if len(tops) > limit else ""
        return ", ".join(shown) + more if shown else "nothing"


@dataclass
class Conversation:
    """One conversation of the archive: its raw object, kind, the files of its messages, and where it is listed."""

    raw: dict[str, Any]
    kind: str
    files: list[str]
    listed_in: str
    folder: str


@dataclass
class Layout:
    """What :func:`read_layout` found: the layout's name, the users, the conversations by id, and problems."""

    layout: str
    users: list[Any]
    conversations: dict[str, Conversation]
    #: Files each of which is one thread: their messages' ``thread_ts`` is the root's ts, the file's stem.
    thread_files: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    workspaces: list[str] = field(default_factory=list)


JsonList = Callable[[str], list[Any]]


def open_archive(path: Path) -> Archive:
    return Archive(path)


def read_layout(archive: Archive, json_list: JsonList, *, workspace: str | None = None) -> Layout:
    """The layout of ``archive``; ``json_list(name)`` reads a JSON array file, reporting problems itself.

    Raises :class:`NotAnExportError` when the archive is no layout chatlens reads.
    """
    names = archive.names
    top = {n for n in names if "/" not in n}
    if "org_users.json" in top:
        return _grid(archive, json_list, workspace)
    if workspace is not None:
        raise NotAnExportError(f"{archive.path.name}: workspace={workspace!r} is for Enterprise Grid org exports only")
    if top & {f for f, _ in _LISTS}:
        layout = Layout("export", json_list("users.json") if "users.json" in top else [], {})
        if "channels.json" not in top:
            layout.problems.append("channels.json is missing: no public channels are listed")
        _add_lists(layout, archive, json_list, "")
        return layout
    for base in ("", "docs/json/", "json/"):
        if f"{base}.users.json" in archive:
            return _slack_log(archive, json_list, base)
    raise NotAnExportError(_not_an_export(archive))


def _not_an_export(archive: Archive) -> str:
    what = (
        f"{archive.path} is not a Slack export: expected channels.json (and users.json, and a folder per channel of "
        "YYYY-MM-DD.json files) at its top"
    )
    roots = sorted({n.rsplit("/", 1)[0] for n in archive.names if n.endswith("/channels.json")})
    if roots:
        return what + f"; found a channels.json in {roots[0]}/: point chatlens at that folder"
    dumps = [n for n in archive.names if "/" not in n and _CONVERSATION_ID.fullmatch(PurePosixPath(n).stem)]
    if dumps and all(n.endswith(".json") for n in dumps):
        return (
            what + f"; found {len(dumps)} files named by conversation id ({dumps[0]}, ...), the layout of a slackdump "
            "dump, which chatlens does not read: convert it with `slackdump convert -f export`"
        )
    if "slackdump.sqlite" in archive:
        return what + "; found slackdump.sqlite, a slackdump archive: convert it with `slackdump convert -f export`"
    return what + f"; found: {archive.found()}"


def _folders(archive: Archive, base: str) -> dict[str, list[str]]:
    """Conversation folder (relative to ``base``) -> its day files."""
    days: dict[str, list[str]] = {}
    for name in archive.names:
        if not name.startswith(base):
            continue
        folder, _, day = name[len(base) :].rpartition("/")
        if folder and "/" not in folder and _DAY.fullmatch(day):
            days.setdefault(folder, []).append(name)
    return days


def _add_lists(
    layout: Layout, archive: Archive, json_list: JsonList, base: str, *, workspace: str | None = None
) -> None:
    days = _folders(archive, base)
    for filename, kind in _LISTS:
        if base + filename not in archive:
            continue
        for raw in json_list(base + filename):
            if not isinstance(raw, dict) or not raw.get("id"):
                continue
            cid = str(raw["id"])
            kind_of = wire.conversation_kind(raw, kind)
            # Folders: channels and groups by name; direct conversations by id (group DMs by name, by id in some).
            candidates = [cid] if kind == "direct" else [str(raw.get("name") or cid), cid]
            folder = next((c for c in candidates if c in days), candidates[0])
            if workspace is not None:
                raw = {**raw, "workspace": workspace}
            if cid in layout.conversations:
                layout.problems.append(f"{base + filename} lists {cid} again; its first listing is kept")
                continue
            files = sorted(days.get(folder, []))
            layout.conversations[cid] = Conversation(raw, kind_of, files, base + filename, base + folder)
            if not files:
                label = (
                    "#" + str(raw.get("name")) if kind in ("channel", "private_channel") and raw.get("name") else cid
                )
                layout.problems.append(
                    f"{label} ({cid}) is listed in {base + filename} but the archive has no folder {base + folder}/ "
                    "of day files: none of its messages are here (Slack leaves out the folder of a conversation "
                    "with no messages; a renamed or missing folder loses them)"
                )


def _grid(archive: Archive, json_list: JsonList, workspace: str | None) -> Layout:
    layout = Layout("enterprise-grid", json_list("org_users.json"), {})
    spaces = sorted(
        {
            n.split("/", 1)[0]
            for n in archive.names
            if n.count("/") == 1 and n.split("/")[1] in ("channels.json", "groups.json")
        }
    )
    layout.workspaces = spaces
    if workspace is not None and workspace not in spaces:
        raise NotAnExportError(
            f"{archive.path.name}: no workspace {workspace!r} in this Enterprise Grid export "
            f"(it has: {', '.join(spaces)})"
        )
    known = {u.get("id") for u in layout.users if isinstance(u, dict)}
    for name in spaces:
        if workspace is None or name == workspace:
            _add_lists(layout, archive, json_list, name + "/", workspace=name)
        # A workspace's own users.json (where an org export has one) adds the users org_users.json lacks.
        if f"{name}/users.json" in archive:
            for user in json_list(f"{name}/users.json"):
                if isinstance(user, dict) and user.get("id") not in known:
                    known.add(user.get("id"))
                    layout.users.append(user)
    if workspace is None:
        _add_lists(layout, archive, json_list, "")  # the org's own conversations: direct and group DMs
    if not spaces and not layout.conversations:
        raise NotAnExportError(
            f"{archive.path} has org_users.json but no workspace folder with a channels.json or groups.json, and no "
            f"org-level dms.json or mpims.json: expected an Enterprise Grid org export; found: {archive.found()}"
        )
    return layout


def _channel_names(archive: Archive, base: str) -> dict[str, str]:
    """slack-log's channel names: ``channel-names.json`` in the archive at or above the json folder, or beside
    the archive's own folder (where the shared dataset keeps it)."""
    parts = base.rstrip("/").split("/") if base else []
    for k in range(len(parts), -1, -1):
        name = "/".join([*parts[:k], "channel-names.json"])
        if name in archive:
            return _mapping(archive.read(name))
    for folder in (archive.path, *archive.path.parents[:2]):
        candidate = folder / "channel-names.json" if folder.is_dir() else None
        if candidate is not None and candidate.is_file():
            return _mapping(candidate.read_bytes())
    return {}


def _mapping(data: bytes) -> dict[str, str]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _slack_log(archive: Archive, json_list: JsonList, base: str) -> Layout:
    users_map = _mapping(archive.read(base + ".users.json"))
    users = [{"id": uid, "name": name or uid, "profile": {"display_name": name}} for uid, name in users_map.items()]
    layout = Layout("slack-log", users, {})
    names = _channel_names(archive, base)
    private = _mapping(archive.read(base + ".groups.json")) if base + ".groups.json" in archive else {}
    files: dict[str, list[str]] = {}
    for name in archive.names:
        if not name.startswith(base):
            continue
        channel, sep, rest = name[len(base) :].partition("/")
        if not sep or channel.startswith("."):
            continue
        thread = _THREAD.fullmatch(rest)
        if thread:
            layout.thread_files.add(name)
        elif not _PAGE.fullmatch(rest):
            continue
        files.setdefault(channel, []).append(name)
    if not names:
        layout.problems.append(
            "slack-log: no channel-names.json found in or beside the archive; conversations are named by their ids"
        )
    for cid in sorted(set(files) | set(names) | set(private)):
        name = names.get(cid) or private.get(cid) or cid
        kind = "private_channel" if cid in private else "channel"
        raw = {"id": cid, "name": name, "created": 0, "members": []}
        # Pages first, then the thread files: a root or a broadcast reply in both keeps its thread file's copy.
        found = sorted(files.get(cid, []), key=lambda n: (n in layout.thread_files, n))
        layout.conversations[cid] = Conversation(raw, kind, found, "channel-names.json", base + cid)
        if not found:
            layout.problems.append(
                f"#{name} ({cid}) is named in channel-names.json but the archive has no folder {base + cid}/"
            )
    return layout
