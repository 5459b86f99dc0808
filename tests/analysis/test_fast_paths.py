"""The analyses stay vectorised (issue 20 §5): no Python object per message on any analysis path, and the reply
chains they share are resolved once per frame without ever serving a changed frame its old answer."""

from __future__ import annotations

import gc
import inspect
import warnings
import weakref
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from pandas.core.arrays import Categorical, DatetimeArray, PeriodArray, TimedeltaArray
from pandas.core.arrays.arrow import ArrowExtensionArray

from chatlens import analysis as A
from chatlens.loaders import add_sender_details, load_conversations, load_groups, load_messages, load_users


@pytest.fixture(scope="module")
def demo():
    messages = add_sender_details(load_messages("demo", progress=False), load_users("demo", progress=False))
    return messages, load_conversations("demo", progress=False), load_groups("demo", progress=False)


def _calls(messages, conversations, groups):
    """Every public analysis of the messages frame (those needing more get it), and the tz="member" paths."""
    graph = A.interaction_graph(messages)
    special = {
        "dead_conversations": lambda: A.dead_conversations(messages, conversations),
        "visibility_share": lambda: A.visibility_share(messages, conversations),
        "cross_group_interaction": lambda: A.cross_group_interaction(
            messages, groups, member_column="user_id", group_column="group_name"
        ),
        "centrality": lambda: A.centrality(graph),
        "communities": lambda: A.communities(graph),
        "mark_partial": lambda: A.mark_partial(
            A.activity_timeline(messages), "D", messages["created"].min(), messages["created"].max()
        ),
        "hour_weekday_table(tz=member)": lambda: A.hour_weekday_table(messages, tz="member"),
        "after_hours_share(tz=member)": lambda: A.after_hours_share(messages, tz="member"),
        "activity_timeline(by=conversation)": lambda: A.activity_timeline(messages, by="conversation", tz="Asia/Tokyo"),
        "activity_timeline(by=group)": lambda: A.activity_timeline(messages, by="group", groups=groups),
        "time_to_first_reply(hours)": lambda: A.time_to_first_reply(messages, hours=(9, 17), tz="Europe/Berlin"),
        "member_summary(tz)": lambda: A.member_summary(messages, tz="America/New_York"),
    }
    calls = {}
    for name in A.__all__:
        fn = getattr(A, name)
        if not inspect.isfunction(fn) or name == "write_graph":
            continue
        params = list(inspect.signature(fn).parameters.values())
        needs = [p for p in params[1:] if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]
        if name in special or (params and params[0].name == "messages" and not needs):
            calls[name] = special.get(name, lambda fn=fn: fn(messages))
    return {**special, **calls}


def test_no_python_object_per_message(demo, monkeypatch):
    """Counts what pandas arrays yield one by one (__iter__) and the object arrays made from them: a per-message
    path (to_numpy() on tz-aware times, astype(str) of ids) makes at least one per message."""
    messages, conversations, groups = demo
    made: Counter[str] = Counter()
    current = [""]

    def counting_iter(cls):
        original = cls.__iter__

        def __iter__(self):
            for value in original(self):
                made[current[0]] += 1
                yield value

        monkeypatch.setattr(cls, "__iter__", __iter__)

    def counting_to_numpy(cls, method):
        original = getattr(cls, method)

        def convert(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            if isinstance(out, np.ndarray) and out.dtype == object:
                made[current[0]] += len(out)
            return out

        monkeypatch.setattr(cls, method, convert)

    calls = _calls(messages, conversations, groups)  # the graph for centrality is built before counting
    for cls in (DatetimeArray, PeriodArray, Categorical, TimedeltaArray, ArrowExtensionArray):
        counting_iter(cls)
    for cls in (ArrowExtensionArray, Categorical, DatetimeArray):
        counting_to_numpy(cls, "to_numpy")
    counting_to_numpy(DatetimeArray, "__array__")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, call in calls.items():
            current[0] = name
            call()
    # Per member, per conversation or per edge is fine; per message (or per thread) is not.
    assert {name: n for name, n in made.items() if n > len(messages) / 2} == {}


def test_a_changed_frame_is_never_answered_from_memory(demo):
    messages = demo[0][["id", "parent", "sender_id", "created", "conversation_id", "is_bot", "is_system"]]
    before = A.thread_table(messages)
    roots = before.index[before["replies"] > 0][:3].astype(str)
    # Replies to three threads become roots: once as a new column, once written into the frame's own column.
    orphaned = messages["parent"].isin(roots).to_numpy()
    assigned = messages.assign(parent=messages["parent"].where(~orphaned, None))
    written = messages.copy()
    written.loc[orphaned, "parent"] = None
    for changed in (assigned, written):
        after = A.thread_table(changed)
        assert len(after) == len(before) + int(orphaned.sum())
        assert (after.loc[roots, "replies"] == 0).all()
        assert len(A.reply_times(changed)) == len(A.reply_times(messages)) - int(orphaned.sum())
    assert A.thread_table(messages).equals(before)


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "str"])
def test_columns_written_in_place_are_read_again(dtype):
    m = pd.DataFrame(
        {
            "id": pd.Series(["a", "b", "c"], dtype=dtype),
            "parent": pd.Series([None, "a", "b"], dtype=dtype),
            "sender_id": ["u", "v", "w"],
            "created": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:05", "2026-01-01 10:07"], utc=True),
        }
    )
    assert A.thread_depth(m)["depth"].tolist() == [0, 1, 2]
    m.loc[2, "parent"] = "a"  # an object column is written where it lies; an Arrow one gets a new array
    assert A.thread_depth(m)["depth"].tolist() == [0, 1, 1]
    m.loc[0, "id"] = "z"
    assert A.thread_depth(m, warn=False)["root"].tolist() == ["z", "b", "c"]


def test_remembered_chains_do_not_keep_a_frame_alive():
    m = pd.DataFrame(
        {
            "id": pd.array(["a", "b"], dtype="string[pyarrow]"),
            "parent": pd.array([None, "a"], dtype="string[pyarrow]"),
            "sender_id": ["u", "v"],
            "created": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
        }
    )
    A.thread_table(m)
    ids = weakref.ref(m["id"].array._pa_array)
    del m
    gc.collect()
    assert ids() is None
