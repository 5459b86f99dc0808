"""Single numbers over a period: the key figures of the report and the dashboard, one function each.

Each is a thin, documented reading of a family's analysis (:func:`~chatlens.analysis.thread_table`,
:func:`~chatlens.analysis.reply_times`, :func:`~chatlens.analysis.time_to_first_reply_summary`,
:func:`~chatlens.analysis.concentration`), so a figure has one definition: the report, the dashboard and a
notebook all call the function named by the figure's ``key`` (:data:`chatlens.analysis.metrics.METRICS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import factorize_text, micros, options, select_mask, to_utc
from ._docs import shared_docs
from .people import concentration
from .replies import time_to_first_reply_summary
from .threads import counted_root_count, reply_times

__all__ = [
    "message_count",
    "member_count",
    "threads_started",
    "replies_to_others",
    "median_time_to_first_reply",
    "p90_time_to_first_reply",
    "members_for_half",
    "new_members",
    "returning_members",
]


@shared_docs
def message_count(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """Messages posted in the range: roots and replies alike.

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
    messages = |{m counted : since <= created(m) < until}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> message_count(m, since="2026-07-01", until="2026-07-08") > 0
    True
    """
    return int(select_mask(messages, since=since, until=until, **options(include_bots, include_system)).sum())


@shared_docs
def member_count(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """Distinct members who posted at least once in the range (readers are invisible in message data).

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
    members posting = |{sender_id(m) : m counted, since <= created(m) < until}|

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> 0 < member_count(m, since="2026-07-01", until="2026-07-08") <= m["sender_id"].nunique()
    True
    """
    keep = select_mask(messages, since=since, until=until, **options(include_bots, include_system))
    return int(messages["sender_id"][keep].nunique())  # only the sender column of the counted rows is copied


@shared_docs
def threads_started(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """Threads started in the range: counted roots, whether or not anyone replied (the rows of
    :func:`~chatlens.analysis.thread_table`).

    Parameters
    ----------
    %(messages)s
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    int

    Notes
    -----
    threads started = |{counted roots r : since <= created(r) < until}|, chains resolved on the whole frame (a
    person's reply to a bot's post starts no thread). Not "threads with replies": a root nobody answered counts.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "a", None], "sender_id": ["u", "v", "u"],
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True)})
    >>> threads_started(m)
    2
    """
    return counted_root_count(messages, since=since, until=until, **options(include_bots, include_system))


@shared_docs
def replies_to_others(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """Replies posted in the range to someone else's message (a reply to one's own message is not counted).

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
    replies to others = |{m counted : parent(m) in the frame, sender(m) != sender(parent(m)), since <= created(m) <
    until}| (the rows of :func:`~chatlens.analysis.reply_times` with ``self_reply`` false; a parent may predate
    ``since`` and may be a bot's post).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "parent": [None, "a", "a"], "sender_id": ["u", "v", "u"],
    ...                   "created": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True)})
    >>> replies_to_others(m)
    1
    """
    replies = reply_times(messages, since=since, until=until, **options(include_bots, include_system))
    return int((~replies["self_reply"]).sum())


def _summary(messages: pd.DataFrame, which: str, **kwargs: Any) -> pd.Timedelta:
    value = time_to_first_reply_summary(messages, **kwargs)[which]
    return pd.NaT if pd.isna(value) else pd.Timedelta(value)


@shared_docs
def median_time_to_first_reply(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Timedelta:
    """The median time to first reply over the threads started in the range that someone else answered.

    Parameters
    ----------
    %(messages)s
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    Timedelta
        NaT when no thread of the range was answered.

    Notes
    -----
    The ``median`` of :func:`~chatlens.analysis.time_to_first_reply_summary` (elapsed time): the 0.5 quantile of
    time to first reply over answered threads, whenever the answer came (also after ``until``).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> median_time_to_first_reply(m) > pd.Timedelta(0)
    True
    """
    return _summary(messages, "median", since=since, until=until, **options(include_bots, include_system))


@shared_docs
def p90_time_to_first_reply(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.Timedelta:
    """The 90th percentile of time to first reply over the threads started in the range that someone else answered.

    Parameters
    ----------
    %(messages)s
    %(thread_since_until)s
    %(include)s

    Returns
    -------
    Timedelta
        NaT when no thread of the range was answered.

    Notes
    -----
    The ``p90`` of :func:`~chatlens.analysis.time_to_first_reply_summary` (elapsed time): the 0.9 quantile of time
    to first reply over answered threads.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> p90_time_to_first_reply(m) >= median_time_to_first_reply(m)
    True
    """
    return _summary(messages, "p90", since=since, until=until, **options(include_bots, include_system))


@shared_docs
def members_for_half(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """The fewest members who together wrote half the messages of the range (0 without messages).

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
    The ``members_for_half`` of :func:`~chatlens.analysis.concentration`: with x_1 >= x_2 >= ... the messages per
    member posting and N their sum, min{k : x_1 + ... + x_k >= N / 2}. Higher means posting is shared more widely.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("abcd"), "sender_id": ["u", "u", "u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-01"] * 4, utc=True)})
    >>> members_for_half(m)
    1
    """
    summary = concentration(messages, since=since, until=until, **options(include_bots, include_system))
    return int(summary["members_for_half"])


def _first_posts(messages: pd.DataFrame, include_bots: bool, include_system: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each counted message's member code and the time (µs) of that member's first counted message."""
    keep = select_mask(messages, **options(include_bots, include_system))
    codes, _ = factorize_text(messages["sender_id"][keep])
    created = micros(messages["created"][keep])
    first = np.full(int(codes.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, codes[codes >= 0], created[codes >= 0])
    return codes, first


@shared_docs
def new_members(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """Members whose first post in the loaded data falls in the range: the members new to the conversation.

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
    new members = |{u : since <= min created(m) over u's counted messages < until}|; "first" means first in the
    frame given, so a load that starts later calls everybody new at its start.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("abc"), "sender_id": ["u", "u", "v"],
    ...                   "created": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-02-02"], utc=True)})
    >>> new_members(m, since="2026-02-01"), returning_members(m, since="2026-02-01")
    (1, 1)
    """
    _, first = _first_posts(messages, include_bots, include_system)
    lo = micros(pd.Series([to_utc(since, "since")]))[0] if since is not None else np.iinfo(np.int64).min
    hi = micros(pd.Series([to_utc(until, "until")]))[0] if until is not None else np.iinfo(np.int64).max
    return int(((first >= lo) & (first < hi)).sum())


@shared_docs
def returning_members(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """Members posting in the range who had posted before it: members posting minus new members.

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
    returning members = |{u posting in [since, until) : min created(m) over u's counted messages < since}|

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": list("ab"), "sender_id": ["u", "u"],
    ...                   "created": pd.to_datetime(["2026-01-05", "2026-02-01"], utc=True)})
    >>> returning_members(m, since="2026-02-01"), returning_members(m)
    (1, 0)
    """
    posting = member_count(messages, since=since, until=until, **options(include_bots, include_system))
    fresh = new_members(messages, since=since, until=until, **options(include_bots, include_system))
    return posting - fresh
