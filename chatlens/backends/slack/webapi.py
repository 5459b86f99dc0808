"""The Slack backend: the Chat API on a real Slack workspace, through the Slack Web API.

Transport is ``requests`` with the HTTP client's retry policy (:class:`~chatlens.backends.http.ChatRetry`): 429
with ``Retry-After`` is waited out and retried (POST included, since Slack refused it before doing anything), 5xx
and dropped connections are retried for reads only. ``slack_sdk`` was not used: it would add a dependency for a
dozen calls, and its retry handlers do not share the wire client's rule that a possibly-applied POST is never sent
twice. Slack's ``{"ok": false, "error": "<code>"}`` answers become chatlens exceptions with Slack's code kept in
``error_code`` (:func:`raise_for_slack_error`).

How the Chat API maps onto Slack:

- ids: a conversation is its channel id; a message is ``"<channel>-<ts>"`` (see :mod:`.wire`), so retrieve,
  update and delete find it again from the id alone. ``thread_ts`` becomes ``parent`` (the thread's root).
- list conversations: ``conversations.list`` (public and private channels, group and direct messages, archived
  ones left out), Slack's ``cursor`` carried inside the page token; members come from ``conversations.members``.
- list messages: ``conversations.history`` gives thread roots newest first; each root with replies is preceded
  by its replies (``conversations.replies``), newest first. The page token is a keyset position (a root's
  ``ts`` and how many of its thread were returned), passed to Slack as ``latest``, so pages stay exact while
  messages are posted or deleted between calls. ``page_size`` is advisory: under Slack's limits for
  non-Marketplace apps (``limit`` capped at 15, one call a minute) pages are smaller and slower, never wrong.
- delete conversation: ``conversations.archive``. Slack's Web API cannot delete a channel outside Enterprise
  admin scopes; an archived channel is read-only and hidden from chatlens, which answers NotFound for it.
- update conversation: ``conversations.rename``; Slack cannot change a channel's privacy from this API, and the
  Slack rule refuses ``members`` on create and update.
- create message: ``chat.postMessage`` as the token's own user (Slack has no posting on someone else's behalf),
  ``thread_ts`` for replies; ``raw`` may carry chat.postMessage's own fields (``blocks``, ``attachments``, ...).
- the activity feed is refused: Slack pushes events to a public URL (the Events API) and has nothing to poll.
  To follow activity, import an export (``chatlens import slack-export``) or load incrementally.

Users (names and e-mails of senders and members) are fetched once with ``users.list`` and cached for the life of
the object; a sender missing from it is looked up once with ``users.info``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar

import orjson
import requests

from ...chatapi import (
    DEFAULT_PAGE_SIZE,
    ChatAPI,
    ThreadRecord,
    check_id,
    check_name,
    check_page_size,
    check_text,
    decode_page_token,
    encode_page_token,
    list_page,
    slice_by_id,
    team_group,
    team_page,
)
from ...chatapi.rules import ServiceRules, check_members_argument, check_operation, refusing, rules_for
from ...errors import (
    AuthenticationError,
    ChatError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceError,
)
from .._transport import HoldsToken, retry_after, retrying_session, scrubbing_token, transport_error
from . import wire

__all__ = ["SlackChatAPI", "from_config", "raise_for_slack_error"]

log = logging.getLogger("chatlens.slack")

SLACK_API = "https://slack.com/api"
NO_EVENTS = (
    "the Slack Web API has no activity feed to poll (Slack pushes events to a public URL through the Events API); "
    "import an export or load incrementally instead"
)

_ERRORS: dict[type[ChatError], frozenset[str]] = {
    AuthenticationError: frozenset(
        {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "no_permission_auth"}
    ),
    PermissionDenied: frozenset(
        {
            "missing_scope",
            "not_allowed_token_type",
            "no_permission",
            "restricted_action",
            "not_in_channel",
            "cant_update_message",
            "cant_delete_message",
            "edit_window_closed",
            "is_archived",
            "ekm_access_denied",
            "access_denied",
            "team_access_not_granted",
            "method_not_supported_for_channel_type",
        }
    ),
    NotFound: frozenset(
        {
            "channel_not_found",
            "message_not_found",
            "thread_not_found",
            "user_not_found",
            "already_archived",
            "no_such_subteam",
        }
    ),
    RateLimited: frozenset({"ratelimited", "rate_limited"}),
    ServiceError: frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"}),
}
_ERROR_CLASS = {code: cls for cls, codes in _ERRORS.items() for code in codes}
# Fields chat.postMessage takes besides channel, text and thread_ts, which `raw` may carry on create.
_POST_FIELDS = frozenset(
    {"blocks", "attachments", "metadata", "mrkdwn", "unfurl_links", "unfurl_media", "reply_broadcast", "parse"}
)
_CONVERSATION_TYPES = "public_channel,private_channel,mpim,im"


def raise_for_slack_error(method: str, body: Mapping[str, Any]) -> None:
    """Raise the chatlens exception for a Slack ``{"ok": false, "error": ...}`` answer, keeping Slack's code.

    Examples
    --------
    >>> raise_for_slack_error("conversations.history", {"ok": False, "error": "not_in_channel"})
    Traceback (most recent call last):
    ...
    chatlens.errors.PermissionDenied: conversations.history -> not_in_channel
    """
    if body.get("ok") is True:
        return
    code = str(body.get("error") or "unknown_error")
    detail = ""
    if code == "missing_scope" and body.get("needed"):
        detail = f" (needs scope {body['needed']})"
    cls = _ERROR_CLASS.get(code, ServiceError if code.startswith(("fatal", "internal")) else InvalidRequest)
    raise cls(f"{method} -> {code}{detail}", error_code=code)


class SlackChatAPI(HoldsToken, ChatAPI):
    """The Chat API of one Slack workspace, as the token's user (or bot).

    Parameters
    ----------
    token
        A Slack user (``xoxp-``) or bot (``xoxb-``) token; never shown in reprs, errors or logs.
    base_url
        The Web API root (a fake one in tests).
    admin
        Treat the account as a Kloudless Slack *admin* account (its rules: list conversations, list, update and
        delete messages only).
    account_id
        The account's name in page objects and hrefs; defaults to the workspace's team id.
    history_limit
        The most messages asked of ``conversations.history``/``replies`` per call (Slack's cap is 1000; apps
        under the 2025 limits get 15).
    refetch_unchanged_threads
        Whether ``load_messages(refresh=True)`` fetches every thread started within its window again, to catch
        edited replies (the default: about one ``conversations.replies`` call per such thread, even when nothing
        is new). False fetches only threads whose ``reply_count`` or ``latest_reply`` changed: fewer requests, but
        an edit to a reply is missed until a thread changes or ``refresh="full"``.
    timeout, retries, backoff_factor, max_retry_after
        As for :class:`~chatlens.backends.http.HttpChatAPI`; Slack's ``Retry-After`` can be 60 s for
        ``conversations.history`` on limited apps, hence the higher default cap.

    Examples
    --------
    >>> api = SlackChatAPI("xoxb-not-a-real-token")  # no request is made until an operation runs
    >>> api
    <SlackChatAPI https://slack.com/api (token hidden)>
    """

    service = "slack"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = SLACK_API,
        admin: bool = False,
        account_id: str | None = None,
        history_limit: int = 1000,
        refetch_unchanged_threads: bool = True,
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 8,
        backoff_factor: float = 0.5,
        max_retry_after: float = 90.0,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError("token: a non-empty Slack token is required")
        self.base_url = base_url.rstrip("/")
        self.admin = bool(admin)
        self._account_id = account_id
        self.history_limit = check_page_size(history_limit)
        self.refetch_unchanged_threads = bool(refetch_unchanged_threads)
        self.timeout = timeout
        self._me: dict[str, Any] | None = None
        self._users: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()
        #: Web API calls made, by method (what a load cost, and what a budget counts).
        self.calls: Counter[str] = Counter()
        self.session = retrying_session(
            token,
            retries=retries,
            backoff_factor=backoff_factor,
            max_retry_after=max_retry_after,
        )

    # -- transport --------------------------------------------------------------------------------------------
    @scrubbing_token
    def _call(self, method: str, *, write: bool = False, **params: Any) -> dict[str, Any]:
        """One Web API call: GET with query parameters for reads, POST with a JSON body for writes."""
        url = f"{self.base_url}/{method}"
        params = {k: v for k, v in params.items() if v is not None}
        self.calls[method] += 1
        try:
            if write:
                response = self.session.post(
                    url,
                    data=orjson.dumps(params),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=self.timeout,
                )
            else:
                response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, method, write=write) from None
        if response.status_code == 429:
            raise RateLimited(
                f"{method} -> 429 ratelimited (retries used up)",
                retry_after=retry_after(response),
                error_code="ratelimited",
            )
        if response.status_code >= 400:
            raise ServiceError(f"{method} -> HTTP {response.status_code}", status_code=response.status_code)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ServiceError(f"{method}: the answer is not JSON ({len(response.content)} bytes)") from None
        if not isinstance(body, dict):
            raise ServiceError(f"{method}: the answer is not a JSON object")
        raise_for_slack_error(method, body)
        return body

    def _paged(self, method: str, key: str, **params: Any) -> Iterator[dict[str, Any] | str]:
        """Every item of a cursor-paged method (``key`` names the list in the answer)."""
        cursor = None
        while True:
            body = self._call(method, cursor=cursor, **params)
            yield from body.get(key) or []
            cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    # -- account --------------------------------------------------------------------------------------------
    def _whoami(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self._call("auth.test")
        return self._me

    @property
    def account_id(self) -> str:  # type: ignore[override]
        return self._account_id or str(self._whoami().get("team_id") or "slack")

    @property
    def user_id(self) -> str:
        """The Slack user the token acts as."""
        return str(self._whoami()["user_id"])

    @property
    def identity(self) -> str:
        return f"slack:{self.base_url}#{self._whoami().get('team_id')}"

    @property
    def rules(self) -> ServiceRules:
        return refusing(rules_for("slack", self.admin), "list_events", f"the Slack connector: {NO_EVENTS}")

    def _check(self, operation: str) -> None:
        check_operation(self.rules, operation)

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"<SlackChatAPI {self.base_url} (token hidden)>"

    @property
    def _href(self) -> str:
        return f"/v1/accounts/{self.account_id}/messaging"

    def _user_list(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._users is None:
                self._users = {u["id"]: u for u in self._paged("users.list", "members", limit=1000)}
            return self._users

    def _know(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The user list, with any id it lacks looked up once (deleted and external users, bots)."""
        users = self._user_list()
        for uid in user_ids:
            if uid not in users and uid.startswith(("U", "W")):
                try:
                    users[uid] = self._call("users.info", user=uid)["user"]
                except NotFound:
                    users[uid] = {}  # a placeholder; looked up once only
        return users

    # -- conversations ----------------------------------------------------------------------------------------
    def _members_of(self, channel: dict[str, Any]) -> list[str]:
        if channel.get("is_im"):
            return sorted({self.user_id, str(channel.get("user"))})
        return sorted(
            str(u) for u in self._paged("conversations.members", "members", channel=channel["id"], limit=1000)
        )

    def _conversation(self, channel: dict[str, Any]) -> dict[str, Any]:
        kind = wire.conversation_kind(channel, "private_channel" if channel.get("is_private") else "channel")
        members = self._members_of(channel)
        return wire.conversation_object({**channel, "members": members}, kind, self._know(members), self._href)

    def _channel(self, conversation_id: Any) -> dict[str, Any]:
        if not isinstance(conversation_id, str) or not conversation_id:
            raise InvalidRequest(f"conversation_id: must be a non-empty string, got {conversation_id!r}")
        try:
            channel = self._call("conversations.info", channel=conversation_id)["channel"]
        except NotFound:
            raise NotFound(f"conversation {conversation_id!r} does not exist", error_code="channel_not_found") from None
        if channel.get("is_archived"):
            raise NotFound(f"conversation {conversation_id!r} is archived (deleted)", error_code="is_archived")
        return channel

    def list_conversations(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        self._check("list_conversations")
        page_size = check_page_size(page_size)
        cursor = decode_page_token("slack-conversations", page, (str,))[0] if page is not None else None
        body = self._call(
            "conversations.list", types=_CONVERSATION_TYPES, exclude_archived="true", limit=page_size, cursor=cursor
        )
        objects = [self._conversation(c) for c in body.get("channels") or []]
        next_cursor = (body.get("response_metadata") or {}).get("next_cursor")
        return list_page(
            objects, page, encode_page_token("slack-conversations", [next_cursor]) if next_cursor else None
        )

    def create_conversation(
        self, *, name: str, private: bool = False, members: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        self._check("create_conversation")
        check_members_argument(rules_for("slack", self.admin), members)
        name = check_name(name)
        try:
            channel = self._call("conversations.create", write=True, name=name, is_private=bool(private))["channel"]
        except InvalidRequest as err:
            raise InvalidRequest(
                f"name: Slack refused {name!r} ({err.error_code})", error_code=err.error_code
            ) from None
        return self._conversation(channel)

    def retrieve_conversation(self, conversation_id: str) -> dict[str, Any]:
        self._check("retrieve_conversation")
        return self._conversation(self._channel(conversation_id))

    def update_conversation(
        self,
        conversation_id: str,
        *,
        name: str | None = None,
        private: bool | None = None,
        members: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        self._check("update_conversation")
        check_members_argument(rules_for("slack", self.admin), members)
        channel = self._channel(conversation_id)
        if private is not None and bool(private) != bool(channel.get("is_private")):
            raise InvalidRequest("private: the Slack Web API cannot change a conversation's privacy")
        if name is not None and check_name(name) != channel.get("name"):
            try:
                channel = self._call("conversations.rename", write=True, channel=channel["id"], name=name)["channel"]
            except InvalidRequest as err:
                raise InvalidRequest(
                    f"name: Slack refused {name!r} ({err.error_code})", error_code=err.error_code
                ) from None
        return self._conversation(channel)

    def delete_conversation(self, conversation_id: str) -> None:
        self._check("delete_conversation")
        channel = self._channel(conversation_id)
        self._call("conversations.archive", write=True, channel=channel["id"])

    def list_members(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        self._check("list_members")
        page_size = check_page_size(page_size)
        cursor = decode_page_token("slack-members", page, (str,))[0] if page is not None else None
        channel = self._channel(conversation_id)
        if channel.get("is_im"):  # conversations.members is not needed (nor always allowed) for a DM's two people
            everyone = self._members_of(channel)
            start = int(cursor) if isinstance(cursor, str) and cursor.isdigit() else 0
            ids = everyone[start : start + page_size]
            next_cursor = str(start + page_size) if start + page_size < len(everyone) else None
        else:
            body = self._call("conversations.members", channel=channel["id"], limit=page_size, cursor=cursor)
            ids = [str(u) for u in body.get("members") or []]
            next_cursor = (body.get("response_metadata") or {}).get("next_cursor")
        users = self._know(ids)
        objects = [wire.user_object(u, users) for u in ids]
        return list_page(objects, page, encode_page_token("slack-members", [next_cursor]) if next_cursor else None)

    # -- messages ---------------------------------------------------------------------------------------------
    def _message(self, raw: dict[str, Any], channel_id: str) -> dict[str, Any]:
        users = self._know([raw["user"]] if raw.get("user") else [])
        return wire.message_object(raw, channel_id, users, self._href)

    def _thread(self, channel_id: str, root_ts: str) -> list[dict[str, Any]]:
        """A thread's replies, newest first (the root itself left out)."""
        replies = [
            m
            for m in self._paged(
                "conversations.replies", "messages", channel=channel_id, ts=root_ts, limit=self.history_limit
            )
            if m.get("ts") != root_ts
        ]
        return sorted(replies, key=lambda m: wire.ts_to_us(m["ts"]), reverse=True)

    def list_messages(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        self._check("list_messages")
        page_size = check_page_size(page_size)
        latest = last = None
        if page is not None:
            position = decode_page_token("slack-messages", page, (str, str))
            latest, last = position
            for ts in position:
                wire.parse_message_id(f"{conversation_id}-{ts}")  # well-formed ts values
        channel = self._channel(conversation_id)["id"]
        objects: list[dict[str, Any]] = []
        inclusive = latest is not None
        more = False
        while True:
            body = self._call(
                "conversations.history",
                channel=channel,
                latest=latest,
                inclusive="true" if inclusive else None,
                limit=min(self.history_limit, page_size - len(objects) + 1),
            )
            messages = body.get("messages") or []
            roots = [m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]]
            for i, root in enumerate(roots):
                # A thread is its replies newest first, then its root: strictly newest first within the group, so
                # "everything at or after `last`" is exactly what earlier pages returned of it.
                group = (self._thread(channel, root["ts"]) if root.get("reply_count") else []) + [root]
                if last is not None and root["ts"] == latest:
                    cut = wire.ts_to_us(last)
                    group = [m for m in group if wire.ts_to_us(m["ts"]) < cut]
                take = group[: page_size - len(objects)]
                objects += [self._message(m, channel) for m in take]
                if len(objects) == page_size:
                    more = len(take) < len(group) or i + 1 < len(roots) or bool(body.get("has_more"))
                    latest, last = root["ts"], take[-1]["ts"]
                    break
            if len(objects) == page_size or not body.get("has_more") or not messages:
                break
            # Step past this window (roots or, rarely, only broadcast replies) to the older messages.
            latest, inclusive, last = messages[-1]["ts"], False, None
        token = encode_page_token("slack-messages", [latest, last]) if more else None
        return list_page(objects, page, token)

    def _find(self, message_id: str) -> tuple[str, dict[str, Any]]:
        channel, ts = wire.parse_message_id(message_id)
        missing = NotFound(f"message {message_id!r} does not exist", error_code="message_not_found")
        try:
            body = self._call("conversations.history", channel=channel, latest=ts, oldest=ts, inclusive="true", limit=1)
            found = [m for m in body.get("messages") or [] if m.get("ts") == ts]
            if not found:  # not a thread root: look for it as a reply
                body = self._call(
                    "conversations.replies", channel=channel, ts=ts, latest=ts, oldest=ts, inclusive="true"
                )
                found = [m for m in body.get("messages") or [] if m.get("ts") == ts]
        except NotFound:
            raise missing from None
        if not found:
            raise missing
        return channel, found[0]

    def create_message(
        self,
        conversation_id: str,
        *,
        text: str,
        sender: str | None = None,
        parent: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._check("create_message")
        text = check_text(text)
        extra = dict(raw or {})
        unknown = sorted(set(extra) - _POST_FIELDS)
        if not isinstance(raw, dict | None) or unknown:
            raise InvalidRequest(f"raw: chat.postMessage takes only {sorted(_POST_FIELDS)}, got {unknown or raw!r}")
        if sender is not None and sender != self.user_id:
            raise InvalidRequest(f"sender: Slack posts as the token's own user ({self.user_id}), not {sender!r}")
        channel = self._channel(conversation_id)["id"]
        thread_ts = None
        if parent:
            try:
                parent_channel, parent_raw = self._find(parent)
            except (NotFound, InvalidRequest):
                raise InvalidRequest(f"parent: message {parent!r} does not exist") from None
            if parent_channel != channel:
                raise InvalidRequest(f"parent: message {parent!r} is in another conversation")
            thread_ts = parent_raw.get("thread_ts") or parent_raw["ts"]  # Slack threads are one level deep
        body = self._call("chat.postMessage", write=True, channel=channel, text=text, thread_ts=thread_ts, **extra)
        return self._message(body["message"], channel)

    def retrieve_message(self, message_id: str) -> dict[str, Any]:
        self._check("retrieve_message")
        channel, raw = self._find(message_id)
        return self._message(raw, channel)

    def update_message(self, message_id: str, *, text: str) -> dict[str, Any]:
        self._check("update_message")
        text = check_text(text)
        channel, ts = wire.parse_message_id(message_id)
        try:
            self._call("chat.update", write=True, channel=channel, ts=ts, text=text)
        except NotFound:
            raise NotFound(f"message {message_id!r} does not exist", error_code="message_not_found") from None
        channel, raw = self._find(message_id)
        return self._message(raw, channel)

    def delete_message(self, message_id: str) -> None:
        self._check("delete_message")
        channel, ts = wire.parse_message_id(message_id)
        try:
            self._call("chat.delete", write=True, channel=channel, ts=ts)
        except NotFound:
            raise NotFound(f"message {message_id!r} does not exist", error_code="message_not_found") from None

    # -- incremental loading: the connector's own calls, used by chatlens.threadsync ----------------------------
    thread_refresh = True
    #: What each Web API method is to a refresh (``calls`` counts by method).
    request_kinds: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "conversations.history": "history",
            "conversations.replies": "replies",
            "search.messages": "search",
            # What listing the conversations for a refresh costs (load_messages(refresh=True) lists them again).
            "conversations.list": "conversations",
            "conversations.members": "members",
            "users.list": "users",
            "users.info": "users",
        }
    )

    #: Requests a minute per kind under Slack's tiers (Tier 3 for history and replies, Tier 2 for search);
    #: ``history_limit`` at 15 or less means the 2025 limits for non-Marketplace apps (one call a minute).
    def rate_limits(self) -> dict[str, float]:
        """Requests a minute each kind of call may make, for planning a load (not enforced here: Slack does that)."""
        limited = self.history_limit <= 15
        history = 1.0 if limited else 50.0
        # Tier 2 for conversations.list, users.list and search.messages; Tier 4 for conversations.members.
        return {
            "history": history,
            "replies": history,
            "search": 20.0,
            "conversations": 20.0,
            "members": 100.0,
            "users": 20.0,
        }

    def lists_changes(self, conversation_id: str) -> bool:
        """False: ``conversations.history`` lists the roots posted since ``oldest``, not what changed since."""
        return False

    def history_page(
        self, conversation_id: str, *, oldest_us: int | None = None, cursor: str | None = None
    ) -> tuple[list[ThreadRecord], str | None]:
        """One ``conversations.history`` call: Slack's root messages (and replies also sent to the channel) at or
        after ``oldest_us``, newest first, as records with each root's ``reply_count`` and ``latest_reply``; and the
        next cursor. ``inclusive``: Slack's ``oldest`` is exclusive by default, and a root exactly at the bound must
        not look deleted."""
        # The conversation id is the channel id: no conversations.info call per page (each counts against limits).
        channel = conversation_id
        oldest = wire.ts_from_us(oldest_us) if oldest_us is not None else None
        body = self._call(
            "conversations.history",
            channel=channel,
            oldest=oldest,
            inclusive="true" if oldest is not None else None,
            limit=self.history_limit,
            cursor=cursor,
        )
        next_cursor = (body.get("response_metadata") or {}).get("next_cursor") or None
        records = [_record(_unbroadcast(m)) for m in body.get("messages") or []]
        return records, next_cursor if body.get("has_more") else None

    def thread_replies(self, conversation_id: str, root_ts: str) -> list[ThreadRecord]:
        """A thread as records (every page of ``conversations.replies``): its replies newest first, then its root as
        Slack answers it now (fresh ``reply_count``, ``latest_reply`` and ``reply_users``; a tombstone if it was
        deleted while it had replies). Empty if the thread is gone (its root deleted without replies)."""
        try:
            messages = list(
                self._paged(
                    "conversations.replies",
                    "messages",
                    channel=conversation_id,
                    ts=root_ts,
                    limit=self.history_limit,
                )
            )
        except NotFound:
            return []
        root = next((m for m in messages if m.get("ts") == root_ts), None)
        replies = {m["ts"]: m for m in messages if m.get("ts") != root_ts}  # a page may repeat the parent only
        ordered = sorted(replies.values(), key=lambda m: wire.ts_to_us(m["ts"]), reverse=True)
        return [_record(m) for m in ordered] + ([_record(root)] if root is not None else [])

    def to_messages(self, records: list[ThreadRecord], conversation_id: str) -> list[dict[str, Any]]:
        """Chat API message objects of the records from :meth:`history_page` and :meth:`thread_replies`."""
        return [self._message(r.raw, conversation_id) for r in records]

    def threads_active_since(self, since_us: int) -> dict[str, set[str]] | None:
        """Thread roots (``ts`` by channel) with a message posted since ``since_us``, found with
        ``search.messages`` (a day's margin: search filters by date); None where the token cannot search (bot
        tokens, a missing ``search:read`` scope): callers then rely on rescanning recent roots."""
        day = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=since_us) - timedelta(days=1)).date()
        active: dict[str, set[str]] = {}
        page, pages = 1, 1
        while page <= pages:
            try:
                body = self._call(
                    "search.messages",
                    query=f"after:{day.isoformat()}",
                    sort="timestamp",
                    sort_dir="desc",
                    count=100,
                    page=page,
                )
            except (PermissionDenied, InvalidRequest):
                return None
            found = body.get("messages") or {}
            older = False
            for m in found.get("matches") or []:
                channel = (m.get("channel") or {}).get("id")
                if wire.ts_to_us(m["ts"]) < since_us:
                    older = True
                    continue
                if not channel:
                    continue
                thread = re.search(r"thread_ts=(\d+\.\d+)", m.get("permalink") or "")
                active.setdefault(channel, set()).add(thread.group(1) if thread else m["ts"])
            # Newest first (sort=timestamp desc): a match older than since ends the search.
            pages = page if older else int((found.get("paging") or {}).get("pages") or 1)
            page += 1
        return active

    # -- Team API ---------------------------------------------------------------------------------------------
    @property
    def _team_href(self) -> str:
        return f"/v1/accounts/{self.account_id}/team"

    def list_users(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        # users.list is not ordered by id: the whole list (1000 a call) is fetched on a first page and kept, so
        # later pages slice the same snapshot by id.
        if page is None:
            with self._lock:
                self._users = None
        users = self._user_list()
        chosen, token = slice_by_id([{"id": u} for u in users], "slack-users", page_size, page)
        return team_page([wire.team_user_object(u["id"], users, self._team_href) for u in chosen], page, token)

    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        check_id(user_id, "user_id")
        try:
            raw = self._call("users.info", user=user_id)["user"]
        except NotFound:
            raise NotFound(f"user {user_id!r} does not exist", error_code="user_not_found") from None
        return wire.team_user_object(user_id, {user_id: raw}, self._team_href)

    def list_groups(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        # Slack user groups ("subteams"); usergroups.list answers them all at once.
        groups = self._call("usergroups.list", include_disabled="false").get("usergroups") or []
        objects = [
            team_group(
                str(g["id"]),
                g.get("handle") or g.get("name"),
                description=g.get("description") or g.get("name"),
                created_us=int(g["date_create"]) * 1_000_000 if g.get("date_create") else None,
                raw=g,
                href_prefix=self._team_href,
            )
            for g in groups
            if g.get("id")
        ]
        chosen, token = slice_by_id(objects, "slack-groups", page_size, page)
        return team_page(chosen, page, token)

    def list_group_members(
        self, group_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        check_id(group_id, "group_id")
        check_page_size(page_size)
        try:
            ids = self._call("usergroups.users.list", usergroup=group_id).get("users") or []
        except (NotFound, InvalidRequest) as err:
            raise NotFound(f"group {group_id!r} does not exist", error_code=err.error_code) from None
        users = self._know([str(u) for u in ids])
        chosen, token = slice_by_id([{"id": str(u)} for u in ids], "slack-group-members", page_size, page)
        return team_page([wire.team_user_object(u["id"], users, self._team_href) for u in chosen], page, token)


def from_config(config: Mapping[str, Any]) -> SlackChatAPI:
    """A :class:`SlackChatAPI` from an accounts-file table (``token`` resolved from ``token_env`` by
    :func:`chatlens.connect`; optional ``base_url``, ``admin``, ``account``, ``history_limit``,
    ``refetch_unchanged_threads``).

    Examples
    --------
    >>> from_config({"token": "xoxb-not-a-real-token", "history_limit": 15}).history_limit
    15
    """
    if not config.get("token"):
        raise ValueError("slack account: token_env is required")
    return SlackChatAPI(
        str(config["token"]),
        base_url=str(config.get("base_url") or SLACK_API),
        admin=bool(config.get("admin", False)),
        account_id=config.get("account"),
        history_limit=int(config.get("history_limit") or 1000),
        refetch_unchanged_threads=bool(config.get("refetch_unchanged_threads", True)),
    )


def _unbroadcast(message: dict[str, Any]) -> dict[str, Any]:
    """A history message without the copy of its thread's parent a ``thread_broadcast`` carries there (``root``):
    the reply as conversations.replies lists it, so one message is one object whichever listing brought it."""
    if message.get("subtype") == "thread_broadcast" and "root" in message:
        return {k: v for k, v in message.items() if k != "root"}
    return message


def _record(message: dict[str, Any]) -> ThreadRecord:
    """A Slack message as the thread refresh sees it: its ``ts`` is its key, ``thread_ts`` its thread's."""
    ts = str(message["ts"])
    return ThreadRecord(
        key=ts,
        thread_key=str(message.get("thread_ts") or ts),
        reply_count=int(message.get("reply_count") or 0),
        latest_reply=message.get("latest_reply") or None,
        raw=message,
    )
