"""Slack objects -> Chat API objects, shared by the Slack export backend, the importer and a Web API backend.

Ids: a conversation is its Slack channel id; a message is ``"<channel>-<ts>"`` (``ts`` is unique within a channel
and exact as a string, so the id is stable and reversible). ``thread_ts`` becomes ``parent`` (the thread's root)
for replies. Users missing from the user list (USLACKBOT, bots, departed accounts) become placeholder users: their
messages are never dropped. Access tokens that old exports embedded in file URLs are redacted from ``raw``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..._time import key_from_us as ts_from_us  # a Slack ts is a thread key (re-exported for the Slack part)
from ..._time import us_from_key as ts_to_us
from ...chatapi import MENTION_MARKUP, iso_from_us, team_user
from ...errors import InvalidRequest
from .._tables import extension_columns, message_table
from ..file_kinds import file_kind
from .subtypes import BOT_SUBTYPES, PERSON_SUBTYPES, SLACKBOT, SYSTEM_SUBTYPES, subtype_kind

__all__ = [
    "message_id",
    "parse_message_id",
    "ts_from_us",
    "ts_to_us",
    "user_object",
    "conversation_object",
    "message_object",
    "redact_tokens",
    "conversation_kind",
    "message_signals",
    "message_extensions",
    "MessageColumns",
    "SYSTEM_SUBTYPES",
]

_TS = re.compile(r"^\d{1,12}\.\d{1,6}$")
_TOKEN = re.compile(r"(?<=[?&])(t|token)=xox[a-z]-[A-Za-z0-9-]+")
_MENTION = re.compile(MENTION_MARKUP)
# The subtype table's columns, for the bulk reads' column-at-a-time derivation.
_BOT_VALUES = pa.array(sorted(BOT_SUBTYPES), type=pa.string())
_NOT_SYSTEM = PERSON_SUBTYPES | BOT_SUBTYPES
_NOT_SYSTEM_VALUES = pa.array(sorted(_NOT_SYSTEM), type=pa.string())


def message_id(channel: str, ts: str) -> str:
    """The chatlens id of a Slack message.

    Examples
    --------
    >>> message_id("C024BE91L", "1512085950.000216")
    'C024BE91L-1512085950.000216'
    """
    return f"{channel}-{ts}"


def parse_message_id(value: Any) -> tuple[str, str]:
    """``(channel, ts)`` of a chatlens Slack message id; InvalidRequest naming ``message_id`` otherwise."""
    if isinstance(value, str) and "-" in value:
        channel, ts = value.rsplit("-", 1)
        if channel and _TS.match(ts):
            return channel, ts
    raise InvalidRequest(f"message_id: {value!r} is not a Slack message id (channel-ts)")


def redact_tokens(value: Any) -> Any:
    """``value`` with any ``t=xox...``/``token=xox...`` URL parameter replaced by ``REDACTED`` (recursively).

    Examples
    --------
    >>> redact_tokens({"url": "https://files.slack.com/a.js?t=xoxe-1-2-abc"})
    {'url': 'https://files.slack.com/a.js?t=REDACTED'}
    """
    if isinstance(value, str):
        return _TOKEN.sub(_redacted, value) if "xox" in value else value
    if isinstance(value, dict):
        return {k: redact_tokens(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tokens(v) for v in value]
    return value


def user_object(user_id: str, users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A Team API user for a Slack user id; a placeholder (name = id) when the user list lacks it."""
    raw = users.get(user_id) or {}
    profile = raw.get("profile") or {}
    name = profile.get("display_name") or raw.get("real_name") or profile.get("real_name") or raw.get("name")
    return {"id": user_id, "name": name or user_id, "email": profile.get("email"), "type": "user", "api": "team"}


def team_user_object(user_id: str, users: dict[str, dict[str, Any]], href_prefix: str) -> dict[str, Any]:
    """A full Team API user from a Slack user object (``users.list``, ``users.json``); a placeholder if unknown.

    ``guest`` is Slack's single- or multi-channel guest (``is_restricted``/``is_ultra_restricted``); Slackbot
    counts as a bot.
    """
    raw = users.get(user_id) or {}
    short = user_object(user_id, users)
    profile = raw.get("profile") or {}
    updated = raw.get("updated")
    return team_user(
        user_id,
        short["name"],
        email=short["email"],
        updated_us=int(float(updated) * 1_000_000) if isinstance(updated, int | float) and updated else None,
        display_name=profile.get("display_name") or raw.get("name") or short["name"],
        is_bot=bool(raw.get("is_bot") or raw.get("is_app_user") or user_id == "USLACKBOT"),
        deleted=bool(raw.get("deleted")),
        guest=bool(raw.get("is_restricted") or raw.get("is_ultra_restricted")),
        timezone=raw.get("tz"),
        raw=redact_tokens(raw) if raw else {},
        href_prefix=href_prefix,
    )


