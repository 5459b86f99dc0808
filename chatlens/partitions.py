"""Messages as a Dask DataFrame whose partitions hold whole conversations, and any messages dataset read back.

- :func:`read_messages` reads a Parquet dataset in the messages schema (``chatlens.schema.COLUMNS["messages"]``:
  the cache's, one written by ``chatlens import slack-export --to``, by Spark or by hand) from a directory, a glob
  or any URL fsspec understands (``s3://``, ``gs://`` ...), into pandas or Dask;
- :func:`partition_by_conversation` turns a pandas messages frame into a Dask one.

Either way the Dask frame's partitions hold whole conversations, so no reply chain crosses a partition and every
thread-level analysis is a per-partition one (:mod:`chatlens.analysis._distributed`); rows are in the order of
the pandas frame (by conversation, time and id) with its index, a global row number (known divisions).

Reading costs at most one shuffle: none when the files are already ordered by conversation (the layouts chatlens
writes; row groups a conversation continues into are read as one partition), else one range shuffle on
``conversation_id``.

dask is an optional dependency (``pip install "chatlens[dask]"``): imported only here, on first use.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .schema import COLUMNS

__all__ = ["read_messages", "partition_by_conversation", "require_dask", "PARTITION_ROWS"]

#: Rows per partition to aim at (a partition holds whole conversations, so it can be larger if one is).
PARTITION_ROWS = 250_000

#: The columns partitions are ordered by; always read.
ORDER = ("conversation_id", "created", "id")


def require_dask() -> Any:
    """``dask.dataframe``, or an ImportError saying how to install it."""
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise ImportError(
            'chatlens on Dask needs the dask extra: pip install "chatlens[dask]" (dask[dataframe] and distributed)'
        ) from exc
    return dd


def read_messages(
    path: str | os.PathLike[str] | Sequence[str],
    *,
    engine: str = "pandas",
    columns: Sequence[str] | None = None,
    filters: Any = None,
    partition_rows: int = PARTITION_ROWS,
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """Read a Parquet dataset in the messages schema into a pandas or a Dask DataFrame.

    Parameters
    ----------
    path
        A directory of ``.parquet`` files, a glob (``"data/part-*.parquet"``), a list of files, or a URL fsspec
        understands (``"s3://bucket/messages/"``).
    engine
        ``"pandas"`` for one DataFrame, ``"dask"`` for a Dask DataFrame partitioned by conversation (module docs).
    columns
        The columns to read (default all); ``conversation_id``, ``created`` and ``id`` are always read.
    filters
        Row filters pyarrow understands, e.g. ``[("created", ">=", pd.Timestamp("2026-01-01", tz="UTC"))]`` or
        ``[("conversation_id", "in", ["C1", "C2"])]``; applied while reading.
    partition_rows
        With ``engine="dask"``: rows per partition to aim at when the dataset must be repartitioned.
    storage_options
        Passed to fsspec (credentials, endpoints) for URLs.

    Returns
    -------
    DataFrame or dask.dataframe.DataFrame
        Sorted by (conversation_id, created, id), indexed 0..n-1, the declared dtypes of the columns it has.

    Examples
    --------
    >>> import tempfile, os
    >>> from chatlens.loaders import load_messages
    >>> folder = tempfile.mkdtemp()
    >>> m = load_messages("demo", ["general", "random"], progress=False)
    >>> m.iloc[:700].to_parquet(os.path.join(folder, "part-0.parquet"))
    >>> m.iloc[700:].to_parquet(os.path.join(folder, "part-1.parquet"))
    >>> back = read_messages(folder, columns=["sender_id"])
    >>> len(back) == len(m), back.columns.tolist()
    (True, ['conversation_id', 'created', 'id', 'sender_id'])
    >>> d = read_messages(folder, engine="dask")  # the files split #general: one range shuffle
    >>> d.compute()["id"].tolist() == read_messages(folder)["id"].tolist()
    True
    """
    if engine not in ("pandas", "dask"):
        raise ValueError(f"engine must be 'pandas' or 'dask', got {engine!r}")
    wanted = None if columns is None else list(dict.fromkeys([*ORDER, *columns]))
    if engine == "pandas":
        return _read_pandas(path, wanted, filters, storage_options)
    return _read_dask(path, wanted, filters, partition_rows, storage_options)


def _files(path: Any, storage_options: dict[str, Any] | None) -> tuple[Any, list[str]]:
    """The filesystem and the Parquet files of ``path`` (a directory's ``*.parquet`` files, recursively)."""
    import fsspec

    paths = [os.fspath(p) for p in path] if isinstance(path, (list, tuple)) else [os.fspath(path)]
    fs, _ = fsspec.core.url_to_fs(paths[0], **(storage_options or {}))
    found: list[str] = []
    for p in paths:
        root = fs._strip_protocol(p)
        if any(c in root for c in "*?["):
            found += sorted(fs.glob(root))
        elif fs.isdir(root):
            found += sorted(f for f in fs.find(root) if f.endswith(".parquet") and not _hidden(f, root))
        else:
            found.append(root)
    if not found:
        raise FileNotFoundError(f"no Parquet files at {path!r}")
    return fs, found


def _hidden(file: str, root: str) -> bool:
    # Temporary and metadata files (".part-0.parquet.tmp", "_common_metadata") are not data.
    return any(part.startswith((".", "_")) for part in file[len(root) :].split("/") if part)


def _read_pandas(path: Any, columns: list[str] | None, filters: Any, storage_options: Any) -> pd.DataFrame:
    import pyarrow.parquet as pq

    fs, files = _files(path, storage_options)
    table = pq.ParquetDataset(files, filesystem=fs, filters=filters).read(columns=columns)
    frame = _typed(table.to_pandas(ignore_metadata=True))
    return _sorted(frame).reset_index(drop=True)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each messages column cast to its declared dtype (categoricals per frame); others as read."""
    declared = COLUMNS["messages"]
    out = {}
    for c in frame.columns:
        series = frame[c]
        if c in declared and str(series.dtype) != str(declared[c][0]):
            dtype = declared[c][0]
            if not (dtype == "category" and isinstance(series.dtype, pd.CategoricalDtype)):
                series = series.astype(dtype)
        out[c] = series
    return pd.DataFrame(out, index=frame.index)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """By conversation id (its text, not a categorical's category order), time and id; stable."""
    if not len(frame) or _in_order(frame):
        return frame
    return frame.sort_values(
        list(ORDER), kind="stable", key=lambda s: s.astype(str) if s.name == "conversation_id" else s
    )


def _in_order(frame: pd.DataFrame) -> bool:
    """Whether the rows are sorted by (conversation id text, created, id) already (as files chatlens writes are),
    checked on integer keys: a categorical's codes when its categories are in text order."""
    conv = frame["conversation_id"]
    if isinstance(conv.dtype, pd.CategoricalDtype) and conv.cat.categories.astype(str).is_monotonic_increasing:
        key = conv.cat.codes.to_numpy().astype(np.int64)
    else:
        text = conv.astype(str).to_numpy(dtype=object)
        if not (text[1:] >= text[:-1]).all():
            return False
        key = pd.factorize(text)[0]
    created = frame["created"].astype("datetime64[us, UTC]").array.asi8
    d_conv, d_time = np.diff(key), np.diff(created)
    if (d_conv < 0).any() or ((d_conv == 0) & (d_time < 0)).any():
        return False
    ties = np.flatnonzero((d_conv == 0) & (d_time == 0))
    ids = frame["id"].astype(str).to_numpy(dtype=object)
    return bool((ids[ties + 1] >= ids[ties]).all()) if len(ties) else True


def _runs(conversations: pd.Series) -> list[tuple[str, int]]:
    """(conversation id, rows) of each run of equal ids, in order."""
    ids = conversations.astype(str).to_numpy(dtype=object)
    if not len(ids):
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lengths = np.diff(np.r_[starts, len(ids)])
    return list(zip(ids[starts].tolist(), lengths.tolist()))


def _read_dask(path: Any, columns: list[str] | None, filters: Any, partition_rows: int, storage_options: Any) -> Any:
    import dask

    dd = require_dask()
    if partition_rows < 1:
        raise ValueError(f"partition_rows must be at least 1, got {partition_rows}")
    fs, files = _files(path, storage_options)
    # One task per row group (the dataset's unit of about 128 MB), read by pyarrow: the declared dtypes, whatever
    # pandas metadata a writer left.
    pieces = [(f, i) for f in files for i in range(_row_groups(fs, f))] or [(files[0], None)]
    meta = _typed(_arrow_frame(_read_piece(fs, pieces[0][0], None, columns, filters, schema_only=True)))
    ddf = dd.from_map(
        _ReadPiece(fs, columns, filters),
        pieces,
        meta=meta,
        divisions=None,
        label="read-messages",
        enforce_metadata=False,
    )
    # One pass over the conversation ids only: which conversations each partition holds, in what order.
    runs = dask.compute(*[dask.delayed(_runs)(s) for s in ddf["conversation_id"].to_delayed()])
    flat = [r for part in runs for r in part]
    # Ordered: each piece's conversations increase, and a piece starts at or after where the one before ended.
    ordered = all(a[0] < b[0] for part in runs for a, b in itertools.pairwise(part)) and all(
        a[0] <= b[0] for a, b in itertools.pairwise(flat)
    )
    if ordered:
        # No shuffle: pieces a conversation continues into (a row group cut inside it) join the one before.
        groups: list[list[Any]] = []
        sizes = []
        last = None
        for piece, part in zip(ddf.to_delayed(), runs):
            if not part:
                continue
            if groups and part[0][0] == last:
                groups[-1].append(piece)
                sizes[-1] += sum(n for _, n in part)
            else:
                groups.append([piece])
                sizes.append(sum(n for _, n in part))
            last = part[-1][0]
        parts = [g[0] if len(g) == 1 else dask.delayed(_joined)(g) for g in groups]
    else:
        # One range shuffle: conversation ids cut into ranges of about partition_rows rows.
        counts: dict[str, int] = {}
        for cid, n in flat:
            counts[cid] = counts.get(cid, 0) + n
        ids = sorted(counts)
        edges, sizes, rows = [ids[0]], [], 0
        for cid in ids:
            if rows >= partition_rows:
                edges.append(cid)
                sizes.append(rows)
                rows = 0
            rows += counts[cid]
        sizes.append(rows)
        edges.append(ids[-1])
        keyed = ddf.assign(_conversation=ddf["conversation_id"].astype(str))
        # A task shuffle: the P2P one's Arrow round trip loses the Arrow list columns' dtype (mentions).
        shuffled = keyed.set_index("_conversation", divisions=edges, shuffle_method="tasks")
        parts = shuffled.to_delayed()
    if not parts:
        return dd.from_pandas(meta.reset_index(drop=True), npartitions=1)
    offsets = np.r_[0, np.cumsum(sizes)].tolist()
    finished = [dask.delayed(_finish)(p, start) for p, start in zip(parts, offsets)]
    divisions = [*offsets[:-1], offsets[-1] - 1]
    return dd.from_delayed(finished, meta=meta.reset_index(drop=True), divisions=divisions, verify_meta=False)


def _row_groups(fs: Any, file: str) -> int:
    import pyarrow.parquet as pq

    with fs.open(file, "rb") as f:
        return pq.ParquetFile(f).metadata.num_row_groups


def _read_piece(
    fs: Any, file: str, group: int | None, columns: list[str] | None, filters: Any, *, schema_only: bool = False
) -> Any:
    """One row group of ``file`` (all of it for None) as an Arrow table, ``filters`` applied."""
    import pyarrow.parquet as pq

    with fs.open(file, "rb") as f:
        parquet = pq.ParquetFile(f)
        if schema_only:
            schema = parquet.schema_arrow
            return schema.empty_table().select(columns) if columns is not None else schema.empty_table()
        # The columns filters name are read too (a computation may use none of them), and dropped after.
        read = None if columns is None else list(dict.fromkeys([*columns, *_filtered_columns(filters)]))
        table = parquet.read() if group is None else parquet.read_row_group(group, columns=read)
        if group is None and read is not None:
            table = table.select(read)
    if filters is not None:
        table = table.filter(pq.filters_to_expression(filters))
    return table if columns is None else table.select(columns)


def _filtered_columns(filters: Any) -> list[str]:
    """The column names in pyarrow ``filters`` (a list of (name, op, value), or a list of such lists)."""
    if filters is None:
        return []
    if isinstance(filters, (list, tuple)) and filters and isinstance(filters[0], (list, tuple)):
        if filters[0] and isinstance(filters[0][0], (list, tuple)):
            return [t[0] for conj in filters for t in conj]
        return [t[0] for t in filters]
    return []


def _arrow_frame(table: Any) -> pd.DataFrame:
    return table.to_pandas(ignore_metadata=True)


class _ReadPiece:
    """The task that reads one row group (picklable: the filesystem, columns and filters travel with it). Its
    ``columns=`` lets Dask read only the columns a computation uses (the partition check reads one)."""

    def __init__(self, fs: Any, columns: list[str] | None, filters: Any) -> None:
        self.fs, self.columns, self.filters = fs, columns, filters

    def __call__(self, piece: tuple[str, int | None], columns: list[str] | None = None) -> pd.DataFrame:
        wanted = list(columns) if columns is not None else self.columns
        return _typed(_arrow_frame(_read_piece(self.fs, piece[0], piece[1], wanted, self.filters)))


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    from pandas.api.types import union_categoricals

    # Categoricals stay categorical across pieces whose dictionaries differ.
    for c in parts[0].columns:
        if all(isinstance(p[c].dtype, pd.CategoricalDtype) for p in parts):
            cats = union_categoricals([p[c].array for p in parts], sort_categories=True).categories
            parts = [p.assign(**{c: p[c].cat.set_categories(cats)}) for p in parts]
    return pd.concat(parts, ignore_index=True)


def _finish(part: pd.DataFrame, start: int) -> pd.DataFrame:
    """A partition sorted, typed, and numbered from ``start`` (its rows' positions in the whole frame)."""
    frame = _sorted(_typed(part.reset_index(drop=True)))
    return frame.set_axis(pd.RangeIndex(start, start + len(frame)))


def partition_by_conversation(messages: pd.DataFrame, *, partition_rows: int = PARTITION_ROWS) -> Any:
    """A pandas messages frame as a Dask DataFrame whose partitions hold whole conversations, in frame order,
    with the frame's own index (known divisions). With a ``distributed.Client`` the partitions are scattered to
    its workers; without one they are part of the task graph.

    Parameters
    ----------
    messages
        A messages frame whose conversations are contiguous (as :func:`chatlens.load_messages` sorts them) and
        whose index is increasing and unique (a RangeIndex, or a selection of its rows).
    partition_rows
        Rows per partition to aim at; a partition holds at least one whole conversation.

    Examples
    --------
    >>> m = pd.DataFrame({"conversation_id": list("aabbbc"), "id": list("uvwxyz")})
    >>> d = partition_by_conversation(m, partition_rows=2)
    >>> d.npartitions, d.divisions
    (3, (0, 2, 5, 5))
    >>> [sorted(set(part["conversation_id"])) for part in (d.partitions[i].compute() for i in range(3))]
    [['a'], ['b'], ['c']]
    """
    import dask

    dd = require_dask()
    if not isinstance(messages, pd.DataFrame) or "conversation_id" not in messages.columns:
        raise TypeError("messages must be a pandas messages frame with a conversation_id column")
    if partition_rows < 1:
        raise ValueError(f"partition_rows must be at least 1, got {partition_rows}")
    index = messages.index
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError("messages: the index must be increasing and unique (use .reset_index(drop=True))")
    starts = conversation_starts(messages["conversation_id"])
    if starts is None:
        raise ValueError(
            "messages: a conversation's rows are not contiguous; sort by conversation_id first "
            "(chatlens.load_messages does)"
        )
    cuts = _cuts(starts, len(messages), partition_rows)
    if len(cuts) < 2:
        return dd.from_pandas(messages, npartitions=1)
    parts = [messages.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    divisions = [*(index[a] for a in cuts[:-1]), index[-1]]
    try:
        from distributed import get_client

        sources: list[Any] = get_client().scatter(parts)
    except (ImportError, ValueError):  # no distributed client: the parts go into the graph
        sources = [dask.delayed(p, pure=True) for p in parts]
    return dd.from_delayed(sources, meta=messages.iloc[:0], divisions=divisions, verify_meta=False)


def conversation_starts(conversations: pd.Series) -> np.ndarray | None:
    """Positions where a new conversation starts (0 first), or None if some conversation's rows are split."""
    codes, _ = pd.factorize(conversations, use_na_sentinel=False)
    if not len(codes):
        return np.array([], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    # Codes are numbered by first appearance: contiguous runs are numbered 0, 1, 2 ... in order.
    if not np.array_equal(codes[starts], np.arange(len(starts))):
        return None
    return starts


def _cuts(starts: np.ndarray, n: int, rows: int) -> list[int]:
    """Partition boundaries at conversation starts, each partition about ``rows`` rows (0 and n included)."""
    if not n:
        return [0]
    cuts = [0]
    for s in starts[1:].tolist():
        if s - cuts[-1] >= rows:
            cuts.append(s)
    return [*cuts, n]
