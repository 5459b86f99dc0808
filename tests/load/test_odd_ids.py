"""Ids that are not strings, from a backend (a hand-written ChatAPI, a database's integer keys, UUIDs): the loaders
take ints and UUIDs as their text and refuse anything else with an error naming the field (issue 18, item 5)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from chatlens.backends.sqlite import SQLiteChatAPI, Workspace
from chatlens.errors import ServiceError
from chatlens.loaders import load_conversations, load_groups, load_members, load_messages, load_users

T0 = 1_767_225_600_000_000  # 2026-01-01 UTC, in microseconds


def _number(value: str) -> int:
    return int(value.lstrip("CUmg"))


ODD: dict[str, Callable[[str], Any]] = {
    "int": _number,
    "uuid": lambda v: uuid.UUID(int=_number(v)),
    "dict": lambda v: {"id": v},
}
AS_TEXT = {"int": lambda v: str(_number(v)), "uuid": lambda v: str(uuid.UUID(int=_number(v)))}


def _odd_backend(tmp_path: Any, kind: str, *, bulk: bool) -> SQLiteChatAPI:
    """A backend handing up every id (messages, parents, senders, mentions, users, members, groups,
    conversations) as ``ODD[kind]`` makes it, paged or as bulk tables."""
    made = ODD[kind]
    back: dict[str, str] = {}  # the loaders pass the ids back as text: the fake's own ids again

    def odd(value: str) -> Any:
        back[str(made(value))] = value
        return made(value)

    def own(value: Any) -> str:
        return back.get(str(value), str(value))

    class Odd(SQLiteChatAPI):
        bulk_messages = bulk

        def list_conversations(self, **kw: Any) -> dict[str, Any]:
            page = super().list_conversations(**kw)
            for c in page["objects"]:
                c["id"] = odd(c["id"])
            return page

        def list_members(self, conversation_id: Any, **kw: Any) -> dict[str, Any]:
            page = super().list_members(own(conversation_id), **kw)
            for u in page["objects"]:
                u["id"] = odd(u["id"])
            return page

        def list_messages(self, conversation_id: Any, **kw: Any) -> dict[str, Any]:
            page = super().list_messages(own(conversation_id), **kw)
            for m in page["objects"]:
                m["id"] = odd(m["id"])
                m["parent"] = odd(m["parent"]) if m["parent"] else m["parent"]
                m["sender"] = {**m["sender"], "id": odd(m["sender"]["id"])}  # a copy: senders are shared
                m["mentions"] = [odd(u) for u in m["mentions"]]
            return page

        def message_tables(self, conversation_ids: Sequence[str], *, raw: bool = True) -> Iterator[pa.Table]:
            for table in super().message_tables([own(c) for c in conversation_ids], raw=raw):
                for name in ("conversation_id", "id", "sender_id", "parent"):
                    i = table.column_names.index(name)
                    values = [None if v is None else odd(v) for v in table.column(i).to_pylist()]
                    table = table.set_column(i, name, pa.array(values))
                yield table

        def list_users(self, **kw: Any) -> dict[str, Any]:
            page = super().list_users(**kw)
            for u in page["objects"]:
                u["id"] = odd(u["id"])
            return page

        def list_group_members(self, group_id: Any, **kw: Any) -> dict[str, Any]:
            page = super().list_group_members(own(group_id), **kw)
            for u in page["objects"]:
                u["id"] = odd(u["id"])
            return page

        def list_groups(self, **kw: Any) -> dict[str, Any]:
            page = super().list_groups(**kw)
            for g in page["objects"]:
                g["id"] = odd(g["id"])
            return page

    ws = Workspace(tmp_path / f"{kind}-{bulk}.sqlite")
    ws.add_account("T", service="slack", name="t", user_id="U1")
    ws.add_users("T", [{"id": "U1", "name": "ada"}, {"id": "U2", "name": "bob"}])
    ws.add_groups("T", [{"id": "g1", "name": "team", "members": ["U1", "U2"]}])
    ws.add_conversations(
        "T", [{"id": "C1", "name": "general", "private": False, "created": T0, "members": ["U1", "U2"]}]
    )
    ws.add_messages(
        "T",
        [
            ("m1", "C1", "U1", T0, "hi <@U2>", "", None, '{"user": "U1", "text": "hi <@U2>"}'),
            ("m2", "C1", "U2", T0 + 60_000_000, "yo", "m1", None, '{"user": "U2", "text": "yo"}'),
        ],
    )
    return Odd(ws, "T", service="slack", admin=False, user_id="U1")


@pytest.mark.parametrize("bulk", [False, True], ids=["paged", "bulk"])
@pytest.mark.parametrize("kind", ["int", "uuid"])
def test_int_and_uuid_ids_become_their_text(tmp_path, kind, bulk):
    api = _odd_backend(tmp_path, kind, bulk=bulk)
    text = AS_TEXT[kind]
    messages = load_messages(api, progress=False, cache=False)
    assert messages["id"].tolist() == [text("m1"), text("m2")]
    assert messages["parent"].tolist()[1] == text("m1")
    assert messages["thread_id"].tolist() == [text("m1"), text("m1")]
    assert messages["sender_id"].astype(str).tolist() == [text("U1"), text("U2")]
    assert messages["conversation_id"].astype(str).tolist() == [text("C1")] * 2
    if not bulk:  # the bulk tables' mentions come from the text, not from the odd page
        assert list(messages["mentions"].iloc[0]) == [text("U2")]
    users = load_users(api, progress=False, cache=False)
    assert users["id"].tolist() == [text("U1"), text("U2")]
    members = load_members(api, progress=False, cache=False)
    assert sorted(members["user_id"].astype(str)) == [text("U1"), text("U2")]
    groups = load_groups(api, progress=False, cache=False)
    assert groups["group_id"].astype(str).unique().tolist() == [text("g1")]
    assert load_conversations(api, progress=False, cache=False)["id"].tolist() == [text("C1")]


@pytest.mark.parametrize("bulk", [False, True], ids=["paged", "bulk"])
def test_other_ids_are_refused_naming_the_field(tmp_path, bulk):
    api = _odd_backend(tmp_path, "dict", bulk=bulk)
    with pytest.raises(ServiceError, match=r"conversation id: expected a string .* got dict \{'id': 'C1'\}"):
        load_messages(api, progress=False, cache=False)
    with pytest.raises(ServiceError, match=r"user id: expected a string .* got dict"):
        load_users(api, progress=False, cache=False)
    with pytest.raises(ServiceError, match=r"group id: expected a string .* got dict"):
        load_groups(api, progress=False, cache=False)


def test_a_message_field_holding_a_dict_is_named(tmp_path):
    api = _odd_backend(tmp_path, "int", bulk=False)
    listing = api.list_messages

    def odd_sender(conversation_id: Any, **kw: Any) -> dict[str, Any]:
        page = listing(conversation_id, **kw)
        page["objects"][0]["sender"]["id"] = ["U1"]
        return page

    api.list_messages = odd_sender  # type: ignore[method-assign]
    with pytest.raises(ServiceError, match=r"message sender\.id: expected a string .* got list \['U1'\]"):
        load_messages(api, progress=False, cache=False)


def test_refresh_compares_int_ids_as_text(tmp_path):
    api = _odd_backend(tmp_path, "int", bulk=False)
    assert len(load_messages(api, progress=False)) == 2
    # A new message at the same microsecond as the newest cached one: the refresh compares (created, id) keys.
    api.workspace.add_messages("T", [("m3", "C1", "U1", T0 + 60_000_000, "and", "m1", None, '{"user": "U1"}')])
    assert load_messages(api, progress=False, refresh=True)["id"].tolist() == ["1", "2", "3"]


def test_analyses_on_a_hand_built_frame_take_uuid_and_int_ids_and_name_a_dict():
    from chatlens import analysis as A

    ids = [uuid.UUID(int=i) for i in range(3)]
    frame = pd.DataFrame(
        {
            "id": ids,
            "parent": [None, ids[0], ids[1]],
            "sender_id": ["a", "b", "a"],
            "created": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
            "is_bot": False,
            "is_system": False,
        }
    )
    table = A.thread_table(frame)
    assert table.index.tolist() == [str(ids[0])] and int(table["replies"].iloc[0]) == 2
    # An all-NaN float parent column (pandas' reading of "no parents") is no parents, not the id "nan".
    roots = frame.assign(id=[1, 2, 3], parent=float("nan"))
    assert A.thread_depth(roots)["depth"].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="ids: expected strings .* got dict"):
        A.thread_table(frame.assign(id=[{"x": 1}, {"x": 2}, {"x": 3}]))
