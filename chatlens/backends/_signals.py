"""What a service's own message and conversation objects say, in the normalised terms every backend hands up.

The one place that dispatches on the service: the embedded workspace (which stores each service's objects as
``raw``) and the HTTP client (for servers that send no normalised fields) both ask here, and the service modules
(:mod:`._slack`, :mod:`._teams`) hold the rules themselves.
"""

from __future__ import annotations

from typing import Any

from .slack import wire as _slack
from .teams import wire as _teams

__all__ = ["MENTION_SEPARATOR", "conversation_kind", "message_extensions", "message_signals"]

#: How the embedded workspace joins a message's mention ids in one column (a control character no id contains).
MENTION_SEPARATOR = "\x1f"


def message_signals(service: str, raw: Any, text: str) -> tuple[bool, bool, str | None, list[str]]:
    """``(is_bot, is_system, subtype, mentions)`` of a message of ``service`` from its ``raw`` object and text.

    Examples
    --------
    >>> message_signals("slack", {"subtype": "channel_join"}, "<@U1> has joined the channel")
    (False, True, 'channel_join', ['U1'])
    >>> message_signals("ms_teams", {"messageType": "message"}, "hello")
    (False, False, None, [])
    """
    raw = raw if isinstance(raw, dict) else {}
    if service == "ms_teams":
        return _teams.message_signals(raw)
    return _slack.message_signals(raw, text if isinstance(text, str) else "")


def message_extensions(service: str, raw: Any) -> dict[str, Any]:
    """A message's reactions, file kinds, importance and membership changes, from its ``raw`` object (see each
    service's ``message_extensions``).

    Examples
    --------
    >>> message_extensions("slack", {"subtype": "channel_join", "user": "U1"})["members_joined"]
    ['U1']
    >>> message_extensions("ms_teams", {"importance": "high"})["importance"]
    'high'
    """
    raw = raw if isinstance(raw, dict) else {}
    if service == "ms_teams":
        return _teams.message_extensions(raw)
    return _slack.message_extensions(raw)


def conversation_kind(service: str, raw: Any, private: bool) -> str:
    """``channel``, ``private_channel``, ``direct`` or ``group_direct`` of a conversation of ``service``.

    Examples
    --------
    >>> conversation_kind("slack", {"is_im": True}, True), conversation_kind("ms_teams", {}, False)
    ('direct', 'channel')
    """
    raw = raw if isinstance(raw, dict) else {}
    if service == "ms_teams":
        return _teams.conversation_kind(raw, private)
    return _slack.conversation_kind(raw, "private_channel" if private else "channel")
