"""The HTTP client's retry rules, error mapping and secrecy, against real scripted servers on loopback."""

from __future__ import annotations

import logging
import time

import orjson
import pytest

from chatlens.backends.http import HttpChatAPI
from chatlens.errors import InvalidRequest, NotFound, RateLimited, ServiceError
from tests.servers import ScriptedServer, drop, free_port, reply, truncated

TOKEN = "cl_super-secret-token-value-123456"
PAGE = orjson.dumps(
    {"count": 0, "page": None, "next_page": None, "objects": [], "type": "object_list", "api": "messaging"}
)
MESSAGE = orjson.dumps({"id": "M1", "conversation_id": "C1", "text": "hi"})


def client(url: str, **kw) -> HttpChatAPI:
    kw.setdefault("backoff_factor", 0.01)
    return HttpChatAPI(url, "acme", TOKEN, **kw)


def test_get_retries_429_honouring_retry_after():
    with ScriptedServer([reply(429, b'{"error_code": "rate_limited"}', {"Retry-After": "1"}), reply(200, PAGE)]) as s:
        t0 = time.monotonic()
        assert client(s.url).list_messages("C1")["count"] == 0
        assert time.monotonic() - t0 >= 0.9
    assert s.methods() == ["GET", "GET"]
    assert s.requests[0][2]["Authorization"] == f"Bearer {TOKEN}"


def test_get_retries_503_then_succeeds():
    with ScriptedServer([reply(503), reply(502), reply(200, PAGE)]) as s:
        assert client(s.url).list_conversations()["count"] == 0
    assert s.methods() == ["GET", "GET", "GET"]


def test_get_retries_a_dropped_connection():
    with ScriptedServer([drop(), reply(200, PAGE)]) as s:
        assert client(s.url).list_conversations()["count"] == 0
    assert len(s.requests) == 2


def test_post_is_not_retried_after_503_or_a_drop():
    with ScriptedServer([reply(503, b'{"error_code": "service_error", "message": "busy"}'), reply(201, MESSAGE)]) as s:
        with pytest.raises(ServiceError, match="POST .*/messages -> 503"):
            client(s.url).create_message("C1", text="hi")
    assert s.methods() == ["POST"]
    with ScriptedServer([drop(), reply(201, MESSAGE)]) as s:
        with pytest.raises(ServiceError, match="may or may not have been applied"):
            client(s.url).create_message("C1", text="hi")
    assert s.methods() == ["POST"]


def test_post_is_retried_after_429():
    with ScriptedServer([reply(429, b"{}", {"Retry-After": "0"}), reply(201, MESSAGE)]) as s:
        assert client(s.url).create_message("C1", text="hi")["id"] == "M1"
    assert s.methods() == ["POST", "POST"]


def test_connection_refused_is_retried_then_reported():
    api = client(f"http://127.0.0.1:{free_port()}", retries=2)
    with pytest.raises(ServiceError, match="GET /v1/accounts/acme/messaging/conversations"):
        api.list_conversations()


def test_retries_run_out_into_the_right_exception():
    with ScriptedServer(
        [reply(429, b'{"error_code": "rate_limited", "message": "slow down"}', {"Retry-After": "0"})]
    ) as s:
        with pytest.raises(RateLimited, match="429 rate_limited: slow down") as info:
            client(s.url, retries=2).list_conversations()
    assert info.value.retry_after == 0
    assert len(s.requests) == 3


def test_retry_after_is_capped():
    with ScriptedServer([reply(503, b"{}", {"Retry-After": "3600"}), reply(200, PAGE)]) as s:
        t0 = time.monotonic()
        client(s.url, max_retry_after=0.2).list_conversations()
        assert time.monotonic() - t0 < 5


def test_truncated_and_non_json_bodies_are_service_errors():
    with ScriptedServer([truncated(PAGE * 50)]) as s:
        with pytest.raises(ServiceError, match="GET /v1/accounts/acme/messaging/conversations"):
            client(s.url, retries=0).list_conversations()
    with ScriptedServer([reply(200, b"<html>proxy error</html>")]) as s:
        with pytest.raises(ServiceError, match="not complete JSON"):
            client(s.url).list_conversations()
    with ScriptedServer([reply(404, b"<html>nope</html>")]) as s:
        with pytest.raises(NotFound, match="non-JSON error body"):
            client(s.url).retrieve_message("M1")


def test_error_fields_are_kept():
    body = orjson.dumps(
        {"status_code": 400, "error_code": "invalid_parameters", "message": "text: required", "id": "req-42"}
    )
    with ScriptedServer([reply(400, body)]) as s:
        with pytest.raises(InvalidRequest) as info:
            client(s.url).update_message("M1", text="x")
    err = info.value
    assert (err.status_code, err.error_code, err.id) == (400, "invalid_parameters", "req-42")
    assert err.message == "PATCH /v1/accounts/acme/messaging/messages/M1 -> 400 invalid_parameters: text: required"


def test_token_never_shows(caplog):
    caplog.set_level(logging.DEBUG)
    api = client(f"http://127.0.0.1:{free_port()}", retries=1)
    texts = [repr(api), str(api), repr(api.session.auth), repr(api.session.__dict__), api.identity]
    try:
        api.list_conversations()
    except ServiceError as exc:
        texts += [str(exc), repr(exc)]
    with ScriptedServer([reply(401, b'{"error_code": "unauthorized", "message": "bad token"}')]) as s:
        try:
            client(s.url).list_conversations()
        except Exception as exc:
            texts += [str(exc), repr(exc)]
    texts += [r.getMessage() for r in caplog.records]
    assert len(texts) >= 9
    assert not [t for t in texts if TOKEN in t]


def test_bad_arguments():
    with pytest.raises(ValueError, match="base_url"):
        HttpChatAPI("ftp://x", "a", TOKEN)
    with pytest.raises(ValueError, match="token"):
        HttpChatAPI("http://127.0.0.1:1", "a", "")
    with pytest.raises(InvalidRequest, match="page_size"):
        client("http://127.0.0.1:1").list_messages("C1", page_size=None)