def message_signals(raw: dict[str, Any], text: str) -> tuple[bool, bool, str | None, list[str]]:
    """``(is_bot, is_system, subtype, mentions)`` of a Slack message: what the normalised columns say of it.

    The subtype's kind comes from the one table, :mod:`.subtypes`. A message with a ``bot_id``, from Slackbot, or
    with only a ``username`` (``user`` empty or missing: an integration naming itself per message) is a bot's; a
    Slack message with no sender at all (``user`` null, no bot, no username) is a system event. Mentions are the
    ``<@U..>`` of the text, then the ``user`` elements of rich-text ``blocks`` the text lacks; in a system event
    (``channel_join``, ``channel_purpose``, ...) the actor named in its own line (``user``, ``inviter``) is not a
    mention.

    Examples
    --------
    >>> message_signals({"subtype": "bot_message", "bot_id": "B1"}, "deployed")
    (True, False, 'bot_message', [])
    >>> message_signals({}, "<@U1> and <@W2|ada>, look")
    (False, False, None, ['U1', 'W2'])
    >>> message_signals({"user": "U1", "subtype": "reminder_add"}, "set up a reminder")[:2]
    (False, True)
    >>> message_signals({"user": "USLACKBOT"}, "You have been added to #ops")[:2]
    (True, False)
    >>> message_signals({"ts": "1.000001", "user": None}, "a message nobody sent")[:2]
    (False, True)
    >>> message_signals({"ts": "1.000001", "user": "", "username": "deploy"}, "shipped")[:2]
    (True, False)
    >>> message_signals({"user": "U1", "subtype": "channel_join"}, "<@U1|ada> has joined the channel")[3]
    []
    >>> blocks = [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
    ...     {"type": "user", "user_id": "U7"}, {"type": "text", "text": " look"}]}]}]
    >>> message_signals({"user": "U1", "blocks": blocks}, "Grace look")[3]
    ['U7']
    """
    subtype = raw.get("subtype")
    subtype = subtype if isinstance(subtype, str) else None
    user = raw.get("user")
    kind = subtype_kind(subtype)
    is_bot = kind == "bot" or bool(raw.get("bot_id")) or user == SLACKBOT or _named_only(raw)
    # Only a Slack message object (it has a ts) can say it has no sender; an empty raw says nothing.
    senderless = "ts" in raw and not (user or raw.get("bot_id") or raw.get("username") or _commenter(raw))
    return is_bot, kind == "system" or senderless, subtype, _mentions(raw, text, kind == "system")


def _named_only(raw: dict[str, Any]) -> bool:
    """Whether a message's sender is only a ``username`` (``user`` empty or missing, no ``bot_id``): a legacy
    integration's post, a bot's, not a user whose id is that name."""
    return not raw.get("user") and not raw.get("bot_id") and bool(raw.get("username")) and not _commenter(raw)


def _mentions(raw: dict[str, Any], text: str, system: bool) -> list[str]:
    """The users a message mentions (:func:`message_signals`); both the wire objects and the bulk columns use it."""
    found = _MENTION.findall(text) if "<@" in text else []
    blocks = raw.get("blocks")
    # Most blocks hold no user element: one look at their JSON (in C) spares walking them.
    if blocks.__class__ is list and blocks and b'"user_id"' in orjson.dumps(blocks):
        extra = [u for u in dict.fromkeys(_block_users(blocks)) if u not in found]
        if extra:
            found = found + extra
    if system and found:
        actors = {raw.get("user"), raw.get("inviter")}
        found = [u for u in found if u not in actors]
    return found


_JOINS = frozenset({"channel_join", "group_join"})
_LEAVES = frozenset({"channel_leave", "group_leave"})
_MEMBERSHIP = _JOINS | _LEAVES


