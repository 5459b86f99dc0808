"""The wire objects' checks and builders shared by the backends: names, texts and ids as every service accepts them,
and the Team API's user and group objects."""

from __future__ import annotations

from typing import Any

from .._time import iso_from_us
from ..errors import InvalidRequest

MAX_NAME_LENGTH = 80

MAX_TEXT_LENGTH = 40_000

#: How message text marks a mention of a user: ``<@USER_ID>`` or ``<@USER_ID|label>``, group 1 the user id. This is
#: Slack's markup, which the wire protocol keeps as its one convention (Teams bodies become plain text, where a
#: mention is the person's name and ``mentions`` holds the id). RE2-compatible, so pyarrow can match it too.
MENTION_MARKUP = r"<@([^|>\s]+)(?:\|[^>]*)?>"


def check_name(name: Any) -> str:
    """Validate a conversation name (a non-blank string of at most 80 characters) and return it.

    Examples
    --------
    >>> check_name("design")
    'design'
    >>> check_name("  ")
    Traceback (most recent call last):
    ...
    chatlens.errors.InvalidRequest: name: must be a non-empty string, got '  '
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest(f"name: must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"name: must be at most {MAX_NAME_LENGTH} characters, got {len(name)}")
    return name


#: How deeply a JSON value sent to chatlens may nest (objects and arrays). Far beyond any service's object (Slack's
#: and Graph's nest under 10), and far below what the encoders refuse (orjson stops at 255 levels), so what is
#: accepted can always be written back, inside the envelopes that carry it (an event holds a message holds raw).
MAX_JSON_DEPTH = 64


def check_json_depth(value: Any, name: str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """Return ``value`` if its objects and arrays nest at most ``limit`` deep, else :class:`InvalidRequest` naming
    ``name`` and the limit. Iterative: a hostile value cannot exhaust the stack while being checked.

    Examples
    --------
    >>> check_json_depth({"a": [1, {"b": 2}]}, "raw")
    {'a': [1, {'b': 2}]}
    >>> deep = []
    >>> for _ in range(100):
    ...     deep = [deep]
    >>> check_json_depth(deep, "raw")
    Traceback (most recent call last):
    ...
    chatlens.errors.InvalidRequest: raw: nested more than 64 levels deep
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list | tuple) else None
        if children is None:
            continue
        if depth > limit:
            raise InvalidRequest(f"{name}: nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)
    return value


def check_text(text: Any) -> str:
    """Validate a message text (a non-blank string of at most 40,000 characters) and return it.

    Examples
    --------
    >>> check_text(42)
    Traceback (most recent call last):
    ...
    chatlens.errors.InvalidRequest: text: must be a non-empty string, got 42
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(f"text: must be a non-empty string, got {text!r}")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidRequest(f"text: must be at most {MAX_TEXT_LENGTH} characters, got {len(text)}")
    return text


def check_id(value: Any, field: str) -> str:
    """A non-empty string id, or InvalidRequest naming ``field``."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{field}: must be a non-empty string, got {value!r}")
    return value


def check_member_ids(members: Any) -> list[str]:
    """The user ids of a ``members`` argument (a list of ``{"id": user_id}``), in order, without repeats;
    InvalidRequest naming ``members`` for any other shape.

    Examples
    --------
    >>> check_member_ids([{"id": "U1"}, {"id": "U2"}, {"id": "U1"}])
    ['U1', 'U2']
    """
    if not isinstance(members, list) or not all(
        isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"] for m in members
    ):
        raise InvalidRequest('members: must be a list of {"id": user_id} objects')
    return list(dict.fromkeys(m["id"] for m in members))


def team_user(
    user_id: str,
    name: str | None,
    *,
    email: str | None = None,
    created_us: int | None = None,
    updated_us: int | None = None,
    display_name: str | None = None,
    is_bot: bool = False,
    deleted: bool = False,
    guest: bool = False,
    timezone: str | None = None,
    raw: dict[str, Any] | None = None,
    href_prefix: str = "",
) -> dict[str, Any]:
    """A Team API user object: the same keys from every backend.

    Examples
    --------
    >>> u = team_user("U1", "Ada Lovelace", display_name="ada", timezone="Europe/London")
    >>> u["type"], u["api"], u["display_name"], u["created"], u["guest"]
    ('user', 'team', 'ada', None, False)
    """
    return {
        "id": user_id,
        "name": name or user_id,
        "email": email or None,
        "created": iso_from_us(created_us) if created_us is not None else None,
        "updated": iso_from_us(updated_us) if updated_us is not None else None,
        "type": "user",
        "api": "team",
        "display_name": display_name or name or user_id,
        "is_bot": bool(is_bot),
        "deleted": bool(deleted),
        "guest": bool(guest),
        "timezone": timezone or None,
        "raw": raw if raw is not None else {},
        "href": f"{href_prefix}/users/{user_id}",
    }


def team_group(
    group_id: str,
    name: str | None,
    *,
    description: str | None = None,
    created_us: int | None = None,
    raw: dict[str, Any] | None = None,
    href_prefix: str = "",
) -> dict[str, Any]:
    """A Team API group object (a Slack user group, a Teams team).

    Examples
    --------
    >>> team_group("S1", "design")["type"]
    'group'
    """
    return {
        "id": group_id,
        "name": name or group_id,
        "description": description or None,
        "created": iso_from_us(created_us) if created_us is not None else None,
        "type": "group",
        "api": "team",
        "raw": raw if raw is not None else {},
        "href": f"{href_prefix}/groups/{group_id}",
    }
