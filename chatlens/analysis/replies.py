"""Whether and how fast people answer: reply rate, time to first reply, unanswered questions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import has_question_mark
from ._common import (
    check_tz,
    duration,
    holiday_array,
    micros,
    options,
    renamed,
    to_utc,
    working_hours,
)
from ._distributed import distributed
from ._docs import shared_docs
from .threads import _thread_table, _whole, answered_by_others, counted_mask, thread_table

__all__ = [
    "QUESTION_WORDS",
    "answered_within",
    "reply_rate",
    "time_to_first_reply",
    "time_to_first_reply_summary",
    "unanswered_questions",
]


_US_PER_HOUR = 3_600_000_000


@distributed
@shared_docs
def reply_rate(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> float:
    """Share of threads whose root drew at least one reply from someone other than the root's author.

    Threads are those of :func:`~chatlens.analysis.thread_table`, picked by the time of their root: chains are
    resolved on the whole frame, a thread a bot started (or a system event roots) counts only if its root does,
    and only counted replies answer (a message whose parent is not in the frame starts its own thread).

    Parameters
    ----------
    %(messages)s
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    float
        NaN when no thread starts in the range.

    Notes
    -----
    reply rate = |{counted roots r : some counted reply below r has sender != sender(r)}| / |{counted roots r}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> 0 < reply_rate(m) < 1
    True
    """
    answered = answered_by_others(messages, since=since, until=until, **options(include_bots, include_system))
    if not len(answered):
        return float("nan")
    return float(answered.mean())


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


@shared_docs
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
    %(messages)s
    hours
        Working hours ``(start_hour, end_hour)``: count only business time, i.e. those hours of Monday to Friday, on
        the wall clock of ``tz``, leaving out ``holidays``. None counts elapsed time. (``business_hours``, its
        former name, is still taken, with a DeprecationWarning.)
    tz
        The zone whose wall clock ``hours`` are in (used only with ``hours``).
    %(holidays)s
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by ``thread_id``: ``conversation_id``, ``root_sender_id``, ``started``, ``first_reply_at`` and
        ``time_to_first_reply`` (a Timedelta; NaT for threads nobody else answered), sorted by ``started``.

    Notes
    -----
    time to first reply(r) = min{created(m) : m counted, below r, sender(m) != sender(r)} - created(r), over counted
    roots r (chains followed through messages that do not count). With business hours
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
    threads = thread_table(messages, since=since, until=until, **options(include_bots, include_system))
    table = threads[["conversation_id", "root_sender_id", "started", "first_reply_at", "time_to_first_reply"]].copy()
    hours = renamed(hours, business_hours, new_name="hours", old_name="business_hours", default=None)
    if hours is None:
        return table
    hours = working_hours(hours, "hours")
    check_tz(tz)
    answered = table["first_reply_at"].notna().to_numpy()
    ends = table["first_reply_at"].where(answered, table["started"])
    holidays_d = holiday_array(holidays)
    elapsed = _business_clock(ends, hours, tz, holidays_d) - _business_clock(table["started"], hours, tz, holidays_d)
    table["time_to_first_reply"] = pd.to_timedelta(elapsed, unit="us").where(answered, pd.NaT)
    return table


@shared_docs
def answered_within(
    messages: pd.DataFrame,
    within: Any = "24h",
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Per conversation, how many threads started in the range someone else answered within ``within`` (a reply
    time objective, as a team's "we answer within a day").

    Parameters
    ----------
    %(messages)s
    within
        The threshold (anything ``pd.Timedelta`` takes), in elapsed time.
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by ``conversation_id``: ``threads``, ``answered_within`` (ints) and ``share`` (their ratio, NaN
        for a conversation without threads in the range); sorted by conversation id.

    Notes
    -----
    answered within(c) = |{counted roots r in c : time to first reply(r) <= within}| / |{counted roots r in c}|,
    over roots started in the range; a thread answered later, or not at all, is not within.

    Examples
    --------
    >>> m = pd.DataFrame({"id": list("abcd"), "parent": ["", "a", "", "c"], "sender_id": ["u", "v", "u", "v"],
    ...                   "conversation_id": ["C1"] * 4,
    ...                   "created": pd.to_datetime(["2026-01-01 09:00", "2026-01-01 10:00",
    ...                                              "2026-01-02 09:00", "2026-01-04 09:00"], utc=True)})
    >>> answered_within(m, "24h").to_dict("records")
    [{'threads': 2, 'answered_within': 1, 'share': 0.5}]
    """
    wait = duration(within, "within")
    threads = thread_table(messages, since=since, until=until, **options(include_bots, include_system))
    quick = (threads["time_to_first_reply"] <= wait).fillna(False).to_numpy(dtype=bool)
    codes, names = pd.factorize(threads["conversation_id"], sort=True)  # a categorical's codes: no string per thread
    count = np.bincount(codes, minlength=len(names))
    within = np.bincount(codes, weights=quick, minlength=len(names)).astype(np.int64)
    index = pd.Index(np.asarray(names, dtype=object).astype(str), name="conversation_id")
    share = np.divide(within, count, out=np.full(len(count), np.nan), where=count > 0)
    return pd.DataFrame({"threads": count.astype(np.int64), "answered_within": within, "share": share}, index=index)


