"""What each chat service allows, as data, in one place.

The Kloudless Chat API documented limits per service; every backend (embedded, HTTP server, Slack, Teams) enforces
them through :func:`check_operation` and :func:`check_members_argument`, so a rule is written once.

- ``slack``: conversation create and update take no ``members``.
- ``slack`` admin accounts: only list conversations, list messages, update and delete messages.
- ``ms_teams`` admin accounts: listing conversations omits member-to-member private (direct) conversations.
- ``ms_teams`` normal accounts: cannot list a conversation's messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InvalidRequest, PermissionDenied

__all__ = [
    "OPERATIONS",
    "SERVICES",
    "TEAM_OPERATIONS",
    "ServiceRules",
    "check_members_argument",
    "check_operation",
    "refusing",
    "rules_for",
]

SERVICES = ("slack", "ms_teams")

#: Every operation of the Chat API interface, by its Python method name.
OPERATIONS = (
    "list_conversations",
    "create_conversation",
    "retrieve_conversation",
    "update_conversation",
    "delete_conversation",
    "list_members",
    "list_messages",
    "create_message",
    "retrieve_message",
    "update_message",
    "delete_message",
    "list_events",
)


@dataclass(frozen=True, kw_only=True)
class ServiceRules:
    """The limits one kind of account (service and admin flag) has."""

    service: str
    admin: bool
    allowed: frozenset[str]
    members_on_write: bool
    lists_direct_conversations: bool
    why: str  # the rule's text, quoted in errors
    #: Operations a source refuses for a reason of its own, with where and why ("the Slack connector: ...").
    refused: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


_ALL = frozenset(OPERATIONS)

_RULES = {
    ("slack", False): ServiceRules(
        service="slack",
        admin=False,
        allowed=_ALL,
        members_on_write=False,
        lists_direct_conversations=True,
        why="Slack conversations take no members on create or update",
    ),
    ("slack", True): ServiceRules(
        service="slack",
        admin=True,
        allowed=frozenset({"list_conversations", "list_messages", "update_message", "delete_message"}),
        members_on_write=False,
        lists_direct_conversations=True,
        why="Slack admin accounts may only list conversations, list messages, update and delete messages",
    ),
    ("ms_teams", False): ServiceRules(
        service="ms_teams",
        admin=False,
        allowed=_ALL - {"list_messages"},
        members_on_write=True,
        lists_direct_conversations=True,
        why="Teams normal accounts cannot list conversation messages",
    ),
    ("ms_teams", True): ServiceRules(
        service="ms_teams",
        admin=True,
        allowed=_ALL,
        members_on_write=True,
        lists_direct_conversations=False,
        why="Teams admin accounts do not list member-to-member private conversations",
    ),
}


def rules_for(service: str, admin: bool) -> ServiceRules:
    """The rules for an account of ``service`` (``"slack"`` or ``"ms_teams"``).

    Examples
    --------
    >>> rules_for("slack", admin=True).allowed >= {"list_messages"}
    True
    """
    try:
        return _RULES[(service, bool(admin))]
    except KeyError:
        raise ValueError(f"service must be one of {SERVICES}, got {service!r}") from None


def refusing(rules: ServiceRules, operation: str, reason: str) -> ServiceRules:
    """``rules`` with ``operation`` refused for ``reason`` too (a source that lacks it, as a connector lacks an
    activity feed). Where the service's own rule already refuses it, that rule stays the one quoted.

    Examples
    --------
    >>> rules = refusing(rules_for("slack", False), "list_events", "the Slack connector: no feed")
    >>> check_operation(rules, "list_events")
    Traceback (most recent call last):
    ...
    chatlens.errors.PermissionDenied: list_events is not available on the Slack connector: no feed
    """
    refused = {**rules.refused, operation: reason} if operation in rules.allowed else dict(rules.refused)
    return dataclasses.replace(rules, allowed=rules.allowed - {operation}, refused=refused)


def check_operation(rules: ServiceRules, operation: str) -> None:
    """Raise :class:`PermissionDenied` if the account may not perform ``operation``."""
    if operation in rules.refused:
        raise PermissionDenied(f"{operation} is not available on {rules.refused[operation]}")
    if operation not in rules.allowed:
        kind = "admin" if rules.admin else "normal"
        raise PermissionDenied(f"{operation} is not available on {rules.service} {kind} accounts: {rules.why}")


def check_members_argument(rules: ServiceRules, members: object) -> None:
    """Raise :class:`InvalidRequest` if ``members`` was given where the service refuses it."""
    if members is not None and not rules.members_on_write:
        raise InvalidRequest(f"members: not accepted on {rules.service}: {rules.why}")


#: The Team API's operations (users and groups). Every kind of account may use them: the Kloudless limits are
#: the messaging API's.
TEAM_OPERATIONS = ("list_users", "retrieve_user", "list_groups", "list_group_members")

#: The operations a read-only source (an export archive) supports.
READ_OPERATIONS = frozenset(
    {"list_conversations", "retrieve_conversation", "list_members", "list_messages", "retrieve_message"}
)


def read_only_rules(service: str, why: str) -> ServiceRules:
    """Rules for a read-only source of ``service``: the read operations only, refused writes quoting ``why``.

    Examples
    --------
    >>> "create_message" in read_only_rules("slack", "exports are read-only").allowed
    False
    """
    return ServiceRules(
        service=service,
        admin=False,
        allowed=READ_OPERATIONS,
        members_on_write=False,
        lists_direct_conversations=True,
        why=why,
    )
