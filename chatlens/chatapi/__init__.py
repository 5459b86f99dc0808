"""The Chat API: one interface, the Kloudless messaging operations, implemented by every backend.

A backend object is bound to one account. Every operation takes and returns plain dicts in the Kloudless wire
shape, so what a backend returns is exactly what ``chatlens serve`` sends and the HTTP client receives:

- conversation: ``{id, private, name, created, members, kind, type: "conversation", raw, api: "messaging", href}``
- message: ``{id, conversation_id, sender, created, modified, text, parent, is_bot, is_system, subtype, mentions,
  reactions, file_kinds, importance, members_joined, members_left, type: "message", raw, api: "messaging",
  href}``; ``kind``, ``modified`` and the normalised fields (``is_bot`` to ``members_left``) are chatlens'
  documented extensions of the Kloudless objects, derived by each backend from the service's own object
  (``reactions``: ``[{emoji, user, count, created}]``, see :data:`~chatlens.chatapi.interface.REACTION`)
- user (a member, Team API): ``{id, name, email, type: "user", api: "team", ...}``
- list page: ``{count, page, next_page, objects, type: "object_list", api: "messaging"}`` (``api: "team"`` for the
  Team API's lists)
- Team API user: ``{id, name, email, created, updated, type: "user", api: "team", display_name, is_bot, deleted,
  guest, timezone, raw, href}`` (members and senders carry the short form above)
- Team API group: ``{id, name, description, created, type: "group", api: "team", raw, href}`` (Slack user groups,
  Teams teams)
- events page: ``{count, cursor, remaining, objects, type: "object_list", api: "messaging"}``

Orders, the same in every backend:

- conversations: oldest first (``created``, then ``id``);
- messages: **newest first** (``created`` descending, then ``id`` descending), as Slack and Graph list them;
- members, users, groups and group members: by ``id``;
- events: in the order they happened (ascending cursor).

``created`` is ISO 8601 UTC with microseconds and ``Z``; ``parent`` is ``""`` for a root message, else the id of the
message replied to; ``text`` marks a mention as ``<@USER_ID>`` or ``<@USER_ID|label>`` (:data:`MENTION_MARKUP`).
``page`` tokens are opaque strings, valid until the objects they point past are gone.

The package: :mod:`.interface` (:class:`ChatAPI`, its declared capabilities and the bulk message table),
:mod:`.paging` (page sizes, tokens, list pages, :func:`iter_pages` and :func:`iter_items`), :mod:`.wire` (the
shared checks and the Team API objects); what each service allows is :mod:`chatlens.chatapi.rules`.
"""

from __future__ import annotations

from .._time import iso_from_us, us_from_iso
from .interface import MESSAGE_TABLE_SCHEMA, ChatAPI, ThreadRecord
from .paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    check_page_size,
    decode_page_token,
    encode_page_token,
    iter_items,
    iter_pages,
    list_page,
    slice_by_id,
    team_page,
)
from .wire import (
    MAX_JSON_DEPTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MENTION_MARKUP,
    check_id,
    check_json_depth,
    check_member_ids,
    check_name,
    check_text,
    team_group,
    team_user,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ChatAPI",
    "MESSAGE_TABLE_SCHEMA",
    "ThreadRecord",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_JSON_DEPTH",
    "MENTION_MARKUP",
    "check_json_depth",
    "check_name",
    "check_page_size",
    "check_text",
    "check_id",
    "check_member_ids",
    "decode_page_token",
    "team_group",
    "team_page",
    "team_user",
    "slice_by_id",
    "encode_page_token",
    "iso_from_us",
    "iter_items",
    "iter_pages",
    "list_page",
    "us_from_iso",
]
