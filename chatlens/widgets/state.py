"""The dashboard's state: what is picked, and the tables that follow from it. No widgets here, so tests (and
other front ends) drive it directly; the view in :mod:`chatlens.widgets.view` only reflects it.

It applies the report's rules (:mod:`chatlens.reports`): the same default period (the last 28 complete days),
the same key figures from the same functions (:func:`chatlens.reports.figures.key_figures`), so for the same
choices the overview shows the report's numbers. Load accounts with :func:`chatlens.reports.load_report_messages`
(the default of :func:`chatlens.dashboard`) to count bots the users list marks as the report does.

Each part of the dashboard depends on some choices; :meth:`DashboardState.update` returns the parts whose inputs
changed, so the view redraws only those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..analysis import (
    activity_timeline,
    conversation_summary,
    dau_wau_mau,
    hour_weekday_table,
    interaction_graph,
    member_summary,
    rising_terms,
    thread_table,
)
from ..analysis._common import select_mask
from ..reports import leave_out_private, report_period
from ..reports.community import Community, community
from ..reports.figures import key_figures
from ..reports.lookup import message_rows, overdue_threads

__all__ = ["DashboardState", "PARTS", "DEPENDS_ON"]

PARTS = ("overview", "timeline", "active", "rhythm", "threads", "network", "members", "community", "terms")
# Which choices each part reads: a change redraws only the parts that read it.
DEPENDS_ON = {
    "overview": {"account", "conversations", "since", "until", "include_bots", "include_private", "tz"},
    "timeline": {"account", "conversations", "since", "until", "include_bots", "include_private", "tz", "freq"},
    "active": {"account", "conversations", "since", "until", "include_bots", "include_private", "tz"},
    "rhythm": {"account", "conversations", "since", "until", "include_bots", "include_private", "tz"},
    "threads": {"account", "conversations", "since", "until", "include_bots", "include_private"},
    "network": {"account", "conversations", "since", "until", "include_bots", "include_private"},
    "members": {"account", "conversations", "since", "until", "include_bots", "include_private", "tz"},
    "community": {"account", "conversations", "since", "until", "include_private", "tz"},
    "terms": {"account", "conversations", "since", "until", "include_bots", "include_private"},
}
#: The timeline periods one can choose (None: from the span).
FREQS = {"day": "D", "week": "W", "month": "MS", "quarter": "QS"}
CHOICES = ("account", "conversations", "since", "until", "tz", "include_bots", "include_private", "freq")


@dataclass
class DashboardState:
    """Choices and derived tables.

    Parameters
    ----------
    load
        ``account name -> messages frame``; injected so tests pass a fake. Called once per account.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"id": ["a"], "sender_id": ["u"], "sender_name": ["Ada"], "parent": [None],
    ...                       "conversation_id": ["C"], "conversation_name": ["general"], "is_bot": [False],
    ...                       "is_system": [False], "mentions": [[]],
    ...                       "created": pd.to_datetime(["2026-01-01"], utc=True)})
    >>> state = DashboardState(load=lambda name: frame)
    >>> sorted(state.update(account="demo", since="2025-12-29", until="2026-01-05"))[:2]
    ['active', 'community']
    >>> state.overview()[0]["label"], state.overview()[0]["value"]
    ('messages', 1)

    Without dates, the report's default period: the last 28 complete days (the frame's only day is not complete).

    >>> _ = state.update(since=None, until=None)
    >>> state.error
    'No messages in the chosen conversations and dates.'

    """

    load: Callable[[str], pd.DataFrame]
    account: str | None = None
    conversations: tuple[str, ...] = ()
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    tz: str = "UTC"
    include_bots: bool = False
    #: Count private channels, direct and group direct messages (left out by default, as in the report).
    include_private: bool = False
    #: The timeline's period ("D", "W", "MS", "QS"); None picks it from the span, as the report does.
    freq: str | None = None
    error: str | None = None
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _load_error: str | None = field(default=None, repr=False)
    #: The last messages() frame and the choices it was picked by: every part reads it, and one frame (not a
    #: new copy per part) lets the analyses reuse what they resolved on it (reply chains).
    _picked: tuple[tuple[Any, ...], pd.DataFrame] | None = field(default=None, repr=False)

    def update(self, **choices: Any) -> set[str]:
        """Apply choices; returns the parts to redraw. A failure (an account that cannot be reached, a bad
        date) sets :attr:`error` to a readable message instead of raising."""
        unknown = set(choices) - set(CHOICES)
        if unknown:
            raise TypeError(f"unknown dashboard choices {sorted(unknown)}; expected some of {CHOICES}")
        if choices.get("freq") not in (None, *FREQS.values()):
            raise ValueError(f"freq: expected one of {list(FREQS.values())} or None, got {choices['freq']!r}")
        changed = {k for k, v in choices.items() if getattr(self, k) != v}
        for key, value in choices.items():
            setattr(self, key, tuple(value) if key == "conversations" else value)
        self.error = None
        if "account" in changed:
            self._load_error = None
        try:
            if "account" in changed and self.account is not None and self.account not in self._frames:
                try:
                    self._frames[self.account] = self.load(self.account)
                except Exception as exc:
                    # Remembered: later choices on this account say why it is not there, not "pick an account".
                    self._load_error = f"{type(exc).__name__}: {exc}"
            if self._load_error is not None:
                self.error = self._load_error
            elif self.since is not None and self.until is not None and self.since >= self.until:
                last = (self.until - pd.Timedelta(microseconds=1)).tz_convert(self.tz)
                self.error = (
                    f"Until ({last:%Y-%m-%d}) is before From ({self.since.tz_convert(self.tz):%Y-%m-%d}): choose an "
                    "Until on or after From."
                )
            elif self.account is not None and not select_mask(self.messages(), **self._opts()).any():
                self.error = "No messages in the chosen conversations and dates."
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        if "tz" in changed and (self.since is None or self.until is None):
            changed |= {"since", "until"}  # the default period ends at the last complete day in the zone
        return {part for part, needs in DEPENDS_ON.items() if needs & changed}

    # -- data -------------------------------------------------------------------------------------------------
    def all_messages(self) -> pd.DataFrame:
        if self.account is None or self.account not in self._frames:
            raise LookupError("pick an account first")
        return self._frames[self.account]

    def conversation_counts(self) -> pd.Series:
        """Messages per conversation label, for the picker (private ones only when they count)."""
        frame, _ = leave_out_private(self.all_messages(), include_private=self.include_private)
        counts = frame["conversation_name"].astype(str).value_counts()
        return counts.sort_index()

    def messages(self) -> pd.DataFrame:
        """The account's messages in the chosen conversations (all when none is chosen; private ones only with
        ``include_private``, :func:`chatlens.reports.leave_out_private`); dates and bots are applied by each
        analysis."""
        whole = self.all_messages()
        key = (id(whole), self.include_private, self.conversations)
        if self._picked is not None and self._picked[0] == key:
            return self._picked[1]
        frame, _ = leave_out_private(whole, include_private=self.include_private)
        if self.conversations:
            frame = frame[frame["conversation_name"].astype(str).isin(self.conversations).to_numpy()]
        self._picked = (key, frame)
        return frame

    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The period the parts cover, ``[since, until)`` in UTC: the chosen dates, else the report's default (the
        last 28 complete days of the chosen conversations, :func:`chatlens.reports.report_period`)."""
        return report_period(self.messages(), self.since, self.until, self.tz)

    def _opts(self) -> dict[str, Any]:
        since, until = self.period()
        return {"since": since, "until": until, "include_bots": self.include_bots}

    # -- parts ------------------------------------------------------------------------------------------------
    def overview(self) -> list[dict[str, Any]]:
        """The report's key figures for these choices (rows as in ``build_report(...).figures``), each against the
        period of the same length before it."""
        since, until = self.period()
        return key_figures(self.messages(), since=since, until=until, tz=self.tz, include_bots=self.include_bots)

    def timeline(self) -> pd.DataFrame:
        return activity_timeline(
            self.messages(), freq=self.timeline_freq(), by="conversation", tz=self.tz, **self._opts()
        )

    def timeline_freq(self) -> str:
        """The timeline's period: the chosen ``freq``, else from the span as in the report
        (:func:`chatlens.plotting.auto_freq`)."""
        from ..plotting import auto_freq

        return self.freq or auto_freq(*self.period())

    def active(self) -> pd.DataFrame:
        return dau_wau_mau(self.messages(), tz=self.tz, **self._opts())

    def rhythm(self) -> pd.DataFrame:
        return hour_weekday_table(self.messages(), tz=self.tz, **self._opts())

    def threads(self) -> pd.DataFrame:
        return conversation_summary(self.messages(), **self._opts())

    def unanswered(self, n: int | None = 10, sla: str = "24h", *, text: bool = True) -> pd.DataFrame:
        """The ``n`` threads (None: all) nobody else has answered that have waited over ``sla`` at the period's
        end, the longest-waiting first (the report's list), with the start of their text (``text=False``: none;
        a frame loaded without text has none either)."""
        threads = thread_table(self.messages(), **self._opts())
        waiting = overdue_threads(
            threads, until=self.period()[1], wait=pd.Timedelta(sla), n=len(threads) if n is None else n
        )
        text = text and "text" in self.messages().columns
        roots = message_rows(
            self.messages(), waiting.index, ["conversation_name", "sender_name", *(["text"] if text else [])]
        )
        out = pd.DataFrame(
            {
                "started": waiting["started"].dt.tz_convert(self.tz).dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
                "conversation": roots["conversation_name"].to_numpy(),
                "author": roots["sender_name"].to_numpy(),
            }
        )
        if text:
            out["text"] = roots["text"].str.slice(0, 120).to_numpy()
        return out

    def network(self) -> Any:
        return interaction_graph(self.messages(), **self._opts())

    def members(self) -> pd.DataFrame:
        return member_summary(self.messages(), tz=self.tz, **self._opts())

    def community(self) -> Community:
        """The report's community section for these choices (:func:`chatlens.reports.community.community`): the
        same figures against the previous period, and its tables; people only, as in the report, whatever
        ``include_bots`` says. The dashboard loads no conversations frame, so churn (against today's member
        counts) is unknown here and quiet conversations are those with messages."""
        since, until = self.period()
        return community(self.messages(), since=since, until=until, tz=self.tz)

    def terms(self, n: int = 20) -> pd.DataFrame:
        """The terms whose share rose most in the period against the one before it (:func:`rising_terms`); raises
        ValueError when the messages have no text (loaded text-free, the dashboard's default)."""
        since, until = self.period()
        return rising_terms(self.messages(), since=since, until=until, n=n, include_bots=self.include_bots)
