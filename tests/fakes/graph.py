"""A stateful fake of Microsoft Graph v1.0 (the Teams parts) on 127.0.0.1, for testing the Teams connector over
real HTTP.

It answers the requests the connector makes, with the shapes Microsoft documents (pages under
https://learn.microsoft.com/en-us/graph/api/, transcribed in microsoftgraph/microsoft-graph-docs-contrib
``api-reference/v1.0/api/<page>.md``; the chatMessage examples are in ../shared/data/teams-graph-docs):

- ``GET /me``, ``GET /users``, ``GET /users/{id}``          user-get.md, user-list.md
- ``GET /teams/{id}/members``                               team-list-members.md
- ``GET /me/chats?$expand=members``, ``GET|PATCH /chats/{id}``  chat-list.md, chat-get.md, chat-patch.md
- ``DELETE /chats/{id}``: 403 for a delegated token           chat-delete.md (application permission only)
- ``GET|POST /chats/{id}/members``, ``DELETE .../members/{membership-id}``  chat-list-members.md, chat-post-members.md
- ``GET|POST /chats/{id}/messages``, ``GET|PATCH .../messages/{id}``, ``POST .../softDelete``
  chat-list-messages.md, chat-post-messages.md, chatmessage-update.md, chatmessage-softdelete.md
- ``GET /me/joinedTeams``, ``GET|POST /teams/{id}/channels``, ``GET|PATCH|DELETE .../channels/{id}``
  user-list-joinedteams.md, channel-list.md, channel-post.md, channel-patch.md, channel-delete.md
- ``GET|POST .../channels/{id}/members``, ``DELETE .../members/{membership-id}``  channel-list-members.md
- ``GET|POST .../channels/{id}/messages`` (roots only; ``$expand=replies`` inlines up to ``expand_cap`` replies
  and gives ``replies@odata.nextLink`` for the rest), ``.../messages/{id}/replies`` (and ``/{reply-id}``)
  channel-list-messages.md, chatmessage-list-replies.md, chatmessage-post-replies.md
- ``POST /search/query`` for ``chatMessage`` with KQL ``sent>=``/``sent>`` dates and words, newest first,
  ``from``/``size`` paging, ``total`` counting the page (as documented), the documented retrievable properties
  search-query.md, concepts/search-concept-chat-messages.md, searchrequest.md; ``webUrl`` as chatmessage-get.md
  shows it (``parentMessageId`` names a channel reply's root)

Conventions copied from Graph: lists are ``{"@odata.context", "value": [...], "@odata.nextLink"?}`` with the next
page as a whole URL carrying an opaque ``$skiptoken`` (a keyset position on the listing's order here);
``$top`` is capped at 50 for chats, messages and replies; chat messages are listed by last modification, newest first,
unless ``$orderby=createdDateTime desc`` is asked, ``$filter`` on a chat's messages only with ``$orderby`` on the
same property (``lastModifiedDateTime gt``/``lt``, ``createdDateTime lt``; ignored otherwise, as documented), and
channel messages and replies by last modification (the orders, filters and their reference pages:
``_r_list_messages``); without ``Prefer: include-unknown-enum-members``
systemEventMessage arrives as unknownFutureValue; soft-deleted messages
stay listed with ``deletedDateTime`` set and an empty body, and a deleted channel root's replies stay listed as they
were (the reference documents only ``deletedDateTime``, "Timestamp at which the chat message was deleted, or null if
not deleted", chatmessage.md, and the action, chatmessage-softdelete.md: this is how Teams shows a deleted post,
"This message has been deleted" above its replies); errors are ``{"error": {"code", "message",
"innerError"}}`` with the HTTP status (400 BadRequest, 401 InvalidAuthenticationToken, 403 Forbidden, 404 NotFound,
409 Conflict, 429 TooManyRequests with ``Retry-After``); writes answer 201 with the object or 204 with no body.
Member objects are ``aadUserConversationMember`` whose ``id`` is a membership id, not the user's id (``userId``).
Simplifications: a new team gets no automatic "General" channel, and a private channel's members need not be
members of its team.

Each bearer token is its own tenant, so tests get isolated accounts from one server. Throttling mimics Graph's
per-resource limit (at most one request per interval on any one chat or channel, 429 + Retry-After otherwise),
scaled down in time; :meth:`FakeGraph.fail_next` answers the next requests with 429 or 503.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from tests.secrets_seen import remember

MEMBER_TYPE = "#microsoft.graph.aadUserConversationMember"


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: str = "1") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def iso(us: int) -> str:
    """Graph's timestamp: milliseconds when whole, else microseconds (both occur in Graph answers)."""
    base = datetime.fromtimestamp(us // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = us % 1_000_000
    return f"{base}.{frac // 1000:03d}Z" if frac % 1000 == 0 else f"{base}.{frac:06d}Z"


@dataclass
class Thread:
    """A chat or a channel: its Graph object, members (user ids) and messages (id -> chatMessage)."""

    obj: dict[str, Any]
    members: list[str]
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # root id -> reply id -> message
    memberships: dict[str, str] = field(default_factory=dict)  # user id -> membership id


@dataclass
class Team:
    obj: dict[str, Any]
    members: list[str]
    owners: list[str]
    channels: dict[str, Thread] = field(default_factory=dict)


@dataclass
class Tenant:
    id: str
    me: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    chats: dict[str, Thread] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    last_us: int = 0

    def now_us(self) -> int:
        self.last_us = max(self.last_us + 1000, time.time_ns() // 1000 // 1000 * 1000)
        return self.last_us


def _skiptoken(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _unskip(token: str) -> tuple[int, str]:
    try:
        us, ident = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(us), str(ident)
    except (ValueError, TypeError):
        raise GraphError(400, "BadRequest", "Invalid $skiptoken") from None


class FakeGraph:
    """The fake Graph; ``with FakeGraph() as graph:`` serves it at ``graph.url`` (``.../v1.0``)."""

    def __init__(self, *, expand_cap: int = 1000) -> None:
        self.tenants: dict[str, Tenant] = {}  # token -> tenant
        self.calls: list[tuple[str, str]] = []  # (HTTP method, path)
        self.lock = threading.RLock()
        self.expand_cap = expand_cap
        self.directory_forbidden = False  # GET /users answers 403, as for a token without User.ReadBasic.All
        self.search_forbidden = False  # POST /search/query answers 403, as for a token without Chat.Read
        self.search_links = True  # False: hits carry an Outlook webLink without parentMessageId (the doc's example)
        # "ordered by descending dateTime" does not say which: "sent" (creation) or "modified" (last modification)
        self.search_order = "sent"
        self._throttle: tuple[float, int] | None = None  # (interval s per resource, Retry-After s)
        self._last_call: dict[str, float] = {}
        self._fail_next: list[tuple[int, str]] = []
        self._prefer: str | None = None  # the current request's Prefer header
        self.prefers: list[str | None] = []  # every request's Prefer header, as self.calls lists the requests
        self._tenant_ids = itertools.count(1)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = outer._handle(self.command, self.path, self.headers, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1.0"
        self._server = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeGraph:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- set-up ---------------------------------------------------------------------------------------------
    def add_tenant(self, *, me: str) -> tuple[str, Tenant]:
        """A new tenant whose token acts as user ``me``; returns ``(token, tenant)``."""
        token = remember("eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(24))
        tenant = Tenant(str(uuid.UUID(int=next(self._tenant_ids))), me)
        with self.lock:
            self.tenants[token] = tenant
        return token, tenant

    @staticmethod
    def add_user(
        tenant: Tenant, user_id: str, name: str, email: str | None = None, *, guest: bool = False, enabled: bool = True
    ) -> None:
        tenant.users[user_id] = {
            "id": user_id,
            "displayName": name,
            "mail": email,
            "userPrincipalName": email or f"{user_id}@example.onmicrosoft.com",
            "userType": "Guest" if guest else "Member",
            "accountEnabled": enabled,
            "createdDateTime": "2025-01-02T03:04:05Z",
        }

    def add_chat(
        self, tenant: Tenant, chat_id: str, *, topic: str | None, chat_type: str, created_us: int, members: list[str]
    ) -> Thread:
        obj = {
            "id": chat_id,
            "topic": topic,
            "createdDateTime": iso(created_us),
            "lastUpdatedDateTime": iso(created_us),
            "chatType": chat_type,
            "webUrl": f"https://teams.microsoft.com/l/chat/{quote(chat_id)}/0",
            "tenantId": tenant.id,
        }
        chat = Thread(obj, sorted(members))
        chat.memberships = {u: self._membership() for u in members}
        tenant.chats[chat_id] = chat
        tenant.last_us = max(tenant.last_us, created_us)
        return chat

    @staticmethod
    def add_team(tenant: Tenant, team_id: str, name: str, members: list[str], owners: list[str] = ()) -> Team:
        """A team; its owners see and manage its private channels even when not their members (as in Teams)."""
        obj = {"id": team_id, "displayName": name, "description": None, "tenantId": tenant.id}
        team = Team(obj, sorted(members), sorted(owners))
        tenant.teams[team_id] = team
        return team

    def add_channel(
        self,
        tenant: Tenant,
        team_id: str,
        channel_id: str,
        *,
        name: str,
        created_us: int,
        private: bool = False,
        members: list[str] | None = None,
    ) -> Thread:
        obj = {
            "id": channel_id,
            "createdDateTime": iso(created_us),
            "displayName": name,
            "description": None,
            "membershipType": "private" if private else "standard",
            "webUrl": f"https://teams.microsoft.com/l/channel/{quote(channel_id)}/{quote(name)}",
            "tenantId": tenant.id,
        }
        channel = Thread(obj, sorted(members or []) if private else [])
        channel.memberships = {u: self._membership() for u in channel.members}
        tenant.teams[team_id].channels[channel_id] = channel
        tenant.last_us = max(tenant.last_us, created_us)
        return channel

    @staticmethod
    def _membership() -> str:
        return base64.b64encode(f"membership:{uuid.uuid4()}".encode()).decode()

    def add_message(
        self,
        tenant: Tenant,
        thread: Thread,
        sender: str,
        created_us: int,
        text: str,
        *,
        reply_to: str = "",
        html: bool = False,
    ) -> dict[str, Any]:
        """A chatMessage in ``thread`` (``reply_to``: a channel root's id)."""
        user = tenant.users.get(sender, {"displayName": sender})
        msg: dict[str, Any] = {
            "id": str(created_us),
            "replyToId": reply_to or None,
            "etag": str(created_us),
            "messageType": "message",
            "createdDateTime": iso(created_us),
            "lastModifiedDateTime": iso(created_us),
            "lastEditedDateTime": None,
            "deletedDateTime": None,
            "subject": None,
            "summary": None,
            "chatId": thread.obj["id"] if "chatType" in thread.obj else None,
            "importance": "normal",
            "locale": "en-us",
            "webUrl": None,
            "channelIdentity": None if "chatType" in thread.obj else {"channelId": thread.obj["id"]},
            "policyViolation": None,
            "eventDetail": None,
            "from": {
                "application": None,
                "device": None,
                "user": {"id": sender, "displayName": user["displayName"], "userIdentityType": "aadUser"},
            },
            "body": {"contentType": "html" if html else "text", "content": text},
            "attachments": [],
            "mentions": [],
            "reactions": [],
        }
        if reply_to:
            thread.replies.setdefault(reply_to, {})[msg["id"]] = msg
        else:
            thread.messages[msg["id"]] = msg
        tenant.last_us = max(tenant.last_us, created_us)
        return msg

    @staticmethod
    def add_published(thread: Thread, value: list[dict[str, Any]]) -> None:
        """Put chatMessage objects as a Graph reference example shows them (``value`` of a list response) into a
        chat or channel, as they are: roots, or replies where ``replyToId`` names a root."""
        for msg in value:
            msg = json.loads(json.dumps(msg))
            if msg.get("replyToId"):
                thread.replies.setdefault(msg["replyToId"], {})[msg["id"]] = msg
            else:
                thread.messages[msg["id"]] = msg

    @staticmethod
    def react(tenant: Tenant, msg: dict[str, Any], user: str, reaction: str = "like") -> None:
        """``user`` reacts to ``msg``: its ``lastModifiedDateTime`` moves (chatmessage-setreaction.md; a reaction is a
        change of the message), its ``lastEditedDateTime`` does not."""
        now = iso(tenant.now_us())
        msg["reactions"] = [
            *msg["reactions"],
            {"reactionType": reaction, "createdDateTime": now, "user": {"user": {"id": user}}},
        ]
        msg["lastModifiedDateTime"] = now

    @staticmethod
    def edit(tenant: Tenant, msg: dict[str, Any], text: str) -> None:
        """An edit by the message's sender (as chatmessage-update.md: both edit and modification times move)."""
        now = iso(tenant.now_us())
        msg.update(body={**msg["body"], "content": text}, lastEditedDateTime=now, lastModifiedDateTime=now)

    @staticmethod
    def soft_delete(tenant: Tenant, msg: dict[str, Any]) -> None:
        """A soft delete (chatmessage-softdelete.md): the message stays listed, with deletedDateTime and no body."""
        now = iso(tenant.now_us())
        msg.update(deletedDateTime=now, lastModifiedDateTime=now, body={"contentType": "text", "content": ""})

    def add_event(
        self, tenant: Tenant, thread: Thread, initiator: str, created_us: int, detail: str = "membersAdded"
    ) -> dict[str, Any]:
        """A system event (messageType systemEventMessage, ``from`` null, an ``eventDetail`` naming its type and
        initiator), as the chat-list-messages example's third message."""
        msg = self.add_message(tenant, thread, initiator, created_us, "<systemEventMessage/>", html=True)
        user = tenant.users.get(initiator, {"displayName": initiator})
        msg.update(
            messageType="systemEventMessage",
            eventDetail={
                "@odata.type": f"#microsoft.graph.{detail}EventMessageDetail",
                "initiator": {
                    "user": {"id": initiator, "displayName": user["displayName"], "userIdentityType": "aadUser"}
                },
            },
        )
        msg["from"] = None
        return msg

    def throttle(self, *, interval: float, retry_after: int = 1) -> None:
        """At most one request per ``interval`` seconds on any one chat or channel (Graph's per-resource limit)."""
        self._throttle = (interval, retry_after)

    def fail_next(self, n: int, *, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next ``n`` requests with ``status`` (429 or 503) and ``Retry-After``."""
        self._fail_next.extend([(status, str(retry_after))] * n)

    # -- dispatch -------------------------------------------------------------------------------------------
    _C = "/chats/{chat}"
    _CH = "/teams/{team}/channels/{chan}"
    _ROUTES: ClassVar[list[tuple[str, re.Pattern[str], str]]] = [
        (verb, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"), name)
        for verb, template, name in [
            ("GET", "/me", "get_me"),
            ("POST", "/search/query", "search"),
            ("GET", "/users", "list_users"),
            ("GET", "/users/{user}", "get_user"),
            ("GET", "/teams/{team}/members", "list_team_members"),
            ("GET", "/me/chats", "list_chats"),
            ("POST", "/chats", "create_chat"),
            ("GET", _C, "get_chat"),
            ("PATCH", _C, "patch_chat"),
            ("DELETE", _C, "delete_chat"),
            ("GET", _C + "/members", "list_members"),
            ("POST", _C + "/members", "add_member"),
            ("DELETE", _C + "/members/{membership}", "remove_member"),
            ("GET", _C + "/messages", "list_messages"),
            ("POST", _C + "/messages", "post_message"),
            ("GET", _C + "/messages/{msg}", "get_message"),
            ("PATCH", _C + "/messages/{msg}", "patch_message"),
            ("POST", _C + "/messages/{msg}/softDelete", "soft_delete"),
            ("GET", "/me/joinedTeams", "list_teams"),
            ("GET", "/teams/{team}/channels", "list_channels"),
            ("POST", "/teams/{team}/channels", "create_channel"),
            ("GET", _CH, "get_channel"),
            ("PATCH", _CH, "patch_channel"),
            ("DELETE", _CH, "delete_channel"),
            ("GET", _CH + "/members", "list_members"),
            ("POST", _CH + "/members", "add_member"),
            ("DELETE", _CH + "/members/{membership}", "remove_member"),
            ("GET", _CH + "/messages", "list_messages"),
            ("POST", _CH + "/messages", "post_message"),
            ("GET", _CH + "/messages/{msg}", "get_message"),
            ("PATCH", _CH + "/messages/{msg}", "patch_message"),
            ("POST", _CH + "/messages/{msg}/softDelete", "soft_delete"),
            ("GET", _CH + "/messages/{root}/replies", "list_messages"),
            ("POST", _CH + "/messages/{root}/replies", "post_message"),
            ("GET", _CH + "/messages/{root}/replies/{msg}", "get_message"),
            ("PATCH", _CH + "/messages/{root}/replies/{msg}", "patch_message"),
            ("POST", _CH + "/messages/{root}/replies/{msg}/softDelete", "soft_delete"),
        ]
    ]

    def _handle(self, verb: str, target: str, headers: Any, body: bytes) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        path = parts.path.removeprefix("/v1.0")
        with self.lock:
            self.calls.append((verb, path))
            self._prefer = headers.get("Prefer")
            self.prefers.append(self._prefer)
            try:
                if self._fail_next:
                    status, retry_after = self._fail_next.pop(0)
                    code = "TooManyRequests" if status == 429 else "ServiceUnavailable"
                    raise GraphError(
                        status, code, "Please retry after the number of seconds in Retry-After", retry_after
                    )
                auth = headers.get("Authorization") or ""
                tenant = self.tenants.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
                if tenant is None:
                    raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
                for route_verb, pattern, name in self._ROUTES:
                    match = pattern.match(path)
                    if match and route_verb == verb:
                        args = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                        self._throttled(args)
                        query = dict(parse_qsl(parts.query))
                        payload = json.loads(body) if body else {}
                        return getattr(self, "_r_" + name)(tenant, query, payload, **args)
                raise GraphError(400, "BadRequest", f"Unsupported request: {verb} {path}")
            except GraphError as err:
                extra = {"Retry-After": err.retry_after} if err.status in (429, 503) else {}
                inner = {"date": iso(time.time_ns() // 1000), "request-id": str(uuid.uuid4())}
                return err.status, {"error": {"code": err.code, "message": err.message, "innerError": inner}}, extra

    def _throttled(self, args: dict[str, str]) -> None:
        resource = args.get("chat") or args.get("chan")
        if self._throttle is None or resource is None:
            return
        interval, retry_after = self._throttle
        now = time.monotonic()
        if now - self._last_call.get(resource, -math.inf) < interval:
            raise GraphError(429, "TooManyRequests", "Too many requests on this resource", str(retry_after))
        self._last_call[resource] = now

    # -- helpers --------------------------------------------------------------------------------------------
    def _list(
        self,
        path: str,
        query: dict[str, str],
        items: list[dict[str, Any]],
        key: Any,
        cap: int = 50,
        descending: bool = True,
    ) -> dict:
        """One page of ``items`` (already in list order), keyset-paged by ``key(item)`` in the $skiptoken."""
        try:
            top = int(query.get("$top") or 20)
        except ValueError:
            raise GraphError(400, "BadRequest", "Invalid value for $top") from None
        if not 1 <= top <= cap:
            raise GraphError(400, "BadRequest", f"$top must be between 1 and {cap}")
        if "$skiptoken" in query:
            after = _unskip(query["$skiptoken"])
            keys = [key(i) for i in items]
            start = next((n for n, k in enumerate(keys) if (k < after if descending else k > after)), len(items))
        else:
            start = 0
        page = items[start : start + top]
        out: dict[str, Any] = {"@odata.context": f"{self.url}/$metadata#{path}", "value": page}
        if start + top < len(items):
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            rest["$skiptoken"] = _skiptoken(key(page[-1]))
            out["@odata.nextLink"] = f"{self.url}{path}?" + "&".join(
                f"{k}={quote(v, safe='')}" for k, v in rest.items()
            )
        return out

    def _team(self, tenant: Tenant, team: str) -> Team:
        t = tenant.teams.get(team)
        if t is None or tenant.me not in t.members:
            raise GraphError(404, "NotFound", f"No team found with Group Id {team}")
        return t

    def _thread(self, tenant: Tenant, chat: str | None = None, team: str | None = None, chan: str | None = None):
        if chat is not None:
            thread = tenant.chats.get(chat)
            if thread is None or tenant.me not in thread.members:
                raise GraphError(404, "NotFound", f"Chat {chat} not found")
            return thread
        t = self._team(tenant, team or "")
        channel = t.channels.get(chan or "")
        hidden = channel is not None and channel.obj["membershipType"] == "private"
        if channel is None or (hidden and tenant.me not in channel.members and tenant.me not in t.owners):
            raise GraphError(404, "NotFound", f"Channel {chan} not found")
        return channel

    def _members(self, tenant: Tenant, thread: Thread, team: str | None) -> list[str]:
        if team is not None and thread.obj.get("membershipType") == "standard":
            return tenant.teams[team].members  # a standard channel's members are its team's
        return thread.members

    def _member_obj(self, tenant: Tenant, thread: Thread, user_id: str) -> dict[str, Any]:
        user = tenant.users.get(user_id, {})
        membership = thread.memberships.setdefault(user_id, self._membership())
        return {
            "@odata.type": MEMBER_TYPE,
            "id": membership,
            "roles": ["owner"],
            "displayName": user.get("displayName"),
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
            "userId": user_id,
            "email": user.get("mail"),
            "tenantId": tenant.id,
        }

    @staticmethod
    def _key(obj: dict[str, Any]) -> tuple[int, str]:
        """Graph's own order: by creation time (its internal one, for the documented malformed timestamps)."""
        from chatlens.chatapi import us_from_iso
        from chatlens.errors import InvalidRequest

        try:
            return us_from_iso(obj["createdDateTime"]), obj["id"]
        except InvalidRequest:
            return int(obj["id"]), obj["id"]  # message ids here are their creation time in microseconds

    # -- users ----------------------------------------------------------------------------------------------
    def _r_get_me(self, tenant: Tenant, query: dict, payload: dict) -> tuple[int, Any, dict]:
        return 200, tenant.users[tenant.me], {}

    def _r_list_users(self, tenant: Tenant, query: dict, payload: dict) -> tuple[int, Any, dict]:
        if self.directory_forbidden:
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        users = sorted(tenant.users.values(), key=lambda u: u["id"])
        return 200, self._list_asc("/users", query, users, lambda u: (0, u["id"]), cap=999), {}

    def _r_get_user(self, tenant: Tenant, query: dict, payload: dict, user: str) -> tuple[int, Any, dict]:
        if user not in tenant.users:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{user}' does not exist.")
        return 200, tenant.users[user], {}

    def _r_list_team_members(self, tenant: Tenant, query: dict, payload: dict, team: str) -> tuple[int, Any, dict]:
        t = self._team(tenant, team)
        value = [
            {
                "@odata.type": MEMBER_TYPE,
                "id": base64.b64encode(f"team-member:{team}:{u}".encode()).decode(),
                "roles": ["owner"] if u in t.owners else [],
                "displayName": tenant.users.get(u, {}).get("displayName"),
                "userId": u,
                "email": tenant.users.get(u, {}).get("mail"),
                "tenantId": tenant.id,
            }
            for u in t.members
        ]
        return 200, {"@odata.context": f"{self.url}/$metadata#teams('{team}')/members", "value": value}, {}

    def _list_asc(self, path: str, query: dict, items: list[dict], key: Any, cap: int = 50) -> dict:
        return self._list(path, query, items, key, cap, descending=False)

    # -- chats ----------------------------------------------------------------------------------------------
    def _chat_obj(self, tenant: Tenant, chat: Thread, expand: bool) -> dict[str, Any]:
        obj = dict(chat.obj)
        if expand:
            obj["members"] = [self._member_obj(tenant, chat, u) for u in chat.members]
        return obj

    def _r_list_chats(self, tenant: Tenant, query: dict, payload: dict) -> tuple[int, Any, dict]:
        chats = sorted((c for c in tenant.chats.values() if tenant.me in c.members), key=lambda c: self._key(c.obj))
        expand = query.get("$expand") == "members"
        page = self._list_asc("/me/chats", query, [c.obj for c in chats], self._key)
        by_id = {c.obj["id"]: c for c in chats}
        page["value"] = [self._chat_obj(tenant, by_id[o["id"]], expand) for o in page["value"]]
        return 200, page, {}

    def _r_create_chat(self, tenant: Tenant, query: dict, payload: dict) -> tuple[int, Any, dict]:
        kind = payload.get("chatType")
        members = [
            str(m.get("user@odata.bind") or "").partition("users('")[2].rstrip("')")
            for m in payload.get("members") or []
        ]
        if kind not in ("group", "oneOnOne") or tenant.me not in members or any(u not in tenant.users for u in members):
            raise GraphError(400, "BadRequest", "chatType must be group or oneOnOne, members known and include you")
        if kind == "oneOnOne" and len(set(members)) != 2:
            raise GraphError(400, "BadRequest", "A oneOnOne chat has exactly two members")
        chat_id = f"19:{uuid.uuid4().hex}@thread.v2"
        topic = payload.get("topic") if kind == "group" else None
        chat = self.add_chat(
            tenant, chat_id, topic=topic, chat_type=kind, created_us=tenant.now_us(), members=sorted(set(members))
        )
        return 201, dict(chat.obj), {}

    def _r_get_chat(self, tenant: Tenant, query: dict, payload: dict, chat: str) -> tuple[int, Any, dict]:
        return 200, self._chat_obj(tenant, self._thread(tenant, chat), query.get("$expand") == "members"), {}

    def _r_patch_chat(self, tenant: Tenant, query: dict, payload: dict, chat: str) -> tuple[int, Any, dict]:
        thread = self._thread(tenant, chat)
        if thread.obj["chatType"] != "group":
            raise GraphError(400, "BadRequest", "Topic can only be set on group chats")
        if "topic" in payload:
            thread.obj["topic"] = payload["topic"]
        return 200, dict(thread.obj), {}

    def _r_delete_chat(self, tenant: Tenant, query: dict, payload: dict, chat: str) -> tuple[int, Any, dict]:
        self._thread(tenant, chat)
        raise GraphError(
            403,
            "Forbidden",
            "Missing role permissions on the request. API requires one of "
            "'Chat.ManageDeletion.All'. Roles on the request ''.",
        )

    # -- teams and channels ---------------------------------------------------------------------------------
    def _r_list_teams(self, tenant: Tenant, query: dict, payload: dict) -> tuple[int, Any, dict]:
        teams = [t.obj for t in sorted(tenant.teams.values(), key=lambda t: t.obj["id"]) if tenant.me in t.members]
        return 200, {"@odata.context": f"{self.url}/$metadata#teams", "value": teams}, {}

    def _r_list_channels(self, tenant: Tenant, query: dict, payload: dict, team: str) -> tuple[int, Any, dict]:
        t = self._team(tenant, team)
        visible = [
            c.obj
            for c in t.channels.values()
            if c.obj["membershipType"] == "standard" or tenant.me in c.members or tenant.me in t.owners
        ]
        return 200, {"@odata.context": f"{self.url}/$metadata#channels", "value": visible}, {}

    def _r_create_channel(self, tenant: Tenant, query: dict, payload: dict, team: str) -> tuple[int, Any, dict]:
        t = self._team(tenant, team)
        name = payload.get("displayName")
        if not isinstance(name, str) or not name.strip() or len(name) > 50 or re.search(r'[~#%&*{}+/\\:<>?|\'"]', name):
            raise GraphError(400, "BadRequest", "Invalid channel displayName")
        if any(c.obj["displayName"].lower() == name.lower() for c in t.channels.values()):
            raise GraphError(400, "NameAlreadyExists", f"Channel name already existed, please use other name: {name}")
        private = payload.get("membershipType") == "private"
        members = [tenant.me]
        for m in payload.get("members") or []:
            bind = str(m.get("user@odata.bind") or "")
            uid = bind.partition("users('")[2].rstrip("')")
            if uid not in tenant.users:
                raise GraphError(400, "BadRequest", f"User {uid!r} was not found")
            members.append(uid)
        channel_id = f"19:{uuid.uuid4().hex}@thread.tacv2"
        thread = self.add_channel(
            tenant,
            team,
            channel_id,
            name=name,
            created_us=tenant.now_us(),
            private=private,
            members=sorted(set(members)),
        )
        return 201, dict(thread.obj), {}

    def _r_get_channel(self, tenant: Tenant, query: dict, payload: dict, team: str, chan: str):
        return 200, dict(self._thread(tenant, team=team, chan=chan).obj), {}

    def _r_patch_channel(self, tenant: Tenant, query: dict, payload: dict, team: str, chan: str):
        thread = self._thread(tenant, team=team, chan=chan)
        name = payload.get("displayName")
        if name is not None:
            others = [c for c in tenant.teams[team].channels.values() if c is not thread]
            if any(c.obj["displayName"].lower() == str(name).lower() for c in others):
                raise GraphError(400, "NameAlreadyExists", f"Channel name already existed: {name}")
            thread.obj["displayName"] = name
        return 204, None, {}

    def _r_delete_channel(self, tenant: Tenant, query: dict, payload: dict, team: str, chan: str):
        self._thread(tenant, team=team, chan=chan)
        del tenant.teams[team].channels[chan]
        return 204, None, {}

    # -- members --------------------------------------------------------------------------------------------
    def _r_list_members(self, tenant: Tenant, query: dict, payload: dict, **where: str) -> tuple[int, Any, dict]:
        thread = self._thread(tenant, **where)
        members = self._members(tenant, thread, where.get("team"))
        value = [self._member_obj(tenant, thread, u) for u in members]
        return 200, {"@odata.context": f"{self.url}/$metadata#members", "@odata.count": len(value), "value": value}, {}

    def _r_add_member(self, tenant: Tenant, query: dict, payload: dict, **where: str) -> tuple[int, Any, dict]:
        thread = self._thread(tenant, **where)
        if where.get("team") and thread.obj["membershipType"] == "standard":
            raise GraphError(400, "BadRequest", "Members of a standard channel are the team's members")
        if "chatType" in thread.obj and thread.obj["chatType"] != "group":
            raise GraphError(400, "BadRequest", "Members can only be added to group chats")
        uid = str(payload.get("user@odata.bind") or "").partition("users('")[2].rstrip("')")
        if uid not in tenant.users:
            raise GraphError(404, "NotFound", f"User {uid!r} was not found")
        if uid not in thread.members:
            thread.members = sorted({*thread.members, uid})
        return 201, self._member_obj(tenant, thread, uid), {}

    def _r_remove_member(self, tenant: Tenant, query: dict, payload: dict, membership: str, **where: str):
        thread = self._thread(tenant, **where)
        uid = next((u for u, m in thread.memberships.items() if m == membership and u in thread.members), None)
        if uid is None:
            raise GraphError(404, "NotFound", "Member not found")
        thread.members = [u for u in thread.members if u != uid]
        return 204, None, {}

    # -- messages -------------------------------------------------------------------------------------------
    def _box(self, tenant: Tenant, root: str | None, **where: str) -> tuple[Thread, dict[str, dict[str, Any]]]:
        thread = self._thread(tenant, **where)
        if root is None:
            return thread, thread.messages
        if root not in thread.messages:
            raise GraphError(404, "NotFound", f"Message {root} not found")
        return thread, thread.replies.setdefault(root, {})

    # Listing orders, each from its reference page (learn.microsoft.com/graph/api/<page>):
    # - chat-list-messages (https://learn.microsoft.com/en-us/graph/api/chat-list-messages, "Optional query
    #   parameters" and its example 4, "List chat messages filtered by last modified date range"): ``$orderBy``
    #   takes lastModifiedDateTime (the default) or createdDateTime, "in descending order. The ascending order is
    #   currently not supported"; ``$filter`` "Sets the date range filter for the lastModifiedDateTime and
    #   createdDateTime properties. The lastModifiedDateTime property supports the gt and lt operators. The
    #   createdDateTime property supports the lt operator. You can only filter results if the request URL contains
    #   the $orderBy and $filter query parameters configured for the same property; otherwise, the $filter query
    #   option is ignored." So a filter without ``$orderby`` (even on the default order) or on another property
    #   than it is ignored, as documented; an order, property or operator the page does not list is refused (400).
    #   ``$top`` at most 50. By default an edit or a reaction moves an old message to the top. The page writes
    #   ``$orderBy``: OData query option names are case-insensitive, so ``$orderby`` is the same option.
    # - channel-list-messages: ``$top`` (at most 50) and ``$expand=replies`` only, no ``$orderby`` or ``$filter``;
    #   the order is not documented (community answers report last modification), so last modification it is here.
    # - chatmessage-list-replies: ``$top`` (at most 50); no order documented: last modification here too.
    # Pages are ``@odata.nextLink`` with an opaque ``$skiptoken`` (a keyset position on the listing's order here).
    _CHAT_ORDERS: ClassVar[dict[str, str]] = {
        "lastModifiedDateTime desc": "lastModifiedDateTime",
        "createdDateTime desc": "createdDateTime",
    }
    _FILTER = re.compile(r"^\s*(lastModifiedDateTime|createdDateTime)\s+(gt|lt)\s+(\S+)\s*$")

    def _order_of(self, query: dict[str, str], chat: bool) -> tuple[str, list[tuple[str, int]]]:
        """The property a listing is ordered by and its filter bounds [(op, us)], as the reference pages allow."""
        from chatlens.chatapi import us_from_iso
        from chatlens.errors import InvalidRequest

        if not chat:
            for option in ("$orderby", "$filter"):
                if option in query:
                    raise GraphError(400, "BadRequest", f"Query option '{option}' is not allowed on this resource")
            return "lastModifiedDateTime", []
        asked = query.get("$orderby")
        orderby = " ".join((asked or "lastModifiedDateTime desc").split())
        prop = self._CHAT_ORDERS.get(orderby)
        if prop is None:
            raise GraphError(
                400, "BadRequest", f"$orderby {orderby!r}: only lastModifiedDateTime desc or createdDateTime desc"
            )
        bounds, on = [], set()
        for clause in re.split(r"\s+and\s+", query["$filter"]) if query.get("$filter") else []:
            match = self._FILTER.match(clause)
            allowed = match and (match[1], match[2]) in {
                ("lastModifiedDateTime", "gt"),
                ("lastModifiedDateTime", "lt"),
                ("createdDateTime", "lt"),
            }
            if not allowed:
                raise GraphError(400, "BadRequest", f"$filter {clause!r} is not supported on chat messages")
            try:
                bounds.append((match[2], us_from_iso(match[3])))
            except InvalidRequest:
                raise GraphError(400, "BadRequest", f"$filter {clause!r}: not a timestamp") from None
            on.add(match[1])
        # "You can only filter results if the request URL contains the $orderBy and $filter query parameters
        # configured for the same property; otherwise, the $filter query option is ignored."
        if asked is None or on != {prop}:
            bounds = []
        return prop, bounds

    @classmethod
    def _by(cls, prop: str):
        if prop == "createdDateTime":
            return cls._key

        def modified(obj: dict[str, Any]) -> tuple[int, str]:
            from chatlens.chatapi import us_from_iso
            from chatlens.errors import InvalidRequest

            try:
                return us_from_iso(obj.get("lastModifiedDateTime") or obj["createdDateTime"]), obj["id"]
            except InvalidRequest:  # the documented malformed timestamp: Graph's own order is by its internal one
                return cls._key(obj)

        return modified

    def _r_list_messages(self, tenant: Tenant, query: dict, payload: dict, root: str | None = None, **where: str):
        query = {k.lower() if k.startswith("$") else k: v for k, v in query.items()}  # OData names: any case
        thread, box = self._box(tenant, root, **where)
        path = urlsplit("/" + "/".join(f"{k}s/{quote(v, safe='@:')}" for k, v in where.items())).path
        path = path.replace("/chans/", "/channels/") + "/messages" + (f"/{root}/replies" if root else "")
        prop, bounds = self._order_of(query, chat="chat" in where and root is None)
        key = self._by(prop)
        items = [m for m in box.values() if all(key(m)[0] > us if op == "gt" else key(m)[0] < us for op, us in bounds)]
        page = self._list(path, query, sorted(items, key=key, reverse=True), key)
        modified = self._by("lastModifiedDateTime")
        if query.get("$expand") == "replies" and root is None and "chan" in where:
            expanded = []
            for msg in page["value"]:
                replies = sorted(thread.replies.get(msg["id"], {}).values(), key=modified, reverse=True)
                msg = {**msg, "replies": replies[: self.expand_cap]}
                if len(replies) > self.expand_cap:
                    after = quote(_skiptoken(modified(replies[self.expand_cap - 1])), safe="")
                    msg["replies@odata.nextLink"] = f"{self.url}{path}/{msg['id']}/replies?$top=50&$skiptoken={after}"
                expanded.append(msg)
            page["value"] = expanded
        page["value"] = [self._enum(m) for m in page["value"]]
        return 200, page, {}

    def _enum(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A chatMessage as sent: without ``Prefer: include-unknown-enum-members`` an evolvable enumeration's newer
        members (``messageType`` systemEventMessage) arrive as ``unknownFutureValue`` (Graph's "Best practices:
        evolvable enums", and the chat-list-messages example itself)."""
        if "include-unknown-enum-members" in (self._prefer or ""):
            return msg
        out = {**msg, "replies": [self._enum(r) for r in msg["replies"]]} if "replies" in msg else dict(msg)
        if out.get("messageType") == "systemEventMessage":
            out["messageType"] = "unknownFutureValue"
        return out

    def _r_get_message(
        self, tenant: Tenant, query: dict, payload: dict, msg: str, root: str | None = None, **where: str
    ):
        _, box = self._box(tenant, root, **where)
        if msg not in box:
            raise GraphError(404, "NotFound", f"Message {msg} not found")
        return 200, self._enum(box[msg]), {}

    @staticmethod
    def _content(payload: dict) -> tuple[str, bool]:
        body = payload.get("body")
        if not isinstance(body, dict) or not isinstance(body.get("content"), str) or not body["content"].strip():
            raise GraphError(400, "BadRequest", "Missing or empty body.content")
        return body["content"], body.get("contentType") == "html"

    def _r_post_message(self, tenant: Tenant, query: dict, payload: dict, root: str | None = None, **where: str):
        thread, _ = self._box(tenant, root, **where)
        content, html = self._content(payload)
        msg = self.add_message(tenant, thread, tenant.me, tenant.now_us(), content, reply_to=root or "", html=html)
        return 201, msg, {}

    def _r_patch_message(
        self, tenant: Tenant, query: dict, payload: dict, msg: str, root: str | None = None, **where: str
    ):
        _, box = self._box(tenant, root, **where)
        found = box.get(msg)
        if found is None:
            raise GraphError(404, "NotFound", f"Message {msg} not found")
        if found["deletedDateTime"]:
            raise GraphError(400, "BadRequest", "Cannot update a deleted message")
        if ((found.get("from") or {}).get("user") or {}).get("id") != tenant.me:
            raise GraphError(403, "Forbidden", "Only the sender can update a message")
        content, html = self._content(payload)
        now = iso(tenant.now_us())
        found.update(body={"contentType": "html" if html else "text", "content": content})
        found.update(lastEditedDateTime=now, lastModifiedDateTime=now)
        return 204, None, {}

    def _r_soft_delete(
        self, tenant: Tenant, query: dict, payload: dict, msg: str, root: str | None = None, **where: str
    ):
        _, box = self._box(tenant, root, **where)
        found = box.get(msg)
        if found is None or found["deletedDateTime"]:
            raise GraphError(404, "NotFound", f"Message {msg} not found")
        self.soft_delete(tenant, found)
        return 204, None, {}

    # -- search ---------------------------------------------------------------------------------------------
    _SENT = re.compile(r"\bsent\s*(>=|>)\s*(\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)

    def _r_search(self, tenant: Tenant, query: dict, payload: dict) -> tuple[int, Any, dict]:
        if self.search_forbidden:
            raise GraphError(403, "Forbidden", "Missing scope permissions on the request (Chat.Read).")
        requests_ = payload.get("requests")
        if not isinstance(requests_, list) or len(requests_) != 1:
            raise GraphError(400, "BadRequest", "Only one search request is supported at a time.")
        request = requests_[0]
        if request.get("entityTypes") != ["chatMessage"]:
            raise GraphError(400, "BadRequest", "This fake searches chatMessage only.")
        text = str((request.get("query") or {}).get("queryString") or "").strip()
        start, size = request.get("from", 0), request.get("size", 25)
        if not text:
            raise GraphError(400, "BadRequest", "queryString is required")
        if not (isinstance(start, int) and start >= 0 and isinstance(size, int) and 1 <= size <= 25):
            raise GraphError(400, "BadRequest", "from must be >= 0 and size between 1 and 25")
        bounds = [(op, datetime.fromisoformat(day).replace(tzinfo=UTC)) for op, day in self._SENT.findall(text)]
        words = [w.lower() for w in self._SENT.sub(" ", text).split()]
        hits = []
        for team_id, channel_id, thread in self._searchable(tenant):
            for root_id, msg in [(None, m) for m in thread.messages.values()] + [
                (root, r) for root, replies in thread.replies.items() for r in replies.values()
            ]:
                if msg["deletedDateTime"]:
                    continue
                created = datetime.fromtimestamp(self._key(msg)[0] / 1e6, UTC)
                day = created.replace(hour=0, minute=0, second=0, microsecond=0)
                if any(day < bound if op == ">=" else day <= bound for op, bound in bounds):
                    continue
                if any(w not in msg["body"]["content"].lower() for w in words):
                    continue
                order = self._key(msg) if self.search_order == "sent" else (msg["lastModifiedDateTime"], msg["id"])
                hits.append((order, self._hit(tenant, team_id, channel_id, root_id, msg)))
        hits.sort(key=lambda h: h[0], reverse=True)
        page = [h for _, h in hits[start : start + size]]
        for rank, hit in enumerate(page, start + 1):
            hit["rank"] = rank
        container = {"hits": page, "total": len(page), "moreResultsAvailable": start + size < len(hits)}
        return 200, {"value": [{"searchTerms": words, "hitsContainers": [container]}]}, {}

    @staticmethod
    def _searchable(tenant: Tenant) -> list[tuple[str | None, str | None, Thread]]:
        """(team, channel, thread) the signed-in user can read: search never returns more than a GET would."""
        out: list[tuple[str | None, str | None, Thread]] = [
            (None, None, chat) for chat in tenant.chats.values() if tenant.me in chat.members
        ]
        for team_id, team in tenant.teams.items():
            if tenant.me not in team.members:
                continue
            for channel_id, channel in team.channels.items():
                private = channel.obj["membershipType"] == "private"
                if not private or tenant.me in channel.members or tenant.me in team.owners:
                    out.append((team_id, channel_id, channel))
        return out

    def _hit(self, tenant: Tenant, team: str | None, channel: str | None, root: str | None, msg: dict) -> dict:
        """A searchHit with the documented retrievable chatMessage properties only (no replyToId, no body)."""
        user = (msg.get("from") or {}).get("user") or {}
        mail = tenant.users.get(user.get("id"), {}).get("mail")
        resource: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.chatMessage",
            "id": msg["id"],
            "createdDateTime": msg["createdDateTime"],
            "lastModifiedDateTime": msg["lastModifiedDateTime"],
            "subject": "",
            "importance": "normal",
            "from": {"emailAddress": {"name": user.get("displayName"), "address": mail}},
            "channelIdentity": {"teamId": team, "channelId": channel} if channel else {},
            "etag": msg["etag"],
            "chatId": msg.get("chatId") if not channel else None,
        }
        if channel and self.search_links:
            resource["webUrl"] = (
                f"https://teams.microsoft.com/l/message/{quote(channel, safe='')}/{msg['id']}?groupId={team}"
                f"&tenantId={tenant.id}&createdTime={self._key(msg)[0] // 1000}&parentMessageId={root or msg['id']}"
            )
        else:
            resource["webLink"] = (
                f"https://outlook.office365.com/owa/?ItemID={quote(msg['id'])}&viewmodel=ReadMessageItem"
            )
        content = msg["body"]["content"]
        return {"hitId": secrets.token_urlsafe(16), "rank": 0, "summary": content[:60], "resource": resource}
