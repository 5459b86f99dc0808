"""Activity timelines: messages per period, overall or by conversation or member, in any time zone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import factorize_text, fill_periods, local_times, select_columns
from ._distributed import distributed
from ._docs import shared_docs

__all__ = ["activity_timeline"]

_BY = {"conversation": "conversation_name", "member": "sender_name", "group": "group"}


@distributed
@shared_docs
def activity_timeline(
    messages: pd.DataFrame,
    *,
    freq: str = "D",
    by: str | None = None,
    tz: str = "UTC",
    since: Any = None,
    until: Any = None,
    include_bots: bool = False,
    include_system: bool = False,
    groups: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Messages per period, gaps filled with zeros.

    Parameters
    ----------
    %(messages)s
    freq
        Any pandas frequency (``"h"``, ``"D"``, ``"W"``, ``"MS"`` ...); periods are calendar periods in ``tz``.
    by
        None for one column ``messages``; ``"conversation"``, ``"member"`` or any column name for one column per
        value; ``"group"`` for one column per group of ``groups``.
    tz
        The zone periods are cut in (a "day" is the local calendar day, DST included).
    groups
        With ``by="group"``: memberships, ``user_id`` and ``group_name`` (:func:`chatlens.load_groups`, or any
        member -> group table). A message counts once in each group its sender belongs to, and in ``"(no group)"``
        if the sender is in none, so no message is lost (columns can sum to more than the messages).
    %(since_until)s
    %(include)s

    Returns
    -------
    DataFrame
        Indexed by period start (tz-aware), one int column per group, every period from the first to the last.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a", "b", "c"], "sender_id": ["u", "v", "u"],
    ...                   "created": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 11:00", "2026-01-03 09:00"],
    ...                                             utc=True)})
    >>> activity_timeline(m)["messages"].tolist()
    [2, 0, 1]
    >>> g = pd.DataFrame({"user_id": ["u", "u", "v"], "group_name": ["eng", "ops", "ops"]})
    >>> activity_timeline(m, by="group", groups=g).sum().to_dict()
    {'eng': 2, 'ops': 3}
    """
    column = _BY.get(by, by) if by is not None else None
    reads = ("created", "sender_id") if by == "group" else ("created", *([column] if column is not None else []))
    picked = select_columns(
        messages, reads, include_bots=include_bots, include_system=include_system, since=since, until=until
    )
    if by == "group":
        rows, codes, labels = _by_group(picked, groups)
    elif column is not None:
        if column not in picked.columns:
            raise ValueError(f"by: {by!r} is not 'conversation', 'member' or a column of messages")
        codes, labels = factorize_text(picked[column])
        rows = np.flatnonzero(codes >= 0)  # a missing value is in no column (as a groupby leaves it out)
        codes = codes[rows]
    local = local_times(picked, tz)
    if picked.empty or (column is not None and not len(rows)):
        return pd.DataFrame(
            index=pd.DatetimeIndex([], tz=tz, name="period"),
            columns=pd.Index([] if column else ["messages"]),
            dtype="int64",
        )
    if column is None:
        counts = pd.DataFrame({"period": local}).groupby(pd.Grouper(key="period", freq=freq)).size()
        table = counts.to_frame("messages")
    else:
        # Codes of the column's text, not its strings; the columns get their names (sorted, as a groupby sorts
        # them) once counted.
        frame = pd.DataFrame({"period": local.array.take(rows), "group": codes})
        table = frame.groupby([pd.Grouper(key="period", freq=freq), "group"]).size().unstack("group", fill_value=0)
        table.columns = labels[table.columns.to_numpy()]
        table = table.iloc[:, np.argsort(table.columns.to_numpy(dtype=object), kind="stable")]
    table = fill_periods(table, freq).astype("int64")
    table.columns.name = by
    return table


NO_GROUP = "(no group)"


def _by_group(messages: pd.DataFrame, groups: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """One entry per (message, group of its sender): the message's row, the group's code, and the group names
    (NO_GROUP for senders in none). Members and groups are codes: no string per message."""
    if groups is None or not {"user_id", "group_name"} <= set(groups.columns):
        raise ValueError('by="group" needs groups=: a frame with user_id and group_name (chatlens.load_groups)')
    senders, members = factorize_text(messages["sender_id"])
    member = members.get_indexer(groups["user_id"].astype(str).to_numpy(dtype=object))
    names = groups["group_name"].astype(str)
    known = (member >= 0) & names.notna().to_numpy()
    group_codes, labels = pd.factorize(pd.Index(np.append(names.to_numpy(dtype=object)[known], NO_GROUP)))
    none = group_codes[-1]
    pairs = pd.unique(member[known] * (len(labels) + 1) + group_codes[:-1])  # distinct (member, group)
    owner, group = pairs // (len(labels) + 1), pairs % (len(labels) + 1)
    order = np.argsort(owner, kind="stable")
    owner, group = owner[order], group[order]
    per_member = np.bincount(owner, minlength=len(members))
    start = np.concatenate([[0], np.cumsum(per_member)[:-1]]).astype(np.int64)
    # A message counts once in each of its sender's groups, and in NO_GROUP if the sender is in none.
    n_of = np.where(senders >= 0, np.maximum(np.append(per_member, 0)[senders], 1), 1)
    in_none = (senders < 0) | (np.append(per_member, 0)[senders] == 0)
    rows = np.repeat(np.arange(len(messages)), n_of)
    step = np.arange(len(rows)) - np.repeat(np.cumsum(n_of) - n_of, n_of)
    codes = np.full(len(rows), none, dtype=np.int64)
    grouped = ~in_none[rows]
    codes[grouped] = group[start[senders[rows[grouped]]] + step[grouped]]
    return rows, codes, pd.Index(labels, dtype="str")
