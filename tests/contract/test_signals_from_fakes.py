"""Reactions, files, importance and membership changes, loaded through the Slack and Teams connectors from the
project's fakes of the services (over real HTTP on loopback) into the messages frame (issue 21 §1). The contract
suite checks the wire objects on every backend; this checks the frames a user loads."""

from __future__ import annotations

import chatlens

from . import seed
from .conftest import _slack_ts, slack_signals, teams_signals


def test_slack_connector_frames(fake_slack):
    from chatlens.backends.slack import SlackChatAPI

    token, team = fake_slack.add_team(user_id="U1")
    for uid, name in (("U1", "ada"), ("U2", "grace"), ("U3", "linus")):
        fake_slack.add_user(team, uid, name, f"{name}@example.com", tz="UTC")
    fake_slack.add_channel(team, "CSIG", name="signals", kind="channel", created_us=seed.T0, members=["U1", "U2"])
    fake_slack.add_message(team, "CSIG", "U1", _slack_ts(seed.T0 + 10), "hello", "", **slack_signals("MG1"))
    fake_slack.add_message(team, "CSIG", "U2", _slack_ts(seed.T0 + 30), "plan", "", **slack_signals("MG3"))
    # https://docs.slack.dev/reference/events/message/channel_join and .../channel_leave
    fake_slack.add_message(
        team, "CSIG", "U3", _slack_ts(seed.T0 + 40), "<@U3> has joined the channel", "", subtype="channel_join"
    )
    fake_slack.add_message(
        team, "CSIG", "U3", _slack_ts(seed.T0 + 50), "<@U3> has left the channel", "", subtype="channel_leave"
    )
    api = SlackChatAPI(token, base_url=fake_slack.url, retries=0)
    try:
        m = chatlens.load_messages(api, progress=False, cache=False).set_index("text")
    finally:
        api.close()
    assert m.loc["hello", "reaction_count"] == 3
    assert sorted(r["user"] for r in m.loc["hello", "reactions"]) == ["U2", "U3", "U4"]
    assert list(m.loc["plan", "file_kinds"]) == ["pdf", "image"] and m.loc["plan", "file_count"] == 2
    assert list(m.loc["<@U3> has joined the channel", "members_joined"]) == ["U3"]
    assert list(m.loc["<@U3> has left the channel", "members_left"]) == ["U3"]
    assert chatlens.analysis.membership_changes(m.reset_index())["change"].astype(str).tolist() == ["joined", "left"]


def test_teams_connector_frames(fake_graph):
    from chatlens.backends.teams import TeamsChatAPI

    token, tenant = fake_graph.add_tenant(me="U1")
    for uid, name in (("U1", "ada"), ("U2", "grace"), ("U3", "linus")):
        fake_graph.add_user(tenant, uid, name, f"{name}@example.com")
    fake_graph.add_team(tenant, "sig", "Signals", ["U1", "U2", "U3"])
    channel = fake_graph.add_channel(tenant, "sig", "19:signals@thread.tacv2", name="signals", created_us=seed.T0)
    fake_graph.add_message(tenant, channel, "U1", seed.T0 + 10, "hello").update(teams_signals("MG1"))
    fake_graph.add_message(tenant, channel, "U2", seed.T0 + 30, "plan").update(teams_signals("MG3"))
    # membersAddedEventMessageDetail / membersDeletedEventMessageDetail: the members added or removed
    # (https://learn.microsoft.com/en-us/graph/api/resources/membersaddedeventmessagedetail).
    for created, detail in ((seed.T0 + 40, "membersAdded"), (seed.T0 + 50, "membersDeleted")):
        event = fake_graph.add_event(tenant, channel, "U1", created, detail)
        event["eventDetail"]["members"] = [{"id": "U3", "displayName": "linus", "userIdentityType": "aadUser"}]
    api = TeamsChatAPI(token, base_url=fake_graph.url, admin=True, team_id="sig", retries=0)
    try:
        m = chatlens.load_messages(api, progress=False, cache=False).sort_values("created")
    finally:
        api.close()
    by_text = m.set_index("text")
    assert sorted(r["user"] for r in by_text.loc["hello", "reactions"]) == ["U2", "U3", "U4"]
    assert all(r["created"] is not None for r in by_text.loc["hello", "reactions"])  # Graph dates reactions
    assert by_text.loc["plan", "importance"] == "urgent" and list(by_text.loc["plan", "file_kinds"]) == ["pdf", "image"]
    changes = chatlens.analysis.membership_changes(m)
    assert changes[["user_id", "change"]].astype(str).values.tolist() == [["U3", "joined"], ["U3", "left"]]
