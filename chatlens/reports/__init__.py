"""The engagement report: one self-contained HTML file (plots embedded, no network needed to open it).

:func:`build_report` computes the report's content from frames (no I/O); :func:`render_report` turns it into
HTML through a Jinja2 template with autoescaping on, so message text and names can never become markup;
:func:`report` loads an account and writes the file (``chatlens report`` on the command line).

The report period defaults to the last 28 complete days of data, compared with the 28 days before it. Message
text appears only with ``include_text=True`` (and :func:`report` otherwise loads text-free, so no message text is
fetched into the cache either).

Privacy controls:

- ``anonymize=True`` replaces every person's name and id (tables, plots, direct conversations' names) by keyed
  pseudonyms (:func:`chatlens.privacy.pseudonymize`); with ``salt=None`` a fresh random salt is used, so the
  pseudonyms of two reports cannot be linked; pass a secret salt to keep them stable across reports.
- ``min_group_size=K`` (K > 1) leaves out everything about a single person (the top-members table, unanswered
  threads' authors, the interaction network) and shows conversations where fewer than K people posted in the
  period as one "other" row (left out as well if "other" itself has fewer than K people).

Neither can be combined with ``include_text=True``: message text names people.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from jinja2 import Environment, PackageLoader, select_autoescape

from .._durations import duration_words
from .._memory import release_unused
from ..analysis import (
    answered_within,
    conversation_summary,
    hygiene_counts,
    member_summary,
    rising_terms,
    thread_table,
)
from ..analysis._common import check_tz, select, select_mask, to_utc
from ..analysis.rhythm import UnknownTimeZoneWarning, unknown_timezones
from .community import Community, community
from .figures import format_change, format_value, key_figures
from .lookup import message_rows, overdue_threads
from .sections import Period, Section, plot_sections

__all__ = [
    "PRIVATE_KINDS",
    "ReportData",
    "build_report",
    "leave_out_private",
    "load_report_messages",
    "render_report",
    "report",
    "report_data",
    "report_period",
]

DEFAULT_DAYS = 28
#: Rows of the members, conversations and unanswered tables.
DEFAULT_TOP = 10


@dataclass
class ReportData:
    """Everything the report shows, as plain values and frames (tests check these, the template draws them)."""

    title: str
    account: str
    service: str
    tz: str
    since: pd.Timestamp
    until: pd.Timestamp
    complete_through: pd.Timestamp
    figures: list[dict[str, Any]]
    members: pd.DataFrame
    conversations: pd.DataFrame
    unanswered: pd.DataFrame
    #: The plot sections in order (:mod:`chatlens.reports.sections`): each a picture, or words saying there is
    #: nothing to draw in the period.
    sections: list[Section] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    #: What the reader should know about how something was counted (a fallback taken), one sentence each.
    notes: list[str] = field(default_factory=list)
    generated_in: float = 0.0
    anonymized: bool = False
    min_group_size: int = 1
    #: Whether private conversations (private channels, DMs, group DMs) are counted: "left out", "included", or
    #: "unknown" (the frame does not say which conversations are private: no ``conversation_kind`` column).
    private: str = "unknown"
    #: The plots' period ("D", "W", "MS", "QS"): from the report's span (chatlens.plotting.auto_freq) unless given.
    freq: str = "D"
    #: The whole frame given, before any period or privacy choice: ``messages``, ``first`` and ``last`` (the
    #: header says how much the archive holds, beside the period the report covers).
    holds: dict[str, Any] = field(default_factory=dict)
    #: The reply-time threshold: unanswered threads listed are those waiting longer, and each conversation's
    #: ``answered_within`` is the share of its threads answered within it.
    sla: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(hours=24))
    #: The community section (:mod:`chatlens.reports.community`): members engaged vs posting, new and returning,
    #: retention by cohort, joins and leaves, quiet conversations, conversations compared.
    community: Community | None = None
    #: The terms whose share rose most against the previous period (:func:`chatlens.analysis.rising_terms`); only
    #: in a report made with ``include_text`` (it reads message text).
    terms: pd.DataFrame | None = None

    @property
    def images(self) -> dict[str, str]:
        """The plots drawn, by section key (PNG data URIs); sections with nothing to draw have none."""
        return {s.key: s.image for s in self.sections if s.image is not None}

    def to_dict(self) -> dict[str, Any]:
        """What the report shows, as JSON-ready data (``chatlens report --json PATH`` writes it).

        ``{"account", "service", "period": {"since", "until", "tz"}, "figures": [...], "conversations": [...],
        "members": [...], "unanswered": [...], "left_out": {...}, "notes": [...]}``: times are ISO 8601 (UTC),
        durations seconds (columns ending ``_seconds``), missing values null. Each figure is ``{"key", "label",
        "unit", "value", "previous", "change", "change_unit", "better", "verdict"}`` (:mod:`chatlens.reports.figures`).

        Examples
        --------
        >>> import json
        >>> from chatlens.loaders import load_messages
        >>> d = build_report(load_messages("demo", text=False, progress=False), plots=False).to_dict()
        >>> d["period"]
        {'since': '2026-07-03T00:00:00Z', 'until': '2026-07-31T00:00:00Z', 'tz': 'UTC'}
        >>> {k: d["figures"][4][k] for k in ("key", "label", "change_unit", "better")}
        {'key': 'reply_rate', 'label': 'reply rate', 'change_unit': 'pp', 'better': 'up'}
        >>> json.loads(json.dumps(d)) == d
        True
        """
        return {
            "account": self.account,
            "service": self.service,
            "period": {"since": _iso(self.since), "until": _iso(self.until), "tz": self.tz},
            "figures": [{k: _plain(v) for k, v in f.items()} for f in self.figures],
            "conversations": _records(self.conversations, "conversation_id"),
            "members": _records(self.members, "member"),
            "unanswered": _records(self.unanswered, "thread_id"),
            "left_out": {k: _plain(v) for k, v in self.left_out.items()},
            "private_conversations": self.private,
            "sla_seconds": self.sla.total_seconds(),
            "holds": {k: (_iso(v) if k != "messages" else v) for k, v in self.holds.items()},
            "notes": list(self.notes),
            "rising_terms": None if self.terms is None else _records(self.terms.set_index("term"), "term"),
            "community": None
            if self.community is None
            else {
                "figures": [{k: _plain(v) for k, v in f.items()} for f in self.community.figures],
                "tables": {
                    t.key: [{k: _plain(v) for k, v in row.items()} for row in t.records()]
                    for t in self.community.tables
                },
            },
        }


def _duration_words(td: pd.Timedelta) -> str:
    """A threshold as people say it: "24 h", "90 min", "2 d", "36 h"."""
    minutes = int(pd.Timedelta(td).total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 48 * 60:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _threshold(value: Any) -> pd.Timedelta:
    """The reply-time threshold (``--sla``): a positive duration pandas reads ("24h", "90min", "2d")."""
    try:
        wait = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError(f"sla: expected a duration such as 24h, 90min or 2d, got {value!r}") from None
    if pd.isna(wait) or wait <= pd.Timedelta(0):
        raise ValueError(f"sla: must be a positive duration, got {value!r}")
    return wait


def _lead_in_length(value: Any) -> pd.Timedelta | None:
    """The plots' lead-in: None (off), or a positive length pandas reads ("28D", "12W")."""
    if value is None:
        return None
    try:
        length = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError(f"lead_in: expected a length such as 28D or 12W, got {value!r}") from None
    if pd.isna(length) or length <= pd.Timedelta(0):
        raise ValueError(f"lead_in: must be a positive length, got {value!r}")
    return length


