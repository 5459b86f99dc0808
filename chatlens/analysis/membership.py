"""Membership over time: who joined and left which conversation when, and churn per conversation.

Joins and leaves come from the membership events the services post into conversations (Slack ``channel_join`` /
``channel_leave`` lines, Teams members-added / members-left system messages), normalised by the backends into the
messages frame's ``members_joined`` and ``members_left`` columns. A service that posts no such event (a Slack
export of a channel whose join lines were hidden, members added to a Teams chat before its history starts) shows
no change: these counts are what the history says, not the membership list's own history.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._common import flatten_lists, list_column, select_mask
from ._docs import shared_docs

__all__ = ["membership_changes", "membership_churn"]

CHANGE_COLUMNS = ("conversation_id", "conversation_name", "user_id", "change", "created", "message_id")


def _changes_of(messages: pd.DataFrame, column: str, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    if column not in messages.columns or not len(rows):
        return np.array([], dtype=np.int64), pa.array([], pa.string())
    at, flat = flatten_lists(list_column(messages[column].iloc[rows]))
    return rows[at], flat


@shared_docs
def membership_changes(messages: pd.DataFrame, *, since: Any = None, until: Any = None) -> pd.DataFrame:
    """Every join and leave the history records: one row per member, conversation and change.

    Parameters
    ----------
    %(messages)s
    %(since_until)s

    Returns
    -------
    DataFrame
        ``conversation_id``, ``conversation_name``, ``user_id``, ``change`` (``"joined"`` or ``"left"``),
        ``created`` (the event's time) and ``message_id`` (the event), in time order.

    Notes
    -----
    One row per user id in a message's members_joined (change "joined") or members_left ("left"); bots' and
    system messages count, since membership events are system events.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["e1", "e2"], "sender_id": ["u1", "u2"], "conversation_id": ["c", "c"],
    ...     "created": pd.to_datetime(["2026-01-01", "2026-01-05"], utc=True), "is_system": [True, True],
    ...     "members_joined": [["u1", "u2"], []], "members_left": [[], ["u2"]]})
    >>> membership_changes(m)[["user_id", "change"]].values.tolist()
    [['u1', 'joined'], ['u2', 'joined'], ['u2', 'left']]
    """
    # Membership events are system events and bots are members too: every row counts, only the period picks.
    rows = np.flatnonzero(select_mask(messages, include_bots=True, include_system=True, since=since, until=until))
    parts = []
    for column, change in (("members_joined", "joined"), ("members_left", "left")):
        at, users = _changes_of(messages, column, rows)
        parts.append((at, users.to_numpy(zero_copy_only=False), change))
    at = np.concatenate([p[0] for p in parts])
    users = np.concatenate([p[1] for p in parts]).astype(object)
    change = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts])
    order = np.lexsort((np.arange(len(at)), at))  # by message (time order), joins before leaves within one
    at, users, change = at[order], users[order], change[order]
    take = messages.iloc[at]
    name = take["conversation_name"] if "conversation_name" in take else take.get("conversation_id")
    return pd.DataFrame(
        {
            "conversation_id": pd.Categorical(take["conversation_id"].astype(str).to_numpy()),
            "conversation_name": pd.Categorical(name.astype(str).to_numpy() if name is not None else [None] * len(at)),
            "user_id": pd.Categorical(users),
            "change": pd.Categorical(change, categories=["joined", "left"]),
            "created": take["created"].reset_index(drop=True).astype("datetime64[us, UTC]"),
            "message_id": pd.array(take["id"].astype(str).to_numpy(), dtype=pd.ArrowDtype(pa.string())),
        },
        columns=list(CHANGE_COLUMNS),
    )


@shared_docs
def membership_churn(
    messages: pd.DataFrame,
    *,
    conversations: pd.DataFrame | None = None,
    since: Any = None,
    until: Any = None,
) -> pd.DataFrame:
    """Joins, leaves and churn per conversation over ``[since, until)``.

    Parameters
    ----------
    %(messages)s
    conversations
        The conversations frame (:func:`chatlens.load_conversations`): with it, each conversation's members at the
        start of the period are estimated from its current ``member_count`` (minus the joins since ``since``, plus
        the leaves), and ``churn`` is computed; without it, ``churn`` is ``<NA>``.
    %(since_until)s

    Returns
    -------
    DataFrame
        Indexed by ``conversation_id``: ``name``, ``joined``, ``left``, ``net`` (joined − left),
        ``members_at_start`` (nullable) and ``churn`` (left / members_at_start, nullable); sorted by ``left``.

    Notes
    -----
    churn = left in [since, until) / members at since;
    members at since ≈ member_count now − joins after since + leaves after since.

    Examples
    --------
    >>> from chatlens.loaders import load_conversations, load_messages
    >>> m = load_messages("demo", progress=False)
    >>> table = membership_churn(m, conversations=load_conversations("demo"))
    >>> list(table.columns)
    ['name', 'joined', 'left', 'net', 'members_at_start', 'churn']
    >>> bool((table["net"] == table["joined"] - table["left"]).all())
    True
    """
    changes = membership_changes(messages, since=since, until=until)
    columns = ["name", "joined", "left", "net", "members_at_start", "churn"]
    counts = pd.crosstab(changes["conversation_id"], changes["change"]).reindex(
        columns=["joined", "left"], fill_value=0
    )
    table = counts.astype("int64")
    table.index = pd.Index(table.index.astype(str), name="conversation_id")
    first = changes.drop_duplicates("conversation_id")
    names = pd.Series(first["conversation_name"].astype(str).to_numpy(), index=first["conversation_id"].astype(str))
    table.insert(0, "name", names.reindex(table.index).to_numpy())
    table["net"] = table["joined"] - table["left"]
    table["members_at_start"] = pd.array([pd.NA] * len(table), dtype="Int64")
    table["churn"] = pd.array([pd.NA] * len(table), dtype="Float64")
    if conversations is not None and len(table):
        later = membership_changes(messages, since=since)  # from `since` to the end of the history
        after = pd.crosstab(later["conversation_id"], later["change"]).reindex(columns=["joined", "left"], fill_value=0)
        after.index = after.index.astype(str)
        now = pd.Series(conversations["member_count"].to_numpy(), index=conversations["id"].astype(str).to_numpy())
        start = (
            now.reindex(table.index)
            - after["joined"].reindex(table.index).fillna(0)
            + after["left"].reindex(table.index).fillna(0)
        )
        start = pd.array(start.round().to_numpy(dtype="float64"), dtype="Float64").astype("Int64")
        table["members_at_start"] = start
        safe = pd.Series(start, index=table.index).where(pd.Series(start, index=table.index) > 0)
        table["churn"] = (table["left"] / safe).astype("Float64")
    return table[columns].sort_values(["left", "joined"], ascending=False, kind="stable")
