"""report_data loads an account and builds its report in less memory than a load and a build_report would take
(issue 20 §5): sender details made per sender, the private conversations left out column by column. What it shows
is exactly what build_report shows of the same frame."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens.loaders import add_sender_details, load_conversations, load_messages, load_users
from chatlens.reports import _add_sender_details, build_report, load_report_messages, report_data


@pytest.mark.parametrize("include_private", [False, True])
def test_report_data_shows_what_build_report_shows_of_the_loaded_frame(include_private):
    data = report_data("demo", plots=False, progress=False, include_private=include_private)
    same = build_report(
        load_report_messages("demo", progress=False),
        account="acme-slack",
        service="slack",
        plots=False,
        include_private=include_private,
        thread_status=None,
        conversations_frame=load_conversations("demo", progress=False),
    )
    got, want = data.to_dict(), same.to_dict()
    assert got["left_out"] == want["left_out"] and got["holds"] == want["holds"]
    assert got == want
    if not include_private:
        assert got["left_out"]["messages in private conversations"] > 0  # the demo has some to leave out


def test_load_report_messages_has_the_sender_details_of_the_whole_frame():
    whole = add_sender_details(load_messages("demo", text=False, progress=False), load_users("demo", progress=False))
    loaded = load_report_messages("demo", progress=False)
    pd.testing.assert_frame_equal(loaded.drop(columns="conversation_kind"), whole)


def test_sender_details_of_a_frame_with_a_sender_missing_are_add_sender_details():
    # Not the categorical frame a load gives: the details come from add_sender_details on the frame's columns.
    messages = pd.DataFrame({"id": ["a", "b", "c"], "sender_id": ["U1", None, "nobody"], "is_bot": [False] * 3})
    users = pd.DataFrame(
        {"id": ["U1"], "is_bot": [True], "deleted": [False], "guest": [True], "timezone": ["Europe/Berlin"]}
    )
    want = add_sender_details(messages, users)
    _add_sender_details(messages, users, add_sender_details)
    pd.testing.assert_frame_equal(messages, want)
    assert messages["is_bot"].tolist() == [True, False, False]


def test_private_conversations_left_out_column_by_column_are_leave_out_private():
    from chatlens.reports import _leave_out_private_consuming, leave_out_private

    messages = load_report_messages("demo", progress=False)
    want, done = leave_out_private(messages)
    got, also = _leave_out_private_consuming(messages.copy(), include_private=False)
    pd.testing.assert_frame_equal(got, want)
    assert done == also == "left out" and len(got) < len(messages)