def _iso(ts: Any) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _plain(value: Any) -> Any:
    """A JSON value: None for missing, builtins for numpy scalars, ISO text for times, seconds for durations."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return _iso(value)
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _records(frame: pd.DataFrame, index_name: str) -> list[dict[str, Any]]:
    """A table as one dict per row, its index as ``index_name``, durations renamed ``<column>_seconds``."""
    out = frame.reset_index(names=index_name) if frame.index.name != index_name else frame.reset_index()
    renames = {c: f"{c}_seconds" for c in out.columns if pd.api.types.is_timedelta64_dtype(out[c])}
    out = out.rename(columns=renames)
    return [{str(k): _plain(v) for k, v in row.items()} for row in out.to_dict("records")]


def report_period(
    messages: pd.DataFrame, since: Any = None, until: Any = None, tz: str = "UTC"
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The report's period ``[since, until)`` as UTC times: by default the last 28 complete local days of
    ``messages`` (the dashboard uses the same rule, so both show the same period unless told otherwise).

    ``since`` may be ``"all"`` (every message: from the first message's day to the end of the last's), a length
    back from ``until`` (``"90d"``, ``"12w"``), a month (``"2025-01"``) or an ISO date or time; ``until`` a month
    or an ISO date or time. Dates and times without a zone are in ``tz``. Forms that read differently in different
    countries (``01/02/2025``) are refused.

    Examples
    --------
    >>> m = pd.DataFrame({"created": pd.to_datetime(["2026-03-01 10:00", "2026-03-31 15:00"], utc=True)})
    >>> [str(t) for t in report_period(m)]
    ['2026-03-03 00:00:00+00:00', '2026-03-31 00:00:00+00:00']
    >>> [str(t.date()) for t in report_period(m, "all")], str(report_period(m, "7d")[0].date())
    (['2026-03-01', '2026-04-01'], '2026-03-24')
    >>> [str(t) for t in report_period(m, "2026-03", "2026-03-15", tz="Europe/Berlin")]
    ['2026-02-28 23:00:00+00:00', '2026-03-14 23:00:00+00:00']
    >>> report_period(m, "01/02/2026")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: since: '01/02/2026' is ambiguous (1 February or January 2?); write it as 2026-02-01, or use a ...
    """
    everything = isinstance(since, str) and since.strip().lower() == "all"
    if until is None:
        last = messages["created"].max() if len(messages) else pd.Timestamp.now(tz="UTC")
        # Up to the end of the last complete local day: a partial day would read as a drop in activity. "all"
        # means every message, so it runs to the end of the last message's day.
        until = last.tz_convert(tz).normalize() + pd.Timedelta(days=1 if everything else 0)
        until = until.tz_convert("UTC")
    else:
        until = _when(until, "until", tz)
    if since is None:
        since = until - pd.Timedelta(days=DEFAULT_DAYS)
    elif everything:
        first = messages["created"].min() if len(messages) else until - pd.Timedelta(days=DEFAULT_DAYS)
        since = first.tz_convert(tz).normalize().tz_convert("UTC")
    elif isinstance(since, str) and re.fullmatch(r"\s*\d+\s*[dw]\s*", since, flags=re.I):
        number, unit = int(since.strip()[:-1]), since.strip()[-1].lower()
        since = until - pd.Timedelta(days=number * (7 if unit == "w" else 1))
    else:
        since = _when(since, "since", tz)
    if since >= until:
        raise ValueError(f"since ({since}) must be before until ({until})")
    return since, until


