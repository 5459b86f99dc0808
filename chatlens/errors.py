"""The chatlens exception tree.

Every failure that comes from a chat service, a chatlens server or a backend raises one of these, carrying the
Kloudless error fields (``status_code``, ``error_code``, ``message``, ``id``)::

    ChatError
    ├── InvalidRequest        400  invalid_parameters   (the bad field is named in the message)
    ├── AuthenticationError   401  unauthorized
    ├── PermissionDenied      403  forbidden            (also: a service rule refuses the operation)
    ├── NotFound              404  not_found
    ├── Conflict              409  conflict
    ├── PayloadTooLarge       413  payload_too_large
    ├── UnsupportedMediaType  415  unsupported_media_type (a body that is not sent as JSON)
    ├── RateLimited           429  rate_limited         (``retry_after`` seconds)
    └── ServiceError          5xx  service_error        (also: a body that is not the JSON we expected)

Wrong Python arguments (a ``page_size`` that is not an int, say) raise ``TypeError``/``ValueError`` only where the
value never reaches the Chat API; anything the Chat API itself validates raises :class:`InvalidRequest`, so the
embedded backend and a remote server fail the same way.

Messages never contain a token or an Authorization header.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "ChatError",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServiceError",
    "UnsupportedMediaType",
    "error_from_status",
]


class ChatError(Exception):
    """Base class of every chatlens Chat API error."""

    status_code: int = 500
    error_code: str = "service_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        id: str | None = None,  # noqa: A002 - the Kloudless field name
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if error_code is not None:
            self.error_code = error_code
        self.id = id

    def to_dict(self) -> dict[str, Any]:
        """The Kloudless error body: ``{status_code, error_code, message, id}``."""
        return {
            "status_code": self.status_code,
            "error_code": self.error_code,
            "message": self.message,
            "id": self.id,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code} {self.error_code}: {self.message!r})"


class InvalidRequest(ChatError):
    """A parameter is missing, malformed or out of range (400)."""

    status_code = 400
    error_code = "invalid_parameters"


class AuthenticationError(ChatError):
    """No credentials, or credentials the server does not accept (401)."""

    status_code = 401
    error_code = "unauthorized"


class PermissionDenied(ChatError):
    """Valid credentials that may not do this: another account, or a service rule (403)."""

    status_code = 403
    error_code = "forbidden"


class NotFound(ChatError):
    """The account, conversation, message or user does not exist (404)."""

    status_code = 404
    error_code = "not_found"


class Conflict(ChatError):
    """The request conflicts with the current state, e.g. a duplicate name (409)."""

    status_code = 409
    error_code = "conflict"


class PayloadTooLarge(ChatError):
    """The request body is larger than the server accepts (413)."""

    status_code = 413
    error_code = "payload_too_large"


class UnsupportedMediaType(ChatError):
    """The request body is not sent as ``application/json`` (415)."""

    status_code = 415
    error_code = "unsupported_media_type"


class RateLimited(ChatError):
    """Too many requests; wait ``retry_after`` seconds (429)."""

    status_code = 429
    error_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceError(ChatError):
    """The server or service failed, or answered with something that is not the expected JSON (5xx)."""

    status_code = 500
    error_code = "service_error"


_BY_STATUS: dict[int, type[ChatError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}


def error_from_status(
    status_code: int,
    message: str,
    *,
    error_code: str | None = None,
    id: str | None = None,  # noqa: A002
    retry_after: float | None = None,
) -> ChatError:
    """Build the exception that a status code stands for.

    Examples
    --------
    >>> err = error_from_status(404, "conversation 'C9' does not exist")
    >>> type(err).__name__, err.error_code
    ('NotFound', 'not_found')
    """
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = InvalidRequest if 400 <= status_code < 500 else ServiceError
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, status_code=status_code, error_code=error_code, id=id)
    return cls(message, status_code=status_code, error_code=error_code, id=id)
