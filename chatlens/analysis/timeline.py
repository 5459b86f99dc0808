"""Activity timelines: messages per period, overall or by conversation or member, in any time zone."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._common import fill_periods, local_times, select
from ._docs import shared_docs

__all__ = ["activity_timeline"]

_BY = {"conversation": "conversation_name", "member": "sender_name", "group": "group"}


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
    picked = select(messages, include_bots=include_bots, include_system=include_system, since=since, until=until)
    if by == "group":
        picked = _by_group(picked, groups)
    column = _BY.get(by, by) if by is not None else None
    if column is not None and column not in picked.columns:
        raise ValueError(f"by: {by!r} is not 'conversation', 'member' or a column of messages")
    local = local_times(picked, tz)
    if picked.empty:
        return pd.DataFrame(
            index=pd.DatetimeIndex([], tz=tz, name="period"),
            columns=pd.Index([] if column else ["messages"]),
            dtype="int64",
        )
    keys: list[Any] = [pd.Grouper(key="period", freq=freq)]
    frame = pd.DataFrame({"period": local})
    if column is not None:
        frame["group"] = picked[column].astype(str).to_numpy()
        keys.append("group")
    counts = frame.groupby(keys, observed=True).size()
    table = counts.unstack("group", fill_value=0) if column is not None else counts.to_frame("messages")
    table = fill_periods(table, freq).astype("int64")
    table.columns.name = by
    return table


NO_GROUP = "(no group)"


def _by_group(messages: pd.DataFrame, groups: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (message, group of its sender) with a ``group`` column; senders in no group get NO_GROUP."""
    if groups is None or not {"user_id", "group_name"} <= set(groups.columns):
        raise ValueError('by="group" needs groups=: a frame with user_id and group_name (chatlens.load_groups)')
    pairs = pd.DataFrame(
        {"sender_id": groups["user_id"].astype(str).to_numpy(), "group": groups["group_name"].astype(str).to_numpy()}
    ).drop_duplicates()
    left = pd.DataFrame({"created": messages["created"].to_numpy(), "sender_id": messages["sender_id"].astype(str)})
    joined = left.merge(pairs, on="sender_id", how="left")
    joined["group"] = joined["group"].fillna(NO_GROUP)
    joined["created"] = pd.to_datetime(joined["created"], utc=True)
    return joined
