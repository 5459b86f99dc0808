"""Security between accounts: a token of one account can neither read nor change another, on every endpoint.

The endpoints come from the server's own OpenAPI document, so a route added later is tried without touching this
file. (HTML and script in message text are checked inert in tests/reports/test_report.py and
tests/widgets/test_dashboard.py; tokens in files and logs in tests/reliability/test_zz_no_token_leaks.py.)
"""

from __future__ import annotations

import re

import pytest
import requests

from chatlens.backends.sqlite import Workspace
from chatlens.server import ServerThread

BODIES = {"post": {"name": "x", "text": "x"}, "patch": {"name": "y", "text": "y"}}


@pytest.fixture
def server(demo_db):
    ws = Workspace(demo_db)
    with ServerThread(ws.account) as srv:
        srv.ws = ws
        yield srv


def test_a_token_never_reaches_another_account_on_any_endpoint(server):
    victim = server.ws.account("acme-slack")
    conv = victim.list_conversations(page_size=1)["objects"][0]["id"]
    ids = {
        "account_id": "acme-slack",
        "conversation_id": conv,
        "message_id": victim.list_messages(conv, page_size=1)["objects"][0]["id"],
        "user_id": victim.list_users(page_size=1)["objects"][0]["id"],
        "group_id": victim.list_groups(page_size=1)["objects"][0]["id"],
    }
    token = server.issue("acme-teams")
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    before = (server.ws.count_messages("acme-slack"), victim.latest_cursor(), victim.list_conversations()["objects"])
    tried = 0
    for path, operations in doc["paths"].items():
        if "{account_id}" not in path:
            continue
        url = server.url + re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        for method in operations:
            response = requests.request(
                method, url, json=BODIES.get(method), headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            assert response.status_code == 403, (method, path, response.status_code)
            assert response.json()["error_code"] == "forbidden"
            tried += 1
    assert tried >= 24  # every messaging, events and Team API route, both spellings of conversations
    after = (server.ws.count_messages("acme-slack"), victim.latest_cursor(), victim.list_conversations()["objects"])
    assert after == before
