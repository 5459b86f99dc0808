"""Analyses: pure, vectorised functions on the frames the loaders return (one module per family).

Every function takes the messages frame first, options keyword-only, returns a new object, and by default leaves
out bots and system events (``include_bots=``, ``include_system=``) and accepts ``since=`` / ``until=``.
"""

from __future__ import annotations

from .activity import active_members, cohort_retention, dau_wau_mau, new_vs_returning
from .engagement import conversation_summary, member_summary
from .interactions import centrality, communities, interaction_edges, interaction_graph, write_graph
from .metrics import (
    METRICS,
    QUESTION_WORDS,
    CrossGroupInteraction,
    Metric,
    after_hours_share,
    complete_range,
    concentration,
    cross_group_interaction,
    dead_conversations,
    hygiene_counts,
    mark_partial,
    members_posting,
    messages_per_posting_member,
    metrics_markdown,
    post_split,
    reply_rate,
    stickiness,
    time_to_first_reply,
    time_to_first_reply_summary,
    unanswered_questions,
    visibility_share,
)
from .rhythm import WEEKDAYS, hour_weekday_table
from .threads import MissingParentWarning, ReplyCycleError, reply_times, thread_depth, thread_table
from .timeline import activity_timeline

__all__ = [
    "activity_timeline",
    "active_members",
    "dau_wau_mau",
    "new_vs_returning",
    "cohort_retention",
    "hour_weekday_table",
    "WEEKDAYS",
    "thread_depth",
    "thread_table",
    "reply_times",
    "ReplyCycleError",
    "MissingParentWarning",
    "interaction_edges",
    "interaction_graph",
    "centrality",
    "communities",
    "write_graph",
    "member_summary",
    "conversation_summary",
    "members_posting",
    "post_split",
    "stickiness",
    "messages_per_posting_member",
    "reply_rate",
    "time_to_first_reply",
    "time_to_first_reply_summary",
    "unanswered_questions",
    "QUESTION_WORDS",
    "after_hours_share",
    "dead_conversations",
    "visibility_share",
    "concentration",
    "cross_group_interaction",
    "CrossGroupInteraction",
    "mark_partial",
    "complete_range",
    "hygiene_counts",
    "METRICS",
    "Metric",
    "metrics_markdown",
]
