"""The interface every backend implements: :class:`ChatAPI` (the Kloudless operations, the Team API, declared
capabilities, bulk reads), the bulk message table's schema, and :class:`ThreadRecord`, what a connector's
thread-complete refresh hands up."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import pyarrow as pa

from .paging import (
    DEFAULT_PAGE_SIZE,
    Page,
)
from .rules import ServiceRules, check_operation, rules_for

#: A message's reactions: one entry per reacting user and emoji (``count`` 1), and, where the service counts more
#: reactions than it names users for, one with ``user`` null holding the rest; ``created`` where the service says.
REACTION = pa.struct(
    [
        ("emoji", pa.string()),
        ("user", pa.string()),
        ("count", pa.int64()),
        ("created", pa.timestamp("us", "UTC")),
    ]
)
REACTION_LIST = pa.list_(REACTION)

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
        ("reactions", REACTION_LIST),
        ("file_kinds", pa.list_(pa.string())),
        ("importance", pa.string()),
        ("members_joined", pa.list_(pa.string())),
        ("members_left", pa.list_(pa.string())),
        ("raw", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRecord:
    """One message as the thread-complete refresh (:mod:`chatlens.threadsync`) sees it, in neutral terms.

    Threads are keyed by their root's creation time (:func:`chatlens._time.key_from_us`); ``reply_count`` and
    ``latest_reply`` are what the service says of a root's thread when it lists the root (0 and None where it says
    nothing, and for replies); ``raw`` is the service's object, opaque to everyone but the connector that made it,
    which turns records back into messages (``to_messages``).

    Examples
    --------
    >>> ThreadRecord(key="1700000000.000100", thread_key="1700000000.000100", reply_count=2).is_root
    True
    """

    key: str
    thread_key: str
    reply_count: int = 0
    latest_reply: str | None = None
    raw: Any = None

    @property
    def is_root(self) -> bool:
        """Whether the message starts its thread (a reply, also one sent to the channel, is not)."""
        return self.key == self.thread_key


class ChatAPI(ABC):
    """The Chat API operations for one account.

    Subclasses set ``service`` (``"slack"`` or ``"ms_teams"``), ``account_id`` and ``admin``, and implement every
    abstract method. :attr:`identity` names the data source (never a secret) and keys the loaders' cache.
    """

    service: str
    account_id: str
    admin: bool = False
    #: The user this account acts as: whom its posts are from (None where the source cannot post).
    user_id: str | None = None
    #: What this source could not read and left out, one line each (an export's malformed or missing files); each
    #: was also warned about. Empty for sources that read everything they hold.
    problems: Sequence[str] = ()
    #: What was merged or read another way, with nothing left out (a message found in two day files, loaded
    #: once), one line each. For information: a load with notes and no problems is complete.
    notes: Sequence[str] = ()

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
    #: For that refresh: whether threads in the window whose reply count and latest reply are unchanged are
    #: fetched again anyway (to see edited replies). A per-account choice (``SlackChatAPI(...=False)``).
    refetch_unchanged_threads: bool = True
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
        """The service's limits for this kind of account (see :mod:`chatlens.chatapi.rules`)."""
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
    # Not abstract: a source without an activity feed (an export, a service connector) leaves ``list_events`` out
    # of its rules, and these refuse with the rule's own words.
    def list_events(self, *, cursor: str | None = None, page_size: int = 100) -> Page:
        """Events after ``cursor`` (all retained events when None), oldest first.

        Returns ``{count, cursor, remaining, objects, type: "object_list", api: "messaging"}``; pass the returned
        ``cursor`` to get what happens next. Event: ``{id, account, type ("add", "update", "delete"),
        object_type ("conversation" or "message"), modified, user_id, metadata: <the object>}``.
        """
        check_operation(self.rules, "list_events")
        raise NotImplementedError(f"{type(self).__name__} allows list_events but does not implement it")

    def latest_cursor(self) -> str:
        """The cursor of the newest event: :meth:`list_events` with it returns only what happens after now."""
        check_operation(self.rules, "list_events")
        raise NotImplementedError(f"{type(self).__name__} allows list_events but does not implement latest_cursor")

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
