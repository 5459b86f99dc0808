"""Reactions: who reacted to what, reactions per period, and members engaged (posted or reacted).

Reactions are the signal of the members who read and respond without posting: Slack's channel analytics count
them ("Reactions added"), and the Teams user activity report counts "Reactions" per user. They come from the
messages frame's ``reactions`` column (one entry per reacting user and emoji; see :mod:`chatlens.schema`); Slack
names only a sample of the users when many reacted, so those reactions are counted but belong to nobody known.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import dtype_of
from ._common import (
    arrow_categorical,
    factorize_text,
    fill_periods,
    flatten_lists,
    list_column,
    local_times,
    select_mask,
)
from ._docs import shared_docs

__all__ = ["reaction_rows", "reactions_summary", "reactions_added", "reactions_by_conversation", "members_engaged"]

#: The columns of :func:`reaction_rows`.
REACTION_COLUMNS = (
    "conversation_id",
    "message_id",
    "sender_id",
    "emoji",
    "user_id",
    "count",
    "created",
    "message_created",
)


def _reaction_parts(messages: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, pa.StructArray]:
    """For the messages at positions ``rows``: each reaction's message position and the reactions, flattened."""
    if "reactions" not in messages.columns or not len(rows):
        return np.array([], dtype=np.int64), pa.array([], type=_REACTION)
    at, flat = flatten_lists(list_column(messages["reactions"].iloc[rows], _REACTION))
    return rows[at], flat


_REACTION = dtype_of("messages", "reactions").pyarrow_dtype.value_type


