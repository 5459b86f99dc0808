"""The parameter docs every analysis shares, written once (as seaborn's ``_param_docs``).

A docstring line holding only ``%(name)s`` is replaced by the entry ``name`` of :data:`PARAMS`, indented as the line
was, when the function is decorated with :func:`shared_docs`. So "which messages count" reads the same in every
function, and changing a rule changes its description everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from textwrap import dedent
from typing import TypeVar

__all__ = ["PARAMS", "shared_docs"]

F = TypeVar("F", bound=Callable[..., object])

PARAMS: dict[str, str] = {
    "messages": """
        messages
            The messages frame (:func:`chatlens.load_messages`, or any frame with its columns); never modified.
        """,
    "since_until": """
        since, until
            Count only messages created in ``[since, until)``: dates or times (naive ones are UTC), None for no bound.
        """,
    "thread_since_until": """
        since, until
            Count only threads whose root was created in ``[since, until)`` (naive times are UTC, None for no bound).
            Reply chains are resolved on the whole frame first, bots and system events included: a reply after
            ``until`` still answers its thread, and people's replies to a bot's post stay in the bot's thread.
        """,
    "include": """
        include_bots, include_system
            Count bots' messages (``is_bot``) and system events (``is_system``: joins, topic changes ...) too; both
            are left out by default.
        """,
    "freq": """
        freq
            The calendar periods: any pandas frequency (``"h"``, ``"D"``, ``"W"``, ``"MS"`` ...), cut in ``tz``.
        """,
    "tz": """
        tz
            The zone whose calendar and wall clock count (a "day" is the local day, DST included).
        """,
    "member_tz": """
        tz, default_tz
            The zone of the wall clock; ``"member"``: each sender's own zone (the ``sender_timezone`` column of
            :func:`chatlens.add_sender_details`; ``default_tz`` where it is missing, or not in this machine's tz
            database), so a team across continents is judged by each member's own day.
        """,
    "hours": """
        hours
            Working hours ``(start_hour, end_hour)``, local: a time in ``[start, end)`` is in hours. (The former
            names ``business_hours`` and ``workday`` are still taken for one version, with a DeprecationWarning.)
        """,
    "holidays": """
        holidays
            Local dates that are not working days (any list ``pandas.to_datetime`` reads).
        """,
    "graph": """
        graph
            A member graph from :func:`~chatlens.analysis.interaction_graph` (never modified).
        """,
    "weight": """
        weight
            The edge attribute that weighs edges (``"weight"``: interactions); None for unweighted.
        """,
    "seed": """
        seed
            Seed of the randomised parts, so results repeat.
        """,
}

_TOKEN = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", flags=re.M)


def shared_docs(function: F) -> F:
    """Fill the ``%(name)s`` lines of ``function``'s docstring from :data:`PARAMS`; returns ``function`` itself.

    Examples
    --------
    >>> @shared_docs
    ... def f(messages):
    ...     '''Parameters
    ...     ----------
    ...     %(messages)s
    ...     '''
    >>> print(f.__doc__.splitlines()[2].strip())
    messages
    """

    def entry(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in PARAMS:
            raise KeyError(f"{function.__qualname__}: no shared parameter doc named {name!r}")
        lines = dedent(PARAMS[name]).strip("\n").splitlines()
        return "\n".join(match.group("indent") + line if line else line for line in lines)

    if function.__doc__:
        function.__doc__ = _TOKEN.sub(entry, function.__doc__)
    return function
