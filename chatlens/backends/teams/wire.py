"""Microsoft Graph (Teams) objects -> Chat API objects: ids, times, text and users, shared by the Graph backend
and importers.

Ids are stateless and reversible (a prefix naming kind and version, then base64url of the Graph keys), because a
Graph channel reply cannot be fetched as ``/messages/{replyId}``: its chatlens id must carry its parent's id.

- chat conversation: ``tc1.<b64 ["19:...@thread.v2"]>``
- channel conversation: ``tt1.<b64 [team_id, channel_id]>``
- message: ``tm1.<b64 [conversation_id, message_id, reply_to_id or ""]>``
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

import orjson

from ...chatapi import iso_from_us, us_from_iso
from ...errors import InvalidRequest
from ..file_kinds import file_kind
from .message_types import event_subtype

__all__ = [
    "chat_conversation_id",
    "channel_conversation_id",
    "parse_conversation_id",
    "message_id",
    "parse_message_id",
    "html_to_text",
    "graph_time_us",
    "BadGraphObject",
    "user_object",
    "message_from_graph",
    "message_signals",
    "message_extensions",
    "mentioned",
    "MENTION_KINDS",
    "conversation_kind",
]


class BadGraphObject(ValueError):
    """A Graph object that cannot be normalised (e.g. a malformed timestamp); the message says which and why."""


def _encode(prefix: str, parts: list[str]) -> str:
    return prefix + base64.urlsafe_b64encode(orjson.dumps(parts)).rstrip(b"=").decode("ascii")


def _decode(prefix: str, value: Any, n: int, field: str) -> list[str]:
    bad = InvalidRequest(f"{field}: {value!r} is not a Teams {field.replace('_', ' ')} issued by chatlens")
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) > 2048:
        raise bad
    body = value[len(prefix) :]
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        raise bad from None
    if not isinstance(parts, list) or len(parts) != n or not all(isinstance(p, str) for p in parts):
        raise bad
    return parts


def chat_conversation_id(chat_id: str) -> str:
    """The chatlens id of a Graph chat.

    Examples
    --------
    >>> cid = chat_conversation_id("19:abc@thread.v2")
    >>> parse_conversation_id(cid)
    ('chat', '19:abc@thread.v2')
    """
    return _encode("tc1.", [chat_id])


def channel_conversation_id(team_id: str, channel_id: str) -> str:
    """The chatlens id of a team channel.

    Examples
    --------
    >>> parse_conversation_id(channel_conversation_id("team-1", "19:x@thread.tacv2"))
    ('channel', 'team-1', '19:x@thread.tacv2')
    """
    return _encode("tt1.", [team_id, channel_id])


def parse_conversation_id(conversation_id: str) -> tuple[str, ...]:
    """``("chat", chat_id)`` or ``("channel", team_id, channel_id)``; InvalidRequest for anything else."""
    if isinstance(conversation_id, str) and conversation_id.startswith("tc1."):
        return ("chat", *_decode("tc1.", conversation_id, 1, "conversation_id"))
    return ("channel", *_decode("tt1.", conversation_id, 2, "conversation_id"))


def message_id(conversation_id: str, graph_id: str, reply_to: str | None = None) -> str:
    """The chatlens id of a Graph chatMessage (a channel reply carries its parent's id).

    Examples
    --------
    >>> mid = message_id(chat_conversation_id("19:abc@thread.v2"), "1616964509832")
    >>> parse_message_id(mid)[1:]
    ('1616964509832', '')
    """
    return _encode("tm1.", [conversation_id, graph_id, reply_to or ""])


def parse_message_id(value: str) -> tuple[str, str, str]:
    """``(conversation_id, graph_message_id, reply_to_id or "")``; InvalidRequest for anything else."""
    cid, gid, reply_to = _decode("tm1.", value, 3, "message_id")
    return cid, gid, reply_to


_BLOCK = re.compile(r"<\s*(br|/p|/div|/li)\b[^>]*>", re.I)
# <emoji id="smile" alt="🙂" title="Smile"></emoji>: the emoji is its alt (attributes in any order, either quote).
_EMOJI = re.compile(r"<\s*emoji\b[^>]*?\balt\s*=\s*(?:\"([^\"]*)\"|'([^']*)')[^>]*>(?:\s*</\s*emoji\s*>)?", re.I)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\n\s*\n+")


def html_to_text(content: str) -> str:
    """Plain text of a Teams HTML body: tags dropped, ``<at>`` mentions kept as the name, entities decoded.

    Examples
    --------
    >>> html_to_text('<div><at id="0">Megan Bowen</at>&nbsp;can you check <b>this</b>?</div>')
    'Megan Bowen can you check this?'
    >>> html_to_text('<p>done <emoji id="smile" alt="🙂" title="Smile"></emoji></p>')
    'done 🙂'
    """
    text = _EMOJI.sub(lambda m: m[1] if m[1] is not None else m[2], content or "")
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def graph_time_us(value: Any, *, what: str) -> int:
    """Microseconds since the epoch from a Graph timestamp; :class:`BadGraphObject` naming ``what`` if malformed.

    Examples
    --------
    >>> graph_time_us("2021-03-28T20:48:29.832Z", what="created")
    1616964509832000
    >>> graph_time_us("2021-03-1706:47:05.123Z", what="message 1615943825123 createdDateTime")
    Traceback (most recent call last):
    ...
    chatlens.backends.teams.wire.BadGraphObject: message 1615943825123 createdDateTime: '2021-03-1706:47:05.123Z' ...
    """
    try:
        return us_from_iso(value)
    except InvalidRequest:
        raise BadGraphObject(f"{what}: {value!r} is not an ISO 8601 timestamp") from None


def user_object(user_id: str, display_name: str | None = None, email: str | None = None) -> dict[str, Any]:
    """A Team API user object for a Graph identity."""
    return {"id": user_id, "name": display_name or user_id, "email": email, "type": "user", "api": "team"}


def _sender(msg: dict[str, Any]) -> dict[str, Any]:
    sender = msg.get("from") or {}
    user = sender.get("user") if isinstance(sender, dict) else None
    if isinstance(user, dict) and user.get("id"):
        return user_object(user["id"], user.get("displayName"))
    app = sender.get("application") if isinstance(sender, dict) else None
    if isinstance(app, dict) and app.get("id"):
        return user_object(app["id"], app.get("displayName"))
    # A system event has no sender (``from`` is null); it is nobody's message, so not its initiator's either
    # (``eventDetail.initiator`` stays in raw).
    return user_object("system", "system")


#: The kinds of things a Teams message can mention (chatMessageMention.mentioned is an identitySet, or a
#: conversation or a tag): the kind, and where the id and name are.
MENTION_KINDS = ("user", "application", "device", "conversation", "tag")


def mentioned(msg: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """Everything a Graph chatMessage mentions, as ``(kind, id, name)``: ``user``, ``application`` (a bot or app),
    ``team`` or ``channel`` (a ``conversation`` mention, by its ``conversationIdentityType``), ``tag``, or
    ``device``. The ``mentions`` column keeps users' ids only (the schema's meaning: people mentioned); the rest
    are here and in ``raw``, and their names stay in ``text``.

    Examples
    --------
    >>> team = {"conversation": {"id": "T1", "displayName": "Acme", "conversationIdentityType": "team"}}
    >>> mentioned({"mentions": [{"mentioned": team}, {"mentioned": {"tag": {"id": "g1", "displayName": "Ops"}}}]})
    [('team', 'T1', 'Acme'), ('tag', 'g1', 'Ops')]
    """
    out = []
    for mention in msg.get("mentions") or ():
        target = mention.get("mentioned") if isinstance(mention, dict) else None
        if not isinstance(target, dict):
            continue
        for kind in MENTION_KINDS:
            who = target.get(kind)
            if isinstance(who, dict) and who.get("id"):
                if kind == "conversation":
                    kind = str(who.get("conversationIdentityType") or "conversation")
                out.append((kind, str(who["id"]), who.get("displayName")))
                break
    return out


def message_signals(msg: dict[str, Any]) -> tuple[bool, bool, str | None, list[str]]:
    """``(is_bot, is_system, subtype, mentions)`` of a Graph chatMessage: what the normalised columns say of it.

    A message from an application and no user is a bot's; any ``messageType`` but ``message`` (for example
    ``systemEventMessage``) is a system event, its subtype the event's detail type (the table:
    :mod:`.message_types`); mentions are the mentioned users' ids (other kinds: :func:`mentioned`).

    Examples
    --------
    >>> message_signals({"messageType": "message", "from": {"application": {"id": "A1"}}})
    (True, False, None, [])
    >>> message_signals({"messageType": "systemEventMessage", "mentions": [{"mentioned": {"user": {"id": "u1"}}}]})
    (False, True, 'systemEventMessage', ['u1'])
    >>> detail = {"@odata.type": "#microsoft.graph.chatRenamedEventMessageDetail"}
    >>> message_signals({"messageType": "unknownFutureValue", "eventDetail": detail})
    (False, True, 'chatRenamed', [])
    """
    kind = msg.get("messageType") or "message"
    sender = msg.get("from") or {}
    is_bot = isinstance(sender, dict) and bool(sender.get("application")) and not sender.get("user")
    mentions = [ident for kind, ident, _ in mentioned(msg) if kind == "user"]
    return is_bot, kind != "message", event_subtype(msg), mentions


#: chatMessage.importance values (https://learn.microsoft.com/en-us/graph/api/resources/chatmessage).
IMPORTANCE = frozenset({"normal", "high", "urgent"})
_JOINED = frozenset({"membersAdded", "membersJoined"})
_LEFT = frozenset({"membersDeleted", "membersLeft"})
#: Attachment content types that are not files: cards, quoted and forwarded messages, meetings
#: (https://learn.microsoft.com/en-us/graph/api/resources/chatmessageattachment).
_NOT_FILES = ("application/vnd.microsoft.card.", "messageReference", "forwardedMessageReference", "meetingReference")
_HOSTED_IMAGE = re.compile(r"<img\b[^>]*hostedContents", re.I)


def message_extensions(msg: dict[str, Any]) -> dict[str, Any]:
    """What a Graph chatMessage says besides its text: ``reactions`` (one per chatMessageReaction: its
    ``reactionType``, the reacting user, ``createdDateTime``), ``file_kinds`` (``reference`` attachments and other
    file attachments, plus images pasted into the body as hosted contents; cards and quoted messages are not
    files), ``importance`` (normal, high or urgent), and ``members_joined``/``members_left`` (the members of a
    membersAdded/membersJoined or membersDeleted/membersLeft system event).

    Examples
    --------
    >>> ext = message_extensions({"importance": "urgent", "reactions": [{"reactionType": "like",
    ...     "createdDateTime": "2024-05-01T10:00:00Z", "user": {"user": {"id": "u1"}}}],
    ...     "attachments": [{"contentType": "reference", "name": "Budget.xlsx"},
    ...                     {"contentType": "application/vnd.microsoft.card.adaptive"}]})
    >>> ext["importance"], ext["file_kinds"], [(r["emoji"], r["user"]) for r in ext["reactions"]]
    ('urgent', ['spreadsheet'], [('like', 'u1')])
    >>> detail = {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail", "members": [{"id": "u2"}]}
    >>> message_extensions({"messageType": "systemEventMessage", "eventDetail": detail})["members_joined"]
    ['u2']
    """
    reactions = []
    for r in msg.get("reactions") or ():
        if not isinstance(r, dict) or not isinstance(r.get("reactionType"), str) or not r["reactionType"]:
            continue
        who = r.get("user")
        user = who.get("user") if isinstance(who, dict) else None
        uid = user.get("id") if isinstance(user, dict) else None
        created = r.get("createdDateTime")
        try:
            created = iso_from_us(us_from_iso(created)) if isinstance(created, str) and created else None
        except InvalidRequest:
            created = None  # a reaction time Graph garbled is not worth losing the reaction for
        reactions.append(
            {"emoji": r["reactionType"], "user": str(uid) if uid else None, "count": 1, "created": created}
        )
    kinds = []
    for a in msg.get("attachments") or ():
        if not isinstance(a, dict):
            continue
        content_type = a.get("contentType") if isinstance(a.get("contentType"), str) else ""
        if content_type.startswith(_NOT_FILES):
            continue
        kinds.append(file_kind(a.get("name"), None if content_type == "reference" else content_type))
    body = msg.get("body")
    content = body.get("content") if isinstance(body, dict) else None
    if isinstance(content, str) and "hostedContents" in content:
        kinds += ["image"] * len(_HOSTED_IMAGE.findall(content))
    importance = msg.get("importance")
    subtype = event_subtype(msg)
    detail = msg.get("eventDetail")
    members = detail.get("members") if isinstance(detail, dict) else None
    ids = [str(m["id"]) for m in members if isinstance(m, dict) and m.get("id")] if isinstance(members, list) else []
    return {
        "reactions": reactions,
        "file_kinds": kinds,
        "importance": importance if importance in IMPORTANCE else None,
        "members_joined": ids if subtype in _JOINED else [],
        "members_left": ids if subtype in _LEFT else [],
    }


def conversation_kind(raw: dict[str, Any], private: bool) -> str:
    """``direct``, ``group_direct``, ``private_channel`` or ``channel`` of a Graph chat or channel.

    Examples
    --------
    >>> conversation_kind({"chatType": "oneOnOne"}, True), conversation_kind({"membershipType": "standard"}, False)
    ('direct', 'channel')
    """
    chat = raw.get("chatType")
    if chat == "oneOnOne":
        return "direct"
    if chat in ("group", "meeting"):
        return "group_direct"
    if raw.get("membershipType") == "private":
        return "private_channel"
    return "private_channel" if private else "channel"


def message_from_graph(msg: dict[str, Any], conversation_id: str, href_prefix: str = "") -> dict[str, Any]:
    """A Chat API message from a Graph chatMessage; the Graph object becomes ``raw``.

    ``text`` is the body as plain text (HTML bodies keep their HTML in ``raw``); ``parent`` is the chatlens id of
    ``replyToId``'s message. Raises :class:`BadGraphObject` for a malformed timestamp.
    """
    gid = str(msg.get("id") or "")
    if not gid:
        raise BadGraphObject("a chatMessage without an id")
    created = graph_time_us(msg.get("createdDateTime"), what=f"message {gid} createdDateTime")
    edited = msg.get("lastEditedDateTime")
    modified = graph_time_us(edited, what=f"message {gid} lastEditedDateTime") if edited else None
    body = msg.get("body") or {}
    content = body.get("content") or ""
    text = html_to_text(content) if body.get("contentType") == "html" else content
    reply_to = msg.get("replyToId") or ""
    mid = message_id(conversation_id, gid, reply_to)
    is_bot, is_system, subtype, mentions = message_signals(msg)
    return {
        "id": mid,
        "conversation_id": conversation_id,
        "sender": _sender(msg),
        "created": iso_from_us(created),
        "modified": iso_from_us(modified) if modified is not None else None,
        "text": text,
        "parent": message_id(conversation_id, reply_to) if reply_to else "",
        "is_bot": is_bot,
        "is_system": is_system,
        "subtype": subtype,
        "mentions": mentions,
        **message_extensions(msg),
        "type": "message",
        "raw": msg,
        "api": "messaging",
        "href": f"{href_prefix}/messages/{mid}",
    }
