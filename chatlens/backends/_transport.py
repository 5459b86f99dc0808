"""The transport every HTTP client of chatlens shares: one retrying session, one Retry-After parser, and one
mapping of transport failures to chatlens exceptions (the wire client, the Slack and the Graph connectors).

The session is a ``requests.Session`` (pooled connections, timeouts) with retries mounted through urllib3's
``Retry`` (:class:`ChatRetry`):

- GET, PATCH (same body) and DELETE are retried on 429, 502, 503, 504, dropped connections and connect errors,
  with exponential backoff and jitter, honouring ``Retry-After`` (capped);
- POST is retried only when the server certainly did not process it: a 429, or a connection refused before the
  request was sent. A POST that failed any other way raises, so a message is never created twice.

``raise_on_status=False`` lets the final response reach the client's own status mapping (each protocol words its
errors differently), so urllib3 never raises its own ``RetryError`` for a status. The token lives only in the
session's auth object, whose repr hides it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import ChatError, RateLimited, ServiceError

__all__ = [
    "RETRY_STATUSES",
    "ChatRetry",
    "HoldsToken",
    "retry_after",
    "retrying_session",
    "scrubbing_token",
    "transport_error",
]

F = TypeVar("F", bound=Callable[..., Any])

RETRY_STATUSES = (429, 502, 503, 504)


class ChatRetry(Retry):
    """urllib3 ``Retry`` that may retry a POST only on 429 (a refused connection is always safe to retry)."""

    DEFAULT_ALLOWED_METHODS = frozenset({"GET", "HEAD", "PATCH", "DELETE", "PUT", "OPTIONS"})

    def __init__(self, *args: Any, max_retry_after: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> ChatRetry:
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        return new

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            # The server answered 429 before doing anything: the one status after which a POST is safe to resend.
            return status_code == 429 and bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.max_retry_after)


class _BearerAuth(requests.auth.AuthBase):
    """Adds the bearer token to each request; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        self.__token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.__token}"
        return request

    def __repr__(self) -> str:
        return "<bearer token hidden>"

    def __reduce__(self) -> Any:
        # A pickled client would carry its token to wherever the bytes go (a cache, a process pool, a log).
        raise TypeError("a chatlens client holds a bearer token and cannot be pickled; connect again where needed")

    def scrub(self, err: ChatError) -> None:
        """Take the token out of an error's message, where a server echoed it (e.g. the Authorization header)."""
        token = self.__token
        if token in err.message or any(token in str(a) for a in err.args):
            err.message = err.message.replace(token, "[token]")
            err.args = tuple(str(a).replace(token, "[token]") for a in err.args) or (err.message,)


class HoldsToken:
    """Mixed into every client with a bearer token: it refuses to be pickled, saying why (a pickle would carry the
    token wherever the bytes go)."""

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} holds a bearer token and cannot be pickled; connect again where it is needed"
        )


def scrubbing_token(method: F) -> F:
    """Decorate a client's request method: any chatlens error it raises has the client's own token taken out of
    its message, whatever the server put there, before it reaches a log, a notebook or stderr."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ChatError as err:
            auth = getattr(getattr(self, "session", None), "auth", None)
            if isinstance(auth, _BearerAuth):
                auth.scrub(err)
            raise

    return wrapper  # type: ignore[return-value]


def retrying_session(
    token: str,
    *,
    retries: int,
    backoff_factor: float,
    max_retry_after: float,
    headers: Mapping[str, str] | None = None,
    pool: tuple[int, int] = (2, 8),
) -> requests.Session:
    """A ``requests`` session with the bearer token (hidden from reprs) and chatlens' retry policy
    (:class:`ChatRetry`: connection failures, 429 and 5xx in RETRY_STATUSES, ``Retry-After`` honoured up to
    ``max_retry_after``), shared by the wire client and the service connectors."""
    retry = ChatRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff_factor,
        backoff_max=30,
        backoff_jitter=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        max_retry_after=max_retry_after,
    )
    session = requests.Session()
    session.auth = _BearerAuth(token)
    session.headers.update({"User-Agent": "chatlens", **(headers or {})})
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool[0], pool_maxsize=pool[1])
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def retry_after(response: requests.Response) -> float | None:
    """The seconds a response's ``Retry-After`` asks to wait: delay-seconds or an HTTP-date (RFC 9110, 10.2.3);
    None when there is none or it cannot be read.

    Examples
    --------
    >>> r = requests.Response()
    >>> r.headers["Retry-After"] = "30"
    >>> retry_after(r)
    30.0
    >>> r.headers["Retry-After"] = "soon"
    >>> retry_after(r) is None
    True
    """
    header = (response.headers.get("Retry-After") or "").strip()
    if not header:
        return None
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def transport_error(exc: requests.RequestException, what: str, *, write: bool) -> ChatError:
    """The chatlens exception for a request that got no usable answer, the same for every client: retries used
    up on refusals (429, 5xx) are :class:`~chatlens.errors.RateLimited`; anything else (refused, reset, timed out)
    is :class:`~chatlens.errors.ServiceError`, saying whether a write may have been applied.

    Examples
    --------
    >>> print(transport_error(requests.ConnectionError("refused"), "POST /messages", write=True))
    POST /messages: connection failed: ConnectionError (the request may or may not have been applied)
    """
    if isinstance(exc, requests.exceptions.RetryError):
        return RateLimited(f"{what}: still refused after retries (throttled or unavailable)")
    hint = " (the request may or may not have been applied)" if write else ""
    return ServiceError(f"{what}: connection failed: {type(exc).__name__}{hint}")
