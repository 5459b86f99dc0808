"""The loaders' on-disk cache: per account, its messages as one Parquet dataset, a manifest, atomic writes, a lock.

Layout, under :func:`cache_root` (``CHATLENS_CACHE_DIR``, else ``platformdirs.user_cache_dir("chatlens")``)::

    v2/<hash of the account identity>/
        manifest.json              identity, service, per-conversation state and file, the dataset's files, cursor
        conversations.parquet
        members.parquet
        messages/part-<time>-<random>.parquet   the messages dataset: a few files (below)
        threads/<hash of conversation id>.json  thread-complete refresh state (chatlens.threadsync)
        .lock
    v2/<hash of the account identity and "text-free">/
        as above, with "text": false in the manifest and no text or raw column in any file, ever

An account is keyed by its backend's ``identity`` (e.g. ``sqlite:/path#acme-slack`` or
``http:http://host:8765#acme-slack``), never by a token, so two accounts never share files and nothing secret is
written. ``v1`` (a file per conversation) is never read: a cache of that layout is fetched again.

**The messages dataset.** ``messages/`` is a Parquet dataset any engine reads as it is (``docs/dataset.md``:
Dask, Spark, DuckDB, Polars, pyarrow). Its columns are ``chatlens.schema.COLUMNS["messages"]`` in that order,
less ``conversation_name`` (a conversation's label changes with renames and memberships: join
``conversations.parquet`` on ``id`` for ``label``), and, in a text-free cache, less ``text`` and ``raw`` (with
``text_length`` and ``is_question`` in their place); ``raw`` is null for conversations loaded without
``raw=True``. Every file has that same schema (dictionary-encoded ids and names with int32 indices). Each file
is sorted by ``(conversation_id, created, id)`` and says so (Parquet sorting columns); a conversation's rows
are all in one file; row groups hold about :data:`ROW_GROUP_BYTES` of data and carry min/max statistics (and a
page index) for every column, so a reader filtering on ``conversation_id`` or ``created`` skips what it does not
need. :meth:`AccountCache.messages_files` lists the files in read order, :meth:`AccountCache.messages_dataset`
opens them with ``pyarrow.dataset``.

A load writes each bulk batch, the conversations it pages (those completed, every couple of seconds), or (a
refresh) the conversations it changed as a new file, and the manifest names, per conversation, the file and row
offset of its current rows. When the writer is done (still holding the lock), :meth:`AccountCache.settle` makes
the folder hold exactly the current rows: files no conversation names any more are removed, a file holding
superseded rows is rewritten without them, and when that happens or more than :data:`SMALL_FILES` files are small
(under :data:`SMALL_BYTES`) the small ones are merged too, into files of at most about :data:`FILE_BYTES`, cut
between conversations. Until then (a writer at work, or one killed mid-refresh) the folder may hold superseded
rows; :meth:`~AccountCache.messages_files` settles first, under the lock, so what it lists is exact.

Every file is written to a temporary name, fsynced and renamed into place; the manifest is rewritten after each
file is written, so an interrupted load keeps what finished, and a rewrite writes its new files, then the
manifest, then removes the old files (a crash at any point leaves a manifest naming whole files).
A file that cannot be read, or whose rows disagree with the manifest, is reported with a :class:`CacheWarning`
and treated as absent (the loader fetches its conversations again).

Text-free loads (``load_messages(text=False)``) keep their messages in a cache of their own: it never holds message
text (:meth:`AccountCache.write_messages` and :meth:`AccountCache.write_frame` refuse a text or raw column), and a
load with text never reads it, so text-free data is never returned as if it had text.

This module knows frames, Arrow tables and identity strings only; it never imports a backend.
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

import numpy as np
import orjson
import pandas as pd
import platformdirs
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from ._memory import release_unused
from .schema import COLUMNS, SCHEMA_VERSION, TEXT_FREE, empty_frame

__all__ = [
    "AccountCache",
    "cache_root",
    "cache_info",
    "format_cache_info",
    "clear_cache",
    "CacheWarning",
    "ROW_GROUP_BYTES",
    "FILE_BYTES",
    "SMALL_BYTES",
    "SMALL_FILES",
]

LAYOUT = "v2"

#: About how much data (Arrow's in-memory bytes) one row group of the messages dataset holds.
ROW_GROUP_BYTES = 128 * 2**20
#: A rewrite cuts the dataset into files of at most about this much data (between conversations).
FILE_BYTES = 4 * ROW_GROUP_BYTES
#: A dataset file holding less data than this is small ...
SMALL_BYTES = ROW_GROUP_BYTES
#: ... and more small files than this are merged when the writer settles the dataset.
SMALL_FILES = 4

#: The order every dataset file is sorted in (and declares).
SORT_KEYS = ("conversation_id", "created", "id")


class CacheWarning(UserWarning):
    """A cache file was unreadable or inconsistent and will be fetched again."""


#: Layouts earlier chatlens versions wrote beside this one: never read, removed by ``clear_cache()``.
OLD_LAYOUTS = ("v1",)


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where cached data lives: ``cache_dir``, else ``CHATLENS_CACHE_DIR``, else the user cache directory.

    Examples
    --------
    >>> cache_root("/tmp/x").as_posix()
    '/tmp/x/v2'
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


def _plain_type(t: pa.DataType) -> pa.DataType:
    """The one Arrow type a dataset column has in every file: dictionaries with int32 indices, plain strings."""
    if pa.types.is_dictionary(t):
        return pa.dictionary(pa.int32(), _plain_type(t.value_type))
    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_plain_type(t.value_type))
    return t


def _write_dataset_file(table: pa.Table, path: str) -> None:
    """One dataset file: zstd, row groups of about ROW_GROUP_BYTES of data, statistics and a page index on every
    column, and the sort order declared."""
    per_row = max(1, table.nbytes // max(1, table.num_rows))
    names = table.column_names
    pq.write_table(
        table,
        path,
        compression="zstd",
        row_group_size=max(1, ROW_GROUP_BYTES // per_row),
        write_statistics=True,
        write_page_index=True,
        sorting_columns=[pq.SortingColumn(names.index(c)) for c in SORT_KEYS if c in names],
    )


def _slice(table: pa.Table, entry: dict[str, Any], conversation_id: str) -> pa.Table | None:
    """A conversation's rows in a dataset file, where its manifest entry says; None if they are not there (the
    slice runs past the file, or its first or last row is another conversation's)."""
    offset, rows = int(entry.get("offset", 0)), int(entry["rows"])
    if offset < 0 or rows < 1 or offset + rows > table.num_rows:
        return None
    holders = table.column("conversation_id")
    if holders[offset].as_py() != conversation_id or holders[offset + rows - 1].as_py() != conversation_id:
        return None
    return table.slice(offset, rows)


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

    # -- the messages dataset -----------------------------------------------------------------------------------
    @property
    def messages_dir(self) -> Path:
        """The folder of the messages dataset (module docs)."""
        return self.path / "messages"

    def conversation_key(self, conversation_id: str) -> str:
        """A file-name-safe key of a conversation (its hash), for files kept per conversation."""
        return _digest(conversation_id)

    def dataset_columns(self) -> list[str]:
        """The columns of the messages dataset, in their order (module docs).

        Examples
        --------
        >>> AccountCache("sqlite:/demo#acme").dataset_columns()[:4]
        ['account', 'service', 'conversation_id', 'id']
        >>> "text" in AccountCache("sqlite:/demo#acme", text=False).dataset_columns()
        False
        """
        left_out = {"conversation_name"} | ({"text", "raw"} if not self.text else set(TEXT_FREE))
        return [c for c in COLUMNS["messages"] if c not in left_out]

    def conversation_file(self, conversation_id: str, manifest: dict[str, Any] | None = None) -> Path | None:
        """The dataset file holding a conversation's current rows (None if it has none, or is not cached)."""
        entry = (manifest or self.manifest())["conversations"].get(conversation_id) or {}
        return self.path / entry["file"] if entry.get("file") else None

    def write_messages(
        self, manifest: dict[str, Any], parts: list[pa.Table], spans: list[tuple[str, int, int]]
    ) -> tuple[pa.Table, dict[str, tuple[str, int]]]:
        """Write messages as new files of the dataset, atomically, and record them in ``manifest["files"]``.

        ``parts`` are Arrow tables with a ``conversation_id`` column, one after the other sorted by
        :data:`SORT_KEYS`; ``spans`` are their conversations as ``(conversation_id, offset, rows)`` in the rows of
        them all, in order, covering them. Files are cut between conversations at about :data:`FILE_BYTES`.
        Returns the table as written (the dataset's schema, the same rows in the same order) and, per
        conversation, the manifest name of its file and its offset there: the caller points the conversations'
        entries at them and writes the manifest."""
        if not self.text and any({"text", "raw"} & set(part.column_names) for part in parts):
            raise ValueError("a text-free cache cannot store message text (the table has a text or raw column)")
        table = pa.concat_tables([self._conform(part) for part in parts])
        per_row = table.nbytes / max(1, table.num_rows)
        where: dict[str, tuple[str, int]] = {}
        chunk: list[tuple[str, int, int]] = []
        for span in [*spans, None]:
            if chunk and (span is None or (chunk[-1][1] + chunk[-1][2] - chunk[0][1] + span[2]) * per_row > FILE_BYTES):
                start = chunk[0][1]
                name = self._write_part(manifest, table.slice(start, chunk[-1][1] + chunk[-1][2] - start))
                where.update({cid: (name, offset - start) for cid, offset, _ in chunk})
                chunk = []
            if span is not None:
                chunk.append(span)
        return table, where

    def _write_part(self, manifest: dict[str, Any], table: pa.Table) -> str:
        name = f"messages/part-{time.time_ns():x}-{os.urandom(4).hex()}.parquet"
        _atomic_write(self.path / name, lambda tmp: _write_dataset_file(table, tmp))
        manifest.setdefault("files", {})[name] = {
            "rows": table.num_rows,
            "bytes": table.nbytes,
            "first": table.column("conversation_id")[0].as_py(),
        }
        return name

    def _conform(self, table: pa.Table) -> pa.Table:
        """``table`` with the dataset's columns in order (a null ``raw`` where it has none) and the one type each
        has in every file: Arrow's types vary with the data (a categorical's index width with its number of
        values), and a dataset whose files disagree cannot be read as one."""
        if self.text and "raw" not in table.column_names:
            table = table.append_column("raw", pa.nulls(table.num_rows, pa.string()))
        names = [c for c in self.dataset_columns() if c in table.column_names]
        names += [c for c in table.column_names if c not in names]  # a column the schema does not declare yet
        table = table.select(names)
        # No pandas metadata: it names pandas-only dtypes ("list<item: string>[pyarrow]") that pandas itself cannot
        # parse back, so pd.read_parquet and Dask would fail on the files; Arrow's types say all a reader needs.
        return table.cast(pa.schema([pa.field(f.name, _plain_type(f.type)) for f in table.schema]))

    def read_messages(
        self,
        manifest: dict[str, Any],
        conversation_ids: list[str],
        columns: list[str],
        *,
        quiet: bool = False,
    ) -> dict[str, pa.Table]:
        """The cached rows (``columns``) of those of ``conversation_ids`` whose manifest entry names a file, one
        read per file. A file that is missing or unreadable, lacks a column, or whose rows are not where the
        manifest says is reported (a :class:`CacheWarning`, unless ``quiet``) and its conversations are dropped
        from ``manifest``, so the loader fetches them again."""
        by_file: dict[str, list[str]] = {}
        for cid in conversation_ids:
            entry = manifest["conversations"].get(cid)
            if entry is not None and entry.get("file"):
                by_file.setdefault(entry["file"], []).append(cid)
        out: dict[str, pa.Table] = {}
        for name, cids in by_file.items():
            out.update(self._read_slices(manifest, name, cids, columns, quiet=quiet))
        return out

    def _read_slices(
        self, manifest: dict[str, Any], name: str, cids: list[str], columns: list[str], *, quiet: bool
    ) -> dict[str, pa.Table]:
        path = self.path / name
        entries = manifest["conversations"]
        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore", CacheWarning)
            rows = manifest.get("files", {}).get(name, {}).get("rows")
            table = self.read_table(path, rows=rows, columns=["conversation_id", *columns], expected=True)
        if table is not None and not set(columns) <= set(table.column_names):
            if not quiet:
                warnings.warn(
                    f"chatlens cache: {path} lacks columns of this version; fetching again", CacheWarning, stacklevel=4
                )
            table = None
        out, bad = {}, []
        for cid in cids:
            piece = None if table is None else _slice(table, entries[cid], cid)
            if piece is None:
                bad.append(cid)
                del entries[cid]
            else:
                out[cid] = piece.select(columns)
        if bad and table is not None and not quiet:
            warnings.warn(
                f"chatlens cache: {path} does not hold what the manifest says for {len(bad)} conversation(s); "
                "fetching them again",
                CacheWarning,
                stacklevel=4,
            )
        return out

    def settle(self, manifest: dict[str, Any]) -> bool:
        """Make the dataset folder hold exactly the current rows, in few files (module docs); call it holding
        :meth:`lock`, as a writer finishes. Rewrites ``manifest`` if it changed it; returns whether it did."""
        entries = manifest["conversations"]
        files = manifest.setdefault("files", {})
        held: dict[str, list[str]] = {}
        for cid, entry in entries.items():
            if entry.get("file"):
                held.setdefault(entry["file"], []).append(cid)
        changed = False
        for name in [n for n in files if n not in held]:
            del files[name]
            changed = True
        stale = {n for n, cids in held.items() if files.get(n, {}).get("rows") != sum(entries[c]["rows"] for c in cids)}
        small = {n for n in held if n not in stale and files[n].get("bytes", 0) < SMALL_BYTES}
        if stale or len(small) > SMALL_FILES:
            self._rewrite(manifest, {n: held[n] for n in sorted(stale | small)})
            changed = True
        if changed:
            self.write_manifest(manifest)
        # Only now that the manifest names the new files: the old ones (and any a killed writer left) go.
        named = {Path(n).name for n in files}
        for path in self.messages_dir.glob("*.parquet") if self.messages_dir.exists() else ():
            if path.name not in named:
                path.unlink(missing_ok=True)
        return changed

    def _rewrite(self, manifest: dict[str, Any], held: dict[str, list[str]]) -> None:
        """Rewrite the files ``held`` (name -> the conversations the manifest keeps in it) as new files of their
        current rows only, conversations in order, cut between conversations at about :data:`FILE_BYTES`."""
        entries, files = manifest["conversations"], manifest["files"]
        wholes: list[pa.Table] = []
        kept: list[tuple[str, int, int]] = []  # (conversation, first row in the files read, rows)
        base = 0
        for name, cids in held.items():
            path = self.path / name
            table = self.read_table(path, rows=files.get(name, {}).get("rows"), expected=True)
            files.pop(name, None)
            for cid in cids:
                if table is not None and _slice(table, entries[cid], cid) is not None:
                    kept.append((cid, base + int(entries[cid].get("offset", 0)), int(entries[cid]["rows"])))
                    continue
                if table is not None:
                    warnings.warn(
                        f"chatlens cache: {path} does not hold what the manifest says for {cid!r}; fetching it again",
                        CacheWarning,
                        stacklevel=4,
                    )
                del entries[cid]
            if table is not None:
                wholes.append(self._conform(table))
                base += table.num_rows
        if not kept:
            return
        # One take of the current rows, conversations in order (each file already sorts its own by time and id).
        kept.sort()
        rows = np.concatenate([np.arange(start, start + n) for _, start, n in kept])
        table = pa.concat_tables(wholes).take(pa.array(rows))
        spans, offset = [], 0
        for cid, _, n in kept:
            spans.append((cid, offset, n))
            offset += n
        _, where = self.write_messages(manifest, [table], spans)
        for cid, (name, at) in where.items():
            entries[cid] = {**entries[cid], "file": name, "offset": at}

    def messages_files(self) -> list[Path]:
        """The files of the messages dataset that hold current rows, in read order (by their first conversation;
        each file sorted by conversation, time and id, each conversation in one file). Takes the lock and settles
        the dataset first, so these are exactly the current rows, nothing superseded.

        Examples
        --------
        >>> import tempfile
        >>> import chatlens
        >>> cache_dir = tempfile.mkdtemp()
        >>> frame = chatlens.load_messages("demo", ["general"], progress=False, cache_dir=cache_dir)
        >>> cache = AccountCache(chatlens.connect("demo").identity, cache_dir=cache_dir)
        >>> files = cache.messages_files()
        >>> len(files), files[0].parent.name
        (1, 'messages')
        """
        with self.lock():
            manifest = self.manifest()
            self.settle(manifest)
        files = manifest.get("files", {})
        return [self.path / n for n in sorted(files, key=lambda n: (files[n].get("first", ""), n))]

    def messages_dataset(self) -> pads.Dataset:
        """The messages dataset (:meth:`messages_files`) as a ``pyarrow.dataset.Dataset``: scan it, filter it
        (``pyarrow.dataset.field("created") >= ...``), or hand its files to another engine.

        Examples
        --------
        >>> import tempfile
        >>> import chatlens
        >>> cache_dir = tempfile.mkdtemp()
        >>> frame = chatlens.load_messages("demo", ["general"], progress=False, cache_dir=cache_dir)
        >>> dataset = AccountCache(chatlens.connect("demo").identity, cache_dir=cache_dir).messages_dataset()
        >>> dataset.count_rows() == len(frame), dataset.schema.names[:3]
        (True, ['account', 'service', 'conversation_id'])
        """
        files = self.messages_files()
        schema = pq.read_schema(files[0]) if files else self._empty_schema()
        return pads.dataset([str(f) for f in files], schema=schema, format="parquet")

    def _empty_schema(self) -> pa.Schema:
        frame = empty_frame("messages", raw=self.text, text=self.text).drop(columns="conversation_name")
        return self._conform(pa.Table.from_pandas(frame, preserve_index=False)).schema

    # -- whole-account frames ---------------------------------------------------------------------------------
    def _file(self, name: str) -> Path:
        return self.path / name

    def write_frame(self, path: Path, frame: pd.DataFrame) -> pa.Table:
        """Write a frame as Parquet (zstd), atomically, and return it as the Arrow table written (callers keep
        that rather than converting the frame twice); a text-free cache refuses a frame with a text or raw column
        (the service's JSON holds the text too)."""
        if not self.text and {"text", "raw"} & set(frame.columns):
            raise ValueError(f"a text-free cache cannot store message text ({path.name} has a text or raw column)")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return table

    def read_table(
        self,
        path: Path,
        *,
        rows: int | None = None,
        columns: list[str] | None = None,
        expected: bool = False,
    ) -> pa.Table | None:
        """A cached file as an Arrow table, or None (with a :class:`CacheWarning`) if it is missing (and
        ``expected`` or ``rows`` is given), unreadable, or its row count differs from ``rows``."""
        if not path.exists():
            if rows is not None or expected:
                warnings.warn(f"chatlens cache: {path} is missing; fetching again", CacheWarning, stacklevel=3)
            return None
        try:
            table = pq.read_table(path) if columns is None else _read_columns(path, columns)
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


def _read_columns(path: Path, columns: list[str]) -> pa.Table:
    """``columns`` of a Parquet file (those it has, in that order), in memory from the system allocator: Arrow's
    own keeps what it frees for reuse, and on 1,000,000 messages the read left 0.8x the table's size of the
    decoder's freed buffers resident (0.3x read column by column), which nothing else reuses; freed to malloc,
    they are given back (the table's own buffers too, once a load is done with them)."""
    dataset = pads.dataset(path, format="parquet")
    schema = dataset.schema
    names = [c for c in columns if schema.get_field_index(c) >= 0]
    table = dataset.to_table(columns=names, memory_pool=pa.system_memory_pool())
    release_unused()
    return table


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
    if account is None:
        # Caches of an older layout are never read again: clearing everything clears them too.
        for old in OLD_LAYOUTS:
            stale = cache_root(cache_dir).parent / old
            if stale.is_dir():
                removed += sum(1 for p in stale.iterdir() if p.is_dir())
                shutil.rmtree(stale, ignore_errors=True)
    return removed


def now_iso() -> str:
    """The current time, for ``fetched_at`` bookkeeping only (never used in analyses)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
