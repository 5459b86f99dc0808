"""The tidy DataFrames chatlens produces: every column, its dtype and meaning, declared once.

Loaders build frames with :func:`empty_frame` / :func:`coerce_frame`, tests check them with :func:`check_frame`, and
the docs print :data:`COLUMNS`. Conventions: one row per object; ids are strings; repeated strings are categoricals;
free text is an Arrow string; times are ``datetime64[us, UTC]``; missing values are ``<NA>`` / ``NaT``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "COLUMNS",
    "SCHEMA_VERSION",
    "TEXT_FREE",
    "dtype_of",
    "empty_frame",
    "coerce_frame",
    "check_frame",
    "describe_columns",
    "text_free",
    "to_utc",
]

# Bump when the frames or the cache layout change: caches of another version are fetched again, never misread.
SCHEMA_VERSION = 3  # 3: reactions, files, importance and membership changes

_STR = pd.ArrowDtype(pa.string())
_CAT = "category"
_TIME = pd.DatetimeTZDtype(unit="us", tz="UTC")
_BOOL = "bool"
_INT = "Int64"
_LIST = pd.ArrowDtype(pa.list_(pa.string()))
_REACTIONS = pd.ArrowDtype(
    pa.list_(
        pa.struct(
            [
                ("emoji", pa.string()),
                ("user", pa.string()),
                ("count", pa.int64()),
                ("created", pa.timestamp("us", "UTC")),
            ]
        )
    )
)

#: frame kind -> column -> (dtype, meaning)
COLUMNS: dict[str, dict[str, tuple[Any, str]]] = {
    "conversations": {
        "account": (_CAT, "the account id the conversation belongs to"),
        "service": (_CAT, '"slack" or "ms_teams"'),
        "id": (_STR, "conversation id"),
        "name": (_STR, "the conversation's name; <NA> for direct conversations"),
        "label": (_STR, "a readable name: the name, or 'dm: ' and the members' names for direct conversations"),
        "private": (_BOOL, "whether the conversation is private"),
        "kind": (_CAT, '"channel", "private_channel", "direct" (two people) or "group_direct"'),
        "created": (_TIME, "when the conversation was created (UTC)"),
        "member_count": (_INT, "how many members it has"),
    },
    "members": {
        "account": (_CAT, "the account id"),
        "conversation_id": (_CAT, "the conversation"),
        "user_id": (_CAT, "the member's user id"),
        "name": (_CAT, "the member's name"),
        "email": (_STR, "the member's email, <NA> where the service gives none"),
    },
    "messages": {
        "account": (_CAT, "the account id"),
        "service": (_CAT, '"slack" or "ms_teams"'),
        "conversation_id": (_CAT, "the conversation the message is in"),
        "conversation_name": (_CAT, "the conversation's label (see conversations.label)"),
        "id": (_STR, "message id, unique within the account"),
        "sender_id": (_CAT, "the sender's user id (bots and unknown users included, never dropped)"),
        "sender_name": (_CAT, "the sender's name as the service gives it"),
        "created": (_TIME, "when the message was posted (UTC)"),
        "modified": (_TIME, "when it was last edited (UTC); NaT if never"),
        "text": (
            _STR,
            "the text: Slack mrkdwn as sent; Teams HTML bodies as plain text (not in text-free frames, which have "
            "text_length and is_question instead: load_messages(text=False))",
        ),
        "text_length": (_INT, "text-free frames only: the text's length in characters"),
        "is_question": (
            _BOOL,
            "text-free frames only: whether the text holds a question mark (? ？ ﹖ ؟ ¿) outside links and markup",
        ),
        "parent": (_STR, "the id of the message replied to; <NA> for a root message"),
        "thread_id": (
            _STR,
            "the root of the message's reply chain (its own id for a root, or when its parent is "
            "not in the loaded data)",
        ),
        "is_reply": (_BOOL, "whether parent is set"),
        "edited": (_BOOL, "whether the message was edited"),
        "is_bot": (_BOOL, "sent by a bot or an app (Slack bot_message/bot_id, Teams application senders)"),
        "is_system": (_BOOL, "a system event: joins, leaves, topic and name changes, Teams system messages"),
        "subtype": (_STR, "the service's message subtype (Slack subtype, Teams messageType if not 'message')"),
        "mentions": (_LIST, "user ids @mentioned, parsed from the service's markup (Slack <@U..>, Teams mentions)"),
        "reactions": (
            _REACTIONS,
            "the reactions: one {emoji, user, count, created} per reacting user and emoji (count 1), plus one with "
            "user <NA> holding the rest of the count where the service names only some reacting users (Slack); "
            "created where the service says (Teams). The tidy long form: load_reactions / reaction_rows",
        ),
        "reaction_count": (_INT, "how many reactions the message has (the sum of the reactions' counts)"),
        "file_kinds": (
            _LIST,
            "the kind of each file or attachment shared (image, pdf, document, spreadsheet, ...: "
            "chatlens.backends.file_kinds); cards and quoted messages are not files, no file content is read",
        ),
        "file_count": (_INT, "how many files the message shares"),
        "importance": (_CAT, 'Teams importance: "normal", "high" or "urgent"; <NA> for Slack, which has none'),
        "members_joined": (_LIST, "user ids a membership event says joined or were added (Slack channel_join, Teams)"),
        "members_left": (_LIST, "user ids a membership event says left or were removed (Slack channel_leave, Teams)"),
        "raw": (_STR, "the service's object as JSON text; only with raw=True"),
    },
    "users": {
        "account": (_CAT, "the account id"),
        "service": (_CAT, '"slack" or "ms_teams"'),
        "id": (_STR, "user id"),
        "name": (_STR, "the user's name, as senders and members carry it"),
        "display_name": (_STR, "the name the user shows (Slack display name, Teams displayName)"),
        "email": (_STR, "e-mail address; <NA> where the service gives none"),
        "created": (_TIME, "when the user was created (UTC); NaT where the service does not say"),
        "updated": (_TIME, "when the profile last changed (UTC); NaT where the service does not say"),
        "is_bot": (_BOOL, "a bot or app user"),
        "deleted": (_BOOL, "deactivated (Slack deleted, Teams accountEnabled false)"),
        "guest": (_BOOL, "a guest or external user (Slack single/multi-channel guest, Teams userType Guest)"),
        "timezone": (_CAT, "the user's IANA time zone; <NA> where unknown (Graph keeps it in mailbox settings)"),
    },
    "groups": {
        "account": (_CAT, "the account id"),
        "group_id": (_CAT, "the group (Slack user group, Teams team)"),
        "group_name": (_CAT, "the group's name"),
        "user_id": (_CAT, "a member's user id (one row per membership)"),
        "user_name": (_CAT, "the member's name"),
    },
    "sender_details": {
        "sender_known": (_BOOL, "whether the sender is in the users frame (False: an unknown placeholder)"),
        "sender_deleted": ("boolean", "the sender is deactivated; <NA> if unknown"),
        "sender_guest": ("boolean", "the sender is a guest or external user; <NA> if unknown"),
        "sender_timezone": (_CAT, "the sender's IANA time zone; <NA> if unknown"),
    },
}


#: The messages columns a text-free frame has in place of ``text``.
TEXT_FREE = ("text_length", "is_question")


def dtype_of(kind: str, column: str) -> Any:
    """The declared dtype of a column.

    Examples
    --------
    >>> str(dtype_of("messages", "created"))
    'datetime64[us, UTC]'
    """
    return COLUMNS[kind][column][0]


def _columns(kind: str, raw: bool, text: bool = True) -> list[str]:
    if kind not in COLUMNS:
        raise ValueError(f"kind must be one of {sorted(COLUMNS)}, got {kind!r}")
    # A messages frame has the text, or (text-free) its length and question flag in its place: never both.
    left_out = ({"text"} if not text else set(TEXT_FREE)) if kind == "messages" else set()
    return [c for c in COLUMNS[kind] if (raw or c != "raw") and c not in left_out]


def empty_frame(kind: str, *, raw: bool = False, text: bool = True) -> pd.DataFrame:
    """An empty frame of ``kind`` with every column and dtype (``raw``: with the raw column; ``text=False``: a
    text-free messages frame, without the text column).

    Examples
    --------
    >>> empty_frame("messages").dtypes["is_reply"]
    dtype('bool')
    >>> "text" in empty_frame("messages", text=False), "text_length" in empty_frame("messages", text=False)
    (False, True)
    >>> "text_length" in empty_frame("messages")
    False
    """
    return pd.DataFrame({c: pd.Series([], dtype=dtype_of(kind, c)) for c in _columns(kind, raw, text)})


def coerce_frame(frame: pd.DataFrame, kind: str, *, raw: bool = False, text: bool = True) -> pd.DataFrame:
    """``frame`` with exactly the declared columns, in order, cast to the declared dtypes (a new frame); with
    ``text=False`` the text column is left out, even if ``frame`` has one.

    Examples
    --------
    >>> df = coerce_frame(pd.DataFrame({"account": ["a"], "conversation_id": ["C1"], "user_id": ["U1"],
    ...                                 "name": ["ada"], "email": [None]}), "members")
    >>> df.dtypes["user_id"].name, bool(df["email"].isna().all())
    ('category', True)
    """
    columns = _columns(kind, raw, text)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{kind} frame lacks columns {missing}")
    out = {}
    for c in columns:
        dtype = dtype_of(kind, c)
        series = frame[c]
        if str(series.dtype) != str(dtype):
            series = series.astype(dtype)
        out[c] = series
    return pd.DataFrame(out, index=frame.index)


def check_frame(frame: pd.DataFrame, kind: str, *, raw: bool = False, text: bool = True) -> None:
    """Raise ``ValueError`` naming every column whose presence, order or dtype differs from the declaration
    (``text=False``: of a text-free frame, which must not have a text column)."""
    columns = _columns(kind, raw, text)
    if list(frame.columns) != columns:
        raise ValueError(f"{kind} frame columns {list(frame.columns)} != declared {columns}")
    wrong = [
        f"{c}: {frame[c].dtype} (want {dtype_of(kind, c)})"
        for c in columns
        if str(frame[c].dtype) != str(pd.Series([], dtype=dtype_of(kind, c)).dtype)
        and not (dtype_of(kind, c) == _CAT and isinstance(frame[c].dtype, pd.CategoricalDtype))
    ]
    if wrong:
        raise ValueError(f"{kind} frame has wrong dtypes: {'; '.join(wrong)}")


#: Question marks that make any text a question: ``?``, the full-width ``？`` (Japanese, Chinese) and small ``﹖``,
#: the Arabic ``؟`` and the Spanish opening ``¿`` (so ``¿...?`` and an unclosed ``¿...`` both ask).
QUESTION_MARKS = "?\uff1f\ufe56\u061f\u00bf"
_MARKS = "[" + "".join(re.escape(c) for c in QUESTION_MARKS) + "]"
# Not prose: markup in angle brackets (links, mentions: "<https://x.org/?id=3|the doc>") and bare URLs, whose "?"
# asks nothing.
_NOT_PROSE = r"<[^>\n]*>|https?://[^\s>]+"


def has_question_mark(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Whether each text holds a question mark of :data:`QUESTION_MARKS` outside links and markup (nulls: False).
    The one definition both ``is_question`` and :func:`chatlens.analysis.unanswered_questions` use.

    Examples
    --------
    >>> texts = ["Lunch?", "お昼どうする？", "¿Vienes", "see <https://x.org/?id=3|the doc>", "https://x.org/?q=1", None]
    >>> has_question_mark(pa.array(texts)).to_pylist()
    [True, True, True, False, False, False]
    """
    if isinstance(text, pa.ChunkedArray):
        return pa.chunked_array([has_question_mark(chunk) for chunk in text.chunks], type=pa.bool_())
    # The texts with a mark first (a simple pattern); only those of them holding markup ("<" or "://", where
    # every match of _NOT_PROSE starts) need markup removed, the slow part of the definition.
    mark = pc.match_substring_regex(text, _MARKS).fill_null(False).to_numpy(zero_copy_only=False)
    marked = np.flatnonzero(mark)
    picked = text.take(pa.array(marked))
    markup = pc.match_substring_regex(picked, "<|://").fill_null(False).to_numpy(zero_copy_only=False)
    if markup.any():
        prose = _question_mark_outside_markup(picked.filter(pa.array(markup)))
        mark[marked[markup]] = prose.to_numpy(zero_copy_only=False)
    return pa.array(mark, type=pa.bool_())


