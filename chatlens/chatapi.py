"""The Chat API: one interface, the Kloudless messaging operations, implemented by every backend.

A backend object is bound to one account. Every operation takes and returns plain dicts in the Kloudless wire
shape, so what a backend returns is exactly what ``chatlens serve`` sends and the HTTP client receives:

- conversation: ``{id, private, name, created, members, type: "conversation", raw, api: "messaging", href}``
- message: ``{id, conversation_id, sender, created, text, parent, type: "message", raw, api: "messaging", href}``
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

``created`` is ISO 8601 UTC with microseconds and ``Z``; ``parent`` is ``""`` for a root message, else the id of
the message replied to. ``page`` tokens are opaque strings, valid until the objects they point past are gone.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import orjson
import pyarrow as pa

from ._time import iso_from_us, us_from_iso
from .errors import InvalidRequest, ServiceError
from .services import ServiceRules, rules_for

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ChatAPI",
    "MESSAGE_TABLE_SCHEMA",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
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

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
#: Slack's limits, which every backend applies so a conversation or message is portable between services.
MAX_NAME_LENGTH = 80
MAX_TEXT_LENGTH = 40_000

Page = dict[str, Any]

#: The columns of :meth:`ChatAPI.message_tables`: a message's wire fields, normalised, one column each. Times are
#: microseconds in UTC; ``parent`` is null for a root; ``raw`` (the service's object as JSON text) only when asked.
MESSAGE_TABLE_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("id", pa.string()),
        ("sender_id", pa.string()),
        ("sender_name", pa.string()),
        ("created", pa.timestamp("us", "UTC")),
        ("modified", pa.timestamp("us", "UTC")),
        ("text", pa.string()),
        ("parent", pa.string()),
        ("is_bot", pa.bool_()),
        ("is_system", pa.bool_()),
        ("subtype", pa.string()),
        ("mentions", pa.list_(pa.string())),
        ("raw", pa.string()),
    ]
)


class ChatAPI(ABC):
    """The Chat API operations for one account.

    Subclasses set ``service`` (``"slack"`` or ``"ms_teams"``), ``account_id`` and ``admin``, and implement every
    abstract method. :attr:`identity` names the data source (never a secret) and keys the loaders' cache.
    """

    service: str
    account_id: str
    admin: bool = False
    #: What this source could not read and left out, one line each (an export's malformed or missing files); each
    #: was also warned about. Empty for sources that read everything they hold.
    problems: Sequence[str] = ()

    # -- capabilities, declared (loaders read them; nothing probes a backend with getattr) -------------------
    #: Whether fetching several conversations at once on threads pays (network-bound backends); an in-process,
    #: pure-Python backend would only contend for the GIL.
    parallel_fetch: ClassVar[bool] = True
    #: Whether :meth:`message_tables` reads whole conversations at once, without paging.
    bulk_messages: ClassVar[bool] = False
    #: Whether the backend offers the thread-complete refresh of :mod:`chatlens.threadsync` (the rate-limited
    #: connectors: ``history_page``, ``thread_replies``, ``to_messages``, ``threads_active_since``, ``rate_limits``,
    #: ``calls`` and ``request_kinds``, which names the refresh's kind of each of its calls).
    thread_refresh: ClassVar[bool] = False
    #: Whether listing a conversation's roots brings their replies too (Graph's ``$expand=replies``), so that
    #: fetching a listed thread again costs no request.
    replies_inline: ClassVar[bool] = False
    #: Whether ``threads_active_since`` names threads by a reference of the service's (Graph ids) that
    #: ``thread_key(conversation_id, ref, known)`` turns into thread keys, rather than by thread key.
    threads_by_reference: ClassVar[bool] = False
    #: For a thread refresh: the kind (``history``, ``replies``, ``search``) of each of the backend's own calls.
    request_kinds: ClassVar[Mapping[str, str]] = MappingProxyType({})

    @property
    def rules(self) -> ServiceRules:
        """The service's limits for this kind of account (see :mod:`chatlens.services`)."""
        return rules_for(self.service, self.admin)

    @property
    def identity(self) -> str:
        """A stable, secret-free name of this data source and account, e.g. ``sqlite:/path/demo.sqlite#T1``."""
        return f"{type(self).__name__}#{self.account_id}"

    # -- conversations ------------------------------------------------------------------------------------
    @abstractmethod
    def list_conversations(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> Page:
        """One page of the account's conversations, oldest first."""

    @abstractmethod
    def create_conversation(
        self, *, name: str, private: bool = False, members: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """Create a conversation; ``members`` is a list of ``{"id": user_id}`` (refused on Slack)."""

    @abstractmethod
    def retrieve_conversation(self, conversation_id: str) -> dict[str, Any]:
        """One conversation."""

    @abstractmethod
    def update_conversation(
        self,
        conversation_id: str,
        *,
        name: str | None = None,
        private: bool | None = None,
        members: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Rename, change privacy, or set the member list (members not listed are removed; refused on Slack)."""

    @abstractmethod
    def delete_conversation(self, conversation_id: str) -> None:
        """Delete a conversation and its messages."""

    @abstractmethod
    def list_members(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> Page:
        """One page of a conversation's members (Team API user objects), by user id."""

    # -- messages -----------------------------------------------------------------------------------------
    @abstractmethod
    def list_messages(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> Page:
        """One page of a conversation's messages, replies included, newest first."""

    @abstractmethod
    def create_message(
        self,
        conversation_id: str,
        *,
        text: str,
        sender: str | None = None,
        parent: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Post a message (a reply when ``parent`` is given); ``sender`` defaults to the account's own user."""

    @abstractmethod
    def retrieve_message(self, message_id: str) -> dict[str, Any]:
        """One message."""

    @abstractmethod
    def update_message(self, message_id: str, *, text: str) -> dict[str, Any]:
        """Edit a message's text."""

    @abstractmethod
    def delete_message(self, message_id: str) -> None:
        """Delete a message."""

    # -- activity -----------------------------------------------------------------------------------------
    @abstractmethod
    def list_events(self, *, cursor: str | None = None, page_size: int = 100) -> Page:
        """Events after ``cursor`` (all retained events when None), oldest first.

        Returns ``{count, cursor, remaining, objects, type: "object_list", api: "messaging"}``; pass the returned
        ``cursor`` to get what happens next. Event: ``{id, account, type ("add", "update", "delete"),
        object_type ("conversation" or "message"), modified, user_id, metadata: <the object>}``.
        """

    @abstractmethod
    def latest_cursor(self) -> str:
        """The cursor of the newest event: :meth:`list_events` with it returns only what happens after now."""

    # -- Team API: users and groups -----------------------------------------------------------------------
    @abstractmethod
    def list_users(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> Page:
        """One page of the account's users (Team API user objects, deactivated ones included), by id."""

    @abstractmethod
    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        """One Team API user."""

    @abstractmethod
    def list_groups(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> Page:
        """One page of the account's groups (Slack user groups, Teams teams), by id."""

    @abstractmethod
    def list_group_members(self, group_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> Page:
        """One page of a group's members (Team API user objects), by user id."""

    # -- bulk reads (a capability: see bulk_messages) --------------------------------------------------------
    def message_tables(self, conversation_ids: Sequence[str], *, raw: bool = True) -> Iterator[pa.Table]:
        """Every message of the given conversations as Arrow tables of :data:`MESSAGE_TABLE_SCHEMA` (without the
        ``raw`` column unless ``raw``), each holding one or more whole conversations; the same messages, with the
        same values, that paging :meth:`list_messages` gives. Rows come in any order.

        Only backends that declare ``bulk_messages`` implement it; the loaders page through the others.
        """
        raise NotImplementedError(f"{type(self).__name__} has no bulk message reads (bulk_messages is False)")

    # -- serving -------------------------------------------------------------------------------------------------
    def served_view(self, *, href_base: str, raw_as_json_fragment: bool) -> ChatAPI:
        """This account as ``chatlens serve`` answers one request with it: ``href`` values under ``href_base``, and
        ``raw`` as unparsed JSON (``orjson.Fragment``) where the backend stores it as text. A new, shallow view
        that shares the backend's state; the backend itself is never changed, so concurrent requests (and other
        users of the same object) never see each other's settings. Backends without such knobs return ``self``.
        """
        return self

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or files; the object is unusable afterwards."""

    def __enter__(self) -> ChatAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.service} account {self.account_id!r}>"


# -- shared validation and paging ---------------------------------------------------------------------------


def check_page_size(page_size: Any) -> int:
    """Validate ``page_size`` (1..1000) and return it as an int.

    Examples
    --------
    >>> check_page_size(50)
    50
    >>> check_page_size(0)
    Traceback (most recent call last):
    ...
    chatlens.errors.InvalidRequest: page_size: must be an integer from 1 to 1000, got 0
    """
    bad = InvalidRequest(f"page_size: must be an integer from 1 to 1000, got {page_size!r}")
    if isinstance(page_size, str) and 0 < len(page_size) < 10 and page_size.isascii() and page_size.isdigit():
        page_size = int(page_size)  # a query-string value (ASCII digits only: int() would also take "١٠" or " 5")
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise bad
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise bad
    return page_size


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


_TOKEN_PREFIX = "p1."


def encode_page_token(kind: str, key: list[Any]) -> str:
    """An opaque page token that resumes a ``kind`` listing after ``key`` (a keyset position)."""
    body = orjson.dumps([kind, key])
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")


def decode_page_token(kind: str, token: str) -> list[Any]:
    """The keyset position a token from :func:`encode_page_token` holds; InvalidRequest for any other string."""
    bad = InvalidRequest(f"page: {token!r} is not a page token issued for this {kind} listing")
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX) or len(token) > 4096:
        raise bad
    data = token[len(_TOKEN_PREFIX) :]
    try:
        got_kind, key = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (ValueError, TypeError):
        raise bad from None
    if got_kind != kind or not isinstance(key, list):
        raise bad
    return key


def iter_pages(list_op: Callable[..., Page], *args: Any, page_size: int = 100, **kwargs: Any) -> Iterator[Page]:
    """Follow ``next_page`` from the first page to the last, yielding each page.

    Stops after a page with no ``next_page``; raises :class:`ServiceError` if a server hands back a token it
    already gave (it would loop forever) or an empty page that claims more follow.

    Examples
    --------
    >>> import chatlens
    >>> api = chatlens.connect("demo")
    >>> first = next(iter_pages(api.list_conversations, page_size=2))
    >>> first["count"], first["type"]
    (2, 'object_list')
    """
    page: str | None = None
    seen: set[str] = set()
    while True:
        result = list_op(*args, page_size=page_size, page=page, **kwargs)
        yield result
        next_page = result.get("next_page")
        if not next_page:
            return
        if not result.get("objects"):
            raise ServiceError(f"{_op_name(list_op)}: empty page with a next_page token; stopping to avoid a loop")
        if next_page in seen:
            raise ServiceError(f"{_op_name(list_op)}: the server repeated a page token; stopping to avoid a loop")
        seen.add(next_page)
        page = next_page


def iter_items(
    list_op: Callable[..., Page], *args: Any, page_size: int = 100, limit: int | None = None, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Every object of a listing, following ``next_page`` to the end (or ``limit`` objects).

    Examples
    --------
    >>> import chatlens
    >>> api = chatlens.connect("demo")
    >>> names = [c["name"] for c in iter_items(api.list_conversations, limit=2)]
    >>> len(names)
    2
    """
    if limit is not None and limit <= 0:
        return
    n = 0
    for result in iter_pages(list_op, *args, page_size=page_size, **kwargs):
        for obj in result["objects"]:
            yield obj
            n += 1
            if limit is not None and n >= limit:
                return


def _op_name(op: Callable[..., Any]) -> str:
    return getattr(op, "__name__", "listing")


# -- Team API objects ---------------------------------------------------------------------------------------


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


def list_page(
    objects: list[dict[str, Any]], page: str | None, next_page: str | None, *, api: str = "messaging"
) -> Page:
    """A list page: ``{count, page, next_page, objects, type: "object_list", api}``.

    Examples
    --------
    >>> list_page([{"id": "C1"}], None, "p1.x")["count"]
    1
    """
    return {
        "count": len(objects),
        "page": page,
        "next_page": next_page,
        "objects": objects,
        "type": "object_list",
        "api": api,
    }


def team_page(objects: list[dict[str, Any]], page: str | None, next_page: str | None) -> Page:
    """A Team API list page (``api: "team"``)."""
    return list_page(objects, page, next_page, api="team")


def slice_by_id(
    items: list[dict[str, Any]], kind: str, page_size: Any, page: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Keyset paging by ``id`` over a complete list (for services that return a whole list in one answer).

    Examples
    --------
    >>> items = [{"id": i} for i in "abc"]
    >>> first, token = slice_by_id(items, "users", 2, None)
    >>> [u["id"] for u in first], [u["id"] for u in slice_by_id(items, "users", 2, token)[0]]
    (['a', 'b'], ['c'])
    """
    page_size = check_page_size(page_size)
    after = None
    if page is not None:
        key = decode_page_token(kind, page)
        if len(key) != 1 or not isinstance(key[0], str):
            raise InvalidRequest(f"page: {page!r} is not a page token issued for this {kind} listing")
        after = key[0]
    rest = sorted((i for i in items if after is None or i["id"] > after), key=lambda i: i["id"])
    chosen = rest[:page_size]
    return chosen, encode_page_token(kind, [chosen[-1]["id"]]) if len(rest) > page_size else None
