"""A fault-injecting HTTP proxy on 127.0.0.1: it forwards each request to an upstream server, or misbehaves.

Faults (chosen per request from a seeded random generator, so a failing run can be replayed):

- ``drop_before``: close the connection without forwarding (the server never saw the request);
- ``drop_after``: forward, then close without answering (the server did apply it);
- ``delay``: forward after a pause;
- ``429`` / ``503``: answer with ``Retry-After`` without forwarding;
- ``truncate``: forward, then send the promised Content-Length but only half the body, and close;
- ``duplicate``: forward the request twice (a retrying middlebox) and answer with the second response; only for
  GET, where delivering twice is harmless by definition.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("drop_before", "drop_after", "delay", "429", "503", "truncate", "duplicate")


class FaultProxy:
    def __init__(self, upstream: str, *, rate: float = 0.3, seed: int = 0, faults: tuple[str, ...] = FAULTS) -> None:
        target = urlsplit(upstream)
        self.host, self.port = target.hostname, target.port
        self.rate, self.faults = rate, faults
        self.random = random.Random(seed)
        self.applied: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()  # method -> requests that reached the server
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = outer._choose(self.command)
                if fault == "drop_before":
                    return self._drop()
                if fault in ("429", "503"):
                    return self._answer(int(fault), b'{"status_code": %s}' % fault.encode(), {"Retry-After": "1"})
                if fault == "delay":
                    time.sleep(0.2)
                status, headers, data = outer._forward(self.command, self.path, dict(self.headers), body)
                if fault == "duplicate":
                    status, headers, data = outer._forward(self.command, self.path, dict(self.headers), body)
                if fault == "drop_after":
                    return self._drop()
                if fault == "truncate":
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    return self._drop()
                self._answer(status, data, headers)

            def _answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.close_connection = True

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _choose(self, method: str) -> str | None:
        with self.lock:
            if self.random.random() >= self.rate:
                return None
            fault = self.random.choice(self.faults)
            if fault == "duplicate" and method != "GET":
                return None
            self.applied[fault] += 1
            return fault

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        with self.lock:
            self.forwarded[method] += 1
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
