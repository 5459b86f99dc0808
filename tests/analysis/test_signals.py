"""Reactions, files, importance and membership changes: loaded from each kind of source into the messages frame,
and the analyses on them worked out by hand (issue 21 §1–§2)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import chatlens
from chatlens.analysis import (
    files_shared,
    interaction_edges,
    members_engaged,
    membership_changes,
    membership_churn,
    messages_by_importance,
    reaction_rows,
    reactions_summary,
)
from chatlens.backends.sqlite import Workspace
from chatlens.privacy import pseudonymize
from chatlens.schema import check_frame
from tests.slack_archives import T, ts, write_export

# Slack's message object with reactions and files, as its reference shows them
# (https://docs.slack.dev/reference/methods/reactions.get: "reactions": [{"name", "users", "count"}]; files
# per https://docs.slack.dev/reference/objects/file-object: name, mimetype, filetype; a deleted file is
# {"id", "mode": "tombstone"}). Slack lists a sample of the users when many reacted: count 7, two users named.
SLACK_DAY = [
    {
        "type": "message",
        "user": "U1",
        "text": "ship it?",
        "ts": ts(0),
        "reactions": [
            {"name": "thumbsup", "users": ["U2", "U3"], "count": 7},
            {"name": "eyes", "users": ["U1"], "count": 1},
        ],
    },
    {
        "type": "message",
        "user": "U2",
        "text": "the plan",
        "ts": ts(60),
        "files": [
            {"id": "F1", "name": "plan.pdf", "mimetype": "application/pdf", "filetype": "pdf"},
            {"id": "F2", "name": "board.png", "mimetype": "image/png", "filetype": "png"},
            {"id": "F3", "mode": "tombstone"},
        ],
    },
    {"type": "message", "subtype": "channel_join", "user": "U3", "text": "<@U3> has joined the channel", "ts": ts(120)},
    {
        "type": "message",
        "subtype": "channel_leave",
        "user": "U2",
        "text": "<@U2> has left the channel",
        "ts": ts(86400 + 5),
    },
    {"type": "message", "user": "U3", "text": "hello", "ts": ts(86400 + 60)},
]


def _export(tmp_path, *, as_zip: bool):
    users = [{"id": u, "name": n, "profile": {}} for u, n in (("U1", "ada"), ("U2", "zoe"), ("U3", "lin"))]
    files = {
        "users.json": users,
        "channels.json": [{"id": "C1", "name": "general", "created": T - 86400, "members": ["U1", "U3"]}],
        "general/2026-01-05.json": SLACK_DAY[:3],
        "general/2026-01-06.json": SLACK_DAY[3:],
    }
    return write_export(files, tmp_path / ("export.zip" if as_zip else "export"), as_zip=as_zip)


@pytest.fixture(params=["zip", "folder"])
def slack_messages(request, tmp_path) -> pd.DataFrame:
    path = _export(tmp_path, as_zip=request.param == "zip")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return chatlens.load_messages(str(path), progress=False, cache_dir=tmp_path / "cache")


def test_a_slack_export_s_reactions_files_and_joins_reach_the_frame(slack_messages):
    m = slack_messages.set_index("text")
    check_frame(slack_messages, "messages")
    assert m.loc["ship it?", "reaction_count"] == 8  # 7 thumbsup (2 named) + 1 eyes
    rows = sorted(((r["emoji"], r["user"], r["count"]) for r in m.loc["ship it?", "reactions"]), key=str)
    assert rows == [("eyes", "U1", 1), ("thumbsup", "U2", 1), ("thumbsup", "U3", 1), ("thumbsup", None, 5)]
    assert list(m.loc["the plan", "file_kinds"]) == ["pdf", "image", "deleted"]
    assert m.loc["the plan", "file_count"] == 3
    assert list(m.loc["<@U3> has joined the channel", "members_joined"]) == ["U3"]
    assert list(m.loc["<@U2> has left the channel", "members_left"]) == ["U2"]
    assert slack_messages["importance"].isna().all()  # Slack has no importance


def test_the_paged_and_the_bulk_reads_of_an_export_agree(tmp_path):
    path = _export(tmp_path, as_zip=True)
    bulk = chatlens.load_messages(str(path), progress=False, cache=False)
    api = chatlens.connect(str(path))
    paged = {m["id"]: m for m in chatlens.iter_items(api.list_messages, "C1", page_size=2)}
    for row in bulk.itertuples():
        wire = paged[row.id]
        assert sorted(wire["file_kinds"]) == sorted(row.file_kinds)
        assert [(r["emoji"], r["user"], r["count"]) for r in wire["reactions"]] == [
            (r["emoji"], r["user"], r["count"]) for r in row.reactions
        ]
        assert list(row.members_joined) == wire["members_joined"] and list(row.members_left) == wire["members_left"]


def _teams_workspace(tmp_path) -> Workspace:
    """A Teams account whose chatMessages carry what Graph's reference shows: chatMessageReaction (reactionType,
    createdDateTime, user.user.id), attachments (a ``reference`` file, an adaptive card that is not a file),
    ``importance``, a hosted image in the body, and membersAdded / membersDeleted system events
    (https://learn.microsoft.com/en-us/graph/api/resources/chatmessage, .../chatmessagereaction,
    .../membersaddedeventmessagedetail)."""
    ws = Workspace(tmp_path / "teams.sqlite")
    ws.add_account("t", service="ms_teams", name="t", user_id="u1", admin=True)
    ws.add_users("t", [{"id": u, "name": u} for u in ("u1", "u2", "u3")])
    ws.add_conversations("t", [{"id": "c1", "name": "General", "created": 0, "members": ["u1", "u2"], "raw": {}}])
    t0 = T * 1_000_000

    def iso(us: int) -> str:
        return pd.Timestamp(us, unit="us", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def message(i: int, sender: str | None, **fields) -> tuple:
        raw = {"id": str(i), "messageType": "message", "createdDateTime": iso(t0 + i), **fields}
        if sender:
            raw["from"] = {"user": {"id": sender, "displayName": sender, "userIdentityType": "aadUser"}}
        return (f"m{i}", "c1", sender or "system", t0 + i * 1_000_000, f"text {i}", "", None, raw)

    ws.add_messages(
        "t",
        [
            message(
                1,
                "u1",
                importance="urgent",
                reactions=[
                    {"reactionType": "like", "createdDateTime": iso(t0 + 5_000_000), "user": {"user": {"id": "u2"}}},
                    {"reactionType": "💯", "createdDateTime": iso(t0 + 9_000_000), "user": {"user": {"id": "u3"}}},
                ],
            ),
            message(
                2,
                "u2",
                importance="high",
                attachments=[
                    {"id": "a", "contentType": "reference", "name": "Budget.xlsx", "contentUrl": "https://x/b"},
                    {"id": "b", "contentType": "application/vnd.microsoft.card.adaptive", "content": "{}"},
                ],
                body={"contentType": "html", "content": '<img src="https://graph/hostedContents/x/$value">'},
            ),
            message(
                3,
                None,
                messageType="systemEventMessage",
                eventDetail={
                    "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                    "members": [{"id": "u3", "displayName": "u3"}],
                    "initiator": {"user": {"id": "u1"}},
                },
            ),
            message(
                4,
                None,
                messageType="systemEventMessage",
                eventDetail={
                    "@odata.type": "#microsoft.graph.membersDeletedEventMessageDetail",
                    "members": [{"id": "u2", "displayName": "u2"}],
                },
            ),
        ],
    )
    return ws


def test_teams_reactions_files_importance_and_membership_reach_the_frame(tmp_path):
    ws = _teams_workspace(tmp_path)
    m = chatlens.load_messages(ws.account("t"), progress=False, cache=False).set_index("id")
    assert [(r["emoji"], r["user"]) for r in m.loc["m1", "reactions"]] == [("like", "u2"), ("💯", "u3")]
    assert [str(r["created"]) for r in m.loc["m1", "reactions"]] == [
        "2026-01-05 08:00:05+00:00",
        "2026-01-05 08:00:09+00:00",
    ]
    assert m.loc["m1", "importance"] == "urgent" and m.loc["m2", "importance"] == "high"
    assert list(m.loc["m2", "file_kinds"]) == ["spreadsheet", "image"]  # the card is not a file
    assert list(m.loc["m3", "members_joined"]) == ["u3"] and list(m.loc["m4", "members_left"]) == ["u2"]
    assert m.loc["m3", "is_system"] and m.loc["m3", "sender_id"] == "system"  # not the initiator's message


def test_the_http_client_carries_the_same_signals(tmp_path):
    ws = _teams_workspace(tmp_path)
    direct = chatlens.load_messages(ws.account("t"), progress=False, cache=False)
    from chatlens.backends.http import HttpChatAPI

    with chatlens.serve(ws.account) as server:
        api = HttpChatAPI(server.url, "t", server.issue("t"), retries=0)
        served = chatlens.load_messages(api, progress=False, cache=False)
        api.close()
    columns = ["id", "reactions", "reaction_count", "file_kinds", "importance", "members_joined", "members_left"]
    pd.testing.assert_frame_equal(served[columns], direct[columns])


def _frame() -> pd.DataFrame:
    """Four messages over two days: reactions (one unnamed remainder), a bot's post with a reaction, files."""
    created = pd.to_datetime(
        ["2026-01-01 09:00", "2026-01-01 10:00", "2026-01-02 09:00", "2026-01-02 11:00"], utc=True
    ).astype("datetime64[us, UTC]")

    def r(emoji, user, count=1):
        return {"emoji": emoji, "user": user, "count": count, "created": None}

    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "conversation_id": ["c1", "c1", "c2", "c2"],
            "sender_id": ["u1", "u2", "bot", "u1"],
            "created": created,
            "parent": [None, "a", None, None],
            "is_bot": [False, False, True, False],
            "is_system": [False, False, False, False],
            "mentions": [[], [], [], []],
            "reactions": [
                [r("tada", "u2"), r("tada", "u3"), r("tada", None, 4)],
                [r("eyes", "u1")],
                [r("eyes", "u4")],
                [],
            ],
            "file_kinds": [[], ["pdf", "image"], ["image"], ["image"]],
            "importance": [None, "urgent", None, "high"],
        }
    )


