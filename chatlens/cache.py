"""The loaders' on-disk cache: Parquet files per account and conversation, a manifest, atomic writes and a lock.

Layout, under :func:`cache_root` (``CHATLENS_CACHE_DIR``, else ``platformdirs.user_cache_dir("chatlens")``)::

    v1/<hash of the account identity>/
        manifest.json              identity, service, per-conversation state, events cursor
        conversations.parquet
        members.parquet
        messages/<hash of conversation id>.parquet
        messages/segment-<random>.parquet  many conversations' messages at once (a bulk load), by conversation
        .lock
    v1/<hash of the account identity and "text-free">/
        manifest.json              as above, with "text": false
        messages/<hash of conversation id>.parquet    no text column, ever
        .lock

An account is keyed by its backend's ``identity`` (e.g. ``sqlite:/path#acme-slack`` or
``http:http://host:8765#acme-slack``), never by a token, so two accounts never share files and nothing secret is
written. A conversation's messages are in its own file, or in a slice of a segment (a bulk load writes one segment
for thousands of conversations instead of a file each; the manifest entry names the file and the slice's offset);
a refresh that changes a conversation moves it to its own file, and a segment no entry names any more is removed.
Every file is written to a temporary name, fsynced and renamed into place; the manifest is rewritten after
each conversation completes, so an interrupted load keeps what finished. A file that cannot be read, or whose rows
disagree with the manifest, is reported with a warning and treated as absent (the loader fetches it again).

Text-free loads (``load_messages(text=False)``) keep their messages in a cache of their own: it never holds message
text (:meth:`AccountCache.write_frame` refuses a frame with a text or raw column), and a load with text never reads
it, so text-free data is never returned as if it had text.

This module knows frames and identity strings only; it never imports a backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import platformdirs
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from .schema import SCHEMA_VERSION

__all__ = ["AccountCache", "cache_root", "cache_info", "format_cache_info", "clear_cache", "CacheWarning"]

LAYOUT = "v1"


class CacheWarning(UserWarning):
    """A cache file was unreadable or inconsistent and will be fetched again."""


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where cached data lives: ``cache_dir``, else ``CHATLENS_CACHE_DIR``, else the user cache directory.

    Examples
    --------
    >>> cache_root("/tmp/x").as_posix()
    '/tmp/x/v1'
    """
    base = cache_dir or os.environ.get("CHATLENS_CACHE_DIR") or platformdirs.user_cache_dir("chatlens")
    return Path(base).expanduser() / LAYOUT


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _atomic_write(path: Path, write: Any) -> None:
    """Write via ``write(tmp_path)``, fsync, then rename over ``path``: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AccountCache:
    """The cached data of one account (by identity). No I/O happens until a method is called.

    Examples
    --------
    >>> import tempfile
    >>> cache = AccountCache("sqlite:/demo#acme", cache_dir=tempfile.mkdtemp())
    >>> cache.manifest()["conversations"]
    {}
    >>> AccountCache("sqlite:/demo#acme", text=False).path != AccountCache("sqlite:/demo#acme").path
    True
    """

    def __init__(self, identity: str, *, cache_dir: str | os.PathLike[str] | None = None, text: bool = True) -> None:
        if not identity:
            raise ValueError("identity: an account identity is required to key the cache")
        self.identity = identity
        self.text = text
        # The text-free cache is a separate folder: neither can ever be read as the other.
        self.path = cache_root(cache_dir) / _digest(identity if text else f"{identity}\x00text-free")

    def __repr__(self) -> str:
        return f"<AccountCache {self.identity!r}{'' if self.text else ' (text-free)'} at {self.path}>"

    @contextmanager
    def lock(self, timeout: float = 600) -> Iterator[None]:
        """Exclusive use of this account's cache across processes (loads and refreshes take it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path / ".lock"), timeout=timeout):
            # Every writer holds this lock, so a temporary file seen now is a killed writer's: remove it.
            _remove_temporaries(self.path)
            yield

    def remove_temporaries(self) -> None:
        """Remove what killed writers left (their temporary files), if no writer is at work now: a reader that
        takes no lock calls this, and it never waits."""
        if not self.path.exists() or not _temporaries(self.path):
            return
        try:
            with FileLock(str(self.path / ".lock"), timeout=0):
                _remove_temporaries(self.path)
        except Timeout:
            pass  # a writer holds the lock: its own temporaries are in use, and the next load cleans up

    # -- manifest ---------------------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """The manifest; a fresh one if absent, unreadable or from another schema version."""
        fresh = {
            "identity": self.identity,
            "schema_version": SCHEMA_VERSION,
            "text": self.text,
            "conversations": {},
            "events_cursor": None,
            "fetched_at": None,
        }
        path = self.path / "manifest.json"
        if not path.exists():
            return fresh
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            warnings.warn(f"chatlens cache: {path} is unreadable; fetching again", CacheWarning, stacklevel=3)
            return fresh
        if (
            data.get("schema_version") != SCHEMA_VERSION
            or data.get("identity") != self.identity
            or data.get("text", True) != self.text
        ):
            return fresh
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        # orjson: a manifest of thousands of conversations is written after every batch, ten times faster than json.
        body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        _atomic_write(self.path / "manifest.json", lambda tmp: Path(tmp).write_bytes(body))

    # -- frames -----------------------------------------------------------------------------------------------
    def _file(self, name: str) -> Path:
        return self.path / name

    def message_file(self, conversation_id: str) -> Path:
        return self.path / "messages" / f"{_digest(conversation_id)}.parquet"

    def new_segment(self) -> str:
        """The manifest name (relative to the account's folder) of a new segment file."""
        return f"messages/segment-{os.urandom(8).hex()}.parquet"

    def entry_file(self, conversation_id: str, entry: dict[str, Any]) -> Path:
        """The file holding a conversation's messages: its segment, if its manifest entry names one."""
        return self.path / entry["file"] if entry.get("file") else self.message_file(conversation_id)

    def prune_segments(self, manifest: dict[str, Any]) -> None:
        """Remove the segment files that no conversation of the manifest names (moved out by refreshes)."""
        named = {entry.get("file") for entry in manifest["conversations"].values()}
        for path in (self.path / "messages").glob("segment-*.parquet"):
            if f"messages/{path.name}" not in named:
                path.unlink(missing_ok=True)

    def write_frame(self, path: Path, frame: pd.DataFrame) -> pa.Table:
        """Write a frame as Parquet (zstd), atomically, and return it as the Arrow table written (callers keep
        that rather than converting the frame twice); a text-free cache refuses a frame with a text or raw column
        (the service's JSON holds the text too)."""
        if not self.text and {"text", "raw"} & set(frame.columns):
            raise ValueError(f"a text-free cache cannot store message text ({path.name} has a text or raw column)")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return table

    def read_table(self, path: Path, *, rows: int | None = None, columns: list[str] | None = None) -> pa.Table | None:
        """A cached file as an Arrow table, or None (with a :class:`CacheWarning`) if it is missing, unreadable,
        or its row count differs from ``rows``."""
        if not path.exists():
            if rows is not None:
                warnings.warn(f"chatlens cache: {path} is missing; fetching again", CacheWarning, stacklevel=3)
            return None
        try:
            table = pq.read_table(path, columns=columns)
        except (OSError, pa.ArrowException, ValueError) as exc:
            warnings.warn(
                f"chatlens cache: {path} is unreadable ({type(exc).__name__}); fetching again",
                CacheWarning,
                stacklevel=3,
            )
            return None
        if rows is not None and table.num_rows != rows:
            warnings.warn(
                f"chatlens cache: {path} holds {table.num_rows} rows, the manifest says {rows}; fetching again",
                CacheWarning,
                stacklevel=3,
            )
            return None
        return table

    def write_named(self, name: str, frame: pd.DataFrame) -> None:
        self.write_frame(self._file(f"{name}.parquet"), frame)

    def read_named(self, name: str) -> pd.DataFrame | None:
        table = self.read_table(self._file(f"{name}.parquet"))
        return None if table is None else table.to_pandas()

    def size_bytes(self) -> int:
        return _bytes(self.path) if self.path.exists() else 0

    def clear(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _is_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file of :func:`_atomic_write` (``.<name>.<random>.tmp``)."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def _temporaries(folder: Path) -> list[Path]:
    """The temporary files of interrupted atomic writes below ``folder``."""
    return [p for p in folder.rglob(".*.tmp") if p.is_file() and _is_temporary(p)]


def _remove_temporaries(folder: Path) -> None:
    for stray in _temporaries(folder):
        stray.unlink(missing_ok=True)


def _bytes(folder: Path) -> int:
    """What the cached files below ``folder`` take on disk, leaving out temporaries of interrupted writes."""
    total = 0
    for p in folder.rglob("*"):
        if p.is_file() and not _is_temporary(p):
            try:
                total += p.stat().st_size
            except FileNotFoundError:  # removed meanwhile (a temporary renamed into place)
                pass
    return total


def _accounts(cache_dir: str | os.PathLike[str] | None = None) -> list[tuple[Path, dict[str, Any]]]:
    root = cache_root(cache_dir)
    found = []
    for folder in sorted(root.glob("*")) if root.exists() else []:
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {"identity": f"(unreadable: {folder.name})", "conversations": {}}
        found.append((folder, manifest))
    return found


def cache_info(cache_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per cached account and kind (with text, or text-free): identity, text, conversations, messages,
    bytes, last fetched.

    Examples
    --------
    >>> import tempfile
    >>> cache_info(tempfile.mkdtemp()).columns.tolist()
    ['identity', 'text', 'conversations', 'messages', 'bytes', 'fetched_at', 'path']
    """
    rows = []
    for folder, manifest in _accounts(cache_dir):
        convs = manifest.get("conversations", {})
        rows.append(
            {
                "identity": manifest.get("identity"),
                "text": manifest.get("text", True) is not False,
                "conversations": len(convs),
                "messages": sum(int(c.get("rows", 0)) for c in convs.values()),
                "bytes": _bytes(folder),
                "fetched_at": manifest.get("fetched_at"),
                "path": str(folder),
            }
        )
    columns = ["identity", "text", "conversations", "messages", "bytes", "fetched_at", "path"]
    return pd.DataFrame(rows, columns=columns)


def format_cache_info(info: pd.DataFrame) -> str:
    """``cache_info()`` as a short text table for the command line."""
    if info.empty:
        return f"the chatlens cache at {cache_root()} is empty"
    lines = [f"{'account':<60} {'conversations':>13} {'messages':>10} {'MB':>8}  fetched"]
    for row in info.itertuples():
        name = str(row.identity) + ("" if row.text else " (text-free)")
        name = name if len(name) <= 60 else "…" + name[-59:]  # the account id sits at the end: keep it
        lines.append(
            f"{name:<60} {row.conversations:>13} {row.messages:>10,} {row.bytes / 1e6:>8.1f}  {row.fetched_at or '-'}"
        )
    return "\n".join(lines)


def clear_cache(account: str | None = None, *, cache_dir: str | os.PathLike[str] | None = None) -> int:
    """Remove cached data: everything, or the accounts whose identity equals ``account`` or ends with
    ``#account``. Returns how many accounts were removed.

    Examples
    --------
    >>> import tempfile
    >>> clear_cache(cache_dir=tempfile.mkdtemp())
    0
    """
    removed = 0
    for folder, manifest in _accounts(cache_dir):
        identity = str(manifest.get("identity", ""))
        if account is None or identity == account or identity.endswith(f"#{account}"):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def now_iso() -> str:
    """The current time, for ``fetched_at`` bookkeeping only (never used in analyses)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
