"""The HTTP protocol `chatlens serve` runs: uvicorn's, with a bound on how long a request's headers may take.

uvicorn closes idle keep-alive connections, but a client that sends part of its headers and then nothing (a
slowloris) holds its connection forever. Here a request whose headers have not all arrived ``header_timeout``
seconds after its first bytes has its connection closed. Bodies are bounded by the app (``body_timeout``), and
connections in all by uvicorn's ``limit_concurrency``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEADER_TIMEOUT", "protocol_with_header_timeout"]

HEADER_TIMEOUT = 10.0


def protocol_with_header_timeout(header_timeout: float = HEADER_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, closing a connection whose request headers take over ``header_timeout`` s."""
    if not header_timeout > 0:
        raise ValueError(f"header_timeout must be above 0 seconds, got {header_timeout}")

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None
            self._timed_after: Any = None  # the cycle that was current when the clock started

        def data_received(self, data: bytes) -> None:
            # The first bytes of a request (none in progress) start its clock, once per request: the next
            # request's cycle starting (its headers parsed) before the clock runs out is all the timer checks.
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and (self._header_timer is None or self._timed_after is not self.cycle):
                self._stop_clock()
                self._timed_after = self.cycle
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The next request's bytes may already have come while this response went out: its clock starts now.
            self._stop_clock()
            self._timed_after = self.cycle
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is self._timed_after and not self.transport.is_closing():
                self.transport.close()

        def _stop_clock(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