def test_reaction_rows_is_the_tidy_long_form():
    rows = reaction_rows(_frame())
    assert rows[["message_id", "emoji", "user_id", "count"]].astype(object).values.tolist() == [
        ["a", "tada", "u2", 1],
        ["a", "tada", "u3", 1],
        ["a", "tada", pd.NA, 4],
        ["b", "eyes", "u1", 1],
    ]  # the bot's post is left out, as bots are everywhere by default
    assert len(reaction_rows(_frame(), include_bots=True)) == 5
    assert reaction_rows(_frame(), since="2026-01-01 09:30")["message_id"].tolist() == ["b"]


def test_reactions_summary_by_hand():
    s = reactions_summary(_frame())
    assert s.index.strftime("%Y-%m-%d").tolist() == ["2026-01-01", "2026-01-02"]
    assert s["messages"].tolist() == [2, 1]
    assert s["reactions"].tolist() == [7, 0]
    assert s["messages_with_reactions"].tolist() == [2, 0]
    assert s["members_reacted"].tolist() == [3, 0]  # u2, u3, u1 (the unnamed four are nobody known)
    assert s["reactions_per_message"].tolist() == [3.5, 0.0]
    assert s["top_emoji"].tolist() == ["tada, eyes", ""]
    assert reactions_summary(_frame(), since="2027-01-01").empty


