"""Report-grade engagement metrics, each with its formula, and the data dictionary that lists them.

Every metric takes the messages frame first and its options keyword-only, leaves out bots and system events unless
``include_bots=`` / ``include_system=`` say otherwise, and accepts ``since=`` / ``until=``. Message data cannot see
readers, so every count of people here is of members *posting*.

The data dictionary (``docs/metrics.md``) is generated from this module: :data:`METRICS` names each metric, its
function and the columns it reads; the formula is the ``Notes`` section of the function's docstring and the defaults
come from its signature. Regenerate it with ``python -m chatlens.analysis.metrics > docs/metrics.md``.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from ._common import duration, fill_periods, local_times, micros, renamed, select, to_utc, wall_clock
from .activity import active_members, dau_wau_mau
from .interactions import interaction_edges
from .threads import thread_depth, thread_table

__all__ = [
    "METRICS",
    "QUESTION_WORDS",
    "CrossGroupInteraction",
    "Metric",
    "after_hours_share",
    "complete_range",
    "concentration",
    "cross_group_interaction",
    "dead_conversations",
    "hygiene_counts",
    "mark_partial",
    "members_posting",
    "messages_per_posting_member",
    "metrics_markdown",
    "post_split",
    "reply_rate",
    "stickiness",
    "time_to_first_reply",
    "time_to_first_reply_summary",
    "unanswered_questions",
    "visibility_share",
]

_US_PER_HOUR = 3_600_000_000


def _options(include_bots: bool, include_system: bool) -> dict[str, bool]:
    return {"include_bots": include_bots, "include_system": include_system}


def _hours(value: Any, name: str) -> tuple[float, float]:
    """A (start_hour, end_hour) pair with 0 <= start < end <= 24, or ValueError naming the parameter."""
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected (start_hour, end_hour), got {value!r}") from None
    if not 0 <= start < end <= 24:
        raise ValueError(f"{name}: need 0 <= start_hour < end_hour <= 24, got {value!r}")
    return start, end


def _check_tz(tz: Any) -> None:
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(tz)
    except Exception as exc:
        raise ValueError(f"tz: {tz!r} is not a time zone ({exc})") from None


def _is_reply(picked: pd.DataFrame) -> np.ndarray:
    """Whether each message replies to another: ``parent`` set (null or "" is a root); ``is_reply`` without it."""
    if "parent" in picked:
        return (picked["parent"].fillna("").astype(str) != "").to_numpy(dtype=bool)
    if "is_reply" in picked:
        return picked["is_reply"].astype(bool).to_numpy()
    return np.zeros(len(picked), dtype=bool)


# --- members posting ----------------------------------------------------------------------------------------------


def members_posting(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Series:
    """Members posting per calendar period (a wrapper of :func:`~chatlens.analysis.active_members`).

    Parameters
    ----------
    messages
        The frame from :func:`chatlens.load_messages`.
    freq, tz
        Calendar periods (any pandas frequency) cut in the zone ``tz``.
    since, until, include_bots, include_system
        Which messages count.

    Returns
    -------
    Series
        Named ``"members posting"``, indexed by period start, zeros for empty periods.

    Notes
    -----
    members posting(p) = |{sender_id of m : m counted, created(m) in period p}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> s = members_posting(m, freq="MS")
    >>> s.name, len(s), bool((s > 0).all())
    ('members posting', 7, True)
    """
    counts = active_members(
        messages, freq=freq, tz=tz, since=since, until=until, **_options(include_bots, include_system)
    )
    return counts.rename("members posting")


def post_split(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Root messages ("posts" in Teams usage reports) and replies per calendar period.

    Returns
    -------
    DataFrame
        Columns ``roots``, ``replies`` and ``messages`` (their sum), indexed by period start, every period from the
        first to the last filled with zeros.

    Notes
    -----
    roots(p) = |{m in p : parent(m) is null}|; replies(p) = |{m in p : parent(m) is set}|; messages(p) = roots(p) +
    replies(p). A reply whose parent is not loaded still counts as a reply (the service says it is one).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> t = post_split(m, freq="MS")
    >>> t.columns.tolist(), bool((t["messages"] == t["roots"] + t["replies"]).all())
    (['roots', 'replies', 'messages'], True)
    """
    picked = select(messages, since=since, until=until, **_options(include_bots, include_system))
    columns = ["roots", "replies", "messages"]
    if picked.empty:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz=tz, name="period"), dtype="int64")
    reply = _is_reply(picked)
    frame = pd.DataFrame({"period": local_times(picked, tz), "roots": ~reply, "replies": reply})
    table = frame.groupby(pd.Grouper(key="period", freq=freq))[["roots", "replies"]].sum()
    table = fill_periods(table, freq).astype("int64")
    table["messages"] = table["roots"] + table["replies"]
    return table[columns]


def stickiness(
    messages: pd.DataFrame,
    *,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    per_day: bool = False,
    include_bots: bool = False,
    include_system: bool = False,
) -> float | pd.Series:
    """Stickiness: members posting on a day over members posting in the trailing 28 days, averaged over days.

    Parameters
    ----------
    since, until
        The days averaged: local days whose midnight falls in ``[since, until)``. The 28-day windows of the first
        days reach back before ``since`` (every message before ``until`` counts for them).
    per_day
        Return the daily ratios instead of their mean.

    Returns
    -------
    float or Series
        The mean over the days whose window holds a post (NaN if none), or the daily Series named
        ``"stickiness"`` (NaN on days with an empty window).

    Notes
    -----
    stickiness(d) = DAU(d) / MAU(d), with DAU(d) = members posting on local day d and MAU(d) = members posting on
    days d-27 .. d (as :func:`~chatlens.analysis.dau_wau_mau`); stickiness = mean of stickiness(d) over the days
    with MAU(d) > 0.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> value = stickiness(m, since="2026-03-01", until="2026-04-01")
    >>> 0 < value < 1, len(stickiness(m, since="2026-03-01", until="2026-04-01", per_day=True))
    (True, 31)
    """
    table = dau_wau_mau(messages, tz=tz, until=until, **_options(include_bots, include_system))
    daily = table["stickiness"].astype("float64").rename("stickiness")
    if since is not None:
        daily = daily[(daily.index >= to_utc(since, "since")).tolist()]
    if until is not None:
        daily = daily[(daily.index < to_utc(until, "until")).tolist()]
    if per_day:
        return daily
    return float(daily.mean()) if daily.notna().any() else float("nan")


