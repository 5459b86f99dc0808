"""Analyses: pure, vectorised functions on the frames the loaders return (one module per family).

Every function takes the messages frame first, options keyword-only, returns a new object, and by default leaves
out bots and system events (``include_bots=``, ``include_system=``) and accepts ``since=`` / ``until=``.
"""

from __future__ import annotations

from .activity import active_members, cohort_retention, dau_wau_mau, new_vs_returning
from .conversations import dead_conversations, visibility_share
from .engagement import conversation_summary, member_summary
from .groups import CrossGroupInteraction, cross_group_interaction
from .hygiene import hygiene_counts
from .interactions import centrality, communities, interaction_edges, interaction_graph, write_graph
from .membership import membership_changes, membership_churn
from .metrics import COMMUNITY_FIGURES, FIGURES, METRICS, Metric, figure_metrics, figure_values
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
from .rhythm import WEEKDAYS, UnknownTimeZoneWarning, after_hours_share, hour_weekday_table, unknown_timezones
from .sharing import files_added, files_shared
from .terms import STOP_WORDS, rising_terms
from .threads import MissingParentWarning, ReplyCycleError, reply_times, thread_depth, thread_table
from .timeline import activity_timeline
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
from .urgency import IMPORTANCE_LEVELS, messages_by_importance

__all__ = [
    "activity_timeline",
    "active_members",
    "dau_wau_mau",
    "new_vs_returning",
    "cohort_retention",
    "hour_weekday_table",
    "WEEKDAYS",
    "unknown_timezones",
    "UnknownTimeZoneWarning",
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
    "answered_within",
    "QUESTION_WORDS",
    "after_hours_share",
    "dead_conversations",
    "visibility_share",
    "concentration",
    "cross_group_interaction",
    "CrossGroupInteraction",
    "mark_partial",
    "reaction_rows",
    "reactions_summary",
    "members_engaged",
    "membership_changes",
    "membership_churn",
    "files_shared",
    "files_added",
    "reactions_added",
    "reactions_by_conversation",
    "new_members",
    "returning_members",
    "COMMUNITY_FIGURES",
    "IMPORTANCE_LEVELS",
    "messages_by_importance",
    "complete_range",
    "hygiene_counts",
    "rising_terms",
    "STOP_WORDS",
    "message_count",
    "member_count",
    "threads_started",
    "replies_to_others",
    "median_time_to_first_reply",
    "p90_time_to_first_reply",
    "members_for_half",
    "METRICS",
    "FIGURES",
    "Metric",
    "figure_metrics",
    "figure_values",
]