def message_extensions(raw: dict[str, Any]) -> dict[str, Any]:
    """What a Slack message says besides its text: ``reactions``, ``file_kinds``, ``importance`` (Slack has none:
    None), ``members_joined`` and ``members_left`` (a ``channel_join``/``group_join`` or ``..._leave`` line's
    ``user``).

    Reactions are one entry per known reacting user (``count`` 1) plus, where Slack's ``count`` exceeds the users it
    lists (it lists a sample when many reacted, https://docs.slack.dev/reference/methods/reactions.get), one entry
    with ``user`` None holding the rest of the count; Slack gives no reaction times (``created`` None).

    Examples
    --------
    >>> ext = message_extensions({"reactions": [{"name": "tada", "users": ["U1", "U2"], "count": 5}],
    ...                           "files": [{"name": "plan.pdf", "mimetype": "application/pdf"}]})
    >>> [(r["user"], r["count"]) for r in ext["reactions"]], ext["file_kinds"]
    ([('U1', 1), ('U2', 1), (None, 3)], ['pdf'])
    >>> message_extensions({"subtype": "channel_leave", "user": "U3"})["members_left"]
    ['U3']
    """
    reactions: list[dict[str, Any]] = []
    for r in _dicts(raw.get("reactions")):
        emoji = r.get("name")
        if not isinstance(emoji, str) or not emoji:
            continue
        users = list(dict.fromkeys(u for u in r.get("users") or () if isinstance(u, str) and u))
        count = r.get("count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else len(users)
        reactions += [{"emoji": emoji, "user": u, "count": 1, "created": None} for u in users]
        if count > len(users):
            reactions.append({"emoji": emoji, "user": None, "count": count - len(users), "created": None})
    files = _dicts(raw.get("files"))
    if isinstance(raw.get("file"), dict) and not files:  # old exports' file_share lines carry one ``file``
        files = [raw["file"]]
    kinds = [
        "deleted" if f.get("mode") == "tombstone" else file_kind(f.get("name"), f.get("mimetype"), f.get("filetype"))
        for f in files
    ]
    subtype, user = raw.get("subtype"), raw.get("user")
    who = [user] if isinstance(user, str) and user else []
    return {
        "reactions": reactions,
        "file_kinds": kinds,
        "importance": None,
        "members_joined": who if subtype in _JOINS else [],
        "members_left": who if subtype in _LEAVES else [],
    }


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _block_users(blocks: list[Any]) -> list[str]:
    """The ``user_id`` of every ``user`` element in a message's rich-text blocks
    (https://docs.slack.dev/reference/block-kit/blocks/rich-text-block), in order."""
    users: list[str] = []
    stack = [b for b in reversed(blocks) if b.__class__ is dict and b.get("type") == "rich_text"]
    while stack:
        node = stack.pop()
        if node.get("type") == "user":
            uid = node.get("user_id")
            if isinstance(uid, str) and uid:
                users.append(uid)
            continue
        children = node.get("elements")
        if children.__class__ is list:
            stack.extend(c for c in reversed(children) if c.__class__ is dict)
    return users


def conversation_kind(raw: dict[str, Any], default: str) -> str:
    if raw.get("is_im"):
        return "direct"
    if raw.get("is_mpim"):
        return "group_direct"
    return default


def conversation_object(
    raw: dict[str, Any], kind: str, users: dict[str, dict[str, Any]], href_prefix: str
) -> dict[str, Any]:
    """A Chat API conversation from a channels/groups/mpims/dms.json entry (``created`` as int or string);
    ``kind`` is one of ``channel``, ``private_channel``, ``direct``, ``group_direct``."""
    cid = raw["id"]
    members = raw.get("members") or ([raw["user"]] if raw.get("user") else [])
    return {
        "id": cid,
        "private": kind != "channel",
        "name": None if kind == "direct" else raw.get("name"),
        "created": iso_from_us(int(float(raw.get("created") or 0)) * 1_000_000),
        "members": [user_object(u, users) for u in sorted(members)],
        "kind": kind,
        "type": "conversation",
        "raw": redact_tokens(raw),
        "api": "messaging",
        "href": f"{href_prefix}/conversations/{cid}",
    }


def _message_fields(
    raw: dict[str, Any],
    channel: str,
    users: dict[str, dict[str, Any]],
    senders: dict[tuple[str, Any], dict[str, Any]] | None = None,
) -> tuple[str, dict[str, Any], int, int | None, str, str]:
    """``(id, sender, created_us, modified_us, text, parent)`` of a Slack message: what both the wire object and
    the bulk columns are made of. ``senders`` memoises the sender objects (shared then: read them only)."""
    get = raw.get  # bound once: this runs once per message of a bulk load
    ts = raw["ts"]
    ts = ts if type(ts) is str else str(ts)
    username = get("username")
    sender_id = get("user") or get("bot_id") or username or _commenter(raw) or "unknown"
    key = sender_id if username is None else (sender_id, username)
    sender = senders.get(key) if senders is not None else None
    if sender is None:
        sender = _sender(sender_id, username, users)
        if senders is not None:
            senders[key] = sender
    thread_ts = get("thread_ts")
    edited = get("edited")
    edited = edited.get("ts") if edited.__class__ is dict else None
    # Ids as message_id makes them, written out here for the bulk loads' sake.
    parent = f"{channel}-{thread_ts}" if thread_ts and thread_ts != ts else ""
    return f"{channel}-{ts}", sender, ts_to_us(ts), ts_to_us(edited) if edited else None, get("text") or "", parent


def message_object(
    raw: dict[str, Any], channel: str, users: dict[str, dict[str, Any]], href_prefix: str
) -> dict[str, Any]:
    """A Chat API message from a Slack message object."""
    mid, sender, created, modified, text, parent = _message_fields(raw, channel, users)
    is_bot, is_system, subtype, mentions = message_signals(raw, text)
    return {
        "id": mid,
        "conversation_id": channel,
        "sender": sender,
        "created": iso_from_us(created),
        "modified": iso_from_us(modified) if modified is not None else None,
        "text": text,
        "parent": parent,
        "is_bot": is_bot,
        "is_system": is_system,
        "subtype": subtype,
        "mentions": mentions,
        **message_extensions(raw),
        "type": "message",
        "raw": redact_tokens(raw),
        "api": "messaging",
        "href": f"{href_prefix}/messages/{mid}",
    }


class MessageColumns:
    """Slack message objects gathered as rows of the bulk message table (the export's bulk reads): the same values
    :func:`message_object` gives, without a wire dict or an ISO string per message. The signals are derived a
    whole column at a time, by the rules of :func:`message_signals`.

    Examples
    --------
    >>> cols = MessageColumns({}, raw=False)
    >>> cols.add("C1", [{"ts": "1512085950.000216", "user": "U1", "text": "hi <@U2>"}])
    >>> cols.table().to_pylist()[0]["mentions"], len(cols)
    (['U2'], 0)
    """

    _FIELDS = ("conversation_id", "id", "sender_id", "sender_name", "created", "modified", "text", "parent")

    def __init__(self, users: dict[str, dict[str, Any]], *, raw: bool) -> None:
        self.users, self.raw = users, raw
        self._senders: dict[tuple[str, Any], dict[str, Any]] = {}
        self.rows: list[tuple[Any, ...]] = []
        self._mentioned: list[tuple[int, list[str]]] = []  # (row, mentions) found per message (blocks, actors)
        self._extended: list[tuple[int, dict[str, Any]]] = []  # (row, message_extensions) where it has any

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, channel: str, messages: Any) -> None:
        # One tuple of the message's own strings per message, transposed into columns once (by zip, in C); ids,
        # parents and times are then made a whole column at a time (table), not with an f-string and an int()
        # per message.
        add, users, senders, keep_raw, dumps = self.rows.append, self.users, self._senders, self.raw, orjson.dumps
        rows, mentioned, extended = self.rows, self._mentioned, self._extended
        for m in messages:
            if not isinstance(m, dict):
                continue  # not a message (as a day file's listing skips it too)
            get = m.get
            ts = get("ts")
            if not ts:
                continue
            if ts.__class__ is not str:
                ts = str(ts)
            username = get("username")
            named = get("user") or get("bot_id") or username or _commenter(m)
            sender_id = named or "unknown"
            key = sender_id if username is None else (sender_id, username)
            sender = senders.get(key)
            if sender is None:
                sender = senders[key] = _sender(sender_id, username, users)
            thread_ts = get("thread_ts")
            if thread_ts is not None and thread_ts.__class__ is not str:
                thread_ts = str(thread_ts)
            edited = get("edited")
            edited = edited.get("ts") if edited.__class__ is dict else None
            if edited is not None and edited.__class__ is not str:
                edited = str(edited)
            subtype = get("subtype")
            subtype = subtype if subtype.__class__ is str else None
            # Mentions the text alone does not give (blocks, a system event's actor) are found here, per message,
            # by the rules message_signals follows; the rest a whole column at a time below.
            blocks = get("blocks")
            system = subtype is not None and subtype not in _NOT_SYSTEM
            text = get("text") or ""
            if (system and "<@" in text) or (blocks.__class__ is list and blocks and b'"user_id"' in dumps(blocks)):
                mentioned.append((len(rows), _mentions(m, text, system)))
            if get("reactions") or get("files") or get("file") or subtype in _MEMBERSHIP:
                extended.append((len(rows), message_extensions(m)))
            body = None
            if keep_raw:
                body = dumps(m)
                # The token pattern cannot cross a JSON string's quotes, so redacting the text of the whole object
                # is redacting each string in it (as redact_tokens does), at a fraction of the cost.
                if b"xox" in body:
                    body = _TOKEN.sub(_redacted, body.decode())
            add(
                (
                    channel,
                    ts,
                    sender["id"],
                    sender["name"],
                    thread_ts if thread_ts and thread_ts != ts else None,
                    edited or None,
                    text,
                    subtype,
                    bool(get("bot_id")) or sender_id == SLACKBOT or (username is not None and _named_only(m)),
                    not named,
                    body,
                )
            )

    def table(self) -> pa.Table:
        """What was added, as a table (and a fresh start)."""
        rows, self.rows = self.rows, []
        mentioned, self._mentioned = self._mentioned, []
        extended, self._extended = self._extended, []
        names = ["conversation_id", "ts", "sender_id", "sender_name", "thread_ts", "edited_ts", "text", "subtype"]
        names += ["bot_sender", "senderless", "raw"]  # raw is None unless kept, and then not read
        columns: dict[str, Any] = dict(zip(names, zip(*rows) if rows else [()] * len(names)))
        texts = columns["text"]
        channel = pa.array(columns["conversation_id"], type=pa.string())
        ts = pa.array(columns.pop("ts"), type=pa.string())
        thread_ts = pa.array(columns.pop("thread_ts"), type=pa.string())
        # Ids and parents as _message_fields writes them ("<channel>-<ts>"), and times from the ts strings.
        columns["conversation_id"] = channel
        columns["id"] = pc.binary_join_element_wise(channel, ts, "-")
        columns["parent"] = pc.binary_join_element_wise(channel, thread_ts, "-")  # null where thread_ts is
        columns["created"] = _us_from_keys(ts)
        columns["modified"] = _us_from_keys(pa.array(columns.pop("edited_ts"), type=pa.string()))
        subtype = pa.array(columns["subtype"], type=pa.string())
        text = pa.array(texts, type=pa.string())
        # message_signals, a column at a time: bots, system events, and mentions (found by the regex only in
        # the texts that hold "<@").
        columns["subtype"], columns["text"] = subtype, text
        bot_sender = pa.array(columns.pop("bot_sender"), type=pa.bool_())
        senderless = pa.array(columns.pop("senderless"), type=pa.bool_())
        columns["is_bot"] = pc.or_(pc.is_in(subtype, value_set=_BOT_VALUES), bot_sender)
        # Any subtype the table does not call a person's or a bot's is a system event (unknown ones too).
        unusual = pc.and_(pc.is_valid(subtype), pc.invert(pc.is_in(subtype, value_set=_NOT_SYSTEM_VALUES)))
        columns["is_system"] = pc.or_(unusual, senderless)
        marked = pc.match_substring(text, "<@").to_numpy(zero_copy_only=False)
        mentions: list[list[str]] = [[]] * len(rows)
        findall = _MENTION.findall
        for k in marked.nonzero()[0].tolist():
            mentions[k] = findall(texts[k])
        for k, found in mentioned:
            mentions[k] = found
        columns["mentions"] = pa.array(mentions, type=pa.list_(pa.string()))
        columns.update(extension_columns(len(rows), extended))
        return message_table(columns, raw=self.raw)


