"""Taking the data elsewhere: the tidy frames as Parquet, CSV or XLSX files (``chatlens export``).

:func:`export_tables` writes an account's frames (or frames you pass) in one of three formats:

- ``"parquet"``: a directory with one ``<table>.parquet`` file per table and an ``export.json`` manifest (what was
  written, with which privacy options). Each file keeps the columns and dtypes of :mod:`chatlens.schema`;
  :func:`read_tables` gives the frames back with exactly those dtypes. ``pd.read_parquet`` reads the files too,
  with pandas' own choices where it has them (pandas 3 reads Arrow strings as its ``str`` dtype and, having no
  name for an Arrow list dtype, lists as arrays), and so do DuckDB, Polars, Spark or a warehouse's loader.
- ``"csv"``: a directory with one UTF-8 ``<table>.csv`` per table and the manifest, written by Arrow's CSV writer.
  Times are ISO 8601 in UTC (``2025-01-31 09:30:00.000000Z``), booleans ``true`` and ``false``, lists and records
  (``mentions``) JSON arrays, missing values empty cells.
- ``"xlsx"``: one workbook, one sheet per table, through openpyxl (``pip install "chatlens[xlsx]"``). Excel has no
  time zones, so times are written as UTC wall-clock times without a zone (to the millisecond, Excel's
  resolution); lists are JSON text; control characters XML cannot hold become U+FFFD (and XML reads a carriage
  return as a line feed); a table over Excel's 1,048,576 rows is refused, a cell over its 32,767 characters cut
  (with a warning).

The tables are those of :data:`TABLES`: the loaders' frames (``chatlens.load_*``), and the tidy long forms of the
messages' reactions and membership events (:func:`chatlens.analysis.reaction_rows`,
:func:`chatlens.analysis.membership_changes`, every message counted).

Spreadsheets and formula injection. A spreadsheet program that opens a CSV (or an XLSX written by a library that
takes ``=...`` for a formula) runs any cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a
message or a name is whatever someone typed: ``=HYPERLINK("http://x", "click")`` would become a live link that
can carry the sheet's data away. OWASP's CSV Injection page (https://owasp.org/www-community/attacks/CSV_Injection)
says no cell may begin with ``=``, ``+``, ``-``, ``@``, tab (0x09), carriage return (0x0D) or line feed (0x0A),
and that the field separator and quotes need care too, since they could start a new cell with one of those
characters. So, in CSV and XLSX alike:

- a string cell whose first character is one of those, or whose first character after leading whitespace and
  quote characters (``'``, ``"``) is, gets a single quote in front (``'=HYPERLINK(...)``), which spreadsheets
  show as text; the leading-whitespace case covers programs that trim spaces on import;
- every string cell of a CSV is quoted (and quotes in it doubled, RFC 4180), so a comma, a quote or a line break
  inside a value cannot start a new cell. The separator is the comma: a program told to split on another one
  (``;`` in some locales) would split inside values, and no prefix at a cell's start can prevent that without
  rewriting message text (every ``", @ada"`` or ``"- item"`` line); open the files as comma-separated, or use
  XLSX, which has no separator;
- only string cells are changed (texts, names, ids, and column names, which can be names too): numbers, booleans
  and times are written as they are, so ``-2`` in a numeric column stays the number -2, while the text ``"-2+3"``
  becomes ``'-2+3``. A reader who wants the original strings back removes the one leading quote where it is
  followed by one of those characters (:func:`to_safe_csv` is the same rule for any frame).

Privacy, as in the rest of chatlens: no message text unless ``text=True`` (messages are loaded text-free, with
``text_length`` and ``is_question`` in its place), never the service's ``raw`` JSON, and ``anonymize=True``
replaces every person's id, name and email by the keyed pseudonyms of :mod:`chatlens.privacy`, the same in every
table (a member's pseudonym in ``messages.sender_id`` is the one in ``members.user_id`` and ``users.id``). Text and
pseudonyms cannot be combined: message text names people.

Writing is all or nothing: the files go to a temporary directory (or file) beside ``out`` and are renamed into
place when complete, so an interrupted export leaves no half-written output.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ._stack import user_stacklevel
from .analysis import membership_changes, reaction_rows
from .chatapi import ChatAPI
from .errors import PermissionDenied
from .loaders import load_conversations, load_groups, load_members, load_messages, load_users
from .privacy import new_salt, pseudonymize
from .schema import SCHEMA_VERSION, text_free

__all__ = [
    "FORMATS",
    "TABLES",
    "Exported",
    "Table",
    "export_tables",
    "neutralize",
    "read_tables",
    "to_safe_csv",
]

#: The formats :func:`export_tables` writes.
FORMATS = ("parquet", "csv", "xlsx")
MANIFEST = "export.json"
_XLSX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
_XLSX_CELL = 32_767  # Excel's characters per cell
# OWASP's characters, at the start or after leading whitespace and quotes; one pattern for Python's re and
# Arrow's RE2 alike (so ASCII whitespace, written out: the two engines' \s differ).
_FORMULA_PATTERN = r"^[ \t\r\n\f\v'\"]*[=+\-@\t\r\n]"
_FORMULA = re.compile(_FORMULA_PATTERN)


@dataclass(frozen=True, kw_only=True)
class Table:
    """How one exported table is made: by a public loader (``loader``; ``text`` says whether it takes ``text=``),
    or from the account's messages (``from_messages``: the tidy long forms of the messages frame's list columns)."""

    loader: Callable[..., pd.DataFrame] | None = None
    text: bool = False
    from_messages: Callable[[pd.DataFrame], pd.DataFrame] | None = None


def _reactions(messages: pd.DataFrame) -> pd.DataFrame:
    # Every reaction the history holds, to bots' messages and system events too: an export leaves nothing out.
    return reaction_rows(messages, include_bots=True, include_system=True)


#: Every table :func:`export_tables` can write, in the order written; a new table is one line here.
TABLES: dict[str, Table] = {
    "messages": Table(loader=load_messages, text=True),
    "conversations": Table(loader=load_conversations),
    "members": Table(loader=load_members),
    "users": Table(loader=load_users),
    "groups": Table(loader=load_groups),
    "reactions": Table(from_messages=_reactions),  # one row per message, emoji and reacting user
    "membership_changes": Table(from_messages=membership_changes),  # one row per join or leave
}


@dataclass(frozen=True, kw_only=True)
class Exported:
    """What :func:`export_tables` wrote: the path, the format, and the rows of each table."""

    path: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)
    text: bool = False
    anonymized: bool = False


# -- formula injection ---------------------------------------------------------------------------------------


def neutralize(values: pd.Series) -> pd.Series:
    """``values`` with each string that a spreadsheet would run as a formula prefixed by a single quote (module
    docs); a column that holds no strings (numbers, booleans, times) is returned unchanged.

    Parameters
    ----------
    values
        Any column; strings may be ``str``, Arrow or categorical. Never modified.

    Returns
    -------
    A new Series: Arrow strings for a string column, a categorical (its categories neutralised) for a
    categorical one, objects for an object column (only its strings changed); or ``values`` itself when it holds
    no strings.

    Examples
    --------
    >>> s = pd.Series(['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\\tx", " =1", "hello", None])
    >>> neutralize(s).tolist()
    ['\\'=HYPERLINK("http://x")', "'+1", "'-2+3", "'@SUM(A1)", "'\\tx", "' =1", 'hello', <NA>]
    >>> neutralize(pd.Series([-2, 3])).tolist()
    [-2, 3]
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = pd.Series(values.cat.categories)
        if not _holds_strings(categories):
            return values
        # Once per category, not per row.
        safe = [_safe(c) for c in categories]
        if len(set(safe)) == len(safe):
            return values.cat.rename_categories(safe)
        # "=a" beside "'=a": the two become one value, so the column is one of objects.
        table = np.array([*safe, None], dtype=object)  # code -1 (missing) picks the trailing None
        return pd.Series(table[values.cat.codes.to_numpy()], index=values.index, name=values.name, dtype=object)
    if pd.api.types.is_object_dtype(dtype):
        return values.map(_safe) if _holds_strings(values) else values
    if not _holds_strings(values):
        return values
    strings = pa.array(values, type=pa.string(), from_pandas=True)
    return pd.Series(
        pd.arrays.ArrowExtensionArray(_safe_strings(strings)), index=values.index, name=values.name, copy=False
    )


def _safe_strings(strings: pa.Array) -> pa.Array:
    """An Arrow string array neutralised in Arrow's kernels (no Python string per row)."""
    risky = pc.match_substring_regex(strings, _FORMULA_PATTERN)
    return pc.if_else(risky, pc.binary_join_element_wise("'", strings, ""), strings)


def _holds_strings(values: pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    if isinstance(dtype, pd.StringDtype):
        return True
    if pd.api.types.is_object_dtype(dtype):
        return bool(values.map(lambda v: isinstance(v, str)).any())
    return False


def _safe(value: Any) -> Any:
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def _is_list(values: pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_list(dtype.pyarrow_dtype) or pa.types.is_large_list(dtype.pyarrow_dtype)
    return pd.api.types.is_object_dtype(dtype) and bool(
        values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any()
    )


def _as_json(values: pd.Series) -> pd.Series:
    """A column of lists (of ids, or of records such as reactions) as JSON text, missing lists as None."""
    if isinstance(values.dtype, pd.ArrowDtype):
        lists = pa.array(values)
        if isinstance(lists, pa.ChunkedArray):
            lists = lists.combine_chunks()
        # Most messages mention, react to and attach nothing: "[]" without a Python object per empty list.
        full = np.flatnonzero(pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False))
        dumped = np.where(lists.is_null().to_numpy(zero_copy_only=False), None, "[]").astype(object)
        items = lists.take(pa.array(full, type=pa.int64())).to_pylist()
        dumped[full] = [json.dumps(v, ensure_ascii=False, default=_json_scalar) for v in items]
    else:
        items = [None if _missing(v) else list(v) for v in values.astype(object)]
        dumped = [None if v is None else json.dumps(v, ensure_ascii=False, default=_json_scalar) for v in items]
    return pd.Series(dumped, index=values.index, name=values.name, dtype=object)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _csv_table(frame: pd.DataFrame, *, index: bool) -> pa.Table:
    """``frame`` as the Arrow table the CSV writer writes: strings (column names too) neutralised, lists and
    records as JSON text, durations and anything else the writer has no text for as their pandas text."""
    if index:
        frame = frame.reset_index()
    arrays = [_csv_column(frame[column]) for column in frame.columns]
    return pa.Table.from_arrays(arrays, names=[_safe(str(c)) for c in frame.columns])


def _csv_column(values: pd.Series) -> pa.Array:
    if _is_list(values) or _is_struct(values):
        return pa.array(_as_json(values), type=pa.string(), from_pandas=True)
    if pd.api.types.is_object_dtype(values.dtype):
        present = values.dropna()
        if len(present) and not present.map(lambda v: isinstance(v, str)).any():
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.notna().sum() == len(present):
                return pa.array(numbers, from_pandas=True)
        # A column is numbers or text: one holding strings is written as text.
        values = values.map(lambda v: v if _missing(v) else str(v))
    safe = neutralize(values)
    try:
        array = pa.array(safe, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if array is None or not _csv_writable(array.type):
        text = safe.map(lambda v: None if _missing(v) else str(v))
        array = _safe_strings(pa.array(text, type=pa.string(), from_pandas=True))
    return array


def _csv_writable(typ: pa.DataType) -> bool:
    if pa.types.is_dictionary(typ):
        return _csv_writable(typ.value_type)
    checks = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating)
    more = (pa.types.is_boolean, pa.types.is_timestamp, pa.types.is_date, pa.types.is_null)
    return any(check(typ) for check in (*checks, *more))


def _is_struct(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_struct(values.dtype.pyarrow_dtype)


def _write_csv(frame: pd.DataFrame, sink: Any, *, index: bool) -> None:
    # "needed" quotes every string (and no number): so a value's comma, quote or line break stays in its cell.
    options = pa_csv.WriteOptions(quoting_style="needed")
    pa_csv.write_csv(_csv_table(frame, index=index), sink, options)


def to_safe_csv(frame: pd.DataFrame, *, index: bool | None = None) -> str:
    """``frame`` as CSV text that is safe to open in a spreadsheet (module docs): for the dashboard's download of
    the table it shows, or any table a user takes elsewhere.

    Parameters
    ----------
    frame
        Any DataFrame (a loader's frame or an analysis result); never modified.
    index
        Write the index as the first column(s); None (default) writes it when it has a name.

    Returns
    -------
    The CSV text: a header line, then one line per row, every string cell quoted; times in ISO 8601, lists as
    JSON arrays.

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ["Ada", "=1+2"], "delta": [-2, 3]})
    >>> print(to_safe_csv(frame), end="")
    "name","delta"
    "Ada",-2
    "'=1+2",3
    """
    if index is None:
        # A named index is data (member_summary's members); an unnamed one is row numbers, kept or filtered.
        index = any(name is not None for name in frame.index.names)
    buffer = io.BytesIO()
    _write_csv(frame, buffer, index=index)
    return buffer.getvalue().decode("utf-8")


# -- exporting -----------------------------------------------------------------------------------------------


def export_tables(
    source: Mapping[str, pd.DataFrame] | ChatAPI | str | None,
    out: str | os.PathLike[str],
    *,
    format: str = "parquet",  # noqa: A002 - the word users type (--format)
    tables: Iterable[str] | str | None = None,
    text: bool = False,
    anonymize: bool = False,
    salt: str | bytes | None = None,
    progress: bool = True,
    cache_dir: str | None = None,
) -> Exported:
    """Write tidy frames as Parquet, CSV or XLSX (module docs), all or nothing.

    Parameters
    ----------
    source
        An account (a backend, an account name, or None for the demo), whose tables are loaded with the public
        loaders; or a dict of frames by table name (loader frames or any others) to write as they are.
    out
        For ``"parquet"`` and ``"csv"`` a directory: it must not exist, be empty, or hold an earlier export
        (which is replaced whole). For ``"xlsx"`` a file (replaced if it exists). Its parent must exist.
    format
        ``"parquet"``, ``"csv"`` or ``"xlsx"``.
    tables
        Table names (a list, or a comma-separated string); None for every table of :data:`TABLES` the account
        allows (one it refuses is left out with a warning), or every frame of a dict.
    text
        Keep message text. Default off: messages are loaded text-free (``text_length`` and ``is_question`` in its
        place), and frames passed with a ``text`` column are made text-free the same way.
    anonymize
        Replace people's ids, names and emails by keyed pseudonyms, consistently across tables
        (:func:`chatlens.privacy.pseudonymize`). Not with ``text=True``.
    salt
        The pseudonyms' secret key; None makes a fresh random one, so two exports cannot be linked.
    progress, cache_dir
        As for the loaders.

    Returns
    -------
    An :class:`Exported` record: the path written, the format, and each table's rows.

    Raises
    ------
    ValueError
        For an unknown format or table, ``text`` with ``anonymize``, or an ``out`` that cannot be written
        (a missing or unwritable parent, a non-empty directory that is no export, a sheet over Excel's rows).
    ImportError
        For ``"xlsx"`` without openpyxl (``pip install "chatlens[xlsx]"``).

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "acme"
    >>> done = export_tables("demo", out, tables="conversations,users", anonymize=True, progress=False)
    >>> sorted(p.name for p in out.iterdir()), done.rows["users"]
    (['conversations.parquet', 'export.json', 'users.parquet'], 35)
    >>> users = read_tables(out)["users"]
    >>> bool(users["id"].str.startswith("member-").all()), users["email"].dropna().str[-16:].unique().tolist()
    (True, ['@example.invalid'])
    >>> export_tables("demo", out, tables=["messages", "reactionz"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: tables: unknown table 'reactionz' (known: messages, conversations, members, users, groups, ...)
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if text and anonymize:
        raise ValueError("text=True cannot be combined with anonymize=True: message text names people")
    frames_given = isinstance(source, Mapping)
    known = list(source) if frames_given else list(TABLES)
    wanted = _table_names(tables, known, "frames" if frames_given else "known")
    if format == "xlsx":
        _openpyxl()
    target = Path(out)
    _check_out(target, format)
    if frames_given:
        frames = {name: source[name] for name in wanted}  # type: ignore[index]
    else:
        frames = _load(source, wanted, explicit=tables is not None, text=text, progress=progress, cache_dir=cache_dir)
    frames = _private(frames, text=text, anonymize=anonymize, salt=salt)
    if format == "xlsx":
        _write_atomic_file(target, lambda path: _write_xlsx(frames, path))
    else:
        manifest = {
            "written_by": "chatlens export",
            "schema_version": SCHEMA_VERSION,
            "format": format,
            "text": text,
            "anonymized": anonymize,
            "tables": {name: {"file": f"{name}.{format}", "rows": len(f)} for name, f in frames.items()},
        }
        _write_atomic_dir(target, lambda folder: _write_files(frames, folder, format, manifest))
    return Exported(
        path=target, format=format, rows={n: len(f) for n, f in frames.items()}, text=text, anonymized=anonymize
    )


def _table_names(tables: Iterable[str] | str | None, known: list[str], word: str) -> list[str]:
    if tables is None:
        return known
    names = [t.strip() for t in tables.split(",")] if isinstance(tables, str) else [str(t) for t in tables]
    names = [n for n in names if n]
    if not names:
        raise ValueError("tables: name at least one table")
    unknown = [n for n in names if n not in known]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        listed = ", ".join(repr(n) for n in unknown)
        raise ValueError(f"tables: unknown table{plural} {listed} ({word}: {', '.join(known)})")
    return list(dict.fromkeys(names))  # in the order asked, each once


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError as exc:
        raise ImportError(
            'format="xlsx" needs openpyxl, which the xlsx extra installs: pip install "chatlens[xlsx]"'
        ) from exc
    return openpyxl


def _check_out(target: Path, format: str) -> None:  # noqa: A002
    """Refuse, before anything is loaded, an ``out`` that could not be written."""
    parent = target.parent
    if not parent.is_dir():
        raise ValueError(f"out: cannot write {target}: its directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write {target}: its directory {parent} is not writable")
    if format == "xlsx":
        if target.is_dir():
            raise ValueError(f"out: {target} is a directory; xlsx writes one file (e.g. {target / 'export.xlsx'})")
        return
    if target.exists() and not target.is_dir():
        raise ValueError(f"out: {target} is a file; {format} writes a directory of files")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise ValueError(f"out: {target} is a directory that holds files and no earlier export; choose another")


def _load(
    api: ChatAPI | str | None, names: list[str], *, explicit: bool, text: bool, progress: bool, cache_dir: str | None
) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    loaded: dict[str, pd.DataFrame] = {}  # the messages, loaded once for every table made from them
    for name in names:
        table = TABLES[name]
        try:
            if table.from_messages is not None:
                messages = frames.get("messages", loaded.get("messages"))
                if messages is None:
                    messages = loaded["messages"] = load_messages(
                        api, text=False, progress=progress, cache_dir=cache_dir
                    )
                frames[name] = table.from_messages(messages)
            else:
                assert table.loader is not None, f"table {name} names neither a loader nor from_messages"
                options = {"progress": progress, "cache_dir": cache_dir, **({"text": text} if table.text else {})}
                frames[name] = table.loader(api, **options)
        except PermissionDenied as exc:
            if explicit:
                raise
            warnings.warn(f"{name} left out of the export: {exc}", UserWarning, stacklevel=user_stacklevel())
    return frames


def _private(
    frames: dict[str, pd.DataFrame], *, text: bool, anonymize: bool, salt: str | bytes | None
) -> dict[str, pd.DataFrame]:
    """The frames as the privacy options allow: never ``raw``, text only if asked, pseudonyms if asked."""
    out = {}
    for name, frame in frames.items():
        frame = frame.drop(columns="raw") if "raw" in frame.columns else frame
        out[name] = frame if text else text_free(frame)
    return pseudonymize(out, new_salt() if salt is None else salt) if anonymize else out


# -- writing -------------------------------------------------------------------------------------------------


def _write_atomic_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Write into a fresh directory beside ``target``, then rename it into place (replacing an earlier export)."""
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise ValueError(f"out: cannot write in {target.parent}: {exc.strerror}") from exc
    old = None
    try:
        write(folder)
        if target.is_dir():
            if any(target.iterdir()):
                old = target.with_name(f".{target.name}.{os.getpid()}.old")
                target.rename(old)
            else:
                target.rmdir()
        folder.rename(target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if old is not None and not target.exists():
            old.rename(target)  # the earlier export comes back whole
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_atomic_file(target: Path, write: Callable[[Path], None]) -> None:
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ValueError(f"out: cannot write in {target.parent}: {exc.strerror}") from exc
    os.close(handle)
    try:
        write(Path(name))
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _write_files(frames: dict[str, pd.DataFrame], folder: Path, format: str, manifest: dict) -> None:  # noqa: A002
    for name, frame in frames.items():
        path = folder / f"{name}.{format}"
        if format == "parquet":
            pq.write_table(_arrow_table(frame), path, compression="zstd")
        else:
            _write_csv(frame, str(path), index=False)
    # Last: a directory with its manifest is a complete export.
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table whose pandas metadata ``pd.read_parquet`` can read: pandas has no name for an
    Arrow list dtype, and stops at the one pyarrow records, so list columns are recorded as object columns."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = json.loads(table.schema.metadata[b"pandas"])
    for column in meta["columns"]:
        if str(column.get("numpy_type", "")).startswith(("list<", "large_list<")):
            column["numpy_type"] = "object"
    return table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(meta).encode()})


def _arrow_dtypes(typ: pa.DataType) -> pd.ArrowDtype | None:
    """The dtypes :mod:`chatlens.schema` keeps in Arrow: strings, lists and records (the rest as pandas reads)."""
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_list(typ) or pa.types.is_struct(typ):
        return pd.ArrowDtype(typ)
    return None


def read_tables(path: str | os.PathLike[str], tables: Iterable[str] | str | None = None) -> dict[str, pd.DataFrame]:
    """The frames of a Parquet export (:func:`export_tables`), with the dtypes they were written with.

    Parameters
    ----------
    path
        The export's directory.
    tables
        Table names (a list or a comma-separated string); None for every table the export holds.

    Returns
    -------
    A dict of table name to DataFrame, in the export's order.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "acme"
    >>> _ = export_tables("demo", out, tables="users", progress=False)
    >>> read_tables(out)["users"].dtypes["id"]
    string[pyarrow]
    """
    folder = Path(path)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"path: {folder} holds no chatlens export (no {MANIFEST})") from None
    if manifest.get("format") != "parquet":
        raise ValueError(f"path: {folder} is a {manifest.get('format')} export; read_tables reads Parquet exports")
    names = _table_names(tables, list(manifest["tables"]), "exported")
    return {
        n: pq.read_table(folder / manifest["tables"][n]["file"]).to_pandas(types_mapper=_arrow_dtypes) for n in names
    }


def _write_xlsx(frames: dict[str, pd.DataFrame], path: Path) -> None:
    openpyxl = _openpyxl()
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    cut = 0
    for name, frame in frames.items():
        if len(frame) + 1 > _XLSX_ROWS:
            raise ValueError(
                f"format: the {name} table has {len(frame):,} rows, more than an Excel sheet holds "
                f"({_XLSX_ROWS - 1:,}); export it as parquet or csv"
            )
        sheet = workbook.create_sheet(title=name[:31])
        columns = []
        for column in frame.columns:
            values, trimmed = _xlsx_column(frame[column], ILLEGAL_CHARACTERS_RE)
            columns.append(values)
            cut += trimmed
        sheet.append([_safe(str(c)) for c in frame.columns])
        for row in zip(*columns):
            sheet.append(row)
    if cut:
        warnings.warn(
            f"{cut:,} cell(s) were cut to Excel's {_XLSX_CELL:,} characters; parquet and csv keep them whole",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    workbook.save(path)


def _xlsx_column(values: pd.Series, illegal: re.Pattern[str]) -> tuple[list[Any], int]:
    """One column as cell values: times as naive UTC datetimes, lists as JSON text, strings neutralised and cleared
    of the control characters XML cannot hold, missing values empty."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return [None if pd.isna(v) else v.to_pydatetime() for v in naive], 0
    if pd.api.types.is_datetime64_dtype(dtype):
        return [None if pd.isna(v) else v.to_pydatetime() for v in values], 0
    if isinstance(dtype, pd.CategoricalDtype) and not _holds_strings(pd.Series(values.cat.categories)):
        values = values.astype(object)
    if _is_list(values) or _is_struct(values):
        values = _as_json(values)
    if _holds_strings(values) or isinstance(dtype, pd.CategoricalDtype):
        cells = [None if _missing(v) else v for v in neutralize(values).tolist()]
        trimmed = 0
        for i, v in enumerate(cells):
            if isinstance(v, str):
                v = illegal.sub("\ufffd", v)
                if len(v) > _XLSX_CELL:
                    v, trimmed = v[:_XLSX_CELL], trimmed + 1
                cells[i] = v
        return cells, trimmed
    return [None if _missing(v) else _plain(v) for v in values.astype(object)], 0


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as the Python value openpyxl writes."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    return value
