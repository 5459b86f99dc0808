"""Conversations as places: which have gone quiet, and how messages split between public, private and direct."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    count_codes,
    duration,
    factorize_text,
    first_text,
    keys_in_order,
    options,
    renamed,
    select_columns,
    times_like,
    to_utc,
)
from ._docs import shared_docs

__all__ = ["dead_conversations", "visibility_share"]


@shared_docs
def dead_conversations(
    messages: pd.DataFrame,
    conversations: pd.DataFrame | None = None,
    *,
    idle: Any = "30D",
    now: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    days: float | None = None,
) -> pd.DataFrame:
    """Conversations with no counted message in the ``idle`` time before ``now``.

    Parameters
    ----------
    %(messages)s
    conversations
        The frame from :func:`chatlens.load_conversations`: its conversations without any counted message are
        dead too. Without it only conversations seen in ``messages`` are judged.
    idle
        How long a conversation may be silent: ``"30D"``, ``"36h"`` or anything ``pd.Timedelta`` takes. (``days``,
        its former spelling as a number of days, is still taken, with a DeprecationWarning.)
    now
        The time of the report; default the last counted message. Messages after ``now`` are ignored.
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by ``conversation_id``: ``name``, ``messages`` (counted, up to ``now``), ``last_message`` (NaT if
        none) and ``silent_for`` (``now - last_message``), most silent first.

    Notes
    -----
    dead = {c : c has no counted message, or now - max{created(m) : m in c, created(m) <= now} >= idle}

    Examples
    --------
    >>> from chatlens.loaders import load_conversations, load_messages
    >>> m = load_messages("demo", progress=False)
    >>> dead = dead_conversations(m, load_conversations("demo", progress=False), idle="30D", now="2026-09-15")
    >>> dead.columns.tolist(), len(dead), bool((dead["silent_for"] >= pd.Timedelta(days=30)).all())
    (['name', 'messages', 'last_message', 'silent_for'], 11, True)
    >>> len(dead_conversations(m, idle="30D", now="2026-08-15"))
    0
    """
    silence = duration(
        renamed(
            idle, None if days is None else pd.Timedelta(days=days), new_name="idle", old_name="days", default="30D"
        ),
        "idle",
    )
    picked = select_columns(
        messages, ("created", "conversation_id", "conversation_name"), **options(include_bots, include_system)
    )
    if now is not None:
        limit = to_utc(now, "now")
    elif len(picked):
        limit = picked["created"].max()
    else:
        raise ValueError("now: required when no message counts (there is no last message to measure from)")
    picked = picked[(picked["created"] <= limit).to_numpy()]
    # Conversations as codes of their id's text, in order of first message (a groupby without sorting).
    conv, index = keys_in_order(picked["conversation_id"], np.arange(len(picked)))
    rows = np.flatnonzero(conv >= 0)
    where = conv[rows]
    when = picked["created"].array.take(rows)
    last = np.full(len(index), np.iinfo(np.int64).min)
    np.maximum.at(last, where, when.asi8)
    table = pd.DataFrame(
        {"messages": count_codes(where, len(index)), "last_message": times_like(last, when, index)}, index=index
    )
    names = (
        first_text(picked["conversation_name"], rows, where, index)
        if "conversation_name" in picked
        else pd.Series(table.index, index=table.index)
    )
    if conversations is not None:
        ids = conversations["id"].astype(str)
        label = "label" if "label" in conversations else "name" if "name" in conversations else None
        given = conversations[label].astype(object).to_numpy() if label else ids.to_numpy()
        given_names = pd.Series(given, index=ids.to_numpy()).where(lambda s: s.notna(), ids.to_numpy())
        extra = table.index[~table.index.isin(ids)]
        table = table.reindex(pd.Index(ids).append(extra).unique())
        table["messages"] = table["messages"].fillna(0)
        names = given_names.combine_first(names)
    table["name"] = names.reindex(table.index).astype(object).to_numpy()
    table["messages"] = table["messages"].astype("int64")
    table["last_message"] = pd.to_datetime(table["last_message"], utc=True)
    table["silent_for"] = limit - table["last_message"]
    dead = table["last_message"].isna() | (table["silent_for"] >= silence)
    table = table[dead.to_numpy()]
    table.index.name = "conversation_id"
    order = table["last_message"].isna().to_numpy()
    table = pd.concat([table[order], table[~order].sort_values("last_message", kind="stable")])
    return table[["name", "messages", "last_message", "silent_for"]]


_VISIBILITY = {"channel": "public", "private_channel": "private", "direct": "direct", "group_direct": "group_direct"}


@shared_docs
def visibility_share(
    messages: pd.DataFrame,
    conversations: pd.DataFrame,
    *,
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """Messages and their share in public, private, direct and group direct conversations.

    The visibility comes from ``conversations.kind``: ``channel`` -> public, ``private_channel`` -> private,
    ``direct`` (two people) -> direct, ``group_direct`` -> group_direct. A conversations frame without ``kind``
    falls back to ``private`` and ``name``: private -> private, no name -> direct (group direct conversations cannot
    be told apart then), else public. Messages of conversations missing from the frame are ``unknown``.

    Parameters
    ----------
    %(messages)s
    conversations
        The frame from :func:`chatlens.load_conversations` (its ``id`` and ``kind``, else ``private`` and ``name``).
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by ``visibility`` (public, private, direct, group_direct, and unknown if any): ``messages`` and
        ``share`` (of all counted messages; NaN if none).

    Notes
    -----
    share(v) = |{m : visibility(conversation(m)) = v}| / |{m}|

    Examples
    --------
    >>> from chatlens.loaders import load_conversations, load_messages
    >>> t = visibility_share(load_messages("demo", progress=False), load_conversations("demo", progress=False))
    >>> t.index.tolist(), round(float(t["share"].sum()), 6)
    (['public', 'private', 'direct', 'group_direct'], 1.0)
    """
    picked = select_columns(
        messages, ("conversation_id",), since=since, until=until, **options(include_bots, include_system)
    )
    ids = conversations["id"].astype(str).to_numpy()
    if "kind" in conversations:
        vis = conversations["kind"].astype(str).map(_VISIBILITY).fillna("unknown").to_numpy()
    else:
        private = conversations["private"].astype(bool).to_numpy()
        unnamed = conversations["name"].isna().to_numpy() if "name" in conversations else np.zeros(len(ids), dtype=bool)
        vis = np.where(private, "private", np.where(unnamed, "direct", "public"))
    # Per distinct conversation, not per message: its messages, then its visibility.
    codes, labels = factorize_text(picked["conversation_id"])
    per_label = np.bincount(codes[codes >= 0], minlength=len(labels))
    pos = pd.Index(ids).get_indexer(labels.to_numpy(dtype=object))
    of_label = np.where(pos >= 0, np.asarray(vis, dtype=object)[pos], "unknown")
    counts = (
        pd.Series(np.append(per_label, int((codes < 0).sum())), dtype="int64")
        .groupby(np.append(of_label, "unknown"))
        .sum()
    )
    counts = counts[counts > 0]
    order = ["public", "private", "direct", "group_direct"] + (["unknown"] if "unknown" in counts else [])
    table = pd.DataFrame({"messages": counts.reindex(order, fill_value=0).astype("int64")})
    total = int(table["messages"].sum())
    table["share"] = table["messages"] / total if total else np.nan
    table.index.name = "visibility"
    return table
