"""The report's community section: who engages (posting or reacting), who is new and who returns, how cohorts
stay, who joined and left, which conversations went quiet, and the conversations side by side.

Every number is the analysis function's (the community figures are :data:`chatlens.analysis.COMMUNITY_FIGURES`,
compared with the previous period by the key figures' rules in :mod:`chatlens.reports.figures`); this module only
picks the period and the rows and says in words when a table has nothing to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..analysis import (
    COMMUNITY_FIGURES,
    cohort_retention,
    conversation_summary,
    dead_conversations,
    membership_churn,
    reactions_by_conversation,
)
from ..analysis._common import select_columns
from .figures import key_figures

__all__ = ["Community", "CommunityTable", "community"]

#: How many monthly cohorts the retention table shows (the latest ones), and how many months after the first.
COHORTS = 6


@dataclass(frozen=True, kw_only=True)
class CommunityTable:
    """One table of the section: ``frame`` holds the values, ``columns`` says which to show, with what heading and
    as what (``text``, ``int``, ``pct``, ``hours``, ``day``); ``empty`` says in words why there are no rows."""

    key: str
    title: str
    frame: pd.DataFrame
    columns: tuple[tuple[str, str, str], ...]
    empty: str
    notes: tuple[str, ...] = ()

    def records(self) -> list[dict[str, Any]]:
        """The rows shown, as dicts of the shown columns (the template and ``to_dict`` read these)."""
        shown = self.frame.reset_index()
        return [{c: row[c] for c, _, _ in self.columns} for row in shown.to_dict("records")]


@dataclass(frozen=True, kw_only=True)
class Community:
    """The section's figures (as the key figures: value, previous, change, verdict) and tables."""

    figures: list[dict[str, Any]]
    tables: list[CommunityTable] = field(default_factory=list)


def community(
    messages: pd.DataFrame,
    *,
    since: pd.Timestamp,
    until: pd.Timestamp,
    tz: str = "UTC",
    conversations: pd.DataFrame | None = None,
    top: int = 10,
    min_group_size: int = 1,
) -> Community:
    """The community section over ``[since, until)`` (``conversations``: the conversations frame, for membership
    churn against today's member counts and for conversations with no message at all; ``min_group_size``: only
    conversations where at least that many people posted are compared).

    Examples
    --------
    >>> from chatlens.loaders import load_conversations, load_messages
    >>> m = load_messages("demo", text=False, progress=False)
    >>> c = community(m, since=pd.Timestamp("2026-07-03", tz="UTC"), until=pd.Timestamp("2026-07-31", tz="UTC"),
    ...               conversations=load_conversations("demo"))
    >>> [f["key"] for f in c.figures][:2], [t.key for t in c.tables]
    (['member_count', 'members_engaged'], ['compared', 'retention', 'membership', 'dead'])
    """
    from . import _release_unused, _resolve_reply_chains

    # The tables that read the whole history but no thread first, then the reply chains resolved, then what reads
    # threads: the memory each step takes is never on top of the chains' (the order shown is fixed below).
    made: dict[str, CommunityTable] = {}
    for key, make in (
        ("retention", lambda: _retention(messages, until, tz)),
        ("membership", lambda: _membership(messages, since, until, conversations)),
        ("dead", lambda: _dead(messages, until, conversations)),
    ):
        _release_unused()  # each table starts without the garbage of the one before (reports._release_unused)
        made[key] = make()
    _resolve_reply_chains(messages)
    figures = key_figures(messages, since=since, until=until, tz=tz, keys=COMMUNITY_FIGURES)
    _release_unused()
    made["compared"] = _compared(messages, since, until, top, min_group_size)
    tables = [made[key] for key in ("compared", "retention", "membership", "dead")]
    return Community(figures=figures, tables=tables)


def _compared(messages: pd.DataFrame, since: Any, until: Any, top: int, k: int) -> CommunityTable:
    summary = conversation_summary(messages, since=since, until=until)
    summary = summary[(summary["members_posting"] >= k).to_numpy()].head(top)
    reactions = reactions_by_conversation(messages, since=since, until=until)
    table = summary[["name", "messages", "members_posting", "reply_rate", "median_time_to_first_reply"]].copy()
    table["reactions"] = reactions["reactions"].reindex(table.index.astype(str)).fillna(0).astype("int64").to_numpy()
    table["reactions_per_message"] = table["reactions"] / table["messages"].where(table["messages"] > 0)
    return CommunityTable(
        key="compared",
        title="Conversations compared",
        frame=table,
        columns=(
            ("name", "conversation", "text"),
            ("messages", "messages", "int"),
            ("members_posting", "members posting", "int"),
            ("reply_rate", "reply rate", "pct"),
            ("median_time_to_first_reply", "median time to first reply", "hours"),
            ("reactions", "reactions", "int"),
            ("reactions_per_message", "reactions per message", "ratio"),
        ),
        empty="No conversation has messages from people in this period.",
        notes=("The most active conversations of the period, each figure by the same rules as the key figures.",),
    )


def _retention(messages: pd.DataFrame, until: Any, tz: str) -> CommunityTable:
    # Cohorts by the month of a member's first post in the data before the period's end.
    # Only the columns cohorts read, of the rows before the end: not a copy of the whole frame (text included).
    before = select_columns(messages, ("created", "sender_id"), include_bots=True, include_system=True, until=until)
    table = cohort_retention(before, freq="M", tz=tz)
    table = table.tail(COHORTS).iloc[:, : COHORTS + 1] if len(table) else table
    frame = pd.DataFrame(index=pd.Index([], name="cohort"))
    if len(table):
        frame = table.copy()
        frame.columns = [f"m{int(k)}" for k in table.columns]
        frame.index = pd.Index([str(p) for p in table.index], name="cohort")  # one per cohort (a few)
    shown = (("cohort", "first posted in", "text"), *((c, f"+{c[1:]} months", "pct") for c in frame.columns))
    return CommunityTable(
        key="retention",
        title="Retention by cohort",
        frame=frame,
        columns=tuple(shown),
        empty="No member posted before the period's end.",
        notes=(
            "Each row: the members who first posted in that month, and the share of them posting again one, two, "
            "... months later (cohort_retention). Months not reached yet are blank.",
        ),
    )


def _membership(messages: pd.DataFrame, since: Any, until: Any, conversations: pd.DataFrame | None) -> CommunityTable:
    churn = membership_churn(messages, conversations=conversations, since=since, until=until)
    return CommunityTable(
        key="membership",
        title="Members joining and leaving",
        frame=churn,
        columns=(
            ("name", "conversation", "text"),
            ("joined", "joined", "int"),
            ("left", "left", "int"),
            ("net", "net", "signed"),
            ("members_at_start", "members at the start", "int"),
            ("churn", "churn", "pct"),
        ),
        empty="No member joined or left a conversation in this period, as far as its membership events say.",
        notes=(
            "From the join and leave events the service posts into each conversation; churn is those who left over "
            "the members at the period's start (estimated from today's member count).",
        ),
    )


def _dead(messages: pd.DataFrame, until: Any, conversations: pd.DataFrame | None) -> CommunityTable:
    counted = select_columns(messages, ("conversation_id", "conversation_name", "created"), until=until)
    dead = dead_conversations(counted, conversations, idle="30D", now=until)
    return CommunityTable(
        key="dead",
        title="Quiet conversations (no message from people in the 30 days before the period's end)",
        frame=dead,
        columns=tuple((c, c.replace("_", " "), "day" if "last" in c else "text") for c in dead.columns),
        empty="Every conversation had a message from people in the last 30 days of the period.",
    )