def messages_per_posting_member(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Series:
    """Messages per member posting, per calendar period.

    Returns
    -------
    Series
        Named ``"messages per member posting"``, indexed by period start; NaN for periods nobody posted in.

    Notes
    -----
    messages per member posting(p) = |{m in p}| / |{sender_id of m : m in p}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> s = messages_per_posting_member(m, freq="MS")
    >>> bool((s >= 1).all())
    True
    """
    picked = select(messages, since=since, until=until, **_options(include_bots, include_system))
    name = "messages per member posting"
    if picked.empty:
        return pd.Series([], index=pd.DatetimeIndex([], tz=tz, name="period"), dtype="float64", name=name)
    frame = pd.DataFrame({"period": local_times(picked, tz), "member": picked["sender_id"].astype(str).to_numpy()})
    grouped = frame.groupby(pd.Grouper(key="period", freq=freq))["member"]
    table = fill_periods(pd.DataFrame({"messages": grouped.size(), "members": grouped.nunique()}), freq)
    return (table["messages"] / table["members"].where(table["members"] > 0)).astype("float64").rename(name)


# --- replies ------------------------------------------------------------------------------------------------------


def reply_rate(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> float:
    """Share of threads whose root drew at least one reply from someone other than the root's author.

    Threads are those of :func:`~chatlens.analysis.thread_table` (a message whose parent is not loaded starts its
    own thread), picked by the time of their root.

    Returns
    -------
    float
        NaN when no thread starts in the range.

    Notes
    -----
    reply rate = |{roots r : some reply below r has sender != sender(r)}| / |{roots r}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> 0 < reply_rate(m) < 1
    True
    """
    threads = thread_table(messages, since=since, until=until, **_options(include_bots, include_system))
    if threads.empty:
        return float("nan")
    return float((~threads["unanswered"]).mean())


def _business_clock(times: pd.Series, hours: tuple[float, float], tz: str, holidays: np.ndarray) -> np.ndarray:
    """Business microseconds from a fixed epoch to each time (wall clock in ``tz``): whole business days before the
    time's day, plus the part of its own day's business hours already past."""
    local = times.dt.tz_convert(tz).dt.tz_localize(None)
    day = local.dt.normalize()
    days = day.to_numpy().astype("datetime64[D]")
    time_of_day = micros(local.dt.tz_localize("UTC")) - micros(day.dt.tz_localize("UTC"))
    start, end = (round(h * _US_PER_HOUR) for h in hours)
    whole = np.busday_count(np.datetime64("2000-01-01"), days, holidays=holidays).astype(np.int64)
    today = np.where(np.is_busday(days, holidays=holidays), np.clip(time_of_day, start, end) - start, 0)
    return whole * (end - start) + today


def _holiday_array(holidays: Iterable[Any] | None) -> np.ndarray:
    if holidays is None:
        return np.array([], dtype="datetime64[D]")
    try:
        return pd.to_datetime(list(holidays)).to_numpy().astype("datetime64[D]")
    except (TypeError, ValueError):
        raise ValueError(f"holidays: expected a list of dates, got {holidays!r}") from None


def time_to_first_reply(
    messages: pd.DataFrame,
    *,
    hours: tuple[float, float] | None = None,
    tz: str = "UTC",
    holidays: Iterable[Any] | None = None,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    business_hours: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Per thread, the time from its root to the first reply by someone other than the root's author.

    Parameters
    ----------
    hours
        Working hours ``(start_hour, end_hour)``: count only business time, i.e. those hours of Monday to Friday, on
        the wall clock of ``tz``, leaving out ``holidays``. None counts elapsed time. (``business_hours``, its
        former name, is still taken, with a DeprecationWarning.)
    tz
        The zone business hours are in (used only with ``business_hours``).
    holidays
        Local dates that are not business days.

    Returns
    -------
    DataFrame
        Indexed by ``thread_id``: ``conversation_id``, ``root_sender_id``, ``started``, ``first_reply_at`` and
        ``time_to_first_reply`` (a Timedelta; NaT for threads nobody else answered), sorted by ``started``.

    Notes
    -----
    time to first reply(r) = min{created(m) : m below r, sender(m) != sender(r)} - created(r). With business hours
    [a, b): B(t2) - B(t1), where B(t) = (Mon-Fri non-holiday days from a fixed date to the local date of t) x (b - a)
    + (clip(local time of day of t, a, b) - a if t's date is a business day, else 0).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> t = time_to_first_reply(m, hours=(9, 17), tz="Europe/Berlin")
    >>> t.columns.tolist()[-2:], bool((t["time_to_first_reply"].dropna() >= pd.Timedelta(0)).all())
    (['first_reply_at', 'time_to_first_reply'], True)
    """
    threads = thread_table(messages, since=since, until=until, **_options(include_bots, include_system))
    table = threads[["conversation_id", "root_sender_id", "started", "first_reply_at", "time_to_first_reply"]].copy()
    hours = renamed(hours, business_hours, new_name="hours", old_name="business_hours", default=None)
    if hours is None:
        return table
    hours = _hours(hours, "hours")
    _check_tz(tz)
    answered = table["first_reply_at"].notna().to_numpy()
    ends = table["first_reply_at"].where(answered, table["started"])
    holidays_d = _holiday_array(holidays)
    elapsed = _business_clock(ends, hours, tz, holidays_d) - _business_clock(table["started"], hours, tz, holidays_d)
    table["time_to_first_reply"] = pd.to_timedelta(elapsed, unit="us").where(answered, pd.NaT)
    return table


def time_to_first_reply_summary(
    messages: pd.DataFrame,
    *,
    hours: tuple[float, float] | None = None,
    tz: str = "UTC",
    holidays: Iterable[Any] | None = None,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    business_hours: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Median and 90th percentile of :func:`time_to_first_reply` over the threads someone else answered.

    Returns
    -------
    dict
        ``threads``, ``answered`` (ints), ``median`` and ``p90`` (Timedelta; NaT if nothing was answered).

    Notes
    -----
    median = the 0.5 quantile and p90 = the 0.9 quantile (linear interpolation between order statistics) of time
    to first reply over answered threads.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> s = time_to_first_reply_summary(m)
    >>> sorted(s), s["median"] <= s["p90"]
    (['answered', 'median', 'p90', 'threads'], True)
    """
    table = time_to_first_reply(
        messages,
        hours=renamed(hours, business_hours, new_name="hours", old_name="business_hours", default=None),
        tz=tz,
        holidays=holidays,
        since=since,
        until=until,
        **_options(include_bots, include_system),
    )
    times = table["time_to_first_reply"].dropna()
    return {
        "threads": len(table),
        "answered": len(times),
        "median": times.quantile(0.5) if len(times) else pd.NaT,
        "p90": times.quantile(0.9) if len(times) else pd.NaT,
    }


#: First words that make a root a question (compared case-insensitively; see :func:`unanswered_questions`).
# fmt: off
QUESTION_WORDS = (
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which", "can", "could", "would", "should", "will",
    "do", "does", "did", "is", "are", "was", "were", "has", "have", "any", "anyone", "anybody", "anything",
)
# fmt: on
# RE2 (pyarrow) has no lookahead: "a word" is the run of letters followed by a non-letter or the end.
_QUESTION = r"^\s*(?:(?:<@[^>]*>|@\S+)\s*)*(?:" + "|".join(QUESTION_WORDS) + r")(?:[^A-Za-z]|$)"


def _looks_like_question(text: pd.Series) -> np.ndarray:
    text = text.astype("string[pyarrow]")
    asks = text.str.contains("?", regex=False) | text.str.contains(_QUESTION, case=False, regex=True)
    return asks.fillna(False).to_numpy(dtype=bool)


def unanswered_questions(
    messages: pd.DataFrame,
    *,
    after: Any = "24h",
    now: Any = None,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Roots that look like questions and got no reply from anyone else within ``after``.

    A root looks like a question when its text contains ``?``, or when its first word (after any leading
    @mentions, ``<@U123>`` or ``@name``) is one of :data:`QUESTION_WORDS`; a word is a run of ASCII letters,
    compared case-insensitively ("Is it ..." and "can you ..." ask, "isn't" and "Island" do not). A text-free
    frame (no ``text`` column) uses its ``is_question`` column instead, i.e. the ``?`` test only.

    Parameters
    ----------
    after
        How long a question may wait (anything ``pd.Timedelta`` takes).
    now
        The time of the report: roots younger than ``after`` at ``now`` are not judged yet. Default: the last
        counted message.

    Returns
    -------
    DataFrame
        The roots' rows of ``messages`` (all its columns) plus ``first_reply_at`` (NaT if never answered), sorted by
        ``created``, with a fresh index.

    Notes
    -----
    unanswered questions = {roots r : question(text(r)), created(r) + after <= now, and no m below r with
    sender(m) != sender(r) and created(m) <= created(r) + after}

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> q = unanswered_questions(m, after="24h")
    >>> bool(q["text"].str.contains("?", regex=False).any()), bool(q["first_reply_at"].isna().any())
    (True, True)
    """
    if "text" not in messages.columns and "is_question" not in messages.columns:
        raise ValueError("messages lacks the text column (and an is_question column to fall back on)")
    wait = duration(after, "after")
    options = _options(include_bots, include_system)
    picked = select(messages, **options)
    threads = thread_table(messages, since=since, until=until, **options)
    limit = to_utc(now, "now") if now is not None else (picked["created"].max() if len(picked) else None)
    rows = pd.Index(picked["id"].astype(str)).get_indexer(threads.index.astype(str))
    chosen = picked.iloc[rows]
    late = (threads["first_reply_at"].isna() | (threads["first_reply_at"] > threads["started"] + wait)).to_numpy()
    due = (threads["started"] + wait <= limit).to_numpy() if limit is not None else np.zeros(len(rows), bool)
    # Text-free frames carry only is_question (a '?' in the text): the first-word rule cannot apply there.
    asks = (
        _looks_like_question(chosen["text"])
        if "text" in chosen
        else chosen["is_question"].fillna(False).to_numpy(dtype=bool)
    )
    keep = late & due & asks
    out = chosen[keep].copy()
    out["first_reply_at"] = threads["first_reply_at"].to_numpy()[keep]
    return out.sort_values("created", kind="stable").reset_index(drop=True)


# --- rhythm, conversations, visibility, concentration ------------------------------------------------------------


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
    tz
        The zone of the wall clock; ``"member"``: each sender's own zone (the ``sender_timezone`` column of
        :func:`chatlens.add_sender_details`; ``default_tz`` where unknown), so a team across continents is judged
        by each member's own working day.
    hours
        Working hours ``(start_hour, end_hour)``: messages in ``[start, end)`` local time are in hours.
        (``workday``, its former name, is still taken, with a DeprecationWarning.)
    weekend
        Count Saturday and Sunday as after hours, whatever the hour.
    holidays
        Local dates counted as after hours all day.

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
    start, end = _hours(renamed(hours, workday, new_name="hours", old_name="workday", default=(9, 18)), "hours")
    picked = select(messages, since=since, until=until, **_options(include_bots, include_system))
    if picked.empty:
        return float("nan")
    local = wall_clock(picked, tz, default_tz=default_tz)
    hour = local.dt.hour.to_numpy() + local.dt.minute.to_numpy() / 60 + local.dt.second.to_numpy() / 3600
    outside = (hour < start) | (hour >= end)
    if weekend:
        outside |= local.dt.day_of_week.to_numpy() >= 5
    if holidays is not None:
        dates = local.dt.normalize().to_numpy().astype("datetime64[D]")
        outside |= np.isin(dates, _holiday_array(holidays))
    return float(outside.mean())


def dead_conversations(
    messages: pd.DataFrame,
    conversations: pd.DataFrame | None = None,
    *,
    idle: Any = "30D",
    now: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    days: float | None = None,
) -> pd.DataFrame:
    """Conversations with no counted message in the ``idle`` time before ``now``.

    Parameters
    ----------
    conversations
        The frame from :func:`chatlens.load_conversations`: its conversations without any counted message are
        dead too. Without it only conversations seen in ``messages`` are judged.
    idle
        How long a conversation may be silent: ``"30D"``, ``"36h"`` or anything ``pd.Timedelta`` takes. (``days``,
        its former spelling as a number of days, is still taken, with a DeprecationWarning.)
    now
        The time of the report; default the last counted message. Messages after ``now`` are ignored.

    Returns
    -------
    DataFrame
        Indexed by ``conversation_id``: ``name``, ``messages`` (counted, up to ``now``), ``last_message`` (NaT if
        none) and ``silent_for`` (``now - last_message``), most silent first.

    Notes
    -----
    dead = {c : c has no counted message, or now - max{created(m) : m in c, created(m) <= now} >= idle}

    Examples
    --------
    >>> from chatlens.loaders import load_conversations, load_messages
    >>> m = load_messages("demo", progress=False)
    >>> dead = dead_conversations(m, load_conversations("demo", progress=False), idle="30D", now="2026-09-15")
    >>> dead.columns.tolist(), len(dead), bool((dead["silent_for"] >= pd.Timedelta(days=30)).all())
    (['name', 'messages', 'last_message', 'silent_for'], 11, True)
    >>> len(dead_conversations(m, idle="30D", now="2026-08-15"))
    0
    """
    silence = duration(
        renamed(
            idle, None if days is None else pd.Timedelta(days=days), new_name="idle", old_name="days", default="30D"
        ),
        "idle",
    )
    picked = select(messages, **_options(include_bots, include_system))
    if now is not None:
        limit = to_utc(now, "now")
    elif len(picked):
        limit = picked["created"].max()
    else:
        raise ValueError("now: required when no message counts (there is no last message to measure from)")
    picked = picked[(picked["created"] <= limit).to_numpy()]
    convs = picked["conversation_id"].astype(str).to_numpy()
    grouped = picked.groupby(convs, sort=False)
    table = pd.DataFrame({"messages": grouped.size(), "last_message": grouped["created"].max()})
    names = (
        grouped["conversation_name"].first().astype(str)
        if "conversation_name" in picked
        else pd.Series(table.index, index=table.index)
    )
    if conversations is not None:
        ids = conversations["id"].astype(str)
        label = "label" if "label" in conversations else "name" if "name" in conversations else None
        given = conversations[label].astype(object).to_numpy() if label else ids.to_numpy()
        given_names = pd.Series(given, index=ids.to_numpy()).where(lambda s: s.notna(), ids.to_numpy())
        extra = table.index[~table.index.isin(ids)]
        table = table.reindex(pd.Index(ids).append(extra).unique())
        table["messages"] = table["messages"].fillna(0)
        names = given_names.combine_first(names)
    table["name"] = names.reindex(table.index).astype(object).to_numpy()
    table["messages"] = table["messages"].astype("int64")
    table["last_message"] = pd.to_datetime(table["last_message"], utc=True)
    table["silent_for"] = limit - table["last_message"]
    dead = table["last_message"].isna() | (table["silent_for"] >= silence)
    table = table[dead.to_numpy()]
    table.index.name = "conversation_id"
    order = table["last_message"].isna().to_numpy()
    table = pd.concat([table[order], table[~order].sort_values("last_message", kind="stable")])
    return table[["name", "messages", "last_message", "silent_for"]]


_VISIBILITY = {"channel": "public", "private_channel": "private", "direct": "direct", "group_direct": "group_direct"}


def visibility_share(
    messages: pd.DataFrame,
    conversations: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Messages and their share in public, private, direct and group direct conversations.

    The visibility comes from ``conversations.kind``: ``channel`` -> public, ``private_channel`` -> private,
    ``direct`` (two people) -> direct, ``group_direct`` -> group_direct. A conversations frame without ``kind``
    falls back to ``private`` and ``name``: private -> private, no name -> direct (group direct conversations cannot
    be told apart then), else public. Messages of conversations missing from the frame are ``unknown``.

    Returns
    -------
    DataFrame
        Indexed by ``visibility`` (public, private, direct, group_direct, and unknown if any): ``messages`` and
        ``share`` (of all counted messages; NaN if none).

    Notes
    -----
    share(v) = |{m : visibility(conversation(m)) = v}| / |{m}|

    Examples
    --------
    >>> from chatlens.loaders import load_conversations, load_messages
    >>> t = visibility_share(load_messages("demo", progress=False), load_conversations("demo", progress=False))
    >>> t.index.tolist(), round(float(t["share"].sum()), 6)
    (['public', 'private', 'direct', 'group_direct'], 1.0)
    """
    picked = select(messages, since=since, until=until, **_options(include_bots, include_system))
    ids = conversations["id"].astype(str).to_numpy()
    if "kind" in conversations:
        vis = conversations["kind"].astype(str).map(_VISIBILITY).fillna("unknown").to_numpy()
    else:
        private = conversations["private"].astype(bool).to_numpy()
        unnamed = conversations["name"].isna().to_numpy() if "name" in conversations else np.zeros(len(ids), dtype=bool)
        vis = np.where(private, "private", np.where(unnamed, "direct", "public"))
    pos = pd.Index(ids).get_indexer(picked["conversation_id"].astype(str).to_numpy())
    per_message = np.where(pos >= 0, np.asarray(vis, dtype=object)[pos], "unknown")
    counts = pd.Series(per_message, dtype=object).value_counts()
    order = ["public", "private", "direct", "group_direct"] + (["unknown"] if "unknown" in counts else [])
    table = pd.DataFrame({"messages": counts.reindex(order, fill_value=0).astype("int64")})
    total = int(table["messages"].sum())
    table["share"] = table["messages"] / total if total else np.nan
    table.index.name = "visibility"
    return table


def concentration(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> dict[str, Any]:
    """How concentrated posting is: the fewest members who wrote half the messages, and the Gini coefficient.

    Returns
    -------
    dict
        ``members`` (posting), ``messages``, ``members_for_half``, ``share_of_members_for_half`` and ``gini``
        (0 = everyone posts equally, towards 1 = one member posts everything; NaN without messages).

    Notes
    -----
    With x_1 >= x_2 >= ... >= x_n the messages per member posting and N = sum x_i: members for half = min{k :
    x_1 + ... + x_k >= N / 2}; gini = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)) = (2 sum_i i y_i) / (n N) - (n + 1)
    / n with y_1 <= ... <= y_n the same counts ascending.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> c = concentration(load_messages("demo", ["general"], progress=False))
    >>> c["members_for_half"] < c["members"], 0 < c["gini"] < 1
    (True, True)
    """
    picked = select(messages, since=since, until=until, **_options(include_bots, include_system))
    _codes, uniques = pd.factorize(picked["sender_id"].astype(str))
    counts = np.sort(np.bincount(_codes, minlength=len(uniques)))  # ascending
    n, total = len(counts), int(counts.sum())
    if n == 0:
        return {
            "members": 0,
            "messages": 0,
            "members_for_half": 0,
            "share_of_members_for_half": float("nan"),
            "gini": float("nan"),
        }
    top = np.cumsum(counts[::-1])
    half = int(np.argmax(2 * top >= total)) + 1
    gini = float(2 * np.sum(np.arange(1, n + 1) * counts) / (n * total) - (n + 1) / n)
    return {
        "members": n,
        "messages": total,
        "members_for_half": half,
        "share_of_members_for_half": half / n,
        "gini": gini,
    }


# --- groups -------------------------------------------------------------------------------------------------------


class CrossGroupInteraction(NamedTuple):
    """What :func:`cross_group_interaction` returns."""

    summary: dict[str, Any]
    """interactions, cross_group_interactions, cross_group_share, threads, multi_member_threads,
    cross_group_threads, cross_group_thread_share"""
    pairs: pd.DataFrame
    """per (source_group, target_group): a count per kind, weight, and cross (groups differ)"""
    edges: pd.DataFrame
    """the member edges between groups (interaction_edges columns plus source_group, target_group)"""
    threads: pd.DataFrame
    """per thread: participants, groups (distinct groups among participants), cross (groups > 1)"""


def _group_table(groups: pd.DataFrame | str | os.PathLike[str], member_column: str, group_column: str) -> pd.DataFrame:
    """Memberships as a two-column frame (member, group), one row per distinct pair."""
    if isinstance(groups, str | os.PathLike):
        groups = pd.read_csv(groups, dtype=str)
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(f"groups must be a DataFrame or a CSV path, got {type(groups).__name__}")
    missing = [c for c in (member_column, group_column) if c not in groups.columns]
    if missing:
        raise ValueError(
            f"groups lacks columns {missing} (member_column={member_column!r}, group_column={group_column!r})"
        )
    table = pd.DataFrame(
        {"member": groups[member_column].astype(str).to_numpy(), "group": groups[group_column].astype(str).to_numpy()}
    )
    return table.drop_duplicates(ignore_index=True)


def _memberships(table: pd.DataFrame, members: Any, unassigned: str) -> pd.DataFrame:
    """(member, group) for every member of ``members``; those in no group get ``unassigned``."""
    wanted = pd.DataFrame({"member": pd.unique(np.asarray(members, dtype=object).astype(str))})
    out = wanted.merge(table, on="member", how="left")
    out["group"] = out["group"].fillna(unassigned)
    return out


def cross_group_interaction(
    messages: pd.DataFrame,
    groups: pd.DataFrame | str | os.PathLike[str],
    *,
    kinds: tuple[str, ...] = ("reply", "mention"),
    member_column: str = "member_id",
    group_column: str = "group",
    unassigned: str = "(unassigned)",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> CrossGroupInteraction:
    """Interactions (replies, mentions) and threads that cross the groups members belong to (teams, offices ...).

    Parameters
    ----------
    groups
        Memberships, one row per (member, group): ``member_column`` (user id) and ``group_column``; a DataFrame
        or the path of a CSV. A member may be in several groups, as in the service's own groups:
        ``chatlens.load_groups(...)`` works with ``member_column="user_id"``, ``group_column="group_name"``.
    kinds
        The edge kinds of :func:`~chatlens.analysis.interaction_edges` to count.
    unassigned
        The group of members missing from ``groups`` (counted like any other group).

    Returns
    -------
    CrossGroupInteraction
        ``summary`` (dict of counts and shares), ``pairs`` (per group pair), ``edges`` (member edges that cross
        groups), ``threads`` (per thread).

    Notes
    -----
    An interaction a -> b crosses groups when a and b share no group. cross-group share = sum of weight(a -> b)
    over crossing edges / sum of weight over all edges, weight = replies + mentions from a to b (self-replies left
    out). A thread crosses groups when no one group holds all its participants; cross-group thread share =
    |{crossing threads}| / |{threads with 2 or more participants}|. In ``pairs`` an edge counts once for each
    (group of a, group of b), so with overlapping groups its rows sum to more than the edges.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> people = m["sender_id"].astype(str).drop_duplicates().sort_values()
    >>> groups = pd.DataFrame({"member_id": people, "group": ["a" if i % 2 else "b" for i in range(len(people))]})
    >>> result = cross_group_interaction(m, groups)
    >>> 0 < result.summary["cross_group_share"] < 1, sorted(result.pairs["source_group"].unique())
    (True, ['a', 'b'])
    """
    table = _group_table(groups, member_column, group_column)
    options = _options(include_bots, include_system)
    picked = select(messages, since=since, until=until, **options)
    edges = interaction_edges(picked, kinds=kinds, include_bots=True, include_system=True).reset_index(drop=True)
    edges["source"], edges["target"] = edges["source"].astype(str), edges["target"].astype(str)
    counted = [*kinds, "weight"]
    members = np.concatenate([edges["source"].to_numpy(), edges["target"].to_numpy()])
    member_of = _memberships(table, members, unassigned)
    # Edge x (source group, target group), by two merges on the memberships: no loop over edges.
    ends = edges[["source", "target"]].assign(edge=np.arange(len(edges)))
    by_source = ends.merge(member_of.rename(columns={"member": "source", "group": "source_group"}), on="source")
    both = by_source.merge(member_of.rename(columns={"member": "target", "group": "target_group"}), on="target")
    shared = np.zeros(len(edges), dtype=bool)
    same = both["source_group"].to_numpy() == both["target_group"].to_numpy()
    shared[both["edge"].to_numpy()[same]] = True
    edges["cross"] = ~shared
    combos = both.join(edges[counted], on="edge")
    pairs = combos.groupby(["source_group", "target_group"], as_index=False)[counted].sum()
    pairs[counted] = pairs[counted].astype("int64")
    pairs["cross"] = pairs["source_group"] != pairs["target_group"]
    roots = thread_depth(picked, warn=False)["root"].to_numpy()
    people = pd.DataFrame({"thread_id": roots, "member": picked["sender_id"].astype(str).to_numpy()}).drop_duplicates()
    participants = people.groupby("thread_id", sort=True)["member"].size()
    in_groups = people.merge(_memberships(table, people["member"], unassigned), on="member")
    largest = in_groups.groupby(["thread_id", "group"]).size().groupby(level="thread_id").max()
    groups_per_thread = in_groups.groupby("thread_id")["group"].nunique()
    threads = pd.DataFrame({"participants": participants, "groups": groups_per_thread.reindex(participants.index)})
    threads = threads.astype("int64")
    threads["cross"] = largest.reindex(participants.index).to_numpy() < participants.to_numpy()
    total = int(edges["weight"].sum())
    crossing = int(edges.loc[edges["cross"], "weight"].sum())
    multi = int((threads["participants"] > 1).sum())
    spanning = int(threads["cross"].sum())
    summary = {
        "interactions": total,
        "cross_group_interactions": crossing,
        "cross_group_share": crossing / total if total else float("nan"),
        "threads": len(threads),
        "multi_member_threads": multi,
        "cross_group_threads": spanning,
        "cross_group_thread_share": spanning / multi if multi else float("nan"),
    }
    crossing_pairs = combos[~shared[combos["edge"].to_numpy()]]
    crossing_edges = (
        crossing_pairs.drop(columns=["edge"]).reset_index(drop=True)
        if len(crossing_pairs)
        else crossing_pairs.drop(columns=["edge"])
    )
    return CrossGroupInteraction(summary, pairs, crossing_edges, threads)


# --- periods ------------------------------------------------------------------------------------------------------

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _period_freq(freq: str) -> str | None:
    """The pandas Period frequency of calendar periods ``freq`` (None for sub-daily fixed lengths)."""
    try:
        offset = to_offset(freq)
    except ValueError:
        raise ValueError(f"freq: {freq!r} is not a pandas frequency") from None
    if offset.n != 1:
        raise ValueError(f"freq: multiples ({freq!r}) are not supported; use a single period")
    if isinstance(offset, pd.offsets.Tick):
        return None
    if isinstance(offset, pd.offsets.Day):
        return "D"
    if isinstance(offset, pd.offsets.Week) and offset.weekday is not None:
        return offset.rule_code
    if isinstance(offset, pd.offsets.MonthEnd | pd.offsets.MonthBegin):
        return "M"
    if isinstance(offset, pd.offsets.QuarterEnd):
        return f"Q-{_MONTHS[offset.startingMonth - 1]}"
    if isinstance(offset, pd.offsets.QuarterBegin):
        return f"Q-{_MONTHS[(offset.startingMonth - 2) % 12]}"
    if isinstance(offset, pd.offsets.YearEnd):
        return f"Y-{_MONTHS[offset.month - 1]}"
    if isinstance(offset, pd.offsets.YearBegin):
        return f"Y-{_MONTHS[(offset.month - 2) % 12]}"
    raise ValueError(f"freq: {freq!r} is not supported (use h, min, D, W, MS/ME, QS/QE or YS/YE)")


def _localize(naive: pd.DatetimeIndex, tz: Any) -> pd.DatetimeIndex:
    return naive.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")


def _bounds(index: pd.Index, freq: str, tz: Any) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Start and (exclusive) end, as UTC times, of the calendar period each label of ``index`` stands for."""
    if isinstance(index, pd.PeriodIndex):
        periods, zone = index, tz or "UTC"
    else:
        index = pd.DatetimeIndex(index)
        zone = index.tz or tz or "UTC"
        target = _period_freq(freq)
        if target is None:  # fixed lengths: the label is the start
            starts = index if index.tz is not None else index.tz_localize(zone)
            return starts.tz_convert("UTC"), (starts + to_offset(freq)).tz_convert("UTC")
        naive = index.tz_localize(None) if index.tz is not None else index
        periods = naive.to_period(target)
    starts = _localize(periods.start_time.as_unit("us"), zone)
    ends = _localize((periods + 1).start_time.as_unit("us"), zone)
    return starts.tz_convert("UTC"), ends.tz_convert("UTC")


def mark_partial(
    table: pd.DataFrame | pd.Series, freq: str, start: Any, end: Any, *, tz: str | None = None
) -> pd.DataFrame:
    """``table`` (a timeline indexed by period) with a boolean ``partial`` column: whether the observed window
    ``[start, end)`` leaves out part of the period.

    Parameters
    ----------
    table
        Indexed by period labels as the timelines here give them (a DatetimeIndex from ``freq`` in some zone, or a
        PeriodIndex).
    freq
        The frequency the table was made with: ``h``/``min`` (fixed lengths), ``D``, ``W``/``W-XXX``, ``MS``/``ME``,
        ``QS``/``QE``, ``YS``/``YE``.
    start, end
        The window the data covers (e.g. the ``since`` and ``until`` it was loaded with).
    tz
        The zone of a naive or PeriodIndex; a tz-aware index uses its own.

    Returns
    -------
    DataFrame
        A copy of ``table`` (a Series becomes a one-column frame) with ``partial`` added.

    Notes
    -----
    partial(p) = period_start(p) < start or period_end(p) > end, with periods as calendar periods of ``freq`` on the
    wall clock of the index's zone.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> from chatlens.analysis import activity_timeline
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> t = mark_partial(activity_timeline(m, freq="MS"), "MS", "2026-01-05", "2026-08-01")
    >>> t["partial"].tolist()
    [True, False, False, False, False, False, False]
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    lo, hi = to_utc(start, "start"), to_utc(end, "end")
    starts, ends = _bounds(frame.index, freq, tz)
    frame["partial"] = np.asarray((starts < lo) | (ends > hi), dtype=bool)
    return frame


def complete_range(
    messages: pd.DataFrame,
    freq: str = "D",
    *,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The span of the whole calendar periods the data covers: (start of the first, end of the last), in ``tz``.

    The observed window is ``[since, until)``; without them, from the first counted message to just after the last
    (so the first and last periods are nearly always partial: pass the range the data was loaded for).

    Returns
    -------
    (Timestamp, Timestamp) or (None, None)
        The first complete period's start and the last complete period's (exclusive) end; ``(None, None)`` if no
        period is complete.

    Notes
    -----
    complete periods = {p : start <= period_start(p) and period_end(p) <= end}; range = (min period_start,
    max period_end) over them.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> [str(t.date()) for t in complete_range(m, "MS", since="2026-01-05", until="2026-08-01")]
    ['2026-02-01', '2026-08-01']
    """
    picked = select(messages, since=since, until=until, **_options(include_bots, include_system))
    if picked.empty and (since is None or until is None):
        return None, None
    lo = to_utc(since, "since") if since is not None else picked["created"].min()
    hi = to_utc(until, "until") if until is not None else picked["created"].max() + pd.Timedelta(microseconds=1)
    _check_tz(tz)
    target = _period_freq(freq)
    if target is None:
        step = pd.Timedelta(to_offset(freq))
        first = lo.tz_convert(tz).ceil(step)
        last = hi.tz_convert(tz).floor(step)
        return (first, last) if first < last else (None, None)
    lo_local, hi_local = lo.tz_convert(tz).tz_localize(None), hi.tz_convert(tz).tz_localize(None)
    periods = pd.period_range(lo_local.to_period(target), hi_local.to_period(target), freq=target)
    starts, ends = _bounds(periods, freq, tz)
    whole = (starts >= lo) & (ends <= hi)
    if not whole.any():
        return None, None
    return starts[whole].min().tz_convert(tz), ends[whole].max().tz_convert(tz)


# --- data hygiene -------------------------------------------------------------------------------------------------


def hygiene_counts(
    messages: pd.DataFrame, *, deleted_users: pd.DataFrame | Iterable[str] | None = None
) -> pd.DataFrame:
    """How many messages the analyses leave out, and why, as a small tidy frame.

    Bots (``is_bot``) and system events (``is_system``: joins, leaves, topic and name changes, Teams system
    messages) are left out by default; one row per reason and ``subtype``. A message can be both, so the rows may
    overlap. Messages of deleted (deactivated) users are kept by the analyses but counted here, from the first of:
    ``deleted_users`` (the users frame of :func:`chatlens.load_users`, whose ``deleted`` rows are used, or user
    ids), the ``sender_deleted`` column (added by :func:`chatlens.loaders.add_sender_details`; unknown senders are
    not counted). Without either that row's ``messages`` is ``<NA>``: the plain messages frame has no such flag.

    Returns
    -------
    DataFrame
        Columns ``reason`` (bot, system event, deleted user, counted), ``subtype`` ("" where none), ``messages``
        (Int64), ``share`` (of all rows of ``messages``), ``left_out`` (by default) and ``rule``.

    Notes
    -----
    bot(s) = |{m : is_bot(m), subtype(m) = s}|; system event(s) = |{m : is_system(m), subtype(m) = s}|; deleted user =
    |{m : sender_id(m) in deleted_users}| (or |{m : sender_deleted(m)}|); counted = |{m : not is_bot(m) and not
    is_system(m)}|.

    Examples
    --------
    >>> from chatlens.loaders import load_messages, load_users
    >>> h = hygiene_counts(load_messages("demo", progress=False), deleted_users=load_users("demo", progress=False))
    >>> h[["reason", "subtype", "messages"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['bot', 'bot_message', 121], ['system event', 'channel_join', 28], ['deleted user', '', 98],
     ['counted', '', 11851]]
    """
    if not isinstance(messages, pd.DataFrame):
        raise TypeError(f"messages must be a DataFrame (from chatlens.load_messages), got {type(messages).__name__}")
    n = len(messages)
    subtype = (
        messages["subtype"].astype(object).where(messages["subtype"].notna(), "").astype(str).to_numpy()
        if "subtype" in messages
        else np.full(n, "", dtype=object)
    )
    rows: list[tuple[str, str, Any, bool, str]] = []
    for reason, column, rule in (
        ("bot", "is_bot", "is_bot: sent by a bot or an app"),
        ("system event", "is_system", "is_system: joins, leaves, topic and name changes, system messages"),
    ):
        flag = messages[column].astype(bool).to_numpy() if column in messages else np.zeros(n, dtype=bool)
        per_subtype = pd.Series(subtype[flag], dtype=object).value_counts().sort_index()
        rows += [(reason, str(s), int(c), True, rule) for s, c in per_subtype.items()]
    if isinstance(deleted_users, pd.DataFrame):
        if "id" not in deleted_users or "deleted" not in deleted_users:
            raise ValueError("deleted_users: a users frame needs the id and deleted columns (chatlens.load_users)")
        deleted_users = deleted_users.loc[deleted_users["deleted"].fillna(False).to_numpy(dtype=bool), "id"]
    if deleted_users is not None:
        gone = messages["sender_id"].astype(str).isin([str(u) for u in deleted_users]).to_numpy()
        rows.append(("deleted user", "", int(gone.sum()), False, "sender_id in deleted_users (kept by the analyses)"))
    elif "sender_deleted" in messages:
        gone = messages["sender_deleted"].fillna(False).to_numpy(dtype=bool)
        rows.append(("deleted user", "", int(gone.sum()), False, "sender_deleted (kept by the analyses)"))
    else:
        rows.append(("deleted user", "", pd.NA, False, "no sender_deleted column; pass deleted_users="))
    kept = len(select(messages, required=()))
    rows.append(("counted", "", kept, False, "neither is_bot nor is_system"))
    table = pd.DataFrame(rows, columns=["reason", "subtype", "messages", "left_out", "rule"])
    table["messages"] = table["messages"].astype("Int64")
    table["share"] = (table["messages"] / n if n else table["messages"] * np.nan).astype("Float64")
    return table[["reason", "subtype", "messages", "share", "left_out", "rule"]]


# --- the data dictionary ------------------------------------------------------------------------------------------


class Metric(NamedTuple):
    """One entry of the data dictionary: ``formula`` is read from ``function``'s docstring (its Notes section)."""

    name: str
    function: Callable[..., Any]
    columns: tuple[str, ...]

    @property
    def formula(self) -> str:
        return _notes(self.function)

    @property
    def defaults(self) -> dict[str, Any]:
        params = inspect.signature(self.function).parameters.values()
        return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}

    @property
    def summary(self) -> str:
        return inspect.getdoc(self.function).split("\n\n")[0].replace("\n", " ")


def _markdown(text: str) -> str:
    """reST inline markup of docstrings as Markdown: roles (:func:`~a.b`) and ``literals`` become `code`."""
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _notes(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function) or ""
    found = re.search(r"^Notes\n-+\n(.*?)(?:\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, flags=re.S | re.M)
    return " ".join(found.group(1).split()) if found else ""


def metrics_markdown() -> str:
    """The data dictionary (``docs/metrics.md``) as Markdown, rendered from :data:`METRICS`.

    Notes
    -----
    One section per entry of METRICS: its function, summary, formula (the function's Notes), the columns it reads and
    its defaults (from the signature).

    Examples
    --------
    >>> print(metrics_markdown().splitlines()[0])
    # Engagement metrics: data dictionary
    """
    lines = [
        "# Engagement metrics: data dictionary",
        "",
        "<!-- Generated by `python -m chatlens.analysis.metrics > docs/metrics.md`; do not edit by hand. -->",
        "",
        "Every metric is a function of `chatlens.analysis` taking the messages frame first (columns: "
        "`chatlens.schema.COLUMNS`). Unless a metric says otherwise, bots (`is_bot`) and system events (`is_system`) "
        "are left out (`include_bots=False`, `include_system=False`) and `since=` / `until=` pick messages created in "
        "`[since, until)`. Counts of people are of members *posting*: message data cannot see readers.",
        "",
        "| metric | function |",
        "|---|---|",
    ]
    lines += [f"| {m.name} | `{m.function.__name__}` |" for m in METRICS]
    for m in METRICS:
        defaults = ", ".join(f"`{k}={v!r}`" for k, v in m.defaults.items()) or "none"
        lines += [
            "",
            f"## {m.name}",
            "",
            f"`{m.function.__name__}`: {_markdown(m.summary)}",
            "",
            f"- **Formula:** {_markdown(m.formula) or '-'}",
            f"- **Columns:** {', '.join(f'`{c}`' for c in m.columns) or '-'}",
            f"- **Defaults:** {defaults}",
        ]
    return "\n".join(lines) + "\n"


_THREADS = ("id", "parent", "sender_id", "created")

#: Every metric of this module, in the order of the data dictionary.
METRICS: tuple[Metric, ...] = (
    Metric("members posting", members_posting, ("sender_id", "created")),
    Metric("posts and replies", post_split, ("parent", "created")),
    Metric("stickiness", stickiness, ("sender_id", "created")),
    Metric("messages per member posting", messages_per_posting_member, ("sender_id", "created")),
    Metric("reply rate", reply_rate, _THREADS),
    Metric("time to first reply", time_to_first_reply, (*_THREADS, "conversation_id")),
    Metric("time to first reply: median and p90", time_to_first_reply_summary, _THREADS),
    Metric("unanswered questions", unanswered_questions, (*_THREADS, "text")),
    Metric("after-hours share", after_hours_share, ("created",)),
    Metric(
        "dead conversations",
        dead_conversations,
        ("conversation_id", "conversation_name", "created", "conversations.id", "conversations.label"),
    ),
    Metric(
        "visibility share",
        visibility_share,
        ("conversation_id", "conversations.id", "conversations.kind (else conversations.private, conversations.name)"),
    ),
    Metric("concentration", concentration, ("sender_id",)),
    Metric("cross-group interaction", cross_group_interaction, (*_THREADS, "mentions")),
    Metric("partial periods", mark_partial, ()),
    Metric("complete range", complete_range, ("created",)),
    Metric(
        "hygiene counts",
        hygiene_counts,
        ("is_bot", "is_system", "subtype", "sender_id", "sender_deleted", "users.deleted"),
    ),
    Metric("data dictionary", metrics_markdown, ()),
)


if __name__ == "__main__":
    import sys

    sys.stdout.write(metrics_markdown())
