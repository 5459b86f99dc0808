"""Paging as every backend shares it (chatlens.chatapi.paging): page sizes, page tokens, keyset slices of whole
lists, and walking pages (issue 24: the connectors' slices and the walk's guards were only reached through
backends, at one page size)."""

from __future__ import annotations

import base64
import random

import pytest

from chatlens.chatapi.paging import (
    MAX_PAGE_SIZE,
    check_page_size,
    decode_page_token,
    encode_page_token,
    iter_items,
    iter_pages,
    list_page,
    slice_by_id,
    team_page,
)
from chatlens.errors import InvalidRequest, ServiceError

# --- slice_by_id: keyset paging over a whole list -------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 2, 7, 1000])
@pytest.mark.parametrize("n", [0, 1, 14, 15])
def test_slice_by_id_pages_give_every_item_once_by_id(n, page_size):
    ids = [f"U{i:03d}" for i in random.Random(n).sample(range(500), n)]  # given in no particular order
    items = [{"id": i, "name": f"user {i}"} for i in ids]
    pages, token = [], None
    while True:
        chosen, token = slice_by_id(items, "users", page_size, token)
        pages.append(chosen)
        if token is None:
            break
        assert len(pages) <= n, "more pages than items"
    assert [i["id"] for p in pages for i in p] == sorted(ids)
    assert [i for p in pages for i in p] == sorted(items, key=lambda i: i["id"])
    # Full pages but the last; a size dividing n ends on a full page that already says nothing follows.
    full, rest = divmod(n, page_size)
    want = [page_size] * full + ([rest] if rest else [])
    assert [len(p) for p in pages] == (want or [0])  # nothing at all is one empty page


def test_slice_by_id_token_resumes_after_the_last_item_given():
    items = [{"id": i} for i in "dcba"]
    first, token = slice_by_id(items, "users", 2, None)
    assert [i["id"] for i in first] == ["a", "b"]
    assert decode_page_token("users", token, (str,)) == ["b"]
    # An item inserted before the token's position is not seen; one after it is, and nothing repeats.
    later = [*items, {"id": "a0"}, {"id": "bb"}]
    rest, end = slice_by_id(later, "users", 2, token)
    assert [i["id"] for i in rest] == ["bb", "c"] and end is not None
    assert [i["id"] for i in slice_by_id(later, "users", 2, end)[0]] == ["d"]


def test_slice_by_id_checks_its_size_and_token():
    with pytest.raises(InvalidRequest, match="page_size"):
        slice_by_id([{"id": "a"}], "users", 0, None)
    with pytest.raises(InvalidRequest, match="page"):
        slice_by_id([{"id": "a"}], "users", 1, encode_page_token("groups", ["a"]))


def _raw_token(json_text: str) -> str:
    return "p1." + base64.urlsafe_b64encode(json_text.encode()).rstrip(b"=").decode()


# --- page sizes and tokens ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "want"), [(1, 1), (1000, 1000), ("7", 7), ("1000", 1000), ("0001", 1), ("000000007", 7)]
)
def test_page_sizes_taken(given, want):
    got = check_page_size(given)
    assert got == want and type(got) is int


@pytest.mark.parametrize(
    "bad",
    [
        0,
        -1,
        1001,
        MAX_PAGE_SIZE + 1,
        True,
        False,
        1.0,
        None,
        "",
        "0",
        "1001",
        " 5",
        "5 ",
        "١٠",
        "+5",
        "1e3",
        "0000000007",
    ],
)
def test_page_sizes_refused(bad):
    # A query-string value is read only as up to nine ASCII digits: longer ones are refused unread.
    with pytest.raises(InvalidRequest, match=r"page_size: must be an integer from 1 to 1000, got"):
        check_page_size(bad)


@pytest.mark.parametrize("char", ["a", "é", "字", "😀", "\x01"])
def test_a_token_for_any_key_text_of_1024_characters_is_taken_back(char):
    # Up to 1,024 characters of key text are allowed, whatever they are: non-ASCII ones take 2-4 bytes and
    # control characters are JSON-escaped to 6, so such a token is longer than 4,096 characters.
    key = [-(2**63), char * 1024]
    token = encode_page_token("slack-group-members", key)
    assert decode_page_token("slack-group-members", token, (int, str)) == key


def test_page_tokens_round_trip_and_name_their_listing():
    token = encode_page_token("messages", [2**63 - 1, "m" * 1024])
    assert token.startswith("p1.") and "=" not in token
    assert decode_page_token("messages", token, (int, str)) == [2**63 - 1, "m" * 1024]
    assert decode_page_token("messages", encode_page_token("messages", [-(2**63), ""]), (int, str)) == [-(2**63), ""]


