"""The Kloudless Chat API wire protocol over any :class:`~chatlens.chatapi.ChatAPI` backend (FastAPI).

Routes, all under ``/v1/accounts/{account_id}`` (``me`` = the token's own account):

==========================  ===============================================================  ======
method                      path                                                             status
==========================  ===============================================================  ======
GET                         ``""`` (the account: ``{id, service, admin, type, api}``)          200
GET, POST                   ``/messaging/conversations``                                      200/201
GET, PATCH, DELETE          ``/messaging/conversations/{conversation_id}``                    200/204
GET                         ``/messaging/conversations/{conversation_id}/members``            200
GET, POST                   ``/messaging/conversations/{conversation_id}/messages``           200/201
GET, PATCH, DELETE          ``/messaging/messages/{message_id}`` (also nested under a         200/204
                            conversation)
GET                         ``/events?cursor=&page_size=``, ``/events/latest``                200
==========================  ===============================================================  ======

The singular ``/messaging/conversation/...`` of older Kloudless docs is accepted as an alias. Errors are always
JSON ``{status_code, error_code, message, id}``; ``id`` is the request id, also sent as ``X-Request-Id``.
``raw`` is always included (``X-Kloudless-Raw-Data`` is accepted and changes nothing), and ``href`` is the object's
absolute URL on this server. Tokens are held only as SHA-256 hashes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..chatapi import ChatAPI, check_json_depth
from ..errors import (
    AuthenticationError,
    ChatError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServiceError,
    UnsupportedMediaType,
)
from .openapi import complete

__all__ = ["TokenStore", "create_app", "MAX_BODY_BYTES"]

log = logging.getLogger("chatlens.server")

MAX_BODY_BYTES = 1_048_576
BODY_TIMEOUT = 30.0

_BODY_FIELDS = {
    "create_conversation": {"name", "private", "members"},
    "update_conversation": {"name", "private", "members"},
    "create_message": {"text", "sender", "parent", "raw"},
    "update_message": {"text"},
}


class TokenStore:
    """Bearer tokens per account, kept only as SHA-256 hashes.

    Examples
    --------
    >>> store = TokenStore()
    >>> token = store.issue("acme-slack")
    >>> store.account_for(token), store.account_for("wrong")
    ('acme-slack', None)
    >>> token in repr(store)
    False
    """

    def __init__(self) -> None:
        self._hashes: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()

    def issue(self, account_id: str) -> str:
        """A new token for ``account_id``; the store keeps only its hash."""
        token = "cl_" + secrets.token_urlsafe(32)
        self.add(account_id, token)
        return token

    def add(self, account_id: str, token: str) -> None:
        """Accept an existing token (e.g. from an environment variable) for ``account_id``."""
        with self._lock:
            self._hashes[self._hash(token)] = account_id

    def account_for(self, token: str) -> str | None:
        """The account a token belongs to, or None."""
        digest = self._hash(token)
        # Look up by hash, then compare in constant time so timing says nothing about near misses.
        account = self._hashes.get(digest)
        if account is not None and hmac.compare_digest(digest, self._hash(token)):
            return account
        return None

    def __repr__(self) -> str:
        return f"<TokenStore {len(self._hashes)} token(s)>"


class _RateLimiter:
    """A token bucket per API token: ``rate`` requests a second, bursts up to ``max(1, rate)``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_needed(self, key: str) -> float:
        """0 if the request may go now (and takes a token), else the seconds until it could."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route (and its dependencies) declares."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class _WithUserLinks:
    """A served view whose answers' user objects (conversation members, message senders, member listings) carry
    the ``href`` of their Team API user, as Kloudless objects do (its SDK builds a wrong one from an object
    without it). Derived here, once for every backend, and never stored: events keep no href."""

    _LINKED = frozenset(
        {
            "list_conversations",
            "create_conversation",
            "retrieve_conversation",
            "update_conversation",
            "list_members",
            "list_messages",
            "create_message",
            "retrieve_message",
            "update_message",
            "list_events",
        }
    )

    def __init__(self, api: ChatAPI, users_href: str) -> None:
        self._api, self._users_href = api, users_href

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._api, name)
        if name not in self._LINKED:
            return value
        return lambda *args, **kwargs: self._linked(value(*args, **kwargs))

    def _user(self, user: Any) -> Any:
        if isinstance(user, dict) and isinstance(user.get("id"), str) and "href" not in user:
            return {**user, "href": self._users_href + quote(user["id"], safe="")}
        return user

    def _linked(self, obj: Any) -> Any:
        if not isinstance(obj, dict):
            return obj
        kind = obj.get("type")
        if isinstance(obj.get("objects"), list):  # a page, of any kind of object
            return {**obj, "objects": [self._linked(o) for o in obj["objects"]]}
        if kind == "conversation" and isinstance(obj.get("members"), list):
            return {**obj, "members": [self._user(u) for u in obj["members"]]}
        if kind == "message" and "sender" in obj:  # an erased message's event keeps no sender
            return {**obj, "sender": self._user(obj["sender"])}
        if kind == "user":
            return self._user(obj)
        if isinstance(obj.get("metadata"), dict):  # an event: the object it is about
            return {**obj, "metadata": self._linked(obj["metadata"])}
        return obj


def _json(data: Any, status: int = 200, request_id: str | None = None) -> Response:
    headers = {"X-Request-Id": request_id} if request_id else None
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def _bound_url(request: Request) -> str:
    """``http://host:port`` of the socket that took the request (the ASGI ``server``), whatever the client says."""
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"


