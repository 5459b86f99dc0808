"""The backends the contract suite runs against.

Each entry of :data:`BACKENDS` says how to get a fresh, seeded account (tests/contract/seed.py) on that backend,
which services it can serve, which optional capabilities it has, and how the seed's keys map to its ids. Every
backend added to chatlens is added here and must pass the suite unchanged; a test that needs a service or a
capability a backend lacks is skipped for it, and ``test_unsupported_operations_are_refused`` checks that
what it cannot do raises the documented error.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatlens.backends.sqlite import Workspace
from chatlens.chatapi import ChatAPI
from chatlens.chatapi.rules import SERVICES

from . import seed

#: Optional capabilities: ``events`` (the activity feed), ``any_sender`` (post as a user other than the account's
#: own), ``raw_write`` (a ``raw`` given on create is stored as given), ``user_details`` (users carry the service's
#: time zone and bot flag; Graph keeps neither on its user objects).
FEATURES = frozenset({"events", "any_sender", "raw_write", "user_details", "tombstones"})
_counter = itertools.count(1)


class _Identity(dict):
    def __missing__(self, key: str) -> str:
        return key


@dataclass(frozen=True)
class Backend:
    """How the suite reaches one backend."""

    make: Callable[[pytest.FixtureRequest, str, bool], ChatAPI]  # (request, service, admin) -> fresh seeded account
    services: frozenset[str] = frozenset(SERVICES)
    features: frozenset[str] = FEATURES
    ids: Mapping[str, str] = field(default_factory=_Identity)  # seed key -> this backend's id
    default_admin: bool = False  # the account kind generic tests use (Teams normal accounts cannot list messages)


def slack_signals(key: str) -> dict[str, Any]:
    """The Slack message fields of the seed's :data:`~seed.SIGNALS` for message ``key``
    (https://docs.slack.dev/reference/objects/message: ``reactions`` name/users/count, ``files``)."""
    signals = seed.SIGNALS.get(key, {})
    out: dict[str, Any] = {}
    if "reactions" in signals:
        by_emoji: dict[str, list[str]] = {}
        for emoji, user, _ in signals["reactions"]:
            by_emoji.setdefault(emoji, []).append(user)
        out["reactions"] = [{"name": e, "users": us, "count": len(us)} for e, us in by_emoji.items()]
    if "files" in signals:
        out["files"] = [{"id": f"F{i}", "name": n, "mimetype": t} for i, (n, t) in enumerate(signals["files"])]
    return out


def teams_signals(key: str) -> dict[str, Any]:
    """The Graph chatMessage fields of the seed's :data:`~seed.SIGNALS` for message ``key``
    (https://learn.microsoft.com/en-us/graph/api/resources/chatmessagereaction, .../chatmessageattachment)."""
    from chatlens._time import iso_from_us

    signals = seed.SIGNALS.get(key, {})
    out: dict[str, Any] = {}
    if "reactions" in signals:
        out["reactions"] = [
            {"reactionType": e, "createdDateTime": iso_from_us(t), "user": {"user": {"id": u}}}
            for e, u, t in signals["reactions"]
        ]
    if "files" in signals:
        out["attachments"] = [
            {"id": f"a{i}", "contentType": "reference", "contentUrl": f"https://x.example/{n}", "name": n}
            for i, (n, _) in enumerate(signals["files"])
        ]
    if "importance" in signals:
        out["importance"] = signals["importance"]
    return out


def seed_account(ws: Workspace, service: str, admin: bool) -> str:
    """A new account of the seed in ``ws``; returns its id."""
    aid = f"{service}-{'admin' if admin else 'user'}-{next(_counter)}"
    ws.add_account(aid, service=service, admin=admin, name=aid, user_id=seed.SELF)
    ws.add_users(aid, seed.USERS)
    ws.add_groups(aid, seed.GROUPS)
    ws.add_conversations(aid, [{**c, "raw": {"id": c["id"], "name": c["name"]}} for c in seed.CONVERSATIONS])
    signals = slack_signals if service == "slack" else teams_signals
    ws.add_messages(
        aid,
        [
            (key, conv, sender, created, text, parent, None, signals(key))
            for key, conv, sender, created, text, parent in seed.MESSAGES
        ],
    )
    return aid


@pytest.fixture(scope="session")
def contract_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("contract") / "contract.sqlite")