def _day(ts: Any, tz: str) -> str:
    return pd.Timestamp(ts).tz_convert(tz).strftime("%Y-%m-%d")


def _when(value: Any, name: str, tz: str) -> pd.Timestamp:
    """A point in time from a Timestamp, an ISO date or time, or a month (YYYY-MM); naive ones in ``tz``."""
    if isinstance(value, str):
        text = value.strip()
        slashed = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
        if slashed:
            a, b, year = slashed.groups()
            example = f"{year}-{int(b):02d}-{int(a):02d}"
            raise ValueError(
                f"{name}: {value!r} is ambiguous ({int(a)} {_MONTH_NAMES[int(b) - 1] if int(b) <= 12 else '?'} or "
                f"{_MONTH_NAMES[int(a) - 1] if int(a) <= 12 else '?'} {int(b)}?); write it as {example}, or use a "
                f"month ({example[:7]}), a length back from until (90d) or all"
            )
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?)?", text):
            raise ValueError(
                f"{name}: {value!r} is not a date; use an ISO date such as 2025-01-31, a month such as 2025-01"
                + (", a length back from until such as 90d, or all" if name == "since" else "")
            )
        if re.fullmatch(r"\d{4}-\d{2}", text):
            text += "-01"
        value = text
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a date or time") from None
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    return to_utc(ts, name)


_MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


def build_report(
    messages: pd.DataFrame,
    *,
    account: str = "",
    service: str = "",
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    top: int = DEFAULT_TOP,
    include_text: bool = False,
    plots: bool = True,
    anonymize: bool = False,
    salt: str | bytes | None = None,
    min_group_size: int = 1,
    thread_status: pd.DataFrame | None = None,
    include_private: bool = False,
    freq: str | None = None,
    sla: Any = "24h",
    lead_in: str | None = None,
    conversations_frame: pd.DataFrame | None = None,
) -> ReportData:
    """The report's content from a messages frame (no loading, no file written).

    ``sla`` is the reply-time threshold: the unanswered threads listed are those waiting longer than it at the
    period's end, oldest first, and each conversation's ``answered_within`` is the share of its threads someone
    else answered within it (:func:`chatlens.analysis.answered_within`).

    Plots cover the report's period, per ``freq`` (default :func:`chatlens.plotting.auto_freq` of the span: days
    for weeks, weeks for months, months for years); ``lead_in`` (a length such as ``"28D"``, off by default) also
    draws that much time before the period in the activity and members-posting plots, shaded and labelled
    "before the period". Private conversations (private channels, direct and group
    direct messages: a ``conversation_kind`` other than
    ``"channel"``, as :func:`load_report_messages` adds it) are left out unless ``include_private=True``, as the
    Slack and Teams admin dashboards do; the report says which, and how many messages that leaves out.

    ``anonymize``, ``salt`` and ``min_group_size`` are the privacy controls of the module docs.
    ``thread_status`` (:func:`chatlens.loaders.load_thread_status`) lets the report say how many threads of the
    period rest on replies not all loaded (a refresh budget ran out, or the service listed fewer than it counts).
    ``conversations_frame`` (:func:`chatlens.load_conversations`) lets the community section judge membership churn
    against today's member counts and name conversations with no message at all.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> messages = load_messages("demo", text=False, progress=False)
    >>> data = build_report(messages, plots=False)
    >>> [(f["key"], f["label"]) for f in data.figures][:2]
    [('message_count', 'messages'), ('member_count', 'members posting')]
    >>> private = build_report(messages, plots=False, anonymize=True, min_group_size=5)
    >>> len(private.members), "author" in private.unanswered
    (0, False)
    """
    t0 = time.perf_counter()
    check_tz(tz)
    _threshold(sla)
    _lead_in_length(lead_in)
    _check_privacy(include_text, anonymize, min_group_size)
    if include_text and "text" not in messages.columns:
        raise ValueError("include_text=True needs messages with a text column (they were loaded with text=False)")
    counted, private = leave_out_private(messages, include_private=include_private)
    return _build_report(
        counted,
        messages["created"],
        private,
        t0=t0,
        account=account,
        service=service,
        since=since,
        until=until,
        tz=tz,
        top=top,
        include_text=include_text,
        plots=plots,
        anonymize=anonymize,
        salt=salt,
        min_group_size=min_group_size,
        thread_status=thread_status,
        include_private=include_private,
        freq=freq,
        sla=sla,
        lead_in=lead_in,
        conversations_frame=conversations_frame,
    )


