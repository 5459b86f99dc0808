"""Weekly rhythm: messages by hour of day and day of week, in a chosen zone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import local_clock, select

__all__ = ["hour_weekday_table", "WEEKDAYS"]

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def hour_weekday_table(
    messages: pd.DataFrame,
    *,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    default_tz: str = "UTC",
) -> pd.DataFrame:
    """A 7 x 24 table of message counts: rows Mon..Sun, columns hours 0..23, local to ``tz``.

    ``tz="member"`` counts each message in its sender's own zone (the ``sender_timezone`` column that
    :func:`chatlens.add_sender_details` adds; ``default_tz`` for senders whose zone is unknown), so a team spread
    over continents shows its real working day rather than one zone's view of it.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a"], "sender_id": ["u"],
    ...                   "created": pd.to_datetime(["2026-01-05 08:30"], utc=True)})  # a Monday
    >>> t = hour_weekday_table(m, tz="Europe/Berlin")
    >>> int(t.loc["Mon", 9]), int(t.values.sum())
    (1, 1)
    >>> m["sender_timezone"] = pd.Categorical(["Asia/Tokyo"])
    >>> int(hour_weekday_table(m, tz="member").loc["Mon", 17])
    1
    """
    picked = select(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    weekday, hour = local_clock(picked, tz, default_tz=default_tz)
    cells = weekday * 24 + hour
    counts = np.bincount(cells.astype(np.int64), minlength=7 * 24).reshape(7, 24)
    table = pd.DataFrame(counts, index=pd.Index(WEEKDAYS, name="weekday"), columns=pd.Index(range(24), name="hour"))
    return table.astype("int64")