@distributed
@shared_docs
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

    Parameters
    ----------
    %(messages)s
    hours, tz, holidays
        As for :func:`time_to_first_reply`: business time instead of elapsed time.
    %(thread_since_until)s
    %(include)s

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
        **options(include_bots, include_system),
    )
    # Without the thread-id index: an attribute lookup on it would build a hash of every id as Python strings.
    times = pd.Series(table["time_to_first_reply"].array).dropna()
    return {
        "threads": len(table),
        "answered": len(times),
        "median": times.quantile(0.5) if len(times) else pd.NaT,
        "p90": times.quantile(0.9) if len(times) else pd.NaT,
    }


#: First words that make a root a question (compared case-insensitively): the default ``question_words`` of
#: :func:`unanswered_questions`. English; pass your team's own words (any script) for other languages.
# fmt: off
QUESTION_WORDS = (
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which", "can", "could", "would", "should", "will",
    "do", "does", "did", "is", "are", "was", "were", "has", "have", "any", "anyone", "anybody", "anything",
)
# fmt: on


# Leading mentions: Slack's <@U123>, <@U123|name> and <!here>-style markup, or a plain @name, and the spaces or
# punctuation that address someone ("<@U1>: can you", "@bob, who"). A plain @name must end at such a separator,
# or "@bobcan you" would read as "@bob" + "can".
_LEADING_MENTIONS = r"^\s*(?:<[@!][^>]*>[\s,:;]*|@[^\s,:;]+[\s,:;]+)*"


def _first_word_pattern(question_words: Any) -> str | None:
    """The RE2 pattern of "the first word after any leading mentions is one of ``question_words``"; None for none.

    RE2 (pyarrow) has no lookahead: a word ends at a character that is neither a letter nor a combining mark (any
    script), or at the end of the text.
    """
    if isinstance(question_words, str) or not isinstance(question_words, Iterable):
        raise TypeError(f"question_words: expected a list of words, got {question_words!r}")
    words = [w for w in question_words]
    bad = [w for w in words if not isinstance(w, str) or not w.strip()]
    if bad:
        raise ValueError(f"question_words: every word must be a non-empty string, got {bad[:3]!r}")
    if not words:
        return None
    return _LEADING_MENTIONS + "(?:" + "|".join(re.escape(w.strip()) for w in words) + r")(?:[^\pL\pM]|$)"


def _looks_like_question(text: pd.Series, first_word: str | None) -> np.ndarray:
    body = pa.array(text.astype("string[pyarrow]"), type=pa.string(), from_pandas=True)
    if isinstance(body, pa.ChunkedArray):
        body = body.combine_chunks()
    asks = np.array(has_question_mark(body).to_numpy(zero_copy_only=False), dtype=bool)
    if first_word is not None:  # read only where no question mark has decided
        rest = np.flatnonzero(~asks)
        opens = pc.match_substring_regex(body.take(pa.array(rest)), first_word, ignore_case=True)
        asks[rest] = opens.fill_null(False).to_numpy(zero_copy_only=False)
    return asks


