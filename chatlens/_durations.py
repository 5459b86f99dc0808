"""Durations as people read them, the one wording the report, the dashboard and the plots share."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["duration_words"]


def duration_words(value: Any) -> str:
    """A duration as people read it: "3 h 57 min", "45 min", "2 d 4 h", "under a minute"; "–" when missing.
    Whole minutes (hours and days above a day), cut, not rounded, as a clock shows them.

    Examples
    --------
    >>> duration_words(pd.Timedelta(hours=3, minutes=57, seconds=20)), duration_words(pd.Timedelta("45min"))
    ('3 h 57 min', '45 min')
    >>> duration_words(pd.Timedelta(days=2, hours=4, minutes=10)), duration_words(pd.Timedelta(seconds=20))
    ('2 d 4 h', 'under a minute')
    >>> duration_words(pd.NaT)
    '–'
    """
    if value is None or pd.isna(value):
        return "–"
    minutes = int(pd.Timedelta(value).total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