def _build_report(
    messages: pd.DataFrame,
    created: pd.Series,
    private: str,
    *,
    t0: float,
    account: str,
    service: str,
    since: Any,
    until: Any,
    tz: str,
    top: int,
    include_text: bool,
    plots: bool,
    anonymize: bool,
    salt: str | bytes | None,
    min_group_size: int,
    thread_status: pd.DataFrame | None,
    include_private: bool,
    freq: str | None,
    sla: Any,
    lead_in: str | None,
    conversations_frame: pd.DataFrame | None,
) -> ReportData:
    """:func:`build_report` of the messages counted (``private``: what :func:`leave_out_private` did), given the
    ``created`` column of the whole frame, which is all the report reads of the messages left out (the archive's
    size and span, how many private messages the period leaves out): so the whole frame need not be kept. The
    options are :func:`build_report`'s, checked."""
    wait = _threshold(sla)
    min_group_size = _check_privacy(include_text, anonymize, min_group_size)
    since, until = report_period(messages, since, until, tz)
    if not select_mask(messages, since=since, until=until).any():  # a mask: no copy of the period's rows
        whole = (
            f"it holds {len(created):,} messages from {_day(created.min(), tz)} to {_day(created.max(), tz)}"
            if len(created)
            else "it holds no messages at all"
        )
        raise ValueError(
            f"no messages from people in {account or 'the account'} between {_day(since, tz)} and "
            f"{_day(until - pd.Timedelta(microseconds=1), tz)} ({tz}): {whole}; choose another --since / --until "
            "(e.g. --since all)"
        )
    incomplete = _incomplete_threads(messages, thread_status, since, until)  # before ids become pseudonyms
    if anonymize:
        from ..privacy import new_salt, pseudonymize

        messages = pseudonymize(messages, new_salt() if salt is None else salt)
    if min_group_size > 1:
        messages = _merge_small_conversations(messages, since=since, until=until, k=min_group_size)
    in_period = select(messages, since=since, until=until, include_bots=True, include_system=True)
    # What the figures leave out, and why: hygiene counts (chatlens.analysis.hygiene_counts).
    hygiene = hygiene_counts(in_period) if len(in_period) else None
    counted_in_period = len(in_period)
    del in_period  # the period's rows, every column: not kept while the analyses run
    _release_unused()
    left_out = {"bot messages": 0, "system events": 0}
    if hygiene is not None:
        by_reason = hygiene[hygiene["left_out"].astype(bool)].groupby("reason")["messages"].sum()
        left_out = {
            "bot messages": int(by_reason.get("bot", 0)),
            "system events": int(by_reason.get("system event", 0)),
        }
        deleted = hygiene.loc[hygiene["reason"] == "deleted user", "messages"]
        if len(deleted) and pd.notna(deleted.iloc[0]):
            left_out["messages from deactivated users (counted, not left out)"] = int(deleted.iloc[0])
    if private == "left out":
        inside = ((created >= since) & (created < until)).to_numpy()
        left_out["messages in private conversations"] = int(inside.sum()) - counted_in_period
    if incomplete:
        left_out["threads with replies not all loaded (counted as loaded)"] = incomplete
    # The community section first: its history tables take the most memory of any step, and run before the reply
    # chains are resolved and remembered (it resolves them, for what reads threads).
    community_section = _community(
        messages, since, until, tz, conversations_frame, include_private=include_private, top=top, k=min_group_size
    )
    _release_unused()
    members = member_summary(messages, since=since, until=until, tz=tz).head(top)
    _release_unused()
    conversations = conversation_summary(messages, since=since, until=until)
    if min_group_size > 1:
        members = members.iloc[0:0]  # every row is one person
        conversations = conversations[conversations["members_posting"] >= min_group_size]
    conversations = conversations.head(top).copy()
    # Within the threshold, per conversation: the same function a notebook calls (answered_within).
    quick = answered_within(messages, wait, since=since, until=until)["share"]
    conversations["answered_within"] = quick.reindex(conversations.index.astype(str)).to_numpy()
    threads = thread_table(messages, since=since, until=until)
    unanswered = overdue_threads(threads, until=until, wait=wait, n=top)
    _release_unused()
    # The roots' own rows name their author and conversation (a lookup of the listed threads only).
    roots = message_rows(
        messages, unanswered.index, ["sender_name", "conversation_name", *(["text"] if include_text else [])]
    )
    unanswered["author"] = roots["sender_name"].to_numpy()
    unanswered["conversation"] = roots["conversation_name"].to_numpy()
    unanswered["waiting (days)"] = ((until - unanswered["started"]).dt.total_seconds() / 86400).round(1)
    if include_text:
        unanswered["text"] = [t[:200] for t in roots["text"].fillna("")]
    if min_group_size > 1:
        unanswered = unanswered.drop(columns=["author", "root_sender_id"], errors="ignore")
    # Senders whose zone this machine does not know are counted on the report's clock: the notes say so, so the
    # warning each analysis gives about it is not repeated while the figures are made.
    notes = _timezone_notes(messages, since - (until - since), until, tz)
    notes += _assumed_zone_notes(messages, since, until, tz)
    _release_unused()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownTimeZoneWarning)
        figures = key_figures(messages, since=since, until=until, tz=tz)
    _release_unused()
    data = ReportData(
        title=f"Team engagement: {account or 'chat'}",
        account=account,
        service=service,
        tz=tz,
        since=since,
        until=until,
        complete_through=until - pd.Timedelta(microseconds=1),
        figures=figures,
        members=members,
        conversations=conversations,
        unanswered=unanswered,
        left_out=left_out,
        notes=notes,
        anonymized=anonymize,
        min_group_size=min_group_size,
        private=private,
        sla=wait,
        holds={
            "messages": len(created),
            "first": created.min() if len(created) else None,
            "last": created.max() if len(created) else None,
        },
    )
    from ..plotting import auto_freq

    data.freq = freq or auto_freq(since, until)
    if include_text:
        data.terms = rising_terms(messages, since=since, until=until, n=top)
    data.community = community_section
    if plots:
        period = Period(messages=messages, since=since, until=until, tz=tz, freq=data.freq, lead_in=lead_in)
        data.sections = plot_sections(period, people=min_group_size <= 1)  # the network draws single people
    data.generated_in = time.perf_counter() - t0
    return data