def test_members_engaged_counts_posters_and_reactors_once():
    assert members_engaged(_frame()) == 3  # u1, u2 posted; u3 only reacted; u1 reacted too
    assert members_engaged(_frame(), include_bots=True) == 5  # + bot, + u4 who reacted to the bot
    assert members_engaged(_frame(), since="2026-01-02") == 1


def test_reactions_are_an_interaction_kind():
    edges = interaction_edges(_frame(), kinds=("reply", "reaction"))
    got = {(e.source, e.target): (e.reply, e.reaction) for e in edges.itertuples()}
    assert got == {("u2", "u1"): (1, 1), ("u3", "u1"): (0, 1), ("u1", "u2"): (0, 1)}


def test_files_and_importance_by_hand():
    f = files_shared(_frame())
    assert f[["files", "messages_with_files", "image", "pdf"]].values.tolist() == [[2, 1, 1, 1], [1, 1, 1, 0]]
    i = messages_by_importance(_frame())
    assert i.values.tolist() == [[0, 0, 1, 1], [0, 1, 0, 0]]


def test_membership_changes_and_churn_by_hand():
    created = pd.to_datetime(["2026-01-01", "2026-01-10", "2026-01-20", "2026-02-05"], utc=True)
    m = pd.DataFrame(
        {
            "id": ["e1", "e2", "e3", "e4"],
            "conversation_id": ["c1", "c1", "c2", "c1"],
            "conversation_name": ["general", "general", "random", "general"],
            "sender_id": ["u1", "u2", "u3", "u2"],
            "created": created,
            "is_bot": False,
            "is_system": True,
            "members_joined": [["u1", "u2"], [], ["u3"], ["u2"]],
            "members_left": [[], ["u2"], [], []],
        }
    )
    changes = membership_changes(m)
    assert changes[["user_id", "change"]].astype(str).values.tolist() == [
        ["u1", "joined"],
        ["u2", "joined"],
        ["u2", "left"],
        ["u3", "joined"],
        ["u2", "joined"],
    ]
    conversations = pd.DataFrame({"id": ["c1", "c2"], "member_count": [2, 1]})
    churn = membership_churn(m, conversations=conversations, since="2026-01-05", until="2026-02-01")
    # c1 now has 2 members; after Jan 5 one left and one joined, so on Jan 5 it had 2: churn 1/2.
    assert churn.loc["c1", ["joined", "left", "net"]].tolist() == [0, 1, -1]
    assert churn.loc["c1", "members_at_start"] == 2 and churn.loc["c1", "churn"] == 0.5
    # c2: one joined after Jan 5 and none left, so it had 0 members then: churn undefined.
    assert churn.loc["c2", "members_at_start"] == 0 and pd.isna(churn.loc["c2", "churn"])
    assert membership_churn(m)["churn"].isna().all()  # without the conversations frame


