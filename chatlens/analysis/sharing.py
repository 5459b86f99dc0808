"""Files shared: how many per period, on how many messages, of which kinds (Slack's "files uploaded", the Teams
"files shared" figure). Read from the messages frame's ``file_kinds`` column; no file is ever opened."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ._common import arrow_categorical, fill_periods, flatten_lists, list_column, local_times, select_mask
from ._docs import shared_docs

__all__ = ["files_shared", "files_added"]


@shared_docs
def files_shared(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Files shared per calendar period, in all and by kind.

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by period start (every period from the first to the last counted message): ``files``,
        ``messages_with_files``, then one column per file kind present (``image``, ``pdf``, ...:
        :data:`chatlens.backends.file_kinds.FILE_KINDS`), most shared first.

    Notes
    -----
    files(p) = Σ file_count over the counted messages created in p; messages_with_files(p) = |{m in p :
    file_count(m) > 0}|. Slack's analytics call it "files uploaded" (the admin analytics API's files_added_count).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> f = files_shared(load_messages("demo", progress=False), freq="MS")
    >>> list(f.columns[:2]), bool((f["files"] >= f["messages_with_files"]).all())
    (['files', 'messages_with_files'], True)
    """
    rows = np.flatnonzero(
        select_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    )
    if not len(rows):
        empty = pd.DataFrame({"files": pd.Series(dtype="int64"), "messages_with_files": pd.Series(dtype="int64")})
        empty.index = pd.DatetimeIndex([], tz=tz, name="period")
        return empty
    picked = messages[[c for c in ("created", "file_kinds") if c in messages.columns]].iloc[rows]  # not every column
    when = local_times(picked, tz).reset_index(drop=True)
    bins = pd.Grouper(key="period", freq=freq)
    if "file_kinds" in picked.columns:
        lists = list_column(picked["file_kinds"])
        counts = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        parents, kinds = flatten_lists(lists)
        flat = arrow_categorical(kinds)
    else:
        counts, flat, parents = np.zeros(len(picked), np.int64), pd.Categorical([]), np.array([], np.int64)
    base = pd.DataFrame({"period": when, "files": counts, "messages_with_files": (counts > 0).astype(int)})
    table = base.groupby(bins)[["files", "messages_with_files"]].sum()
    if len(flat):
        by_kind = pd.DataFrame({"period": when.iloc[parents].reset_index(drop=True), "kind": flat})
        wide = by_kind.groupby([bins, "kind"], observed=True).size().unstack("kind", fill_value=0)
        wide.columns = wide.columns.astype(str)
        order = wide.sum().sort_values(ascending=False, kind="stable").index
        table = table.join(wide[order], how="left")
    table = fill_periods(table.fillna(0), freq).astype("int64")
    table.columns.name = None
    return table


@shared_docs
def files_added(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """How many files the counted messages of the range shared (Slack's "files uploaded").

    Parameters
    ----------
    %(messages)s
    %(since_until)s
    %(include)s

    Returns
    -------
    int

    Notes
    -----
    files added = Σ file_count(m) over counted messages m with since <= created(m) < until.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", progress=False)
    >>> files_added(m) == int(files_shared(m)["files"].sum())
    True
    """
    keep = select_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    if "file_count" not in messages.columns:
        return 0
    return int(messages["file_count"][keep].fillna(0).sum())
