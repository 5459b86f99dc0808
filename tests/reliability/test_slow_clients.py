"""Slow clients on loopback (issue 23, item 8): 200 connections that send part of their headers and then nothing,
or a body byte by byte, are dropped within bounded time, and the server answers others quickly all along.
Before: such connections stayed open indefinitely (uvicorn has no header-read timeout)."""

from __future__ import annotations

import socket
import time

import requests

from chatlens.backends.sqlite import Workspace
from chatlens.server import ServerThread
from tests.contract.conftest import seed_account


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_a_slowloris_run_is_dropped_and_the_server_stays_responsive(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    account = seed_account(ws, "slack", False)
    with ServerThread(ws.account, header_timeout=1.0) as srv:
        token = srv.issue(account)
        port = int(srv.url.rsplit(":", 1)[1])
        slow = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /v1/accounts/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
            slow.append(s)
        started = time.monotonic()
        answered = requests.get(f"{srv.url}/v1/accounts/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert answered.status_code == 200 and time.monotonic() - started < 1.0  # while 200 wait
        deadline = time.monotonic() + 10  # the clock is 1 s; the rest is slack for a busy CI machine
        while time.monotonic() < deadline and not all(_closed(s) for s in slow):
            time.sleep(0.2)
        assert all(_closed(s) for s in slow), f"{sum(not _closed(s) for s in slow)} slow connections still open"
        for s in slow:
            s.close()
        # A keep-alive connection that starts a second request and stalls is dropped too.
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET /v1/accounts/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /v1/accounts/me HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not _closed(s):
            time.sleep(0.2)
        assert _closed(s)
        s.close()


def test_a_body_trickled_in_is_a_408(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    account = seed_account(ws, "slack", False)
    before = ws.count_messages(account)
    with ServerThread(ws.account, body_timeout=1.0) as srv:
        token = srv.issue(account)
        port = int(srv.url.rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port))
        head = (
            "POST /v1/accounts/me/messaging/conversations/CGEN/messages HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        s.sendall(head.encode() + b'{"text": "')
        s.settimeout(5)
        started = time.monotonic()
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
        s.close()
    assert ws.count_messages(account) == before  # nothing half-written


def test_a_header_timeout_must_be_positive():
    import pytest

    from chatlens.server._protocol import protocol_with_header_timeout

    with pytest.raises(ValueError, match="header_timeout"):
        protocol_with_header_timeout(0)