def test_pseudonymize_replaces_reacting_and_joining_people():
    m = _frame()
    m["members_joined"] = [["u1"], [], [], []]
    m["members_left"] = [[], ["u3"], [], []]
    out = pseudonymize(m, "s" * 16)
    users = {r["user"] for rs in out["reactions"] for r in rs} - {None}
    assert users and not users & {"u1", "u2", "u3", "u4"} and all(u.startswith("member-") for u in users)
    assert out["members_joined"][0][0] == out.loc[out["id"] == "a", "sender_id"].iloc[0]  # u1, the same pseudonym
    assert out["members_left"][1][0].startswith("member-")


def test_the_demo_has_every_signal():
    slack = chatlens.load_messages("demo", progress=False)
    assert slack["reaction_count"].sum() > 0 and slack["file_count"].sum() > 0
    assert (slack["reactions"].map(lambda rs: any(r["user"] is None for r in rs))).any()  # Slack's sample
    assert slack["members_joined"].map(len).sum() > 0


def test_cohorts_take_the_timelines_frequency_words():
    """cohort_retention and new_vs_returning take "MS" (the timelines' month) as well as "M" (was a pandas
    traceback: 'for Period, please use M instead of MS')."""
    from chatlens.analysis import cohort_retention, new_vs_returning

    m = _frame()
    pd.testing.assert_frame_equal(cohort_retention(m, freq="MS"), cohort_retention(m, freq="M"))
    pd.testing.assert_frame_equal(new_vs_returning(m, freq="QS"), new_vs_returning(m, freq="Q"))
