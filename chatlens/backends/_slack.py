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

from ..chatapi import MESSAGE_TABLE_SCHEMA, iso_from_us, team_user
from ..errors import InvalidRequest

__all__ = [
    "message_id",
    "parse_message_id",
    "ts_to_us",
    "user_object",
    "conversation_object",
    "message_object",
    "redact_tokens",
    "conversation_kind",
    "message_signals",
    "MessageColumns",
    "SYSTEM_SUBTYPES",
]

_TS = re.compile(r"^\d{1,12}\.\d{1,6}$")
_TOKEN = re.compile(r"(?<=[?&])(t|token)=xox[a-z]-[A-Za-z0-9-]+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
#: Message subtypes that are the workspace's own events (joins, renames, pins), not anyone's message.
SYSTEM_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "pinned_item",
        "unpinned_item",
        "bot_add",
        "bot_remove",
    }
)


def ts_from_us(us: int) -> str:
    """Slack's ``ts`` ("<seconds>.<6 digits>") from microseconds since the epoch."""
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def ts_to_us(ts: str) -> int:
    """Microseconds since the epoch from a Slack ``ts``, exactly (no float rounding).

    Examples
    --------
    >>> ts_to_us("1512085950.000216")
    1512085950000216
    """
    seconds, _, frac = str(ts).partition(".")
    return int(seconds) * 1_000_000 + int((frac + "000000")[:6])


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
        return _TOKEN.sub(lambda m: f"{m.group(1)}=REDACTED", value) if "xox" in value else value
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

    Examples
    --------
    >>> message_signals({"subtype": "bot_message", "bot_id": "B1"}, "deployed")
    (True, False, 'bot_message', [])
    >>> message_signals({}, "<@U1> and <@W2|ada>, look")
    (False, False, None, ['U1', 'W2'])
    """
    subtype = raw.get("subtype")
    subtype = subtype if isinstance(subtype, str) else None
    is_bot = subtype == "bot_message" or bool(raw.get("bot_id"))
    return is_bot, subtype in SYSTEM_SUBTYPES, subtype, _MENTION.findall(text) if "<@" in text else []


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
    raw: dict[str, Any], channel: str, users: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any], int, int | None, str, str]:
    """``(id, sender, created_us, modified_us, text, parent)`` of a Slack message: what both the wire object and
    the bulk columns are made of."""
    ts = str(raw["ts"])
    sender_id = raw.get("user") or raw.get("bot_id") or raw.get("username") or "unknown"
    sender = user_object(sender_id, users)
    if sender["name"] == sender_id and raw.get("username"):
        sender["name"] = raw["username"]  # bots name themselves per message
    thread_ts = raw.get("thread_ts")
    edited = (raw.get("edited") or {}).get("ts")
    parent = message_id(channel, thread_ts) if thread_ts and thread_ts != ts else ""
    return (
        message_id(channel, ts),
        sender,
        ts_to_us(ts),
        ts_to_us(edited) if edited else None,
        raw.get("text") or "",
        parent,
    )


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
        "type": "message",
        "raw": redact_tokens(raw),
        "api": "messaging",
        "href": f"{href_prefix}/messages/{mid}",
    }


class MessageColumns:
    """Slack message objects appended straight into the columns of
    :data:`~chatlens.chatapi.MESSAGE_TABLE_SCHEMA` (the export's bulk reads): the same values
    :func:`message_object` gives, without a wire dict or an ISO string per message.

    Examples
    --------
    >>> cols = MessageColumns({}, raw=False)
    >>> cols.add("C1", [{"ts": "1512085950.000216", "user": "U1", "text": "hi <@U2>"}])
    >>> cols.table().to_pylist()[0]["mentions"], len(cols)
    (['U2'], 0)
    """

    def __init__(self, users: dict[str, dict[str, Any]], *, raw: bool) -> None:
        self.users, self.raw = users, raw
        self._names = [f.name for f in MESSAGE_TABLE_SCHEMA if raw or f.name != "raw"]
        self._reset()

    def _reset(self) -> None:
        self.cols: dict[str, list[Any]] = {name: [] for name in self._names}

    def __len__(self) -> int:
        return len(self.cols["id"])

    def add(self, channel: str, messages: Any) -> None:
        c = self.cols
        add_conv, add_id, add_sid, add_sname = (
            c[k].append for k in ("conversation_id", "id", "sender_id", "sender_name")
        )
        add_created, add_modified, add_text, add_parent = (
            c[k].append for k in ("created", "modified", "text", "parent")
        )
        add_bot, add_system, add_subtype, add_mentions = (
            c[k].append for k in ("is_bot", "is_system", "subtype", "mentions")
        )
        add_raw = c["raw"].append if self.raw else None
        users, dumps, token = self.users, orjson.dumps, _TOKEN
        for m in messages:
            mid, sender, created, modified, text, parent = _message_fields(m, channel, users)
            is_bot, is_system, subtype, mentions = message_signals(m, text)
            add_conv(channel)
            add_id(mid)
            add_sid(sender["id"])
            add_sname(sender["name"])
            add_created(created)
            add_modified(modified)
            add_text(text)
            add_parent(parent or None)
            add_bot(is_bot)
            add_system(is_system)
            add_subtype(subtype)
            add_mentions(mentions)
            if add_raw is not None:
                body = dumps(m)
                # The token pattern cannot cross a JSON string's quotes, so redacting the text of the whole object
                # is redacting each string in it (as redact_tokens does), at a fraction of the cost.
                add_raw(token.sub(lambda x: f"{x.group(1)}=REDACTED", body.decode()) if b"xox" in body else body)

    def table(self) -> pa.Table:
        """What was added, as a table (and a fresh start)."""
        schema = MESSAGE_TABLE_SCHEMA if self.raw else MESSAGE_TABLE_SCHEMA.remove(len(MESSAGE_TABLE_SCHEMA) - 1)
        arrays = []
        for field in schema:
            values = self.cols[field.name]
            if field.name in ("created", "modified"):
                arrays.append(pa.array(values, type=pa.int64()).cast(field.type))
            else:
                arrays.append(pa.array(values, type=field.type))
        self._reset()
        return pa.Table.from_arrays(arrays, schema=schema)