@pytest.mark.parametrize(
    "token",
    [
        encode_page_token("conversations", [1, "c"]),  # another listing's
        encode_page_token("messages", [1]),  # too short
        encode_page_token("messages", [1, "c", 2]),  # too long
        encode_page_token("messages", ["1", "c"]),  # a string for the int
        encode_page_token("messages", [True, "c"]),  # a bool is not an int here
        encode_page_token("messages", [2**63, "c"]),  # beyond 64 bits
        _raw_token('["messages", [-9223372036854775809, "c"]]'),  # below 64 bits (orjson cannot write it)
        encode_page_token("messages", [1, "c" * 1025]),  # key text too long
        encode_page_token("messages", [1, 2]),
        encode_page_token("messages", {"a": 1}),
        "p1.!!!",
        "p2." + encode_page_token("messages", [1, "c"])[3:],
        "p1." + "A" * 20_000,  # longer than any key makes
        "",
        7,
    ],
)
def test_forged_page_tokens_are_refused(token):
    with pytest.raises(InvalidRequest, match=r"page: .* is not a page token issued for this messages listing"):
        decode_page_token("messages", token, (int, str))


def test_list_pages_count_their_objects():
    page = list_page([{"id": "a"}, {"id": "b"}], "p1.x", None)
    assert page == {
        "count": 2,
        "page": "p1.x",
        "next_page": None,
        "objects": [{"id": "a"}, {"id": "b"}],
        "type": "object_list",
        "api": "messaging",
    }
    assert team_page([], None, "p1.y") == {**list_page([], None, "p1.y"), "api": "team"}


# --- walking pages ----------------------------------------------------------------------------------------------------


class Listing:
    """A listing answering from a list of pages; records every call."""

    def __init__(self, pages: list[dict]) -> None:
        self.pages, self.calls = pages, []

    def __call__(self, *args, page_size, page, **kwargs):
        self.calls.append((args, page_size, page, kwargs))
        return self.pages[len(self.calls) - 1]


def _pages(*sizes: int, tokens: list[str | None] | None = None) -> list[dict]:
    out, k = [], 0
    tokens = tokens or [f"t{i + 1}" for i in range(len(sizes) - 1)] + [None]
    for size, token in zip(sizes, tokens, strict=True):
        out.append(list_page([{"id": f"o{k + j}"} for j in range(size)], None, token))
        k += size
    return out


def test_iter_pages_follows_tokens_to_the_last_page():
    listing = Listing(_pages(2, 2, 1))
    pages = list(iter_pages(listing, "C1", page_size=2, extra="x"))
    assert pages == listing.pages
    assert listing.calls == [
        (("C1",), 2, None, {"extra": "x"}),
        (("C1",), 2, "t1", {"extra": "x"}),
        (("C1",), 2, "t2", {"extra": "x"}),
    ]


def test_iter_pages_stops_at_an_empty_last_page_and_on_an_empty_token():
    assert len(list(iter_pages(Listing(_pages(2, 0)), page_size=2))) == 2
    assert len(list(iter_pages(Listing(_pages(2, 1, tokens=["", None])), page_size=2))) == 1


def test_iter_pages_refuses_a_repeated_token():
    listing = Listing(_pages(1, 1, 1, 1, tokens=["a", "b", "a", None]))
    walked = iter_pages(listing, page_size=1)
    assert [p["objects"][0]["id"] for p in [next(walked), next(walked), next(walked)]] == ["o0", "o1", "o2"]
    with pytest.raises(ServiceError, match="repeated a page token"):
        next(walked)
    assert len(listing.calls) == 3  # raised before asking for the page again


def test_iter_pages_refuses_an_empty_page_that_claims_more():
    listing = Listing(_pages(1, 0, 1))
    walked = iter_pages(listing, page_size=1)
    assert next(walked)["count"] == 1 and next(walked)["count"] == 0
    with pytest.raises(ServiceError, match="empty page with a next_page"):
        next(walked)
    assert len(listing.calls) == 2


@pytest.mark.parametrize(
    ("limit", "want", "calls"),
    [(None, 5, 3), (5, 5, 3), (6, 5, 3), (4, 4, 2), (2, 2, 1), (1, 1, 1), (0, 0, 0), (-1, 0, 0)],
)
def test_iter_items_flattens_pages_up_to_limit(limit, want, calls):
    listing = Listing(_pages(2, 2, 1))
    got = list(iter_items(listing, page_size=2, limit=limit))
    assert [o["id"] for o in got] == [f"o{i}" for i in range(want)]
    assert len(listing.calls) == calls  # no page fetched beyond the limit


def test_walk_errors_name_the_listing():
    pages = iter(_pages(1, 1, tokens=["a", "a"]))

    def list_widgets(*, page_size, page):
        return next(pages)

    with pytest.raises(ServiceError, match=r"^list_widgets: the server repeated a page token; stopping"):
        list(iter_pages(list_widgets, page_size=1))
    with pytest.raises(ServiceError, match=r"^listing: empty page with a next_page token"):
        list(iter_pages(Listing(_pages(0, 1)), page_size=1))  # something without a name is "listing"
