"""Tables for people: the dashboard's tables as they are shown (the state keeps the analyses' own frames).

Readable column names (the report's words), durations as "3 h 57 min", counts with thousands separators, shares
in per cent, times in the chosen zone, and long tables cut to their top rows with a caption saying how many there
are. Every cell becomes text here, so nothing is computed: the numbers are the analyses'.
"""

from __future__ import annotations

import pandas as pd

from .._durations import duration_words

__all__ = ["COLUMN_NAMES", "duration_words", "readable_table"]

#: The analyses' column names as the report writes them.
COLUMN_NAMES = {
    "name": "name",
    "messages": "messages",
    "threads_with_replies": "threads with replies",
    "replies_given": "replies to others",
    "replies_received": "replies from others",
    "median_reply_time": "median reply time",
    "active_days": "active days",
    "first_seen": "first message",
    "last_seen": "last message",
    "members_posting": "members posting",
    "threads": "threads started",
    "reply_rate": "reply rate",
    "unanswered": "unanswered threads",
    "median_time_to_first_reply": "median time to first reply",
    "started": "started",
    "conversation": "conversation",
    "author": "author",
    "text": "text",
}
#: Columns holding a share in 0..1, shown in per cent.
SHARES = {"reply_rate", "answered_within", "share"}


def _cells(column: pd.Series, name: str, tz: str) -> list[str]:
    if pd.api.types.is_timedelta64_dtype(column):
        return [duration_words(v) for v in column]
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        local = column.dt.tz_convert(tz)
        return ["–" if pd.isna(v) else v.strftime("%Y-%m-%d %H:%M") for v in local]
    if pd.api.types.is_bool_dtype(column):
        return ["yes" if v else "no" for v in column]
    if pd.api.types.is_integer_dtype(column):
        return [f"{int(v):,}" for v in column]
    if pd.api.types.is_float_dtype(column):
        if name in SHARES:
            return ["–" if pd.isna(v) else f"{v:.0%}" for v in column]
        return ["–" if pd.isna(v) else f"{v:,.2f}".rstrip("0").rstrip(".") for v in column]
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in column]


def readable_table(
    frame: pd.DataFrame, *, tz: str = "UTC", n: int | None = 20, what: str = "rows", drop: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str]:
    """``frame`` as text for people, and a caption: at most ``n`` rows (the frame's own order: the analyses sort
    by importance), its index left out (ids), columns renamed by :data:`COLUMN_NAMES`, ``drop`` left out.

    Examples
    --------
    >>> t = pd.DataFrame({"name": ["Ada", "Bob", "Cy"], "messages": [12345, 20, 3],
    ...                   "median_reply_time": pd.to_timedelta(["3h57min", "12min", None])})
    >>> shown, caption = readable_table(t, n=2, what="members")
    >>> shown.to_dict("records")[0]
    {'name': 'Ada', 'messages': '12,345', 'median reply time': '3 h 57 min'}
    >>> shown["median reply time"].tolist()
    ['3 h 57 min', '12 min']
    >>> caption
    'top 2 of 3 members'
    """
    kept = frame.drop(columns=[c for c in drop if c in frame.columns])
    total = len(kept)
    if n is not None:
        kept = kept.head(n)
    shown = pd.DataFrame(
        {COLUMN_NAMES.get(str(c), str(c).replace("_", " ")): _cells(kept[c], str(c), tz) for c in kept.columns}
    )
    if total == 0:
        caption = f"no {what}"
    elif len(kept) < total:
        caption = f"top {len(kept):,} of {total:,} {what}"
    else:
        caption = f"all {total:,} {what}"
    return shown, caption