def _commenter(raw: dict[str, Any]) -> str | None:
    """Who wrote a legacy ``file_comment``: Slack put the person in ``comment.user``, not ``user``."""
    comment = raw.get("comment")
    user = comment.get("user") if comment.__class__ is dict else None
    return user if isinstance(user, str) and user else None


def _sender(sender_id: str, username: str | None, users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The sender object of a message by ``sender_id`` (bots name themselves per message: ``username``)."""
    sender = user_object(sender_id, users)
    if sender["name"] == sender_id and username:
        sender["name"] = username
    return sender


def _us_from_keys(keys: pa.Array) -> pa.Array:
    """:func:`~chatlens._time.us_from_key` of a column of ts strings (nulls stay null), as int64 microseconds.

    The usual ``"<seconds>.<6 digits>"`` is converted in one cast; any other shape, per value.

    Examples
    --------
    >>> _us_from_keys(pa.array(["1512085950.000216", None, "1512085950.5"])).to_pylist()
    [1512085950000216, None, 1512085950500000]
    """
    usual = pc.equal(pc.utf8_length(keys), pc.add(pc.find_substring(keys, "."), 7))
    if pc.all(pc.or_kleene(usual, pc.is_null(keys))).as_py() is not False:
        return pc.cast(pc.replace_substring(keys, ".", ""), pa.int64())
    return pa.array([None if k is None else ts_to_us(k) for k in keys.to_pylist()], type=pa.int64())


def _redacted(match: re.Match[str]) -> str:
    return f"{match.group(1)}=REDACTED"