def _community(
    messages: pd.DataFrame,
    since: pd.Timestamp,
    until: pd.Timestamp,
    tz: str,
    conversations: pd.DataFrame | None,
    *,
    include_private: bool,
    top: int,
    k: int,
) -> Community:
    """The community section, by the report's rules: its period and zone, private conversations left out unless
    asked for (of the conversations frame too), and with a minimum group size only conversations where at least
    that many people posted."""
    if conversations is not None and not include_private and "kind" in conversations.columns:
        conversations = conversations[conversations["kind"].astype(str).isin(["channel"]).to_numpy()]
    return community(messages, since=since, until=until, tz=tz, conversations=conversations, top=top, min_group_size=k)


def _assumed_zone_notes(messages: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp, tz: str) -> list[str]:
    """The note beside the after-hours share when some members' own zones are not known, so the report's zone is
    assumed for them (the figure reads each member's own clock where it can)."""
    counted = select_mask(messages, since=since, until=until)
    if "sender_timezone" not in messages.columns:
        return [
            f"After-hours share: the account gives no member time zones, so every message is read on the {tz} clock."
        ]
    senders = messages["sender_id"][counted]
    missing = int(senders[messages["sender_timezone"][counted].isna().to_numpy()].nunique())
    if not missing:
        return []
    total = int(senders.nunique())
    return [
        f"After-hours share: {missing:,} of {total:,} members posting have no time zone in the users list; their "
        f"messages are read on the {tz} clock."
    ]


def _timezone_notes(messages: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp, tz: str) -> list[str]:
    """The note on senders whose time zone this machine's tz database does not know (in the report period or the
    one it is compared with): how many, which zones, and that they are counted in ``tz``."""
    if "sender_timezone" not in messages.columns:
        return []
    unknown = unknown_timezones(messages, since=since, until=until)
    if not len(unknown):
        return []
    members = int(unknown["members"].sum())
    zones = ", ".join(z if z.strip() else repr(z) for z in unknown.index)
    whose = f"{members} members' time zones ({zones}) are" if members != 1 else f"1 member's time zone ({zones}) is"
    return [f"{whose} unknown to this machine's tz database; their messages are counted in {tz}."]


def _check_privacy(include_text: bool, anonymize: bool, min_group_size: Any) -> int:
    """Validate the privacy options (before anything is loaded); returns min_group_size."""
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
        raise ValueError(f"min_group_size must be a whole number of at least 1, got {min_group_size!r}")
    if include_text and (anonymize or min_group_size > 1):
        raise ValueError(
            "include_text=True cannot be combined with anonymize or min_group_size > 1: message text names people"
        )
    return min_group_size


