"""A few messages' columns by id, for the lists the report and the dashboard show (unanswered threads)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["message_rows", "overdue_threads"]


def overdue_threads(threads: pd.DataFrame, *, until: pd.Timestamp, wait: pd.Timedelta, n: int) -> pd.DataFrame:
    """The ``n`` threads of a :func:`~chatlens.analysis.thread_table` nobody else has answered that have waited over
    ``wait`` at ``until``, the longest-waiting first: the unanswered list of the report and of the dashboard.

    Examples
    --------
    >>> t = pd.DataFrame({"unanswered": [True, True, False], "started": pd.to_datetime(
    ...     ["2026-01-01", "2026-01-05", "2026-01-01"], utc=True)}, index=["a", "b", "c"])
    >>> end = pd.Timestamp("2026-01-05 12:00", tz="UTC")
    >>> overdue_threads(t, until=end, wait=pd.Timedelta("24h"), n=10).index.tolist()
    ['a']
    """
    late = threads["unanswered"].to_numpy(dtype=bool) & (threads["started"] + wait <= until).to_numpy(dtype=bool)
    return threads[late].sort_values("started", kind="stable").head(n).copy()


def message_rows(messages: pd.DataFrame, ids: Iterable[str], columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of the messages with ``ids``, in the order of ``ids`` (NaN where an id is absent), as text.

    Only the chosen rows are turned into Python strings: indexing the whole frame by ``id.astype(str)`` made one
    per message (a million for a ten-row list).

    Examples
    --------
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x", "y", "z"], "sender_name": ["ada", "bo", "ada"]})
    >>> message_rows(m, ["c", "a", "q"], ["text"]).to_dict("list")
    {'text': ['z', 'x', nan]}
    """
    wanted = pd.Index([str(i) for i in ids])
    picked = messages.loc[messages["id"].isin(wanted).to_numpy(dtype=bool), ["id", *columns]]
    rows = pd.DataFrame(
        {c: picked[c].astype(str).to_numpy(dtype=object) for c in columns}, index=picked["id"].astype(str)
    )
    return rows[~rows.index.duplicated()].reindex(wanted)
