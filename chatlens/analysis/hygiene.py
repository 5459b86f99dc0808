"""What a frame holds and what the analyses leave out of it: bots, system events, deleted members."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._common import (
    select_columns,
    text_of,
)
from ._docs import shared_docs

__all__ = ["hygiene_counts"]


@shared_docs
def hygiene_counts(
    messages: pd.DataFrame, *, deleted_users: pd.DataFrame | Iterable[str] | None = None
) -> pd.DataFrame:
    """How many messages the analyses leave out, and why, as a small tidy frame.

    Bots (``is_bot``) and system events (``is_system``: joins, leaves, topic and name changes, Teams system
    messages) are left out by default; one row per reason and ``subtype``. A message can be both, so the rows may
    overlap. Messages of deleted (deactivated) users are kept by the analyses but counted here, from the first of:
    ``deleted_users`` (the users frame of :func:`chatlens.load_users`, whose ``deleted`` rows are used, or user
    ids), the ``sender_deleted`` column (added by :func:`chatlens.loaders.add_sender_details`; unknown senders are
    not counted). Without either that row's ``messages`` is ``<NA>``: the plain messages frame has no such flag.

    Parameters
    ----------
    %(messages)s
    deleted_users
        The users frame (:func:`chatlens.load_users`) or an iterable of user ids whose accounts are deleted.

    Returns
    -------
    DataFrame
        Columns ``reason`` (bot, system event, deleted user, counted), ``subtype`` ("" where none), ``messages``
        (Int64), ``share`` (of all rows of ``messages``), ``left_out`` (by default) and ``rule``.

    Notes
    -----
    bot(s) = |{m : is_bot(m), subtype(m) = s}|; system event(s) = |{m : is_system(m), subtype(m) = s}|; deleted user =
    |{m : sender_id(m) in deleted_users}| (or |{m : sender_deleted(m)}|); counted = |{m : not is_bot(m) and not
    is_system(m)}|.

    Examples
    --------
    >>> from chatlens.loaders import load_messages, load_users
    >>> h = hygiene_counts(load_messages("demo", progress=False), deleted_users=load_users("demo", progress=False))
    >>> h[["reason", "subtype", "messages"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['bot', 'bot_message', 121], ['system event', 'channel_join', 28], ['deleted user', '', 98],
     ['counted', '', 11851]]
    """
    if not isinstance(messages, pd.DataFrame):
        raise TypeError(f"messages must be a DataFrame (from chatlens.load_messages), got {type(messages).__name__}")
    n = len(messages)
    # Subtypes stay Arrow strings ("" where missing) and are counted in Arrow: no Python string per message.
    subtype = (
        text_of(messages["subtype"]).fill_null("") if "subtype" in messages else pa.nulls(n, pa.string()).fill_null("")
    )
    rows: list[tuple[str, str, Any, bool, str]] = []
    for reason, column, rule in (
        ("bot", "is_bot", "is_bot: sent by a bot or an app"),
        ("system event", "is_system", "is_system: joins, leaves, topic and name changes, system messages"),
    ):
        flag = messages[column].astype(bool).to_numpy() if column in messages else np.zeros(n, dtype=bool)
        counted = pc.value_counts(subtype.filter(pa.array(flag))).to_pylist()
        per_subtype = sorted((c["values"], c["counts"]) for c in counted)
        rows += [(reason, str(s), int(c), True, rule) for s, c in per_subtype]
    if isinstance(deleted_users, pd.DataFrame):
        if "id" not in deleted_users or "deleted" not in deleted_users:
            raise ValueError("deleted_users: a users frame needs the id and deleted columns (chatlens.load_users)")
        deleted_users = deleted_users.loc[deleted_users["deleted"].fillna(False).to_numpy(dtype=bool), "id"]
    if deleted_users is not None:
        wanted = pa.array([str(u) for u in deleted_users], type=pa.string())
        gone = (
            pc.is_in(text_of(messages["sender_id"]), value_set=wanted).fill_null(False).to_numpy(zero_copy_only=False)
        )
        rows.append(("deleted user", "", int(gone.sum()), False, "sender_id in deleted_users (kept by the analyses)"))
    elif "sender_deleted" in messages:
        gone = messages["sender_deleted"].fillna(False).to_numpy(dtype=bool)
        rows.append(("deleted user", "", int(gone.sum()), False, "sender_deleted (kept by the analyses)"))
    else:
        rows.append(("deleted user", "", pd.NA, False, "no sender_deleted column; pass deleted_users="))
    kept = len(select_columns(messages, (), required=()))
    rows.append(("counted", "", kept, False, "neither is_bot nor is_system"))
    table = pd.DataFrame(rows, columns=["reason", "subtype", "messages", "left_out", "rule"])
    table["messages"] = table["messages"].astype("Int64")
    table["share"] = (table["messages"] / n if n else table["messages"] * np.nan).astype("Float64")
    return table[["reason", "subtype", "messages", "share", "left_out", "rule"]]