@pytest.fixture(scope="session")
def contract_server(contract_ws: Workspace):
    """``chatlens serve`` over the contract workspace, on a free loopback port, for the whole session."""
    from chatlens.server import ServerThread

    with ServerThread(contract_ws.account) as server:
        yield server


def _sqlite(request: pytest.FixtureRequest, service: str, admin: bool) -> ChatAPI:
    ws = request.getfixturevalue("contract_ws")
    return ws.account(seed_account(ws, service, admin))


def _http(request: pytest.FixtureRequest, service: str, admin: bool) -> ChatAPI:
    from chatlens.backends.http import HttpChatAPI

    ws, server = request.getfixturevalue("contract_ws"), request.getfixturevalue("contract_server")
    account_id = seed_account(ws, service, admin)
    api = HttpChatAPI(server.url, account_id, server.issue(account_id), retries=0)
    request.addfinalizer(api.close)
    return api


@pytest.fixture(scope="session")
def fake_slack():
    """The fake Slack Web API (tests/fakes/slack.py) on a free loopback port, for the whole session."""
    from tests.fakes.slack import FakeSlack

    with FakeSlack() as slack:
        yield slack


def _slack_ts(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _slack(request: pytest.FixtureRequest, service: str, admin: bool) -> ChatAPI:
    from chatlens.backends.slack import SlackChatAPI

    fake = request.getfixturevalue("fake_slack")
    token, team = fake.add_team(user_id=seed.SELF, admin=admin)
    for u in seed.USERS:
        fake.add_user(team, u["id"], u["name"], u["email"], is_bot=bool(u.get("is_bot")), tz=u["tz"])
    for g in seed.GROUPS:
        fake.add_usergroup(team, g["id"], g["name"], g["name"].title(), g["members"])
    for c in seed.CONVERSATIONS:
        fake.add_channel(team, c["id"], name=c["name"], kind=c["kind"], created_us=c["created"], members=c["members"])
    ts = {key: _slack_ts(created) for key, _, _, created, _, _ in seed.MESSAGES}
    for key, conv, sender, _, text, parent in seed.MESSAGES:
        fake.add_message(team, conv, sender, ts[key], text, ts[parent] if parent else "", **slack_signals(key))
    api = SlackChatAPI(token, base_url=fake.url, admin=admin, retries=0)
    request.addfinalizer(api.close)
    return api


_SLACK_IDS = {
    **{key: f"{conv}-{_slack_ts(created)}" for key, conv, _, created, _, _ in seed.MESSAGES},
    "CGEN": "CGEN",
    "DM12": "DM12",
    "S1": "S1",
    "S2": "S2",
    "CNOPE": "CNOPE",
    "MNOPE": f"CGEN-{_slack_ts(seed.T0 + 99)}",
    "NOPE": f"CGEN-{_slack_ts(seed.T0 + 98)}",
}


@pytest.fixture(scope="session")
def fake_graph():
    """The fake Microsoft Graph (tests/fakes/graph.py) on a free loopback port, for the whole session."""
    from tests.fakes.graph import FakeGraph

    with FakeGraph() as graph:
        yield graph


# The seed on Teams: general is a standard channel of team "acme" (whose members are U1..U4), DM12 a one-on-one
# chat; the account creates conversations in team "sandbox", which U1 owns alone.
_GENERAL = ("acme", "19:general@thread.tacv2")
_DM_CHAT = "19:U1_U2@unq.gbl.spaces"


def _teams(request: pytest.FixtureRequest, service: str, admin: bool) -> ChatAPI:
    from chatlens.backends.teams import TeamsChatAPI

    fake = request.getfixturevalue("fake_graph")
    token, tenant = fake.add_tenant(me=seed.SELF)
    for u in seed.USERS:
        fake.add_user(tenant, u["id"], u["name"], u["email"])
    general, dm = (c for c in seed.CONVERSATIONS)
    fake.add_team(tenant, _GENERAL[0], "Acme", general["members"])
    fake.add_team(tenant, "sandbox", "Sandbox", [seed.SELF], owners=[seed.SELF])
    for g in seed.GROUPS:
        fake.add_team(tenant, g["id"], g["name"], g["members"])
    threads = {
        "CGEN": fake.add_channel(tenant, *_GENERAL, name=general["name"], created_us=general["created"]),
        "DM12": fake.add_chat(
            tenant, _DM_CHAT, topic=None, chat_type="oneOnOne", created_us=dm["created"], members=dm["members"]
        ),
    }
    for key, conv, sender, created, text, parent in seed.MESSAGES:
        reply_to = str(next(c for k, _, _, c, _, _ in seed.MESSAGES if k == parent)) if parent else ""
        fake.add_message(tenant, threads[conv], sender, created, text, reply_to=reply_to).update(teams_signals(key))
    api = TeamsChatAPI(token, base_url=fake.url, admin=admin, team_id="sandbox", retries=0)
    request.addfinalizer(api.close)
    return api


def _teams_ids() -> dict[str, str]:
    from chatlens.backends.teams import wire as t

    convs = {"CGEN": t.channel_conversation_id(*_GENERAL), "DM12": t.chat_conversation_id(_DM_CHAT)}
    created = {key: created for key, _, _, created, _, _ in seed.MESSAGES}
    ids = {
        key: t.message_id(convs[conv], str(us), str(created[parent]) if parent else "")
        for key, conv, _, us, _, parent in seed.MESSAGES
    }
    return {
        **convs,
        **ids,
        "S1": "S1",
        "S2": "S2",
        "CNOPE": t.channel_conversation_id(_GENERAL[0], "19:nope@thread.tacv2"),
        "MNOPE": t.message_id(convs["CGEN"], str(seed.T0 + 99)),
        "NOPE": t.message_id(convs["CGEN"], str(seed.T0 + 98)),
    }


BACKENDS: dict[str, Backend] = {
    "sqlite": Backend(_sqlite),
    # client -> chatlens serve -> SQLite, over real HTTP on loopback; a client posts only as its token's user.
    "http": Backend(_http, features=FEATURES - {"any_sender"}),
    # The Slack connector against a fake Slack Web API over real HTTP: Slack has no activity feed, posts only as
    # the token's user and keeps no arbitrary raw.
    "slack": Backend(_slack, services=frozenset({"slack"}), features=frozenset({"user_details"}), ids=_SLACK_IDS),
    # The Teams connector against a fake Microsoft Graph over real HTTP: no activity feed, posts only as the
    # token's user, keeps no arbitrary raw; generic tests use an admin account (normal ones cannot list messages).
    "teams": Backend(
        _teams, services=frozenset({"ms_teams"}), features=frozenset(), ids=_teams_ids(), default_admin=True
    ),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
def make_api(request: pytest.FixtureRequest, backend: Backend) -> Callable[..., Any]:
    """``make_api(service=None, admin=None)``: a fresh, seeded account on the backend under test.

    With no service, the backend's first service (``slack`` where it serves it); a service the backend does not
    serve skips the test."""

    def factory(service: str | None = None, admin: bool | None = None) -> ChatAPI:
        service = service or ("slack" if "slack" in backend.services else min(backend.services))
        if service not in backend.services:
            pytest.skip(f"this backend serves {sorted(backend.services)}, not {service}")
        return backend.make(request, service, backend.default_admin if admin is None else admin)

    return factory


@pytest.fixture
def M(backend: Backend) -> Mapping[str, str]:
    """Seed key -> the backend's id (``M["MG1"]``)."""
    return backend.ids


@pytest.fixture
def need(backend: Backend) -> Callable[[str], None]:
    """``need("events")`` skips the test where the backend lacks that capability."""

    def check(feature: str) -> None:
        assert feature in FEATURES, feature
        if feature not in backend.features:
            pytest.skip(f"this backend has no {feature!r} capability")

    return check
