"""Every kind of Teams chatMessage, and what chatlens counts it as: a person's message, a bot's, or a system event.

The one table of the Teams part. Sources: the Graph v1.0 reference, resource ``chatMessage`` (``messageType``:
message, chatEvent, typing, unknownFutureValue, systemEventMessage; ``from``: user or application) and resource
``eventMessageDetail`` with its derived types (https://learn.microsoft.com/graph/api/resources/eventmessagedetail).
Without ``Prefer: include-unknown-enum-members`` Graph sends ``systemEventMessage`` as ``unknownFutureValue``, as
the reference's own list-messages examples show: both are system events, and the event's detail type names it.

A system event's ``subtype`` is its detail type without the namespace and suffix (``membersAdded`` for
``#microsoft.graph.membersAddedEventMessageDetail``), else its ``messageType``. A detail type not in the table
(Graph adds them) is still a system event. Soft-deleted messages (``deletedDateTime`` set) are not listed, as
deleted messages are nowhere in chatlens.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["MESSAGE_TYPES", "EVENT_DETAILS", "Kind", "event_subtype"]

Kind = Literal["person", "bot", "system"]

#: ``messageType`` -> (kind, what it is). A ``message`` from an application (``from.application``, no user) is a
#: bot's.
MESSAGE_TYPES: dict[str, tuple[Kind, str]] = {
    "message": ("person", "a message (a bot's when it is from an application and no user)"),
    "systemEventMessage": ("system", "a system event; its eventDetail says which"),
    "unknownFutureValue": (
        "system",
        "a newer type sent under its placeholder (system events, without the Prefer header)",
    ),
    "chatEvent": ("system", "a chat event"),
    "typing": ("system", "a typing indicator"),
}

#: ``eventDetail`` type (as its subtype) -> what it is. Every one is a system event.
EVENT_DETAILS: dict[str, str] = {
    "callEnded": "a call or meeting ended",
    "callRecording": "a call was recorded",
    "callStarted": "a call or meeting started",
    "callTranscript": "a call was transcribed",
    "channelAdded": "a channel was added",
    "channelDeleted": "a channel was deleted",
    "channelDescriptionUpdated": "a channel's description changed",
    "channelRenamed": "a channel was renamed",
    "channelSetAsFavoriteByDefault": "a channel was made a default favourite",
    "channelUnsetAsFavoriteByDefault": "a channel is no longer a default favourite",
    "chatCreated": "a chat was created",
    "chatRenamed": "a chat was renamed",
    "conversationMemberRoleUpdated": "a member's role changed",
    "meetingPolicyUpdated": "a meeting's policy changed",
    "membersAdded": "members were added",
    "membersDeleted": "members were removed",
    "membersJoined": "members joined",
    "membersLeft": "members left",
    "messagePinned": "a message was pinned",
    "messageUnpinned": "a message was unpinned",
    "tabUpdated": "a tab was added, changed or removed",
    "teamArchived": "the team was archived",
    "teamCreated": "the team was created",
    "teamDescriptionUpdated": "the team's description changed",
    "teamJoiningDisabled": "joining the team was disabled",
    "teamJoiningEnabled": "joining the team was enabled",
    "teamRenamed": "the team was renamed",
    "teamsAppInstalled": "an app was installed",
    "teamsAppRemoved": "an app was removed",
    "teamsAppUpgraded": "an app was upgraded",
    "teamUnarchived": "the team was unarchived",
}

_PREFIX, _SUFFIX = "#microsoft.graph.", "EventMessageDetail"


def event_subtype(msg: dict[str, Any]) -> str | None:
    """The ``subtype`` of a chatMessage: ``None`` for a person's or a bot's message, else the system event's name.

    Examples
    --------
    >>> detail = {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail"}
    >>> event_subtype({"messageType": "systemEventMessage", "eventDetail": detail})
    'membersAdded'
    >>> event_subtype({"messageType": "unknownFutureValue"}), event_subtype({"messageType": "message"})
    ('unknownFutureValue', None)
    """
    kind = msg.get("messageType") or "message"
    if kind == "message":
        return None
    detail = msg.get("eventDetail")
    name = detail.get("@odata.type") if isinstance(detail, dict) else None
    if (
        isinstance(name, str)
        and name.startswith(_PREFIX)
        and name.endswith(_SUFFIX)
        and len(name) > len(_PREFIX) + len(_SUFFIX)
    ):
        return name[len(_PREFIX) : -len(_SUFFIX)]
    return str(kind)