@shared_docs
def reaction_rows(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """The reactions as a tidy frame: one row per reacted message, emoji and reacting user.

    Parameters
    ----------
    %(messages)s
    since, until
        Only reactions to messages created in ``[since, until)``.
    include_bots, include_system
        Reactions to bots' messages and to system events too (left out by default, as the messages are).

    Returns
    -------
    DataFrame
        ``conversation_id``, ``message_id``, ``sender_id`` (who posted the message), ``emoji``, ``user_id`` (who
        reacted; ``<NA>`` for the reactions Slack counts without naming the user), ``count`` (1 per named user, the
        rest of the count on the unnamed row), ``created`` (when the reaction was added, where the service says:
        Teams; NaT for Slack) and ``message_created``.

    Notes
    -----
    One row per (message, emoji, named user), count 1, and one per (message, emoji) with user_id <NA> and count =
    the service's count − the users it names; so Σ count over a message's rows = its ``reaction_count``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b"], "sender_id": ["u", "v"], "conversation_id": ["c", "c"],
    ...     "created": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
    ...     "reactions": [[{"emoji": "tada", "user": "v", "count": 1, "created": None},
    ...                    {"emoji": "tada", "user": None, "count": 4, "created": None}], []]})
    >>> reaction_rows(m)[["message_id", "emoji", "user_id", "count"]].values.tolist()
    [['a', 'tada', 'v', 1], ['a', 'tada', <NA>, 4]]
    """
    keep = select_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    at, flat = _reaction_parts(messages, np.flatnonzero(keep))
    # Only the columns read, per reaction: not a copy of every column (text, lists) of each reacted message.
    take = messages[[c for c in ("conversation_id", "id", "sender_id", "created") if c in messages.columns]].iloc[at]
    emoji = flat.field("emoji") if len(flat) else pa.array([], pa.string())
    user = flat.field("user") if len(flat) else pa.array([], pa.string())
    count = flat.field("count").fill_null(1) if len(flat) else pa.array([], pa.int64())
    created = flat.field("created") if len(flat) else pa.array([], pa.timestamp("us", "UTC"))
    no_rows = pd.Series(pd.Categorical([None] * len(take)))
    frame = pd.DataFrame(
        {
            "conversation_id": take.get("conversation_id", no_rows).reset_index(drop=True).astype("category"),
            "message_id": take["id"].reset_index(drop=True).astype(pd.ArrowDtype(pa.string())),
            "sender_id": take["sender_id"].reset_index(drop=True).astype("category"),
            "emoji": arrow_categorical(emoji),
            "user_id": pd.array(user, dtype=pd.ArrowDtype(pa.string())),
            "count": pd.array(count.to_numpy(zero_copy_only=False), dtype="Int64"),
            "created": pa.chunked_array([created], type=created.type).to_pandas().astype("datetime64[us, UTC]"),
            "message_created": take["created"].reset_index(drop=True).astype("datetime64[us, UTC]"),
        },
        columns=list(REACTION_COLUMNS),
    )
    return frame


@shared_docs
def reactions_summary(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    tz: str = "UTC",
    top: int = 3,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Reactions per calendar period: how many, on how many messages, by how many members, and the top emoji.

    A reaction belongs to the period of the message it reacts to (Slack gives no reaction times, so every service
    is counted the same way).

    Parameters
    ----------
    %(messages)s
    %(freq)s
    %(tz)s
    top
        How many of the period's most used emoji ``top_emoji`` names.
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by period start (every period from the first to the last message): ``messages``, ``reactions``
        (the sum of counts), ``reactions_per_message``, ``messages_with_reactions``, ``members_reacted`` (distinct
        named users who reacted), ``top_emoji`` (comma-separated, most used first; ties by name).

    Notes
    -----
    reactions(p) = Σ count over the reactions to messages created in p;
    reactions_per_message(p) = reactions(p) / messages(p). Slack's member analytics call reactions "reactions
    added" (counted by who reacted); the Teams team activity report's "Reactions" column counts them per team.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> s = reactions_summary(load_messages("demo", progress=False), freq="MS")
    >>> list(s.columns)
    ['messages', 'reactions', 'reactions_per_message', 'messages_with_reactions', 'members_reacted', 'top_emoji']
    >>> bool((s["reactions"] >= s["messages_with_reactions"]).all())
    True
    """
    keep = select_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    rows = np.flatnonzero(keep)
    columns = ["messages", "reactions", "reactions_per_message", "messages_with_reactions", "members_reacted"]
    if not len(rows):
        empty = pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
        empty["reactions_per_message"] = empty["reactions_per_message"].astype("float64")
        empty["top_emoji"] = pd.Series(dtype="object")
        empty.index = pd.DatetimeIndex([], tz=tz, name="period")
        return empty
    when = local_times(messages[["created"]].iloc[rows], tz).reset_index(drop=True)  # not every column copied
    at, flat = _reaction_parts(messages, rows)
    position = np.searchsorted(rows, at)
    named = flat.field("user") if len(flat) else pa.array([], pa.string())
    per = pd.DataFrame(
        {
            "period": when.iloc[position].reset_index(drop=True),
            "emoji": arrow_categorical(flat.field("emoji") if len(flat) else pa.array([], pa.string())),
            "user": pc.dictionary_encode(named).indices.to_numpy(zero_copy_only=False) if len(flat) else [],
            "count": flat.field("count").fill_null(1).to_numpy(zero_copy_only=False) if len(flat) else [],
            "message": position,
        }
    )
    bins = pd.Grouper(key="period", freq=freq)
    table = pd.DataFrame({"period": when, "one": 1}).groupby(bins)["one"].sum().to_frame("messages")
    grouped = per.groupby(bins)
    table["reactions"] = grouped["count"].sum()
    table["messages_with_reactions"] = grouped["message"].nunique()
    table["members_reacted"] = grouped["user"].nunique()  # codes; nunique leaves out the unnamed (NaN)
    table = fill_periods(table.fillna(0), freq).astype("int64")
    table["reactions_per_message"] = (table["reactions"] / table["messages"].where(table["messages"] > 0)).fillna(0.0)
    table["top_emoji"] = _top_emoji(per, top, bins).reindex(table.index).fillna("")
    return table[[*columns, "top_emoji"]]


def _top_emoji(per: pd.DataFrame, top: int, bins: pd.Grouper) -> pd.Series:
    """Per period, its ``top`` emoji by count (ties by name), comma-separated."""
    if not len(per):
        return pd.Series(dtype="object")
    counts = per.groupby([bins, "emoji"], observed=True)["count"].sum().reset_index()
    counts = counts[counts["count"] > 0]
    counts = counts.sort_values(["period", "count", "emoji"], ascending=[True, False, True])
    best = counts.groupby("period").head(top)
    return best.groupby("period")["emoji"].agg(", ".join)


@shared_docs
def members_engaged(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """How many members posted or reacted: the members engaged, beside the members posting.

    Parameters
    ----------
    %(messages)s
    since, until
        Messages created, and reactions to messages created, in ``[since, until)``.
    %(include)s

    Notes
    -----
    members engaged = |senders of counted messages ∪ named users who reacted to them|. Slack's "members who
    reacted" are the users it names (a sample when many reacted). A reaction is dated by its message. Between
    Slack analytics' "people posting" (members_posting) and its "active people", who include readers, which no
    message history can see.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> from chatlens.analysis import member_count
    >>> m = load_messages("demo", progress=False)
    >>> members_engaged(m) >= member_count(m)
    True
    """
    keep = select_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    rows = np.flatnonzero(keep)
    _, senders = factorize_text(messages["sender_id"].iloc[rows])
    _, flat = _reaction_parts(messages, rows)
    reactors = flat.field("user").drop_null().unique().to_pylist() if len(flat) else []
    return len(set(senders.tolist()) | set(reactors))


@shared_docs
def reactions_added(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> int:
    """How many reactions the counted messages of the range drew (Slack's "reactions added").

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
    reactions added = Σ reaction_count(m) over counted messages m with since <= created(m) < until (a reaction is
    dated by its message: Slack gives no reaction times).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", progress=False)
    >>> reactions_added(m) == int(reaction_rows(m)["count"].sum())
    True
    """
    keep = select_mask(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    if "reaction_count" in messages.columns:
        return int(messages["reaction_count"][keep].fillna(0).sum())
    return int(reaction_rows(messages, since=since, until=until, include_bots=include_bots)["count"].sum())


@shared_docs
def reactions_by_conversation(
    messages: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Per conversation: ``reactions`` (the sum of counts), ``messages_with_reactions`` and ``members_reacted``
    (distinct named users), over the counted messages of the range.

    Parameters
    ----------
    %(messages)s
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by ``conversation_id`` (those with at least one reaction), sorted by reactions.

    Notes
    -----
    reactions(c) = Σ reaction_count(m) over counted messages m of c in the range.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", progress=False)
    >>> int(reactions_by_conversation(m)["reactions"].sum()) == reactions_added(m)
    True
    """
    rows = reaction_rows(messages, since=since, until=until, include_bots=include_bots, include_system=include_system)
    columns = ["reactions", "messages_with_reactions", "members_reacted"]
    if not len(rows):
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns}, index=pd.Index([], name="conversation_id"))
    grouped = rows.groupby("conversation_id", observed=True)  # by category code: no string per row
    table = pd.DataFrame(
        {
            "reactions": grouped["count"].sum().astype("int64"),
            "messages_with_reactions": grouped["message_id"].nunique().astype("int64"),
            "members_reacted": grouped["user_id"].nunique().astype("int64"),
        }
    )
    table.index = pd.Index(table.index.astype(str), name="conversation_id")
    return table.sort_values("reactions", ascending=False, kind="stable")
