"""The registry of report-grade metrics: which public function defines each figure, and the columns it reads.

Each metric lives in the module of its family (:mod:`~chatlens.analysis.people`, :mod:`~chatlens.analysis.replies`,
:mod:`~chatlens.analysis.rhythm`, :mod:`~chatlens.analysis.conversations`, :mod:`~chatlens.analysis.groups`,
:mod:`~chatlens.analysis.periods`, :mod:`~chatlens.analysis.hygiene`); this module only names them, so the report,
the dashboard and the data dictionary agree on one definition per figure. Every metric takes the messages frame
first and its options keyword-only, leaves out bots and system events unless ``include_bots=`` /
``include_system=`` say otherwise, and accepts ``since=`` / ``until=``. Message data cannot see readers, so every
count of people is of members *posting*.

The data dictionary (``docs/metrics.md``) is rendered from :data:`METRICS` by :mod:`chatlens.reports.dictionary`:
the formula is the ``Notes`` section of each function's docstring and the defaults come from its signature.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .conversations import dead_conversations, visibility_share
from .groups import CrossGroupInteraction, cross_group_interaction
from .hygiene import hygiene_counts
from .people import concentration, members_posting, messages_per_posting_member, post_split, stickiness
from .periods import complete_range, mark_partial
from .replies import (
    QUESTION_WORDS,
    reply_rate,
    time_to_first_reply,
    time_to_first_reply_summary,
    unanswered_questions,
)
from .rhythm import after_hours_share

# The metric functions are re-exported here too: ``chatlens.analysis.metrics.reply_rate`` was their address.
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
    "post_split",
    "reply_rate",
    "stickiness",
    "time_to_first_reply",
    "time_to_first_reply_summary",
    "unanswered_questions",
    "visibility_share",
]


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


def _notes(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function) or ""
    found = re.search(r"^Notes\n-+\n(.*?)(?:\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, flags=re.S | re.M)
    return " ".join(found.group(1).split()) if found else ""


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
)