def check_public_url(url: str | None) -> str | None:
    """``url`` without a trailing slash, or ValueError unless it is an absolute http(s) URL with no query."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"public_url: expected http(s)://host[:port][/path], got {url!r}")
    return url.rstrip("/")


def _error_response(err: ChatError, request_id: str) -> Response:
    body = err.to_dict()
    body["id"] = request_id
    headers = {"X-Request-Id": request_id}
    if isinstance(err, RateLimited) and err.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(err.retry_after)))
    if isinstance(err, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    return Response(orjson.dumps(body), status_code=err.status_code, media_type="application/json", headers=headers)


def create_app(
    resolve_account: Callable[[str], ChatAPI],
    tokens: TokenStore,
    *,
    public_url: str | None = None,
    rate_limit: float | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
) -> FastAPI:
    """The wire-protocol app.

    Parameters
    ----------
    resolve_account
        ``account_id -> ChatAPI``; raises :class:`~chatlens.errors.NotFound` for an unknown account. Called per
        request, so accounts added to a workspace later are served without a restart.
    tokens
        Which bearer token may use which account.
    public_url
        The server's base URL for ``href`` (e.g. ``https://chat.example.org``); default: the address the server
        is bound to. Never taken from a request's ``Host`` or ``X-Forwarded-*`` headers, which any client sets.
    rate_limit
        Requests per second per token; over it, 429 with ``Retry-After``. None: no limit.
    max_body_bytes
        Larger request bodies get 413 before they are parsed.
    body_timeout
        Seconds a request body may take to arrive; slower ones get 408.

    Examples
    --------
    >>> from chatlens.backends.sqlite import Workspace
    >>> ws = Workspace(":memory:")
    >>> app = create_app(ws.account, TokenStore())
    >>> sorted(r.path for r in app.routes if "events" in r.path)
    ['/v1/accounts/{account_id}/events', '/v1/accounts/{account_id}/events/latest']
    """
    app = FastAPI(
        title="chatlens Chat API",
        version="1",
        description="The Kloudless Chat API wire protocol, served by chatlens.",
        docs_url=None,
        redoc_url=None,
    )
    generated_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generated_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    public_url = check_public_url(public_url)
    if rate_limit is not None and not (math.isfinite(rate_limit) and rate_limit > 0):
        raise ValueError(f"rate_limit must be a finite number above 0, got {rate_limit}")
    limiter = _RateLimiter(rate_limit) if rate_limit else None

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[..., Any]) -> Response:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
        response = await call_next(request)
        response.headers.setdefault("X-Request-Id", rid)
        return response

    def rid(request: Request) -> str:
        return getattr(request.state, "request_id", "") or uuid.uuid4().hex

    @app.exception_handler(ChatError)
    async def chat_error(request: Request, exc: ChatError) -> Response:
        return _error_response(exc, rid(request))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body")) or "request"
        return _error_response(InvalidRequest(f"{field}: {first.get('msg', 'invalid')}"), rid(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_parameters")
        message = f"{request.method} {request.url.path}: {exc.detail}"
        err = ChatError(message, status_code=exc.status_code, error_code=code)
        response = _error_response(err, rid(request))
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            # Starlette names only the first route of the path; a path's routes are one resource.
            response.headers["Allow"] = ", ".join(allowed_methods(request.scope))
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = rid(request)
        log.exception("request %s %s failed (request id %s)", request.method, request.url.path, request_id)
        return _error_response(ServiceError(f"internal error; request id {request_id}"), request_id)

    def allowed_methods(scope: dict[str, Any]) -> list[str]:
        methods: set[str] = set()
        for route in app.router.routes:
            regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
            if regex is not None and route_methods and regex.match(scope["path"]):
                methods |= set(route_methods)
        return sorted(methods)

    # -- dependencies -----------------------------------------------------------------------------------------
    def account(request: Request, account_id: str) -> ChatAPI:
        route = request.scope.get("route")
        if route is not None:
            # An unknown query parameter is refused, not ignored: `pagesize=100` silently giving 10 is a worse bug.
            accepted = _query_names(route.dependant)
            unknown = sorted(set(request.query_params) - accepted)
            if unknown:
                raise InvalidRequest(f"query: unknown parameter {unknown[0]!r} (accepted: {sorted(accepted)})")
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "apikey") or not token.strip():
            raise AuthenticationError("missing credentials: send Authorization: Bearer <token>")
        owner = tokens.account_for(token.strip())
        if owner is None:
            raise AuthenticationError("the token is not valid for this server")
        if limiter is not None:
            wait = limiter.wait_needed(owner + ":" + TokenStore._hash(token.strip()))
            if wait > 0:
                raise RateLimited(f"rate limit of {rate_limit:g} requests/s exceeded", retry_after=wait)
        if account_id != "me" and account_id != owner:
            raise PermissionDenied(f"this token may not access account {account_id!r}")
        # A view per request: the served backend is never changed (a Host header must not set another client's
        # hrefs). The response is serialised by orjson, which embeds raw JSON fragments as they are.
        base = public_url or _bound_url(request)
        view = resolve_account(owner).served_view(href_base=base, raw_as_json_fragment=True)
        return _WithUserLinks(view, f"{base}/v1/accounts/{quote(view.account_id, safe='')}/team/users/")

    async def body(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise PayloadTooLarge(f"request body of {declared} bytes is over the limit of {max_body_bytes}")
        chunks, size = [], 0
        try:
            async with asyncio.timeout(body_timeout):  # a body trickled in byte by byte holds a worker
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_body_bytes:
                        raise PayloadTooLarge(f"request body is over the limit of {max_body_bytes} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise ChatError(
                f"request body not received within {body_timeout:g} s", status_code=408, error_code="request_timeout"
            ) from None
        data = b"".join(chunks)
        if not data.strip():
            return {}
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(f"body: send it as application/json, not {media or 'without a Content-Type'}")
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest(f"body: not valid JSON ({exc.msg})") from None
        if not isinstance(parsed, dict):
            raise InvalidRequest("body: must be a JSON object")
        # Bounded before anything sees it: a value nested too deep for the encoder would be stored, and then
        # every later read of it (a retrieve, an events page) would fail.
        return check_json_depth(parsed, "body")

    def fields(operation: str, data: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - _BODY_FIELDS[operation])
        if unknown:
            raise InvalidRequest(f"body: unknown field {unknown[0]!r} (accepted: {sorted(_BODY_FIELDS[operation])})")
        # No field of the wire protocol takes null (the OpenAPI document gives each a type): a null is a mistake
        # to name, not a way to ask for the default.
        nulls = sorted(k for k, v in data.items() if v is None)
        if nulls:
            raise InvalidRequest(f"{nulls[0]}: must not be null (leave it out for the default)")
        if not data and operation.startswith("update_"):
            raise InvalidRequest(f"body: nothing to update (accepted: {sorted(_BODY_FIELDS[operation])})")
        return data

    def paging(page_size: str | None, page: str | None) -> dict[str, Any]:
        # Passed through as given: the backend validates page_size (1..1000, default 10, decimal strings accepted)
        # and page tokens, so every backend answers bad values the same way.
        out: dict[str, Any] = {}
        if page_size is not None:
            out["page_size"] = page_size
        if page is not None:
            out["page"] = page
        return out

    def in_conversation(api: ChatAPI, conversation_id: str, message_id: str) -> dict[str, Any]:
        """The message, if it is in the conversation the path names: a nested route never reaches another's."""
        try:
            msg = api.retrieve_message(message_id)
        except PermissionDenied as exc:  # e.g. Slack admin accounts, which update and delete but never retrieve
            raise PermissionDenied(
                f"{exc.message}; so a nested route cannot check that message {message_id!r} is in conversation "
                f"{conversation_id!r}: use /messaging/messages/{{message_id}}"
            ) from None
        if msg["conversation_id"] != conversation_id:
            raise NotFound(f"message {message_id!r} does not exist in conversation {conversation_id!r}")
        return msg

    # -- routes -----------------------------------------------------------------------------------------------
    prefix = "/v1/accounts/{account_id}"

    @app.get(prefix)
    def get_account(request: Request, api: ChatAPI = Depends(account)) -> Response:
        info = {"id": api.account_id, "service": api.service, "admin": api.admin, "type": "account", "api": "meta"}
        return _json(info)

    for noun in ("conversations", "conversation"):
        base = f"{prefix}/messaging/{noun}"

        @app.get(base)
        def list_conversations(
            page_size: str | None = None, page: str | None = None, api: ChatAPI = Depends(account)
        ) -> Response:
            return _json(api.list_conversations(**paging(page_size, page)))

        @app.post(base)
        def create_conversation(data: dict = Depends(body), api: ChatAPI = Depends(account)) -> Response:
            data = fields("create_conversation", data)
            if "name" not in data:
                raise InvalidRequest("name: required")
            return _json(api.create_conversation(**data), 201)

        @app.get(base + "/{conversation_id}")
        def retrieve_conversation(conversation_id: str, api: ChatAPI = Depends(account)) -> Response:
            return _json(api.retrieve_conversation(conversation_id))

        @app.patch(base + "/{conversation_id}")
        def update_conversation(
            conversation_id: str, data: dict = Depends(body), api: ChatAPI = Depends(account)
        ) -> Response:
            return _json(api.update_conversation(conversation_id, **fields("update_conversation", data)))

        @app.delete(base + "/{conversation_id}")
        def delete_conversation(conversation_id: str, api: ChatAPI = Depends(account)) -> Response:
            api.delete_conversation(conversation_id)
            return Response(status_code=204)

        @app.get(base + "/{conversation_id}/members")
        def list_members(
            conversation_id: str,
            page_size: str | None = None,
            page: str | None = None,
            api: ChatAPI = Depends(account),
        ) -> Response:
            return _json(api.list_members(conversation_id, **paging(page_size, page)))

        @app.get(base + "/{conversation_id}/messages")
        def list_messages(
            conversation_id: str,
            page_size: str | None = None,
            page: str | None = None,
            api: ChatAPI = Depends(account),
        ) -> Response:
            return _json(api.list_messages(conversation_id, **paging(page_size, page)))

        @app.post(base + "/{conversation_id}/messages")
        def create_message(
            conversation_id: str, data: dict = Depends(body), api: ChatAPI = Depends(account)
        ) -> Response:
            data = fields("create_message", data)
            if "text" not in data:
                raise InvalidRequest("text: required")
            # A client posts as its token's user, as on Slack and Teams; writing history as others is for trusted
            # code in-process (Workspace.add_messages, the importers), never over the wire.
            if data.get("sender") is not None and data["sender"] != api.user_id:
                raise PermissionDenied(
                    f"sender: this token posts as {api.user_id!r}; it may not post as {data['sender']!r}"
                )
            return _json(api.create_message(conversation_id, **data), 201)

        @app.get(base + "/{conversation_id}/messages/{message_id}")
        def retrieve_nested_message(conversation_id: str, message_id: str, api: ChatAPI = Depends(account)) -> Response:
            return _json(in_conversation(api, conversation_id, message_id))

        @app.patch(base + "/{conversation_id}/messages/{message_id}")
        def update_nested_message(
            conversation_id: str, message_id: str, data: dict = Depends(body), api: ChatAPI = Depends(account)
        ) -> Response:
            data = fields("update_message", data)
            if "text" not in data:
                raise InvalidRequest("text: required")
            in_conversation(api, conversation_id, message_id)
            return _json(api.update_message(message_id, **data))

        @app.delete(base + "/{conversation_id}/messages/{message_id}")
        def delete_nested_message(conversation_id: str, message_id: str, api: ChatAPI = Depends(account)) -> Response:
            in_conversation(api, conversation_id, message_id)
            api.delete_message(message_id)
            return Response(status_code=204)

    @app.get(prefix + "/messaging/messages/{message_id}")
    def retrieve_message(message_id: str, api: ChatAPI = Depends(account)) -> Response:
        return _json(api.retrieve_message(message_id))

    @app.patch(prefix + "/messaging/messages/{message_id}")
    def update_message(message_id: str, data: dict = Depends(body), api: ChatAPI = Depends(account)) -> Response:
        data = fields("update_message", data)
        if "text" not in data:
            raise InvalidRequest("text: required")
        return _json(api.update_message(message_id, **data))

    @app.delete(prefix + "/messaging/messages/{message_id}")
    def delete_message(message_id: str, api: ChatAPI = Depends(account)) -> Response:
        api.delete_message(message_id)
        return Response(status_code=204)

    @app.get(prefix + "/events")
    def list_events(
        cursor: str | None = None, page_size: str | None = None, api: ChatAPI = Depends(account)
    ) -> Response:
        kwargs = paging(page_size, None)
        return _json(api.list_events(cursor=cursor, **kwargs))

    @app.get(prefix + "/events/latest")
    def latest_event(api: ChatAPI = Depends(account)) -> Response:
        return _json({"cursor": api.latest_cursor()})

    # -- Team API ---------------------------------------------------------------------------------------------
    @app.get(prefix + "/team/users")
    def list_users(page_size: str | None = None, page: str | None = None, api: ChatAPI = Depends(account)) -> Response:
        return _json(api.list_users(**paging(page_size, page)))

    @app.get(prefix + "/team/users/{user_id}")
    def retrieve_user(user_id: str, api: ChatAPI = Depends(account)) -> Response:
        return _json(api.retrieve_user(user_id))

    @app.get(prefix + "/team/groups")
    def list_groups(page_size: str | None = None, page: str | None = None, api: ChatAPI = Depends(account)) -> Response:
        return _json(api.list_groups(**paging(page_size, page)))

    @app.get(prefix + "/team/groups/{group_id}/members")
    def list_group_members(
        group_id: str, page_size: str | None = None, page: str | None = None, api: ChatAPI = Depends(account)
    ) -> Response:
        return _json(api.list_group_members(group_id, **paging(page_size, page)))

    return app
