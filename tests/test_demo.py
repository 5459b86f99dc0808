"""The demo workspace meets what the foundation issue asks of it, and is deterministic."""

from __future__ import annotations

import re
import sqlite3

import orjson
import pytest

from chatlens.backends.sqlite import Workspace
from chatlens.demo import demo_workspace_path, describe, generate_workspace


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return sqlite3.connect(demo_workspace_path())


def one(db, sql, *args):
    return db.execute(sql, args).fetchone()[0]


def test_figures(db):
    figures = describe(Workspace(demo_workspace_path()))
    assert figures["accounts"] == 2
    assert figures["messages"] >= 20_000
    assert figures["deepest_chain"] >= 4
    for acct in figures["per_account"].values():
        assert acct["conversations"] >= 8 and acct["users"] >= 25
    span = one(db, "SELECT (max(created) - min(created)) / 86400e6 FROM messages")
    assert span >= 182


def test_accounts_and_kinds(db):
    assert db.execute("SELECT id, service, admin FROM accounts ORDER BY id").fetchall() == [
        ("acme-slack", "slack", 0),
        ("acme-teams", "ms_teams", 1),
    ]
    for acct in ("acme-slack", "acme-teams"):
        kinds = {k for (k,) in db.execute("SELECT kind FROM conversations WHERE account_id = ?", (acct,))}
        assert kinds == {"channel", "private_channel", "direct", "group_direct"}
        assert one(db, "SELECT count(*) FROM conversations WHERE account_id = ? AND kind = 'direct'", acct) >= 2


def test_people(db):
    for acct in ("acme-slack", "acme-teams"):
        assert one(db, "SELECT count(*) FROM users WHERE account_id = ? AND is_bot", acct) >= 2
        deleted = one(db, "SELECT id FROM users WHERE account_id = ? AND deleted", acct)
        assert one(db, "SELECT count(*) FROM messages WHERE account_id = ? AND sender_id = ?", acct, deleted) > 0
        assert one(db, "SELECT count(DISTINCT tz) FROM users WHERE account_id = ?", acct) >= 5
        assert one(db, "SELECT count(*) FROM users WHERE account_id = ? AND name = '山田 太郎'", acct) == 1
        # every sender is a known user of the account
        assert (
            one(
                db,
                "SELECT count(*) FROM messages m LEFT JOIN users u ON u.account_id = m.account_id"
                " AND u.id = m.sender_id WHERE m.account_id = ? AND u.id IS NULL",
                acct,
            )
            == 0
        )


def test_threads_are_consistent(db):
    # every reply is in its parent's conversation and strictly after it
    bad = one(
        db,
        "SELECT count(*) FROM messages r JOIN messages p ON p.account_id = r.account_id"
        " AND p.id = r.parent WHERE r.conversation_id != p.conversation_id OR r.created <= p.created",
    )
    assert bad == 0
    assert (
        one(
            db,
            "SELECT count(*) FROM messages r LEFT JOIN messages p ON p.account_id = r.account_id"
            " AND p.id = r.parent WHERE r.parent != '' AND p.id IS NULL",
        )
        == 0
    )
    assert (
        one(
            db,
            "SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY account_id, conversation_id, created"
            " HAVING count(*) > 1)",
        )
        == 0
    )
    replies = one(db, "SELECT count(*) FROM messages WHERE parent != ''")
    assert 0.3 < replies / one(db, "SELECT count(*) FROM messages") < 0.5


def test_markup_edits_and_untrusted_text(db):
    slack_users = {u for (u,) in db.execute("SELECT id FROM users WHERE account_id = 'acme-slack'")}
    mentioned = {
        m
        for (t,) in db.execute("SELECT text FROM messages WHERE account_id = 'acme-slack'")
        for m in re.findall(r"<@(U[0-9A-Z]+)>", t)
    }
    assert len(mentioned) > 10 and mentioned <= slack_users
    teams_raw = [
        orjson.loads(r)
        for (r,) in db.execute("SELECT raw FROM messages WHERE account_id = 'acme-teams' AND raw LIKE '%mentionText%'")
    ]
    assert len(teams_raw) > 50
    assert all('<at id="0">' in r["body"]["content"] for r in teams_raw)
    assert one(db, "SELECT count(*) FROM messages WHERE modified IS NOT NULL AND modified > created") > 100
    assert one(db, "SELECT count(*) FROM messages WHERE raw LIKE '%\"edited\"%'") > 50
    assert one(db, "SELECT count(*) FROM messages WHERE text LIKE '%<script>%'") == 2
    assert one(db, "SELECT count(*) FROM messages WHERE text LIKE '%🎉%'") > 0
    assert one(db, "SELECT count(*) FROM messages WHERE raw LIKE '%channel_join%'") > 10
    assert one(db, "SELECT count(*) FROM messages WHERE raw LIKE '%systemEventMessage%'") > 10
    assert one(db, "SELECT count(*) FROM messages WHERE raw LIKE '%bot_message%'") > 10


def test_deterministic(tmp_path):
    def rows(path):
        c = sqlite3.connect(path)
        return [
            c.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("users", "conversations", "messages")
        ]

    generate_workspace(tmp_path / "a.sqlite", messages=3000).close()
    generate_workspace(tmp_path / "b.sqlite", messages=3000).close()
    generate_workspace(tmp_path / "c.sqlite", messages=3000, seed=1).close()
    assert rows(tmp_path / "a.sqlite") == rows(tmp_path / "b.sqlite")
    assert rows(tmp_path / "a.sqlite") != rows(tmp_path / "c.sqlite")
    assert one(sqlite3.connect(tmp_path / "a.sqlite"), "SELECT count(*) FROM messages") == 3000


def test_refuses_to_overwrite(tmp_path):
    (tmp_path / "x.sqlite").write_bytes(b"")
    with pytest.raises(FileExistsError):
        generate_workspace(tmp_path / "x.sqlite")


def test_api_on_the_demo():
    ws = Workspace(demo_workspace_path())
    api = ws.account("acme-slack")
    conv = api.list_conversations(page_size=1)["objects"][0]
    page = api.list_messages(conv["id"], page_size=5)
    assert page["count"] == 5 and page["next_page"]
    teams = ws.account("acme-teams")
    assert all(c["private"] is False or c["name"] for c in teams.list_conversations(page_size=100)["objects"])


def test_groups_span_the_conversations():
    import chatlens
    from chatlens.chatapi import iter_items

    for account, extra in (("acme-slack", 0), ("acme-teams", 1)):
        api = chatlens.connect("demo", account=account)
        groups = {g["name"]: g["id"] for g in iter_items(api.list_groups)}
        assert set(groups) >= {"engineering", "design", "support", "leadership"} and len(groups) == 4 + extra
        convs = {c["name"].lower(): c for c in iter_items(api.list_conversations, page_size=100) if c["name"]}
        members = [u["id"] for u in iter_items(api.list_group_members, groups["engineering"], page_size=100)]
        humans = [m["id"] for m in convs["engineering"]["members"] if m["name"] not in ("Deploy Bot", "Standup Bot")]
        assert members == sorted(humans)
        zones = {u["timezone"] for u in iter_items(api.list_users, page_size=100)}
        assert len(zones - {"UTC"}) == 6