def _merge_small_conversations(
    messages: pd.DataFrame, *, since: pd.Timestamp, until: pd.Timestamp, k: int
) -> pd.DataFrame:
    """``messages`` with every conversation where fewer than ``k`` people posted in the period (bots and system
    events not counted) relabelled "other", in id and name alike, and direct conversations named by number rather
    than by their members (a new frame)."""
    people = select(messages, since=since, until=until)
    posting = people.groupby(people["conversation_id"].astype(str).to_numpy())["sender_id"].nunique()
    big = posting.index[posting >= k]
    out = messages.copy()
    small = ~out["conversation_id"].astype("category").isin(big).to_numpy()
    for c in ("conversation_id", "conversation_name"):
        if c in out.columns:
            # On the categorical codes: no string is built per message.
            column = out[c].astype("category")
            if "other" not in column.cat.categories:
                column = column.cat.add_categories("other")
            out[c] = column.mask(small, "other").cat.remove_unused_categories()
    if "conversation_name" in out.columns:
        # A direct conversation's label is its members' names ("dm: Ada, Bob"): shown, it would name people.
        names = out["conversation_name"].cat.categories
        direct = [n for n in names if str(n).startswith("dm: ")]
        hidden = {n: f"direct conversation {i}" for i, n in enumerate(sorted(direct, key=str), 1)}
        out["conversation_name"] = out["conversation_name"].cat.rename_categories(lambda n: hidden.get(n, n))
    return out


def _incomplete_threads(messages: pd.DataFrame, status: pd.DataFrame | None, since: Any, until: Any) -> int:
    """How many threads with a message in the period have ``complete`` False in the thread status."""
    if status is None or not len(status) or not len(messages):
        return 0
    created = messages["created"]
    active = messages.loc[((created >= since) & (created < until)).to_numpy(), "thread_id"].astype(str)
    open_threads = status.loc[~status["complete"].astype(bool).to_numpy(), "thread_id"].dropna().astype(str)
    return int(open_threads.isin(set(active)).sum())


def _verdict_title(row: dict[str, Any]) -> str:
    """The tooltip of a figure's change: what the colour means."""
    if row["verdict"] == "same":
        return "no change beyond rounding"
    if row["verdict"] is None:
        return "neither direction is better" if row["better"] is None else "no comparison possible"
    direction = "higher" if row["better"] == "up" else "lower"
    return f"{row['verdict']}: {direction} is better"


