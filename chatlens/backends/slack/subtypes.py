"""Every Slack message subtype, and what chatlens counts it as: a person's message, a bot's, or a system event.

The one table of the Slack part. Sources: the subtypes Slack documents (https://docs.slack.dev/reference/events/message,
"Message subtypes", and a page per subtype such as .../message/channel_convert_to_private), and the undocumented
ones real exports carry (canvas, huddle and Slack Connect room events, tombstones of deleted thread roots; the
same names appear in slack-morphism's ``SlackMessageEventType`` and in slackdump's fixtures).

A subtype not in the table (Slack adds them without notice) counts as a system event: a message nobody typed is
the likelier reading, and counting an unknown event as a person's message would inflate every figure. Bulk
loads never look at the table per message: :data:`SYSTEM_SUBTYPES` and :data:`BOT_SUBTYPES` are its two columns as
sets, and :data:`PERSON_SUBTYPES` the rest.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "SUBTYPES",
    "PERSON_SUBTYPES",
    "BOT_SUBTYPES",
    "SYSTEM_SUBTYPES",
    "SLACKBOT",
    "Kind",
    "subtype_kind",
]

Kind = Literal["person", "bot", "system"]

#: The Slackbot user: not in users.json, never a member; its messages are a bot's.
SLACKBOT = "USLACKBOT"

#: subtype -> (kind, what it is). ``None`` is an ordinary message.
SUBTYPES: dict[str | None, tuple[Kind, str]] = {
    None: ("person", "an ordinary message"),
    # People's messages, in another form.
    "file_share": ("person", "a message with a file shared"),
    "thread_broadcast": ("person", "a thread reply also sent to the channel"),
    "reply_broadcast": ("person", "a thread reply also sent to the channel (its 2017 name)"),
    "me_message": ("person", "a /me message"),
    "file_comment": ("person", "a comment on a file (legacy)"),
    "file_mention": ("person", "a file mentioned in the channel (legacy)"),
    # Bots' messages.
    "bot_message": ("bot", "a message posted by a bot or an integration"),
    "slackbot_response": ("bot", "a custom Slackbot response"),
    "assistant_app_thread": ("bot", "the start of an AI assistant app's thread"),
    # The workspace's own events: nobody typed these.
    "channel_join": ("system", "a member joined the channel"),
    "channel_leave": ("system", "a member left the channel"),
    "channel_topic": ("system", "the channel's topic was set"),
    "channel_purpose": ("system", "the channel's purpose (description) was set"),
    "channel_name": ("system", "the channel was renamed"),
    "channel_archive": ("system", "the channel was archived"),
    "channel_unarchive": ("system", "the channel was unarchived"),
    "channel_convert_to_private": ("system", "the channel was made private"),
    "channel_convert_to_public": ("system", "the channel was made public"),
    "channel_posting_permissions": ("system", "who may post in the channel changed"),
    "channel_canvas_updated": ("system", "the channel's canvas was edited (undocumented)"),
    "tabbed_canvas_updated": ("system", "a canvas tab of the channel was edited (undocumented)"),
    "canvas_updated": ("system", "a canvas was edited (undocumented)"),
    "group_join": ("system", "a member joined the private channel (legacy)"),
    "group_leave": ("system", "a member left the private channel (legacy)"),
    "group_topic": ("system", "the private channel's topic was set (legacy)"),
    "group_purpose": ("system", "the private channel's purpose was set (legacy)"),
    "group_name": ("system", "the private channel was renamed (legacy)"),
    "group_archive": ("system", "the private channel was archived (legacy)"),
    "group_unarchive": ("system", "the private channel was unarchived (legacy)"),
    "pinned_item": ("system", "an item was pinned"),
    "unpinned_item": ("system", "an item was unpinned"),
    "reminder_add": ("system", "a reminder was set in the channel"),
    "bot_add": ("system", "an integration was added (undocumented)"),
    "bot_remove": ("system", "an integration was removed (undocumented)"),
    "bot_enable": ("system", "an integration was enabled (undocumented)"),
    "bot_disable": ("system", "an integration was disabled (undocumented)"),
    "app_conversation_join": ("system", "an app joined the channel (undocumented)"),
    "app_conversation_leave": ("system", "an app left the channel (undocumented)"),
    "joiner_notification": ("system", "Slack's note that someone joined (undocumented)"),
    "joiner_notification_for_inviter": ("system", "Slack's note to an inviter that someone joined (undocumented)"),
    "emoji_changed": ("system", "a custom emoji was added or removed (undocumented)"),
    "huddle_thread": ("system", "a huddle's thread post (undocumented)"),
    "sh_room_created": ("system", "a huddle (Slack call room) was started (undocumented)"),
    "share_shortcut": ("system", "a workflow shortcut was shared (undocumented)"),
    "tombstone": ("system", "what stays of a deleted thread root: 'This message was deleted.' (undocumented)"),
    "ekm_access_denied": ("system", "a message hidden by Enterprise Key Management"),
    "message_changed": ("system", "an edit notification (events, not history)"),
    "message_deleted": ("system", "a deletion notification (events, not history)"),
    "message_replied": ("system", "a reply notification (events, not history)"),
    "file_created": ("system", "a file was created (undocumented)"),
    "file_shared": ("system", "a file was shared (undocumented)"),
    "file_unshared": ("system", "a file was unshared (undocumented)"),
    "file_public": ("system", "a file was made public (undocumented)"),
    "file_changed": ("system", "a file was changed (undocumented)"),
    "file_deleted": ("system", "a file was deleted (undocumented)"),
}

PERSON_SUBTYPES = frozenset(s for s, (kind, _) in SUBTYPES.items() if kind == "person" and s is not None)
BOT_SUBTYPES = frozenset(s for s, (kind, _) in SUBTYPES.items() if kind == "bot")
#: The system events of the table. Subtypes outside the table are system events too (:func:`subtype_kind`).
SYSTEM_SUBTYPES = frozenset(s for s, (kind, _) in SUBTYPES.items() if kind == "system")


def subtype_kind(subtype: str | None) -> Kind:
    """What a message of this subtype is: ``"person"``, ``"bot"`` or ``"system"`` (also for unknown subtypes).

    Examples
    --------
    >>> subtype_kind(None), subtype_kind("thread_broadcast"), subtype_kind("bot_message")
    ('person', 'person', 'bot')
    >>> subtype_kind("reminder_add"), subtype_kind("a_subtype_slack_adds_next_year")
    ('system', 'system')
    """
    found = SUBTYPES.get(subtype)
    return found[0] if found is not None else "system"
