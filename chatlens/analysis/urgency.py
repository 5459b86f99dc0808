"""Urgency: messages by importance per period (Teams marks messages "high" or "urgent"; Slack has no importance)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import fill_periods, local_times, select_columns
from ._docs import shared_docs

__all__ = ["IMPORTANCE_LEVELS", "messages_by_importance"]

#: Teams' importance levels, least urgent first (https://learn.microsoft.com/en-us/graph/api/resources/chatmessage).
IMPORTANCE_LEVELS = ("normal", "high", "urgent")


@shared_docs
def messages_by_importance(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """How many messages of each importance were posted per calendar period.

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
        Indexed by period start: ``normal``, ``high``, ``urgent`` and ``unknown`` (messages whose service has no
        importance, as Slack's).

    Notes
    -----
    level(p) = |{m in p : importance(m) = level}|. The Teams team activity report counts the urgent ones as "Urgent
    messages".

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "sender_id": ["u", "v", "u"],
    ...     "created": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"], utc=True),
    ...     "importance": ["normal", "urgent", None]})
    >>> messages_by_importance(m).values.tolist()
    [[1, 0, 1, 0], [0, 0, 0, 1]]
    """
    columns = [*IMPORTANCE_LEVELS, "unknown"]
    # Only the two columns read, of the rows counted: not a copy of every column (text, lists).
    picked = select_columns(
        messages, ["importance"], include_bots=include_bots, include_system=include_system, since=since, until=until
    )
    if not len(picked):
        empty = pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
        empty.index = pd.DatetimeIndex([], tz=tz, name="period")
        return empty
    if "importance" in picked.columns:
        level = picked["importance"].astype(pd.CategoricalDtype([*IMPORTANCE_LEVELS, "unknown"]))
        level = level.fillna("unknown").reset_index(drop=True)  # per category, not per row
    else:
        level = pd.Series(pd.Categorical.from_codes(np.full(len(picked), len(columns) - 1), categories=columns))
    frame = pd.DataFrame({"period": local_times(picked, tz).reset_index(drop=True), "level": level})
    table = frame.groupby([pd.Grouper(key="period", freq=freq), "level"], observed=False).size().unstack("level")
    table.columns = table.columns.astype(str)
    table = fill_periods(table.reindex(columns=columns, fill_value=0), freq).astype("int64")
    table.columns.name = None
    return table
