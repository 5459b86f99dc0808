"""Issue 18, sections 3 and 4: reply chains are resolved on the whole frame before bots and system events are left
out (a bot's post and a tombstone keep their human replies in one thread), and questions are found in the marks and
words people write (full-width and Arabic question marks, Spanish openings, words of one's own language)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import chatlens
from chatlens import analysis as A

# A Slack channel as the loaders hand it over: a deploy bot's notice two people answer, a question whose root was
# deleted (Slackbot's tombstone, a system event) and still discussed, a person's question a bot auto-answers, a
# join, and a real question answered by a person.
ROWS = [
    # id, sender, is_bot, is_system, subtype, minutes, parent, text
    ("1.000001", "B_DEPLOY", True, False, "bot_message", 0, None, "Deployed api v2.3 to production"),
    ("1.000002", "U_ADA", False, False, None, 5, "1.000001", "thanks, checking the dashboards"),
    ("1.000003", "U_BEN", False, False, None, 9, "1.000001", "error rate is up on eu-west"),
    ("1.000004", "USLACKBOT", False, True, "tombstone", 20, None, "This message was deleted."),
    ("1.000005", "U_BEN", False, False, None, 25, "1.000004", "the old runbook still applies"),
    ("1.000006", "U_CY", False, False, None, 31, "1.000004", "agreed"),
    ("1.000007", "U_CY", False, False, None, 40, None, "Who owns the billing job"),
    ("1.000008", "B_HELP", True, False, "bot_message", 41, "1.000007", "I have filed a ticket for you"),
    ("1.000009", "U_DEE", False, True, "channel_join", 50, None, "<@U_DEE> has joined the channel"),
    ("1.000010", "U_ADA", False, False, None, 60, None, "Is the staging db up?"),
    ("1.000011", "U_BEN", False, False, None, 70, "1.000010", "yes"),
]
START = pd.Timestamp("2026-03-02 09:00", tz="UTC")


def channel(rows=ROWS) -> pd.DataFrame:
    ids, senders, bots, systems, subtypes, minutes, parents, texts = zip(*rows)
    return pd.DataFrame(
        {
            "conversation_id": "C_OPS",
            "conversation_name": "ops",
            "id": pd.array(ids, dtype="string"),
            "sender_id": pd.array(senders, dtype="string"),
            "sender_name": [s.title() for s in senders],
            "created": pd.DatetimeIndex([START + pd.Timedelta(minutes=m) for m in minutes]).astype(
                "datetime64[us, UTC]"
            ),
            "text": pd.array(texts, dtype="string"),
            "parent": pd.array(parents, dtype="string"),
            "is_bot": list(bots),
            "is_system": list(systems),
            "subtype": pd.array(subtypes, dtype="string"),
            "mentions": [[] for _ in rows],
        }
    )


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- section 3: threads resolved on the whole frame, then filtered --------------------------------------------------


def test_people_answering_a_bot_or_a_tombstone_do_not_start_threads(no_warnings):
    m = channel()
    threads = A.thread_table(m)  # no MissingParentWarning: every parent is in the frame
    # Only people's roots are threads; the replies to the bot's notice and to the tombstone are none of them.
    assert threads.index.tolist() == ["1.000007", "1.000010"]
    # The bot's auto-reply does not answer Cy's question, nor count in its thread.
    assert threads.loc["1.000007", ["size", "participants"]].tolist() == [1, 1]
    assert bool(threads.loc["1.000007", "unanswered"]) and not bool(threads.loc["1.000010", "unanswered"])


def test_a_bots_thread_is_the_bots_and_a_system_events_is_the_systems(no_warnings):
    m = channel()
    with_bots = A.thread_table(m, include_bots=True)
    assert with_bots.loc["1.000001", ["root_sender_id", "replies", "participants"]].tolist() == ["B_DEPLOY", 2, 3]
    assert with_bots.loc["1.000001", "first_reply_at"] == START + pd.Timedelta(minutes=5)
    assert "1.000004" not in with_bots.index  # the tombstone roots a system event's thread
    assert with_bots.loc["1.000007", "size"] == 2 and not bool(with_bots.loc["1.000007", "unanswered"])
    with_system = A.thread_table(m, include_system=True)
    assert with_system.loc["1.000004", ["replies", "participants"]].tolist() == [2, 3]
    assert "1.000001" not in with_system.index


def test_human_replies_to_a_bot_are_replies(no_warnings):
    m = channel()
    replies = A.reply_times(m).set_index("id")
    assert replies.index.tolist() == ["1.000002", "1.000003", "1.000005", "1.000006", "1.000011"]
    assert replies.loc["1.000002", "parent_sender_id"] == "B_DEPLOY"
    assert replies.loc["1.000003", "reply_time"] == pd.Timedelta(minutes=9)
    assert replies.loc["1.000005", "parent_sender_id"] == "USLACKBOT"
    assert "1.000008" in A.reply_times(m, include_bots=True)["id"].tolist()
    members = A.member_summary(m)
    # Ben answered the bot, the tombstone and Ada; the bot and Slackbot are no members, so receive nothing here.
    assert members.loc["U_BEN", "replies_given"] == 3 and members.loc["U_ADA", "replies_received"] == 1
    assert set(members.index) == {"U_ADA", "U_BEN", "U_CY"}


def test_reply_rate_and_unanswered_agree_with_the_thread_table(no_warnings):
    m = channel()
    assert A.reply_rate(m) == 0.5  # Cy's question (bot-answered only) and Ada's (answered by Ben)
    assert A.reply_rate(m, include_bots=True) == 1.0  # the deploy thread, and Cy's answered by the help bot
    summary = A.time_to_first_reply_summary(m)
    assert (summary["threads"], summary["answered"], summary["median"]) == (2, 1, pd.Timedelta(minutes=10))
    convs = A.conversation_summary(m).loc["C_OPS"]
    assert (int(convs["threads"]), int(convs["unanswered"])) == (2, 1)
    waiting = A.unanswered_questions(m, after="1h", now=START + pd.Timedelta(days=1))
    assert waiting["id"].tolist() == ["1.000007"]


def test_threads_before_since_keep_their_replies(no_warnings):
    # A reply in range to a root before `since` answers that thread; it is not a thread of its own.
    m = channel()
    since = START + pd.Timedelta(minutes=65)
    assert A.thread_table(m, since=since).empty
    assert A.reply_times(m, since=since)["id"].tolist() == ["1.000011"]


def test_people_in_a_bots_thread_share_no_thread_of_their_own(no_warnings):
    # Ada answers Ben below the bot's notice (a chain two deep): one bot's thread, so no pair and no thread of
    # theirs; Ada and Ben pair only in Ada's staging question.
    rows = [*ROWS, ("1.000012", "U_ADA", False, False, None, 12, "1.000003", "which region?")]
    m = channel(rows)
    pairs = lambda **kw: A.interaction_edges(m, kinds=("coparticipation",), **kw).set_index(["source", "target"])  # noqa: E731
    assert pairs()["coparticipation"].to_dict() == {("U_ADA", "U_BEN"): 1, ("U_BEN", "U_ADA"): 1}
    assert pairs(include_bots=True).loc[("U_ADA", "U_BEN"), "coparticipation"] == 2
    groups = pd.DataFrame({"member_id": ["U_ADA", "U_BEN", "U_CY"], "group": ["eng", "ops", "eng"]})
    crossing = A.cross_group_interaction(m, groups)
    assert sorted(crossing.threads.index) == ["1.000007", "1.000010"]
    assert crossing.threads.loc["1.000010", "participants"] == 2 and crossing.summary["cross_group_threads"] == 1


def test_demo_bot_posts_answered_by_people_stay_one_thread(no_warnings):
    m = chatlens.load_messages(chatlens.connect("demo"), ["engineering"], progress=False)
    before = A.thread_table(m)
    # Four answers by two people to the first bot post (the demo's bot posts have none), shaped like the rows.
    at = int(m["is_bot"].to_numpy().nonzero()[0][0])
    people = m.loc[~m["is_bot"] & ~m["is_system"], "sender_id"].drop_duplicates().iloc[:2].tolist()
    extra = m.iloc[[at] * 4].reset_index(drop=True)
    extra["id"] = [f"{m['id'].iloc[at]}-answer-{i}" for i in range(4)]
    extra["sender_id"] = pd.Categorical(people * 2, categories=m["sender_id"].cat.categories)
    extra["parent"] = m["id"].iloc[at]
    extra["is_bot"] = False
    extra["created"] = m["created"].iloc[at] + pd.to_timedelta([1, 2, 3, 4], unit="min")
    more = pd.concat([m, extra.astype(m.dtypes.to_dict())], ignore_index=True)
    assert len(more) == len(m) + 4
    after = A.thread_table(more)
    assert after.index.equals(before.index)
    assert len(A.reply_times(more)) == len(A.reply_times(m)) + len(extra)
    assert A.reply_rate(more) == A.reply_rate(m)


def test_missing_parents_warn_once_at_the_callers_line():
    # One message whose parent is truly absent (outside the loaded range); the bot's replies' parents are not.
    rows = [*ROWS, ("1.000013", "U_CY", False, False, None, 80, "0.999999", "following up on last week")]
    m = channel(rows)
    calls = [
        lambda: A.thread_table(m),
        lambda: A.reply_rate(m),
        lambda: A.time_to_first_reply_summary(m, hours=(9, 17)),
        lambda: A.unanswered_questions(m),
        lambda: A.member_summary(m),
        lambda: A.conversation_summary(m),
        lambda: A.thread_depth(m),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            call()
        missing = [w for w in seen if issubclass(w.category, A.MissingParentWarning)]
        assert len(missing) == 1, [str(w.message) for w in missing]
        assert "1 message(s)" in str(missing[0].message) and "'1.000013'" in str(missing[0].message)
        assert missing[0].filename == __file__


# --- section 4: questions, in the languages people write --------------------------------------------------------------


def roots(texts, **columns) -> pd.DataFrame:
    """Roots nobody answered, a day before `now`."""
    return pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(len(texts))],
            "conversation_id": "C1",
            "sender_id": "U1",
            "created": pd.Timestamp("2026-01-01", tz="UTC"),
            "parent": pd.Series([None] * len(texts), dtype="string"),
            "text": pd.Series(texts, dtype="string"),
            **columns,
        }
    )


def asked(frame, **kwargs) -> list[str]:
    return frame.loc[frame["id"].isin(A.unanswered_questions(frame, now="2026-01-02", **kwargs)["id"]), "text"].tolist()


def test_a_join_is_no_question_even_when_system_events_count():
    m = roots(["<@U123> has joined the channel", "<@U9> has the report landed"], is_system=[True, False])
    assert asked(m) == ["<@U9> has the report landed"]
    assert asked(m, include_system=True) == ["<@U9> has the report landed"]
    demo = chatlens.load_messages(chatlens.connect("demo"), ["general"], progress=False)
    found = A.unanswered_questions(demo, include_system=True)
    assert not found["is_system"].any() and not found["text"].str.contains("has joined").any()


def test_question_marks_of_other_scripts():
    texts = [
        "明日のリリースは延期ですか？",  # full-width, Japanese
        "这个接口谁负责？",  # full-width, Chinese
        "متى الاجتماع؟",  # Arabic
        "¿Dónde está el log",  # Spanish, opening mark only
        "¿Quién tiene acceso?",
        "ﾘﾘｰｽ完了しました。",
        "Listo.",
    ]
    assert asked(roots(texts)) == texts[:5]


def test_leading_mentions_are_skipped_before_the_first_word():
    texts = [
        "<@U1>: can you look",
        "@bob, who owns this",
        "<!here> anyone around",
        "<@U1|ada> <@U2> why",
        "@bobcan you",
    ]
    assert asked(roots(texts)) == texts[:4]


def test_question_words_are_a_parameter():
    texts = ["Où est le log", "Pourquoi ça casse", "OÙ EST-IL", "Ouest", "how now", "Merci"]
    m = roots(texts)
    assert asked(m) == ["how now"]
    french = asked(m, question_words=("où", "pourquoi"))
    assert french == ["Où est le log", "Pourquoi ça casse", "OÙ EST-IL"]
    assert asked(m, question_words=(*A.QUESTION_WORDS, "où")) == ["Où est le log", "OÙ EST-IL", "how now"]
    assert asked(roots(["how now", "why?"]), question_words=()) == ["why?"]  # the marks alone
    assert asked(roots(["a.b now", "ab now"]), question_words=["a.b"]) == ["a.b now"]  # words are literal


def test_question_words_are_checked():
    m = roots(["how now"])
    with pytest.raises(TypeError, match="question_words: expected a list of words, got 'how'"):
        A.unanswered_questions(m, question_words="how")
    with pytest.raises(ValueError, match="question_words: every word must be a non-empty string"):
        A.unanswered_questions(m, question_words=["how", ""])


def test_a_question_mark_in_a_link_or_url_asks_nothing_and_text_free_frames_know_every_mark():
    from chatlens.analysis import unanswered_questions
    from chatlens.schema import text_free

    texts = ["see <https://x.org/?id=3|the doc>", "https://x.org/?q=1 is down", "行く？", "¿Vienes", "done?"]
    m = pd.DataFrame(
        {
            "id": list("abcde"),
            "parent": [""] * 5,
            "sender_id": ["u"] * 5,
            "created": pd.to_datetime(["2026-01-01"] * 5, utc=True) + pd.to_timedelta(range(5), "min"),
            "text": texts,
            "is_bot": [False] * 5,
            "is_system": [False] * 5,
        }
    )
    asked = unanswered_questions(m, now="2026-01-03", question_words=())["id"].tolist()
    assert asked == ["c", "d", "e"]
    free = text_free(m)
    assert free["is_question"].tolist() == [False, False, True, True, True]
    assert unanswered_questions(free, now="2026-01-03")["id"].tolist() == asked
