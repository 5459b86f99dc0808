"""One transport for every HTTP client: the wire client, the Slack and the Graph connectors fail the same way.

Real sockets on loopback: a port nothing listens on, and a server that answers every request 429 with an
HTTP-date ``Retry-After`` (RFC 9110, 10.2.3: the header is delay-seconds or an HTTP-date).
"""

from __future__ import annotations

import pickle
import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
import requests

from chatlens.backends._transport import retry_after
from chatlens.backends.http import HttpChatAPI
from chatlens.backends.slack import SlackChatAPI
from chatlens.backends.teams import TeamsChatAPI
from chatlens.errors import AuthenticationError, RateLimited, ServiceError


def _clients(url: str):
    return {
        "http": HttpChatAPI(url, "a1", "secret-token", retries=0),
        "slack": SlackChatAPI("xoxp-secret-token", base_url=url, retries=0),
        "teams": TeamsChatAPI("secret-token", base_url=url, retries=0),
    }


@pytest.fixture
def nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed again: connections are refused


@pytest.fixture
def throttling():
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            when = datetime.now(UTC) + timedelta(seconds=120)
            body = b'{"ok": false, "error": "ratelimited"}'
            self.send_response(429)
            self.send_header("Retry-After", format_datetime(when, usegmt=True))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("client", ["http", "slack", "teams"])
def test_a_refused_connection_is_the_same_error_from_every_client(nothing_listening, client):
    api = _clients(nothing_listening)[client]
    with pytest.raises(ServiceError, match="connection failed: ConnectionError") as caught:
        api.list_conversations()
    assert "may or may not" not in str(caught.value)  # a read: nothing was applied
    assert "secret-token" not in repr(caught.value)


@pytest.mark.parametrize("client", ["http", "slack", "teams"])
def test_retry_after_as_an_http_date_is_read_by_every_client(throttling, client):
    api = _clients(throttling)[client]
    with pytest.raises(RateLimited) as caught:
        api.list_conversations()
    assert 100 <= caught.value.retry_after <= 120


def test_retry_after_forms():
    r = requests.Response()
    assert retry_after(r) is None
    r.headers["Retry-After"] = "7"
    assert retry_after(r) == 7.0
    r.headers["Retry-After"] = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after(r) == 0.0  # a date in the past: no wait
    r.headers["Retry-After"] = "-5"
    assert retry_after(r) is None


@pytest.fixture
def echoing():
    """A server that answers 401 with the request's Authorization header in its error message, in each client's
    error format (the wire protocol's, Slack's and Graph's)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            echo = self.headers.get("Authorization", "")
            message = f"bad credentials: {echo}"
            body = orjson.dumps(
                {
                    "status_code": 401,
                    "error_code": "unauthorized",
                    "message": message,  # the wire protocol's
                    "ok": False,
                    "error": {"code": "InvalidAuthenticationToken", "message": message},  # Graph's
                }
            )
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("client", ["http", "teams"])
def test_a_token_the_server_echoes_never_reaches_the_error(echoing, client):
    """Before: the wire client copied the server's message into its exception, token and all, and the CLI printed
    it (issue 23, item 9)."""
    api = _clients(echoing)[client]
    with pytest.raises(AuthenticationError) as caught:
        api.list_conversations()
    text = f"{caught.value} {caught.value!r} {caught.value.message} {caught.value.args}"
    assert "secret-token" not in text
    assert "[token]" in text  # the message is kept, with the token taken out


@pytest.mark.parametrize("client", ["http", "slack", "teams"])
def test_a_client_holding_a_token_refuses_to_be_pickled(nothing_listening, client):
    api = _clients(nothing_listening)[client]
    with pytest.raises(TypeError, match="token"):
        pickle.dumps(api)