def render_report(data: ReportData) -> str:
    """The report as one HTML string (autoescaped template; images are data URIs).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": ["a"], "parent": [None], "sender_id": ["u"], "sender_name": ["<b>x</b>"],
    ...                   "conversation_id": ["C"], "conversation_name": ["<script>"], "text": ["hi"],
    ...                   "created": pd.to_datetime(["2026-01-01 10:00"], utc=True)})
    >>> html = render_report(build_report(m, since="2025-12-30", until="2026-01-02", plots=False))
    >>> "<script>" in html, "&lt;script&gt;" in html
    (False, True)
    """
    env = Environment(loader=PackageLoader("chatlens.reports", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["value"] = lambda row: format_value(row["value"], row["unit"])
    env.filters["previous"] = lambda row: format_value(row["previous"], row["unit"])
    env.filters["change"] = format_change
    env.globals["verdict_title"] = _verdict_title
    env.filters["when"] = lambda ts: (
        "–" if pd.isna(ts) else pd.Timestamp(ts).tz_convert(data.tz).strftime("%Y-%m-%d %H:%M")
    )
    env.filters["day"] = lambda ts: pd.Timestamp(ts).tz_convert(data.tz).strftime("%Y-%m-%d")
    env.filters["hours"] = lambda td: _formatted(td, "hours", data.tz)
    env.filters["pct"] = lambda x: _formatted(x, "pct", data.tz)
    env.filters["duration"] = _duration_words
    env.filters["fmt"] = lambda value, kind: _formatted(value, kind, data.tz)
    return env.get_template("report.html").render(d=data)


def _formatted(value: Any, kind: str, tz: str) -> str:
    """A cell as the report shows it: ``int``, ``signed``, ``pct``, ``ratio``, ``hours``, ``day`` or text; "–" for a
    missing value (the template's ``pct`` and ``hours`` filters and the community tables alike)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "signed":
        return f"{int(value):+,}"
    if kind == "pct":
        return f"{float(value):.0%}"
    if kind == "ratio":
        return f"{float(value):.2f}"
    if kind == "hours":
        return duration_words(value)
    if kind == "day":
        return pd.Timestamp(value).tz_convert(tz).strftime("%Y-%m-%d")
    return str(value)


#: Conversation kinds that are private: left out of reports and the dashboard unless asked for.
PRIVATE_KINDS = ("private_channel", "direct", "group_direct")


def leave_out_private(messages: pd.DataFrame, *, include_private: bool = False) -> tuple[pd.DataFrame, str]:
    """``messages`` without those of private conversations (:data:`PRIVATE_KINDS`, by the ``conversation_kind``
    column :func:`load_report_messages` adds), and what was done: ``"left out"``, ``"included"``, or ``"unknown"``
    when the frame has no ``conversation_kind`` (then nothing is left out).

    Examples
    --------
    >>> m = pd.DataFrame({"id": ["a", "b"], "conversation_kind": ["channel", "direct"]})
    >>> frame, done = leave_out_private(m)
    >>> frame["id"].tolist(), done
    (['a'], 'left out')
    """
    if "conversation_kind" not in messages.columns:
        return messages, "unknown"
    if include_private:
        return messages, "included"
    return messages[~_private_rows(messages)], "left out"


def _private_rows(messages: pd.DataFrame) -> Any:
    """Which messages are of private conversations (a numpy bool array), by ``conversation_kind``."""
    kinds = messages["conversation_kind"]
    if isinstance(kinds.dtype, pd.CategoricalDtype):  # one test per kind, not a string per message
        private = kinds.cat.categories.astype(str).isin(PRIVATE_KINDS)
        codes = kinds.cat.codes.to_numpy()
        return np.where(codes >= 0, private[np.maximum(codes, 0)], False) if len(private) else codes < -1
    return kinds.astype(str).isin(PRIVATE_KINDS).to_numpy()


def _leave_out_private_consuming(messages: pd.DataFrame, *, include_private: bool) -> tuple[pd.DataFrame, str]:
    """:func:`leave_out_private` of a frame nobody else holds (the one :func:`report_data` loaded), emptied on the
    way: each column is let go as soon as its kept rows are copied, so the frame and its copy are never both
    whole in memory (on 1,000,000 messages they held 1.8x the frame at once)."""
    if "conversation_kind" not in messages.columns or include_private:
        return leave_out_private(messages, include_private=include_private)
    keep = ~_private_rows(messages)
    kept = pa.array(np.flatnonzero(keep))  # positions: Arrow's take is 2.5x faster than its filter on strings
    counted = pd.DataFrame(index=messages.index[keep])
    for column in list(messages.columns):
        values = messages.pop(column).array
        chunked = getattr(values, "_pa_array", None)
        if isinstance(chunked, pa.ChunkedArray):
            # Taken as one contiguous array (a load's columns are chunked per conversation): the analyses that
            # need an array whole (the reply chains' ids) would each join the chunks again, and keep the copy.
            joined = pa.chunked_array([chunked.take(kept).combine_chunks()], type=chunked.type)
            counted[column] = type(values)(joined)
        else:
            counted[column] = values[keep]
        _release_unused()  # the whole column's memory, not kept for reuse by the allocators
    return counted, "left out"


def _release_unused() -> None:
    """:func:`chatlens._memory.release_unused`, between the report's steps: each starts without the garbage of the
    one before, kept by the allocators (0.3x the frame from each after the quiet-conversations table alone)."""
    release_unused()


def _resolve_reply_chains(messages: pd.DataFrame) -> None:
    """Resolve the frame's reply chains on their own, before the first analysis that reads them: they are
    remembered while the frame's Arrow id and parent arrays live (:func:`chatlens._links.chain_links`), and
    resolving them inside that analysis held both one's and the other's working memory at once (0.7x and 0.4x the
    frame on 1,000,000 messages). Frames whose ids are not Arrow-backed are not remembered: nothing to do."""
    if "id" not in messages.columns or not isinstance(messages["id"].array, pd.arrays.ArrowExtensionArray):
        return
    from .._links import chain_links

    _release_unused()
    chain_links(messages["id"], messages.get("parent"))
    _release_unused()


def load_report_messages(
    api: Any, conversations: Any = None, *, text: bool = False, progress: bool = True
) -> pd.DataFrame:
    """The messages the report (and the dashboard) count for an account: :func:`chatlens.load_messages` with what
    the users list knows of each sender (:func:`chatlens.add_sender_details`: bots the service marks in its users
    list, deactivated members, time zones) and each message's ``conversation_kind`` (``channel``,
    ``private_channel``, ``direct``, ``group_direct``: :func:`leave_out_private` reads it). One rule for both, so
    both show the same numbers.

    Examples
    --------
    >>> m = load_report_messages("demo", ["general"], progress=False)
    >>> "sender_timezone" in m.columns, "text" in m.columns
    (True, False)
    """
    from ..load._fetch import _account
    from ..loaders import add_sender_details, load_conversations, load_messages, load_users

    api = _account(api)
    messages = load_messages(api, conversations, text=text, progress=progress)
    _release_unused()  # the Arrow tables the load read are gone now
    _add_sender_details(messages, load_users(api, progress=progress), add_sender_details)
    convs = load_conversations(api, progress=progress)
    kinds = pd.Series(convs["kind"].astype(str).to_numpy(), index=convs["id"].astype(str).to_numpy())
    kinds = kinds[~kinds.index.duplicated()]
    ids = messages["conversation_id"].astype("category")
    per_id = pd.Series(kinds.reindex(ids.cat.categories.astype(str)).to_numpy(), dtype=object).fillna("unknown")
    # One lookup per conversation, spread to messages by the category codes.
    kind_codes, kind_names = pd.factorize(per_id.to_numpy())
    messages["conversation_kind"] = pd.Categorical.from_codes(
        kind_codes[ids.cat.codes.to_numpy()], categories=pd.Index(kind_names, dtype=object)
    )
    return messages


def _add_sender_details(messages: pd.DataFrame, users: pd.DataFrame, add_sender_details: Any) -> None:
    """:func:`chatlens.add_sender_details` into ``messages`` (a frame the caller just loaded and nobody else holds):
    computed for one row per sender and spread to the messages by the ``sender_id`` category codes. Given the
    whole frame, it copied every column and made a string per message (0.4 s and 0.3x the frame's memory, which
    Arrow's allocator then kept, on 1,000,000 messages)."""
    ids = messages["sender_id"]
    if not isinstance(ids.dtype, pd.CategoricalDtype) or ids.isna().any():
        details = add_sender_details(messages[["sender_id", "is_bot"]], users)  # the plain way: its columns only
        for column in details.columns.drop("sender_id"):
            messages[column] = details[column]
        return
    # is_bot False for each sender: what comes back is the users list's own bot flag, or-ed in below as the
    # function does per message.
    senders = add_sender_details(pd.DataFrame({"sender_id": ids.cat.categories, "is_bot": False}), users)
    codes = ids.cat.codes.to_numpy()
    for column in senders.columns.drop(["sender_id", "is_bot"]):
        messages[column] = senders[column].array.take(codes)
    messages["is_bot"] = messages["is_bot"].to_numpy() | senders["is_bot"].to_numpy(dtype=bool)[codes]


def report_data(
    account: Any = None,
    *,
    conversations: Any = None,
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    include_text: bool = False,
    anonymize: bool = False,
    salt: str | bytes | None = None,
    min_group_size: int = 1,
    plots: bool = True,
    progress: bool = True,
    include_private: bool = False,
    freq: str | None = None,
    sla: Any = "24h",
    lead_in: str | None = None,
) -> ReportData:
    """Load an account (the demo by default) and build its report's content: what :func:`report` writes.

    The parameters are those of :func:`report` (``plots=False`` skips drawing).
    """
    from ..load._fetch import _account
    from ..loaders import load_conversations, load_thread_status

    check_tz(tz)  # before anything is loaded
    _threshold(sla)
    _lead_in_length(lead_in)
    _check_privacy(include_text, anonymize, min_group_size)
    api = _account(account)
    messages = load_report_messages(api, conversations, text=include_text, progress=progress)
    t0 = time.perf_counter()
    created = messages["created"]
    counted, private = _leave_out_private_consuming(messages, include_private=include_private)
    del messages  # emptied: the counted messages and the whole frame's times are what the report reads
    data = _build_report(
        counted,
        created,
        private,
        t0=t0,
        account=api.account_id,
        service=api.service,
        since=since,
        until=until,
        tz=tz,
        top=DEFAULT_TOP,
        include_text=include_text,
        anonymize=anonymize,
        salt=salt,
        min_group_size=min_group_size,
        plots=plots,
        thread_status=load_thread_status(api, text=include_text),
        include_private=include_private,
        freq=freq,
        sla=sla,
        lead_in=lead_in,
        conversations_frame=load_conversations(api, progress=False),
    )
    # What the source itself could not read (an archive's missing folders, malformed files) is part of what the
    # report does not count: a reader sees it on the page, not only the person who ran the command.
    data.notes += [f"Not in this report, as the source could not read it: {problem}" for problem in api.problems]
    return data


def report(
    account: Any = None,
    *,
    conversations: Any = None,
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    out: str | os.PathLike[str] = "report.html",
    include_text: bool = False,
    anonymize: bool = False,
    salt: str | bytes | None = None,
    min_group_size: int = 1,
    progress: bool = True,
    json_out: str | os.PathLike[str] | None = None,
    include_private: bool = False,
    freq: str | None = None,
    sla: Any = "24h",
    lead_in: str | None = None,
) -> Path:
    """Load an account (the demo by default) and write its engagement report to ``out``; returns the path.

    Messages are loaded text-free (``load_messages(text=False)``) unless ``include_text=True``; ``anonymize``,
    ``salt`` and ``min_group_size`` are the privacy controls of the module docs. ``json_out`` also writes what the
    report shows as JSON (:meth:`ReportData.to_dict`). ``lead_in`` (``"28D"``, off by default) draws that much
    time before the period in the activity plots, shaded and labelled "before the period".

    Examples
    --------
    >>> import tempfile, os
    >>> path = report(out=os.path.join(tempfile.mkdtemp(), "r.html"), progress=False)
    >>> path.read_text(encoding="utf-8").startswith("<!doctype html>")
    True
    """
    data = report_data(
        account,
        conversations=conversations,
        since=since,
        until=until,
        tz=tz,
        include_text=include_text,
        anonymize=anonymize,
        salt=salt,
        min_group_size=min_group_size,
        progress=progress,
        include_private=include_private,
        freq=freq,
        sla=sla,
        lead_in=lead_in,
    )
    if json_out is not None:
        import json

        _write(Path(json_out), json.dumps(data.to_dict(), ensure_ascii=False, indent=1) + "\n")
    path = Path(out)
    _write(path, render_report(data))
    return path


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # never a half-written file
