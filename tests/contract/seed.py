"""The contract workspace's seed, as plain data, so every backend (and every fake service) builds the same account.

One account: five users (``SELF`` is the account's own user) in two groups, a public channel ``general`` with
three messages (``MG2`` replies to ``MG1``), and a direct conversation with one message. Keys (``CGEN``, ``MG1``,
...) are the seed's names; a backend whose ids look different maps them in its ``ids`` (see conftest.Backend).
"""

from __future__ import annotations

T0 = 1_767_600_000_000_000  # 2026-01-05T08:00:00Z in microseconds
SELF = "U1"
USERS = [
    {"id": "U1", "name": "ada", "email": "ada@example.com", "tz": "Europe/London"},
    {"id": "U2", "name": "grace", "email": "grace@example.com", "tz": "America/New_York"},
    {"id": "U3", "name": "linus", "email": "linus@example.com", "tz": "Asia/Tokyo"},
    {"id": "U4", "name": "zoë", "email": "zoe@example.com", "tz": "Europe/Berlin"},
    {"id": "U5", "name": "deploy-bot", "email": None, "is_bot": True, "tz": "UTC"},
]
#: Groups (Slack user groups, Teams teams); the account's own user is in each, as Teams lists joined teams only.
GROUPS = [
    {"id": "S1", "name": "eng", "members": ["U1", "U3"]},
    {"id": "S2", "name": "ops", "members": ["U1", "U2", "U4"]},
]
CONVERSATIONS = [
    {
        "id": "CGEN",
        "name": "general",
        "private": False,
        "kind": "channel",
        "created": T0,
        "members": ["U1", "U2", "U3", "U4"],
    },
    {"id": "DM12", "name": None, "private": True, "kind": "direct", "created": T0 + 1, "members": ["U1", "U2"]},
]
#: (key, conversation key, sender id, created in microseconds, text, parent key or "")
MESSAGES = [
    ("MG1", "CGEN", "U1", T0 + 10, "hello <@U2>", ""),
    ("MG2", "CGEN", "U2", T0 + 20, "hi ada 👋", "MG1"),
    ("MG3", "CGEN", "U3", T0 + 30, "release at 5", ""),
    ("MD1", "DM12", "U2", T0 + 40, "psst", ""),
]

#: What some messages carry besides text, in neutral terms: reactions (emoji, user, time in microseconds), files
#: (name, MIME type) and importance (Teams only: Slack has none). Each backend writes them in its service's shape
#: (conftest), and every backend must hand them up the same (test_messages_carry_reactions_files_and_importance).
SIGNALS = {
    "MG1": {"reactions": [("tada", "U2", T0 + 50), ("tada", "U3", T0 + 60), ("eyes", "U4", T0 + 70)]},
    "MG3": {"files": [("plan.pdf", "application/pdf"), ("screen.png", "image/png")], "importance": "urgent"},
}