def _question_mark_outside_markup(text: pa.Array) -> pa.Array:
    """:func:`has_question_mark` by its definition: markup removed by a regex, then a regex for the marks."""
    prose = pc.replace_substring_regex(text, _NOT_PROSE, "")
    return pc.match_substring_regex(prose, _MARKS).fill_null(False)


def text_free(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a new one) with its ``text`` column replaced by ``text_length`` (characters) and ``is_question``
    (:func:`has_question_mark`), computed by Arrow; a frame without text is returned as it is.

    Examples
    --------
    >>> text_free(pd.DataFrame({"id": ["a", "b", "c"], "text": ["Lunch?", None, "行く？"]})).values.tolist()
    [['a', 6, True], ['b', 0, False], ['c', 3, True]]
    """
    if "text" not in frame.columns:
        return frame
    body = pa.array(frame["text"], type=pa.string(), from_pandas=True)
    if isinstance(body, pa.ChunkedArray):
        body = body.combine_chunks()
    length = pc.utf8_length(body).fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False)
    question = has_question_mark(body).to_numpy(zero_copy_only=False)
    at = list(frame.columns).index("text")
    out = frame.drop(columns="text")
    out.insert(at, "is_question", question)
    out.insert(at, "text_length", pd.array(length, dtype=_INT))
    return out


def describe_columns(kind: str) -> pd.DataFrame:
    """The documentation table of a frame kind: column, dtype, meaning.

    Examples
    --------
    >>> describe_columns("members")["column"].tolist()
    ['account', 'conversation_id', 'user_id', 'name', 'email']
    """
    return pd.DataFrame(
        [(c, str(pd.Series([], dtype=d).dtype), m) for c, (d, m) in COLUMNS[kind].items()],
        columns=["column", "dtype", "meaning"],
    )


def to_utc(value: Any, name: str) -> pd.Timestamp:
    """A time as the frames hold them (a UTC timestamp; naive values are taken as UTC), for bounds such as
    ``since=`` and ``until=``; ValueError naming the parameter ``name`` if ``value`` is not a time.

    Examples
    --------
    >>> to_utc("2026-03-01", "since")
    Timestamp('2026-03-01 00:00:00+0000', tz='UTC')
    >>> to_utc("soon", "until")
    Traceback (most recent call last):
    ...
    ValueError: until: 'soon' is not a date or time
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a date or time") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
