"""``chatlens serve``: the Kloudless Chat API wire protocol over any chatlens backend.

- :func:`create_app` builds the FastAPI app over ``account_id -> ChatAPI``;
- :class:`ServerThread` runs it on 127.0.0.1 in a background thread (tests, notebooks);
- :func:`run_server` is the command: serve a workspace (the demo by default) or one named account.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from ..chatapi import ChatAPI
from ._protocol import HEADER_TIMEOUT, protocol_with_header_timeout
from .app import MAX_BODY_BYTES, TokenStore, create_app

__all__ = ["MAX_BODY_BYTES", "ServerThread", "TokenStore", "create_app", "run_server"]


#: Connections served at once; beyond, uvicorn answers 503 (slow or idle clients cannot starve the rest).
MAX_CONNECTIONS = 256


def _limits(header_timeout: float, max_connections: int) -> dict[str, Any]:
    """uvicorn options that bound what slow clients can hold: header time, idle keep-alive, connections."""
    return {
        "http": protocol_with_header_timeout(header_timeout),
        "timeout_keep_alive": 5,
        "limit_concurrency": max_connections,
    }


class ServerThread:
    """A wire-protocol server in a background thread on a free loopback port.

    Parameters
    ----------
    resolve_account
        ``account_id -> ChatAPI`` (e.g. ``Workspace(path).account``).
    tokens
        The token store; :meth:`issue` adds tokens while the server runs.
    host, port
        Where to listen; port 0 picks a free one.
    header_timeout, max_connections
        Slow clients: a request whose headers take longer is dropped, and connections beyond the limit get 503.
    **app_options
        Passed to :func:`create_app` (``rate_limit``, ``max_body_bytes``).

    Examples
    --------
    >>> from chatlens.backends.sqlite import Workspace
    >>> from chatlens.demo import demo_workspace_path
    >>> with ServerThread(Workspace(demo_workspace_path()).account) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        resolve_account: Callable[[str], ChatAPI],
        tokens: TokenStore | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        header_timeout: float = HEADER_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        **app_options: Any,
    ) -> None:
        self.tokens = tokens or TokenStore()
        self._header_timeout, self._max_connections = header_timeout, max_connections
        self._resolve = resolve_account
        self._host, self._port, self._options = host, port, app_options
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> ServerThread:
        """Start serving; returns when the socket is listening."""
        app = create_app(self._resolve, self.tokens, **self._options)
        config = uvicorn.Config(
            app,
            host=self._host,
            port=self._port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,  # X-Forwarded-* from a client would otherwise set the scheme and client address
            **_limits(self._header_timeout, self._max_connections),
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the main thread keeps its own handlers
        self._thread = threading.Thread(target=self._server.run, name="chatlens-server", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the chatlens server could not start on {self._host}:{self._port}")
            threading.Event().wait(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self._host}:{port}"
        return self

    def issue(self, account_id: str) -> str:
        """A new token for ``account_id``."""
        return self.tokens.issue(account_id)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ServerThread {self.url or 'stopped'}>"


def run_server(
    db: str | None = None,
    account: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    rate_limit: float | None = None,
    public_url: str | None = None,
) -> int:
    """Serve a workspace (default: the demo) or one named account until Ctrl-C; prints the URL and tokens.

    ``public_url`` is the base of every ``href`` (default: the bound address), for a server behind a proxy.

    This is the only place chatlens prints a token: the operator needs it to connect a client.
    """
    if db is not None and account is not None:
        raise ValueError("give --db or --account, not both")
    tokens = TokenStore()
    if account is not None:
        from ..accounts import connect

        api = connect(account)
        accounts = {api.account_id: api}

        def resolve(account_id: str) -> ChatAPI:
            return accounts[account_id]

        served = [api.account_id]
    else:
        from ..backends.sqlite import Workspace

        if db is None:
            from ..demo import demo_workspace_path

            db = str(demo_workspace_path())
        elif not os.path.exists(db):
            raise FileNotFoundError(f"no workspace at {db}")
        ws = Workspace(db)
        resolve = ws.account
        served = [a["id"] for a in ws.accounts()]
    issued = {acct: tokens.issue(acct) for acct in served}
    app = create_app(resolve, tokens, rate_limit=rate_limit, public_url=public_url)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        **_limits(HEADER_TIMEOUT, MAX_CONNECTIONS),
    )
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started:
            threading.Event().wait(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        # The base URL as Chat API clients take it (the Kloudless SDK adds /v1 itself): the API is under /v1.
        print(f"chatlens serve: http://{host}:{bound}  (the API is under /v1; Ctrl-C to stop)", flush=True)
        for acct, token in issued.items():
            print(f"  account {acct}: Authorization: Bearer {token}", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    previous = signal.getsignal(signal.SIGINT)
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn has already shut down cleanly and re-raised Ctrl-C: that is a normal stop
    finally:
        signal.signal(signal.SIGINT, previous)
    print("chatlens serve: stopped", file=sys.stderr)
    return 0
