"""Paging, the same for every backend and listing: page sizes, opaque page tokens, list pages, and walking them
(:func:`iter_pages` yields pages, :func:`iter_items` their objects; a repeated cursor raises, never loops)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ..errors import InvalidRequest, ServiceError

DEFAULT_PAGE_SIZE = 10

MAX_PAGE_SIZE = 1000
#: Slack's limits, which every backend applies so a conversation or message is portable between services.

Page = dict[str, Any]

#: The columns of :meth:`ChatAPI.message_tables`: a message's wire fields, normalised, one column each. Times are
#: microseconds in UTC; ``parent`` is null for a root; ``raw`` (the service's object as JSON text) only when asked.


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


_TOKEN_PREFIX = "p1."


def encode_page_token(kind: str, key: list[Any]) -> str:
    """An opaque page token that resumes a ``kind`` listing after ``key`` (a keyset position)."""
    body = orjson.dumps([kind, key])
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")


_INT64 = (-(2**63), 2**63 - 1)
_MAX_KEY_TEXT = 1024
# The longest token a valid key makes: its text JSON-escaped (up to 6 bytes a character), an int and the kind
# (64 bytes), in base64. A longer string is refused before it is decoded.
_MAX_TOKEN = len(_TOKEN_PREFIX) + 4 * ((6 * _MAX_KEY_TEXT + 64) // 3 + 1)
#: The longest page token any allowed key makes (what a server may document as the ``page`` parameter's maximum).
MAX_TOKEN_LENGTH = _MAX_TOKEN


def decode_page_token(kind: str, token: str, shape: tuple[type, ...]) -> list[Any]:
    """The keyset position a token from :func:`encode_page_token` holds, checked against ``shape`` (the type of
    each value: ``int`` within 64 bits, ``str`` of at most 1,024 characters); InvalidRequest naming ``page`` for any
    other string, so a forged token is a 400 and never reaches a query.

    Examples
    --------
    >>> decode_page_token("members", encode_page_token("members", ["U2"]), (str,))
    ['U2']
    >>> decode_page_token("messages", encode_page_token("messages", [2**63, "m1"]), (int, str))
    Traceback (most recent call last):
    ...
    chatlens.errors.InvalidRequest: page: '...' is not a page token issued for this messages listing
    """
    bad = InvalidRequest(f"page: {token!r} is not a page token issued for this {kind} listing")
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX) or len(token) > _MAX_TOKEN:
        raise bad
    data = token[len(_TOKEN_PREFIX) :]
    try:
        got_kind, key = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (ValueError, TypeError):
        raise bad from None
    if got_kind != kind or not isinstance(key, list) or len(key) != len(shape):
        raise bad
    for value, expected in zip(key, shape):
        if expected is int:
            ok = type(value) is int and _INT64[0] <= value <= _INT64[1]  # bool is not an int here
        elif expected is str:
            ok = type(value) is str and len(value) <= _MAX_KEY_TEXT
        else:
            ok = isinstance(value, expected)
        if not ok:
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
        (after,) = decode_page_token(kind, page, (str,))
    rest = sorted((i for i in items if after is None or i["id"] > after), key=lambda i: i["id"])
    chosen = rest[:page_size]
    return chosen, encode_page_token(kind, [chosen[-1]["id"]]) if len(rest) > page_size else None
