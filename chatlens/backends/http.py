"""The HTTP client backend: the Chat API against any server speaking the Kloudless wire protocol.

The session (pooled connections, retries, the hidden token) is :func:`chatlens.backends._transport.retrying_session`,
shared with the service connectors; a request that gets no usable answer fails through the one
:func:`~chatlens.backends._transport.transport_error`. :func:`raise_for_status` is the one place where the wire
protocol's status codes become chatlens exceptions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import requests

from ..chatapi import DEFAULT_PAGE_SIZE, ChatAPI, check_page_size
from ..errors import InvalidRequest, ServiceError, error_from_status
from ._signals import conversation_kind, message_extensions, message_signals
from ._transport import ChatRetry, HoldsToken, retry_after, retrying_session, scrubbing_token, transport_error

__all__ = ["HttpChatAPI", "ChatRetry", "raise_for_status", "retrying_session", "from_config"]

log = logging.getLogger("chatlens.http")


def raise_for_status(response: requests.Response, what: str) -> None:
    """Raise the chatlens exception for an error response; ``what`` names the request (method and path).

    Examples
    --------
    >>> r = requests.Response()
    >>> r.status_code, r._content = 404, b'{"status_code": 404, "error_code": "not_found", "message": "gone"}'
    >>> raise_for_status(r, "GET /v1/accounts/a/messaging/messages/m")
    Traceback (most recent call last):
    ...
    chatlens.errors.NotFound: GET /v1/accounts/a/messaging/messages/m -> 404 not_found: gone
    """
    status = response.status_code
    if status < 400:
        return
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error_code") or "")
        message = str(body.get("message") or response.reason or "")
        request_id = body.get("id")
    else:
        code, message, request_id = "", f"non-JSON error body ({len(response.content)} bytes)", None
    err = error_from_status(status, "", error_code=code or None, id=request_id, retry_after=retry_after(response))
    err.message = f"{what} -> {status} {err.error_code}: {message}"
    err.args = (err.message,)
    raise err


class HttpChatAPI(HoldsToken, ChatAPI):
    """The Chat API of one account on a wire-protocol server (e.g. ``chatlens serve``).

    Parameters
    ----------
    base_url
        The server, e.g. ``http://127.0.0.1:8765`` (with or without ``/v1``).
    account_id
        The account, or ``"me"`` for the token's own account.
    token
        The bearer token; never shown in reprs, errors or logs.
    timeout
        ``(connect, read)`` seconds.
    retries
        How many retries a request may take in all.
    backoff_factor, max_retry_after
        Backoff between retries (seconds, doubled each time, with jitter) and the cap on ``Retry-After``.

    Examples
    --------
    >>> from chatlens.server import ServerThread
    >>> from chatlens.backends.sqlite import Workspace
    >>> from chatlens.demo import demo_workspace_path
    >>> with ServerThread(Workspace(demo_workspace_path()).account) as server:
    ...     api = HttpChatAPI(server.url, "acme-slack", server.issue("acme-slack"))
    ...     (api.service, api.list_conversations(page_size=2)["count"])
    ('slack', 2)
    """

    def __init__(
        self,
        base_url: str,
        account_id: str,
        token: str,
        *,
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 5,
        backoff_factor: float = 0.5,
        max_retry_after: float = 60.0,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError("token: a non-empty bearer token is required")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url: expected http(s)://host[:port], got {base_url!r}")
        root = base_url.rstrip("/")
        self.base_url = root[: -len("/v1")] if root.endswith("/v1") else root
        self.account_id = account_id
        self.timeout = timeout
        self.retries, self.backoff_factor = retries, backoff_factor
        self._info: dict[str, Any] | None = None
        self.session = retrying_session(
            token,
            retries=retries,
            backoff_factor=backoff_factor,
            max_retry_after=max_retry_after,
            headers={"Accept": "application/json", "X-Kloudless-Raw-Data": "true"},
            pool=(4, 16),
        )
        self._prefix = f"{self.base_url}/v1/accounts/{quote(account_id, safe='')}"

    # -- transport --------------------------------------------------------------------------------------------
    @scrubbing_token
    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        url = self._prefix + path
        what = f"{method} {urlsplit(url).path}"
        data = orjson.dumps(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        # urllib3 retries what fails before a response arrives; a body cut short or garbled on the way is only
        # seen here, and only a GET is certainly safe to send again for it.
        attempts = 1 + (min(self.retries, 3) if method == "GET" else 0)
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                )
            except requests.exceptions.RequestException as exc:
                if not last and not isinstance(exc, requests.exceptions.RetryError):
                    time.sleep(self.backoff_factor * 2**attempt)
                    continue
                raise transport_error(exc, what, write=method != "GET") from None
            raise_for_status(response, what)
            if response.status_code == 204 or method == "DELETE":
                return None
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                if not last:
                    time.sleep(self.backoff_factor * 2**attempt)
                    continue
                raise ServiceError(
                    f"{what} -> {response.status_code}: the body is not complete JSON ({len(response.content)} bytes)"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _account_info(self) -> dict[str, Any]:
        if self._info is None:
            info = self._request("GET", "")
            if not isinstance(info, dict) or info.get("service") not in ("slack", "ms_teams"):
                raise ServiceError(f"GET /v1/accounts/{self.account_id}: not a Chat API account object")
            self._info = info
        return self._info

    @property
    def service(self) -> str:  # type: ignore[override]
        return self._account_info()["service"]

    @property
    def admin(self) -> bool:  # type: ignore[override]
        return bool(self._account_info().get("admin"))

    @property
    def identity(self) -> str:
        return f"http:{self.base_url}#{self.account_id}"

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"<HttpChatAPI {self.base_url} account {self.account_id!r}>"

    @staticmethod
    def _paging(page_size: int, page: str | None) -> dict[str, Any]:
        # Checked here too: requests would silently drop page_size=None and the server would use its default.
        params: dict[str, Any] = {"page_size": check_page_size(page_size)}
        if page is not None:
            params["page"] = page
        return params

    @staticmethod
    def _id(value: Any, field: str) -> str:
        if not isinstance(value, str) or not value:
            raise InvalidRequest(f"{field}: must be a non-empty string, got {value!r}")
        return quote(value, safe="")

    # -- conversations ----------------------------------------------------------------------------------------
    # A server that predates chatlens' normalised fields (or any other Kloudless-style server) sends only the
    # Kloudless object: the fields are then derived here from its raw, as the embedded workspace would.
    def _conversation(self, conv: Any) -> Any:
        if isinstance(conv, dict) and "kind" not in conv and "raw" in conv:
            conv["kind"] = conversation_kind(self.service, conv.get("raw"), bool(conv.get("private")))
        return conv

    def _message(self, msg: Any) -> Any:
        if isinstance(msg, dict) and "is_bot" not in msg and "raw" in msg:
            signals = message_signals(self.service, msg.get("raw"), msg.get("text") or "")
            msg.update(zip(("is_bot", "is_system", "subtype", "mentions"), signals))
        if isinstance(msg, dict) and "reactions" not in msg and "raw" in msg:  # a server older than the extensions
            msg.update(message_extensions(self.service, msg.get("raw")))
        return msg

    def _page_of(self, page: Any, one: Any) -> Any:
        if isinstance(page, dict) and isinstance(page.get("objects"), list):
            for obj in page["objects"]:
                one(obj)
        return page

    def list_conversations(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        listed = self._request("GET", "/messaging/conversations", params=self._paging(page_size, page))
        return self._page_of(listed, self._conversation)

    def create_conversation(
        self, *, name: str, private: bool = False, members: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "private": private}
        if members is not None:
            body["members"] = members
        return self._conversation(self._request("POST", "/messaging/conversations", json=body))

    def retrieve_conversation(self, conversation_id: str) -> dict[str, Any]:
        path = f"/messaging/conversations/{self._id(conversation_id, 'conversation_id')}"
        return self._conversation(self._request("GET", path))

    def update_conversation(
        self,
        conversation_id: str,
        *,
        name: str | None = None,
        private: bool | None = None,
        members: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        body = {k: v for k, v in (("name", name), ("private", private), ("members", members)) if v is not None}
        path = f"/messaging/conversations/{self._id(conversation_id, 'conversation_id')}"
        return self._conversation(self._request("PATCH", path, json=body))

    def delete_conversation(self, conversation_id: str) -> None:
        self._request("DELETE", f"/messaging/conversations/{self._id(conversation_id, 'conversation_id')}")

    def list_members(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        path = f"/messaging/conversations/{self._id(conversation_id, 'conversation_id')}/members"
        return self._request("GET", path, params=self._paging(page_size, page))

    # -- messages ---------------------------------------------------------------------------------------------
    def list_messages(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        path = f"/messaging/conversations/{self._id(conversation_id, 'conversation_id')}/messages"
        return self._page_of(self._request("GET", path, params=self._paging(page_size, page)), self._message)

    def create_message(
        self,
        conversation_id: str,
        *,
        text: str,
        sender: str | None = None,
        parent: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text}
        for key, value in (("sender", sender), ("parent", parent), ("raw", raw)):
            if value is not None:
                body[key] = value
        path = f"/messaging/conversations/{self._id(conversation_id, 'conversation_id')}/messages"
        return self._message(self._request("POST", path, json=body))

    def retrieve_message(self, message_id: str) -> dict[str, Any]:
        return self._message(self._request("GET", f"/messaging/messages/{self._id(message_id, 'message_id')}"))

    def update_message(self, message_id: str, *, text: str) -> dict[str, Any]:
        path = f"/messaging/messages/{self._id(message_id, 'message_id')}"
        return self._message(self._request("PATCH", path, json={"text": text}))

    def delete_message(self, message_id: str) -> None:
        self._request("DELETE", f"/messaging/messages/{self._id(message_id, 'message_id')}")

    # -- activity ---------------------------------------------------------------------------------------------
    def list_events(self, *, cursor: str | None = None, page_size: int = 100) -> dict[str, Any]:
        params: dict[str, Any] = {"page_size": check_page_size(page_size)}
        if cursor is not None:
            params["cursor"] = cursor
        page = self._request("GET", "/events", params=params)
        for event in page.get("objects") or () if isinstance(page, dict) else ():
            if isinstance(event, dict) and event.get("object_type") == "message":
                self._message(event.get("metadata"))
        return page

    def latest_cursor(self) -> str:
        return str(self._request("GET", "/events/latest")["cursor"])

    # -- Team API ---------------------------------------------------------------------------------------------
    def list_users(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        return self._request("GET", "/team/users", params=self._paging(page_size, page))

    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        return self._request("GET", f"/team/users/{self._id(user_id, 'user_id')}")

    def list_groups(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        return self._request("GET", "/team/groups", params=self._paging(page_size, page))

    def list_group_members(
        self, group_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        path = f"/team/groups/{self._id(group_id, 'group_id')}/members"
        return self._request("GET", path, params=self._paging(page_size, page))


def from_config(config: Mapping[str, Any]) -> HttpChatAPI:
    """An :class:`HttpChatAPI` from an accounts-file table (``base_url``, ``account``; ``token`` resolved from
    ``token_env`` by :func:`chatlens.connect`)."""
    for key in ("base_url", "token"):
        if not config.get(key):
            raise ValueError(f"http account: {key if key != 'token' else 'token_env'} is required")
    return HttpChatAPI(str(config["base_url"]), str(config.get("account") or "me"), str(config["token"]))
