"""Team API loaders: users and group memberships into tidy frames, cached, over every backend; the sender join."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens.backends.sqlite import Workspace
from chatlens.loaders import add_sender_details, load_groups, load_messages, load_users
from chatlens.schema import COLUMNS, check_frame

T0 = 1_767_600_000_000_000


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(tmp_path / "w.sqlite")
    ws.add_account("S", service="slack", name="s", user_id="U1")
    ws.add_users(
        "S",
        [
            {"id": "U1", "name": "ada", "tz": "Europe/London"},
            {"id": "U2", "name": "zoë", "tz": "Asia/Tokyo", "deleted": True},
            {"id": "U3", "name": "bot", "is_bot": True, "raw": {"is_bot": True}},
            {"id": "U4", "name": "gus", "tz": "America/New_York", "raw": {"is_restricted": True}},
        ],
    )
    ws.add_groups("S", [{"id": "S1", "name": "eng", "members": ["U1", "U2"]}, {"id": "S2", "name": "empty"}])
    ws.add_conversations(
        "S", [{"id": "C1", "name": "general", "private": False, "kind": "channel", "created": T0, "members": ["U1"]}]
    )
    ws.add_messages(
        "S",
        [
            ("M1", "C1", "U1", T0 + 1, "hi", "", None, "{}"),
            ("M2", "C1", "U3", T0 + 2, "beep", "", None, "{}"),
            ("M3", "C1", "U9", T0 + 3, "who am I", "", None, "{}"),  # a sender with no user record
            ("M4", "C1", "U2", T0 + 4, "bye", "M1", None, "{}"),
        ],
    )
    return ws


def test_users_and_groups_frames(ws, tmp_path):
    users = load_users(ws.account("S"), cache_dir=str(tmp_path / "c"), progress=False)
    check_frame(users, "users")
    assert users["id"].tolist() == ["U1", "U2", "U3", "U4"]
    assert users["deleted"].tolist() == [False, True, False, False]
    assert users["guest"].tolist() == [False, False, False, True] and users["is_bot"].tolist() == [0, 0, 1, 0]
    assert users["timezone"].astype(object).tolist()[:2] == ["Europe/London", "Asia/Tokyo"]
    groups = load_groups(ws.account("S"), cache_dir=str(tmp_path / "c"), progress=False)
    check_frame(groups, "groups")
    assert groups[["group_name", "user_id", "user_name"]].astype(str).values.tolist() == [
        ["eng", "U1", "ada"],
        ["eng", "U2", "zoë"],
    ]


def test_cached_users_make_no_request(ws, tmp_path):
    from chatlens.backends.http import HttpChatAPI
    from chatlens.server import ServerThread

    class Counting(HttpChatAPI):
        calls = 0

        def _request(self, method, path, **kw):
            if "/team/" in path:
                Counting.calls += 1
            return super()._request(method, path, **kw)

    with ServerThread(ws.account) as server:
        remote = Counting(server.url, "S", server.issue("S"))
        first = load_users(remote, cache_dir=str(tmp_path / "c"), progress=False)
        groups = load_groups(remote, cache_dir=str(tmp_path / "c"), progress=False)
        assert Counting.calls == 4  # users; groups, then each group's members
        Counting.calls = 0
        pd.testing.assert_frame_equal(first, load_users(ws.account("S"), cache=False, progress=False))
        again = load_users(remote, cache_dir=str(tmp_path / "c"), progress=False)
        load_groups(remote, cache_dir=str(tmp_path / "c"), progress=False)
        assert Counting.calls == 0
        pd.testing.assert_frame_equal(first, again)
        assert len(groups) == 2
        load_users(remote, cache_dir=str(tmp_path / "c"), refresh=True, progress=False)
        assert Counting.calls == 1


def test_empty_users_frame(tmp_path):
    ws = Workspace(tmp_path / "e.sqlite")
    ws.add_account("E", service="ms_teams", name="e", user_id="U1")
    check_frame(load_users(ws.account("E"), cache=False, progress=False), "users")
    check_frame(load_groups(ws.account("E"), cache=False, progress=False), "groups")


def test_sender_details_keep_unknown_senders(ws):
    api = ws.account("S")
    msgs = load_messages(api, cache=False, progress=False)
    out = add_sender_details(msgs, load_users(api, cache=False, progress=False))
    assert len(out) == len(msgs) == 4
    by_id = out.set_index(out["id"].astype(str))
    assert by_id.loc["M3", "sender_known"] == False  # noqa: E712 - numpy bool
    assert pd.isna(by_id.loc["M3", "sender_timezone"]) and pd.isna(by_id.loc["M3", "sender_deleted"])
    assert by_id.loc["M4", "sender_deleted"] == True and by_id.loc["M4", "sender_timezone"] == "Asia/Tokyo"  # noqa: E712
    assert by_id.loc["M2", "is_bot"]  # the user record says bot, though the message did not
    for column, (dtype, _) in COLUMNS["sender_details"].items():
        assert str(out[column].dtype) == str(pd.Series([], dtype=dtype).dtype), column
    pd.testing.assert_frame_equal(out[msgs.columns.drop("is_bot")], msgs[msgs.columns.drop("is_bot")])
