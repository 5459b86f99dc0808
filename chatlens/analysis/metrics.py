"""The registry of report-grade metrics: which public function defines each figure, and the columns it reads.

Each metric lives in the module of its family (:mod:`~chatlens.analysis.people`, :mod:`~chatlens.analysis.replies`,
:mod:`~chatlens.analysis.rhythm`, :mod:`~chatlens.analysis.conversations`, :mod:`~chatlens.analysis.groups`,
:mod:`~chatlens.analysis.periods`, :mod:`~chatlens.analysis.hygiene`, :mod:`~chatlens.analysis.terms`); this module only
names them, so the report, the dashboard and the data dictionary agree on one definition per figure. Every metric takes
the messages frame first and its options keyword-only, leaves out bots and system events unless ``include_bots=`` /
``include_system=`` say otherwise, and accepts ``since=`` / ``until=``. Message data cannot see readers, so every count
of people is of members *posting*.

The data dictionary (``docs/metrics.md``) is rendered from :data:`METRICS` by :mod:`chatlens.reports.dictionary`:
the formula is the ``Notes`` section of each function's docstring and the defaults come from its signature.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from ._docs import shared_docs
from .conversations import dead_conversations, visibility_share
from .groups import CrossGroupInteraction, cross_group_interaction
from .hygiene import hygiene_counts
from .membership import membership_changes, membership_churn
from .people import concentration, members_posting, messages_per_posting_member, post_split, stickiness
from .periods import complete_range, mark_partial
from .reactions import members_engaged, reaction_rows, reactions_added, reactions_by_conversation, reactions_summary
from .replies import (
    QUESTION_WORDS,
    answered_within,
    reply_rate,
    time_to_first_reply,
    time_to_first_reply_summary,
    unanswered_questions,
)
from .rhythm import after_hours_share
from .sharing import files_added, files_shared
from .terms import rising_terms
from .totals import (
    median_time_to_first_reply,
    member_count,
    members_for_half,
    message_count,
    new_members,
    p90_time_to_first_reply,
    replies_to_others,
    returning_members,
    threads_started,
)
from .urgency import messages_by_importance

# The metric functions are re-exported here too: ``chatlens.analysis.metrics.reply_rate`` was their address.
__all__ = [
    "COMMUNITY_FIGURES",
    "FIGURES",
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
    "figure_metrics",
    "figure_values",
    "mark_partial",
    "member_count",
    "members_for_half",
    "median_time_to_first_reply",
    "members_posting",
    "message_count",
    "messages_per_posting_member",
    "p90_time_to_first_reply",
    "post_split",
    "replies_to_others",
    "rising_terms",
    "answered_within",
    "reply_rate",
    "stickiness",
    "threads_started",
    "time_to_first_reply",
    "time_to_first_reply_summary",
    "unanswered_questions",
    "visibility_share",
]


class Metric(NamedTuple):
    """One entry of the data dictionary: ``formula`` is read from ``function``'s docstring (its Notes section).

    ``name`` is the figure's label wherever it is shown (report, dashboard, notebooks); ``key`` (the function's
    name) identifies it in data (``build_report(...).to_dict()``). ``unit`` says what a single-number metric
    measures (``"count"``, ``"share"`` of 0..1, ``"hours"`` for durations, or ``None`` for a table), and ``better``
    which way is an improvement: ``"up"``, ``"down"`` or ``None`` (neither: the report colours no change of it).
    """

    name: str
    function: Callable[..., Any]
    columns: tuple[str, ...]
    unit: str | None = None
    better: str | None = None

    @property
    def key(self) -> str:
        return self.function.__name__

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


def _notes(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function) or ""
    found = re.search(r"^Notes\n-+\n(.*?)(?:\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, flags=re.S | re.M)
    return " ".join(found.group(1).split()) if found else ""


_THREADS = ("id", "parent", "sender_id", "created")

#: Every metric of this module, in the order of the data dictionary.
METRICS: tuple[Metric, ...] = (
    Metric("messages", message_count, ("created",), "count", "up"),
    Metric("members posting", member_count, ("sender_id", "created"), "count", "up"),
    Metric("threads started", threads_started, _THREADS, "count", "up"),
    Metric("replies to others", replies_to_others, _THREADS, "count", "up"),
    Metric("reply rate", reply_rate, _THREADS, "share", "up"),
    Metric("median time to first reply", median_time_to_first_reply, _THREADS, "hours", "down"),
    Metric("90th percentile time to first reply", p90_time_to_first_reply, _THREADS, "hours", "down"),
    Metric("stickiness (DAU/MAU)", stickiness, ("sender_id", "created"), "share", "up"),
    # Posting after hours is the load the Viva Insights / Slack wellbeing views ask teams to reduce.
    Metric("after-hours share", after_hours_share, ("created", "sender_timezone (if known)"), "share", "down"),
    Metric("members for half of messages", members_for_half, ("sender_id",), "count", "up"),
    Metric("members posting per period", members_posting, ("sender_id", "created")),
    Metric("posts and replies", post_split, ("parent", "created")),
    Metric("messages per member posting", messages_per_posting_member, ("sender_id", "created")),
    Metric("time to first reply", time_to_first_reply, (*_THREADS, "conversation_id")),
    Metric("time to first reply: median and p90", time_to_first_reply_summary, _THREADS),
    Metric("unanswered questions", unanswered_questions, (*_THREADS, "text")),
    Metric("answered within a threshold, per conversation", answered_within, (*_THREADS, "conversation_id")),
    # Reads message text: off in text-free and pseudonymised frames, in the report only with --include-text.
    Metric("rising terms", rising_terms, ("text", "sender_id", "created")),
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
    # The signals besides messages (reactions, files, importance, membership events), as the services' own
    # analytics count them.
    Metric("members engaged", members_engaged, ("sender_id", "created", "reactions"), "count", "up"),
    Metric("new members", new_members, ("sender_id", "created"), "count", "up"),
    Metric("returning members", returning_members, ("sender_id", "created"), "count", "up"),
    Metric("reactions added", reactions_added, ("created", "reaction_count"), "count", "up"),
    # More files is not better or worse in itself: no colour.
    Metric("files shared (count)", files_added, ("created", "file_count"), "count", None),
    Metric("reactions per conversation", reactions_by_conversation, ("conversation_id", "created", "reactions")),
    Metric("reactions", reaction_rows, ("id", "sender_id", "created", "reactions")),
    Metric("reactions per period", reactions_summary, ("id", "sender_id", "created", "reactions")),
    Metric("files shared", files_shared, ("created", "file_kinds")),
    Metric("messages by importance", messages_by_importance, ("created", "importance")),
    Metric("membership changes", membership_changes, ("conversation_id", "created", "members_joined", "members_left")),
    Metric(
        "membership churn",
        membership_churn,
        ("conversation_id", "created", "members_joined", "members_left", "conversations.member_count"),
    ),
    Metric("cross-group interaction", cross_group_interaction, (*_THREADS, "mentions")),
    Metric("partial periods", mark_partial, ()),
    Metric("complete range", complete_range, ("created",)),
    Metric(
        "hygiene counts",
        hygiene_counts,
        ("is_bot", "is_system", "subtype", "sender_id", "sender_deleted", "users.deleted"),
    ),
)

#: The community section's figures (report and dashboard), in the order shown: keys of :data:`METRICS`.
COMMUNITY_FIGURES: tuple[str, ...] = (
    "member_count",
    "members_engaged",
    "new_members",
    "returning_members",
    "reactions_added",
    "files_added",
)

#: The key figures of the report and the dashboard, in the order shown: keys of :data:`METRICS`.
FIGURES: tuple[str, ...] = (
    "message_count",
    "member_count",
    "threads_started",
    "replies_to_others",
    "reply_rate",
    "median_time_to_first_reply",
    "p90_time_to_first_reply",
    "stickiness",
    "after_hours_share",
    "members_for_half",
)


def figure_metrics(keys: tuple[str, ...] = FIGURES) -> list[Metric]:
    """The :data:`METRICS` entries of ``keys`` (the key figures by default), in that order.

    Parameters
    ----------
    keys
        Metric keys (function names), default :data:`FIGURES`.

    Returns
    -------
    list of Metric

    Raises
    ------
    ValueError
        Naming the keys that are no metric's.

    Examples
    --------
    >>> [m.name for m in figure_metrics(("threads_started", "replies_to_others"))]
    ['threads started', 'replies to others']
    """
    by_key = {m.key: m for m in METRICS}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ValueError(f"keys: {unknown} are not metrics; expected some of {sorted(by_key)}")
    return [by_key[k] for k in keys]


@shared_docs
def figure_values(
    messages: Any,
    *,
    since: Any,
    until: Any,
    tz: str = "UTC",
    keys: tuple[str, ...] = FIGURES,
    include_bots: bool = False,
    include_system: bool = False,
) -> dict[str, float]:
    """Each key figure over ``[since, until)``, by key: the metric's function called on ``messages`` with that
    period and nothing else of the figure's own (the report and the dashboard both show these).

    Counts are ints, shares floats in 0..1, durations hours (NaN where a figure has no value). Functions that take
    ``tz`` get it; :func:`after_hours_share` reads each sender's own clock where the frame knows it
    (``sender_timezone``, :func:`chatlens.add_sender_details`), ``tz`` for the rest.

    Parameters
    ----------
    %(messages)s
    since, until
        The period ``[since, until)`` (threads are picked by their root's time).
    tz
        The zone of days (stickiness) and of the working day (after-hours share) where a sender's own is unknown.
    keys
        Which figures, default :data:`FIGURES`.
    %(include)s

    Returns
    -------
    dict
        key -> value.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> v = figure_values(m, since="2026-07-01", until="2026-07-29")
    >>> v["message_count"] == message_count(m, since="2026-07-01", until="2026-07-29")
    True
    """
    out: dict[str, float] = {}
    for metric in figure_metrics(keys):
        params = inspect.signature(metric.function).parameters
        kwargs: dict[str, Any] = {
            "since": since,
            "until": until,
            "include_bots": include_bots,
            "include_system": include_system,
        }
        if "tz" in params:
            kwargs["tz"] = tz
        if "default_tz" in params:
            member = "sender_timezone" in getattr(messages, "columns", ())
            kwargs.update(tz="member" if member else tz, default_tz=tz)
        value = metric.function(messages, **kwargs)
        if metric.unit == "hours":
            value = float("nan") if value is None or value != value else value.total_seconds() / 3600
        elif metric.unit == "share":
            value = float(value)
        out[metric.key] = value
    return out
