"""The backends the contract suite runs against.

Each entry of :data:`BACKENDS` turns a fresh account of the contract workspace into a Chat API object of that
backend. Every backend added to chatlens is added here and must pass the suite unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from chatlens.backends.sqlite import Workspace
from chatlens.chatapi import ChatAPI

T0 = 1_767_600_000_000_000  # 2026-01-05T08:00:00Z in microseconds
USERS = [
    {"id": "U1", "name": "ada", "email": "ada@example.com"},
    {"id": "U2", "name": "grace", "email": "grace@example.com"},
    {"id": "U3", "name": "linus", "email": "linus@example.com"},
    {"id": "U4", "name": "zoë", "email": "zoe@example.com"},
    {"id": "U5", "name": "deploy-bot", "email": None, "is_bot": True},
]
_counter = itertools.count(1)


def seed_account(ws: Workspace, service: str, admin: bool) -> str:
    """A new account with five users, a channel ``general`` with three messages (one a reply) and a direct
    conversation with one message; returns its id."""
    aid = f"{service}-{'admin' if admin else 'user'}-{next(_counter)}"
    ws.add_account(aid, service=service, admin=admin, name=aid, user_id="U1")
    ws.add_users(aid, USERS)
    ws.add_conversations(
        aid,
        [
            {
                "id": "CGEN",
                "name": "general",
                "private": False,
                "kind": "channel",
                "created": T0,
                "members": ["U1", "U2", "U3", "U4"],
                "raw": {"id": "CGEN", "name": "general"},
            },
            {
                "id": "DM12",
                "name": None,
                "private": True,
                "kind": "direct",
                "created": T0 + 1,
                "members": ["U1", "U2"],
                "raw": {"id": "DM12", "is_im": True},
            },
        ],
    )
    ws.add_messages(
        aid,
        [
            ("MG1", "CGEN", "U1", T0 + 10, "hello <@U2>", "", None, '{"text": "hello <@U2>"}'),
            ("MG2", "CGEN", "U2", T0 + 20, "hi ada 👋", "MG1", None, '{"text": "hi"}'),
            ("MG3", "CGEN", "U3", T0 + 30, "release at 5", "", None, "{}"),
            ("MD1", "DM12", "U2", T0 + 40, "psst", "", None, "{}"),
        ],
    )
    return aid


def sqlite_backend(request: pytest.FixtureRequest, ws: Workspace, account_id: str) -> ChatAPI:
    return ws.account(account_id)


@pytest.fixture(scope="session")
def contract_server(contract_ws: Workspace):
    """``chatlens serve`` over the contract workspace, on a free loopback port, for the whole session."""
    from chatlens.server import ServerThread

    with ServerThread(contract_ws.account) as server:
        yield server


def http_backend(request: pytest.FixtureRequest, ws: Workspace, account_id: str) -> ChatAPI:
    from chatlens.backends.http import HttpChatAPI

    server = request.getfixturevalue("contract_server")
    api = HttpChatAPI(server.url, account_id, server.issue(account_id), retries=0)
    request.addfinalizer(api.close)
    return api


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Workspace, str], ChatAPI]] = {
    "sqlite": sqlite_backend,
    "http": http_backend,  # client -> chatlens serve -> SQLite, over real HTTP on loopback
}


@pytest.fixture(scope="session")
def contract_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("contract") / "contract.sqlite")


@pytest.fixture(params=sorted(BACKENDS))
def make_api(request: pytest.FixtureRequest, contract_ws: Workspace) -> Callable[..., Any]:
    """``make_api(service="slack", admin=False)``: a fresh, seeded account on the backend under test."""
    backend = BACKENDS[request.param]

    def factory(service: str = "slack", admin: bool = False) -> ChatAPI:
        return backend(request, contract_ws, seed_account(contract_ws, service, admin))

    return factory
