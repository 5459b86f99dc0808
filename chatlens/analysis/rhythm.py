"""Weekly rhythm: messages by hour of day and day of week, and the share posted outside working hours."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    UnknownTimeZoneWarning,
    holiday_array,
    is_time_zone,
    local_clock,
    member_codes,
    options,
    renamed,
    select_columns,
    wall_clock,
    working_hours,
)
from ._distributed import distributed
from ._docs import shared_docs

__all__ = ["WEEKDAYS", "UnknownTimeZoneWarning", "after_hours_share", "hour_weekday_table", "unknown_timezones"]

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@distributed
@shared_docs
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
    :func:`chatlens.add_sender_details` adds; ``default_tz`` for senders whose zone is missing, or not in this
    machine's tz database, with an :class:`UnknownTimeZoneWarning` naming such zones), so a team spread over
    continents shows its real working day rather than one zone's view of it.

    Parameters
    ----------
    %(messages)s
    %(member_tz)s
    %(since_until)s
    %(include)s

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
    picked = select_columns(
        messages,
        ("created", "sender_timezone"),
        include_bots=include_bots,
        include_system=include_system,
        since=since,
        until=until,
    )
    weekday, hour = local_clock(picked, tz, default_tz=default_tz)
    cells = weekday * 24 + hour
    counts = np.bincount(cells.astype(np.int64), minlength=7 * 24).reshape(7, 24)
    table = pd.DataFrame(counts, index=pd.Index(WEEKDAYS, name="weekday"), columns=pd.Index(range(24), name="hour"))
    return table.astype("int64")


@shared_docs
def after_hours_share(
    messages: pd.DataFrame,
    *,
    tz: str = "UTC",
    default_tz: str = "UTC",
    hours: tuple[float, float] = (9, 18),
    weekend: bool = True,
    holidays: Iterable[Any] | None = None,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    workday: tuple[float, float] | None = None,
) -> float:
    """Share of messages posted outside the working day, on the wall clock of ``tz``.

    Parameters
    ----------
    %(messages)s
    %(member_tz)s
    %(hours)s
    weekend
        Count Saturday and Sunday as after hours, whatever the hour.
    %(holidays)s
    %(since_until)s
    %(include)s

    Returns
    -------
    float
        NaN when no message counts.

    Notes
    -----
    after-hours share = |{m : hour(m) < start or hour(m) >= end, or (weekend and weekday(m) in {Sat, Sun}), or
    date(m) in holidays}| / |{m}|, with hour, weekday and date local to ``tz`` (or to each sender's zone).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> 0 < after_hours_share(m, tz="Europe/Berlin") < 0.5
    True
    """
    start, end = working_hours(renamed(hours, workday, new_name="hours", old_name="workday", default=(9, 18)), "hours")
    picked = select_columns(
        messages, ("created", "sender_timezone"), since=since, until=until, **options(include_bots, include_system)
    )
    if picked.empty:
        return float("nan")
    local = wall_clock(picked, tz, default_tz=default_tz)
    hour = local.dt.hour.to_numpy() + local.dt.minute.to_numpy() / 60 + local.dt.second.to_numpy() / 3600
    outside = (hour < start) | (hour >= end)
    if weekend:
        outside |= local.dt.day_of_week.to_numpy() >= 5
    if holidays is not None:
        dates = local.dt.normalize().to_numpy().astype("datetime64[D]")
        outside |= np.isin(dates, holiday_array(holidays))
    return float(outside.mean())


@shared_docs
def unknown_timezones(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """The senders' time zones this machine's tz database does not know, which ``tz="member"`` analyses count on
    the ``default_tz`` clock instead: a zone since removed from the database (``US/Pacific-New`` left it in
    tzdata 2020b) or a value that is no zone at all. Senders with no zone (<NA>) are not listed.

    Parameters
    ----------
    %(messages)s
        Needs the ``sender_timezone`` column (:func:`chatlens.add_sender_details`).
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        One row per unknown zone (index ``timezone``, the value as the data holds it), with ``members`` (distinct
        senders) and ``messages``, most messages first; no rows when every zone is known.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "sender_id": ["u", "v", "v"],
    ...                   "created": pd.to_datetime(["2026-01-05"] * 3, utc=True),
    ...                   "sender_timezone": pd.Categorical(["US/Pacific-New", "Asia/Tokyo", "Asia/Tokyo"])})
    >>> unknown_timezones(m)
                    members  messages
    timezone
    US/Pacific-New        1         1
    """
    if "sender_timezone" not in messages.columns:
        raise ValueError("unknown_timezones needs a sender_timezone column: add it with chatlens.add_sender_details")
    picked = select_columns(
        messages, ("sender_id", "sender_timezone"), since=since, until=until, **options(include_bots, include_system)
    )
    zones = picked["sender_timezone"].astype("category")
    names = pd.Index([str(z) for z in zones.cat.categories], dtype=object)
    # One look-up per distinct zone, then the rows picked by their codes.
    unknown = np.array([not is_time_zone(name) for name in names] + [False], dtype=bool)
    codes = zones.cat.codes.to_numpy()
    rows = unknown[codes]  # code -1 (no zone) reads the last entry: not listed
    # The zone names are taken from the distinct ones (no new string per message), the senders as codes.
    frame = pd.DataFrame({"timezone": names[codes[rows]], "sender": member_codes(picked["sender_id"])[rows]})
    table = frame.groupby("timezone", sort=True).agg(members=("sender", "nunique"), messages=("sender", "size"))
    return table.sort_values("messages", ascending=False, kind="stable").astype("int64")