@shared_docs
def unanswered_questions(
    messages: pd.DataFrame,
    *,
    after: Any = "24h",
    now: Any = None,
    question_words: Iterable[str] = QUESTION_WORDS,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Roots that look like questions and got no reply from anyone else within ``after``.

    A root looks like a question when its text holds a question mark (``?``, ``？``, ``﹖``, ``؟``, ``¿``:
    :data:`chatlens.schema.QUESTION_MARKS`) outside links and markup (the ``?`` of ``<https://x.org/?id=3>`` asks
    nothing), or when its first word, after any leading mentions (``<@U123>``, ``<!here>``, ``@name``, with a ``,``
    or ``:`` after them), is one of ``question_words``. A word is a run of letters (any script), compared
    case-insensitively: "Is it ..." and "<@U1>: can you ..." ask, "isn't" and "Island" do not. A system event is
    never a question, even with ``include_system=True`` ("<@U123> has joined the channel" is not one). A text-free
    frame (no ``text`` column) uses its ``is_question`` column instead (the question marks only).

    Parameters
    ----------
    %(messages)s
    after
        How long a question may wait (anything ``pd.Timedelta`` takes).
    now
        The time of the report: roots younger than ``after`` at ``now`` are not judged yet. Default: the last
        counted message.
    question_words
        The words that make a question when they open a text (default :data:`QUESTION_WORDS`, English). Pass your
        own for other languages, e.g. ``(*QUESTION_WORDS, "qui", "où", "pourquoi")``; an empty tuple leaves only
        the question marks. For languages written without spaces (Japanese, Chinese) the marks are the signal.
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        The roots' rows of ``messages`` (all its columns) plus ``first_reply_at`` (NaT if never answered), sorted by
        ``created``, with a fresh index.

    Notes
    -----
    unanswered questions = {counted roots r, not system events : question(text(r)), created(r) + after <= now, and
    no counted m below r with sender(m) != sender(r) and created(m) <= created(r) + after}

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> q = unanswered_questions(m, after="24h")
    >>> bool(q["text"].str.contains("?", regex=False).any()), bool(q["first_reply_at"].isna().any())
    (True, True)

    Questions in other languages: the full-width mark needs nothing more, French words are passed in.

    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "sender_id": "u", "created": pd.Timestamp("2026-01-01", tz="UTC"),
    ...                   "text": ["明日は休みですか？", "Où est le log", "Merci"]})
    >>> unanswered_questions(m, now="2026-01-03", question_words=["où", "pourquoi"])["id"].tolist()
    ['a', 'b']
    """
    if "text" not in messages.columns and "is_question" not in messages.columns:
        raise ValueError("messages lacks the text column (and an is_question column to fall back on)")
    wait = duration(after, "after")
    first_word = _first_word_pattern(question_words)
    which = options(include_bots, include_system)
    frame = _whole(messages)
    counted = counted_mask(frame, **which)
    threads, roots = _thread_table(frame, since=since, until=until, **which)
    last = frame["created"].array[counted].max() if counted.any() else None
    limit = to_utc(now, "now") if now is not None else last
    late = (threads["first_reply_at"].isna() | (threads["first_reply_at"] > threads["started"] + wait)).to_numpy()
    due = (threads["started"] + wait <= limit).to_numpy() if limit is not None else np.zeros(len(roots), bool)
    # Only the roots that waited long enough are read (a regex pass over their text, not every root's).
    candidates = np.flatnonzero(late & due)
    at = roots[candidates]
    # Text-free frames carry only is_question (the question marks): the first-word rule cannot apply there.
    # Only the columns that decide are read for every candidate; the rows of those that ask are taken whole.
    asks = (
        _looks_like_question(frame["text"].take(at), first_word)
        if "text" in frame
        else frame["is_question"].take(at).fillna(False).to_numpy(dtype=bool)
    )
    if "is_system" in frame:  # a join or a topic change asks nothing, whatever include_system counts
        asks = asks & ~frame["is_system"].take(at).fillna(False).to_numpy(dtype=bool)
    out = frame.iloc[at[asks]]
    out["first_reply_at"] = threads["first_reply_at"].array.take(candidates[asks])
    return out.sort_values("created", kind="stable").reset_index(drop=True)
