"""The engagement report: one self-contained HTML file (plots embedded, no network needed to open it).

:func:`build_report` computes the report's content from frames (no I/O); :func:`render_report` turns it into
HTML through a Jinja2 template with autoescaping on, so message text and names can never become markup;
:func:`report` loads an account and writes the file (``chatlens report`` on the command line).

The report period defaults to the last 28 complete days of data, compared with the 28 days before it. Message
text appears only with ``include_text=True``.
"""

from __future__ import annotations

import base64
import io
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from ..analysis import (
    conversation_summary,
    interaction_graph,
    member_summary,
    reply_times,
    thread_table,
)
from ..analysis._common import select, to_utc

__all__ = ["ReportData", "build_report", "render_report", "report"]

DEFAULT_DAYS = 28


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
    images: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)
    generated_in: float = 0.0


def _period(messages: pd.DataFrame, since: Any, until: Any, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if until is None:
        last = messages["created"].max() if len(messages) else pd.Timestamp.now(tz="UTC")
        # Up to the end of the last complete local day: a partial day would read as a drop in activity.
        until = last.tz_convert(tz).normalize().tz_convert("UTC")
    until = to_utc(until, "until")
    since = to_utc(since, "since") if since is not None else until - pd.Timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise ValueError(f"since ({since}) must be before until ({until})")
    return since, until


def _figures(messages: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp, tz: str) -> list[dict[str, Any]]:
    span = until - since
    rows = []

    def stats(lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, float]:
        picked = select(messages, since=lo, until=hi)
        threads = thread_table(select(messages, until=hi), since=lo, until=hi) if len(picked) else None
        replies = reply_times(picked) if len(picked) else None
        answered = threads[~threads["unanswered"]] if threads is not None else None
        return {
            "messages": len(picked),
            "members posting": picked["sender_id"].nunique(),
            "threads started": len(threads) if threads is not None else 0,
            "reply rate": (len(answered) / len(threads)) if threads is not None and len(threads) else float("nan"),
            "median time to first reply (h)": (
                answered["time_to_first_reply"].median().total_seconds() / 3600
                if answered is not None and len(answered)
                else float("nan")
            ),
            "replies": int((~replies["self_reply"]).sum()) if replies is not None else 0,
        }

    now, before = stats(since, until), stats(since - span, since)
    for name, value in now.items():
        prev = before[name]
        change = (value - prev) / prev if prev and prev == prev and value == value else float("nan")
        rows.append({"name": name, "value": value, "previous": prev, "change": change})
    return rows


def _png(ax: Any) -> str:
    fig = ax.figure
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Names in scripts the default font lacks (CJK, say) draw as boxes; the tables below show them properly.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def build_report(
    messages: pd.DataFrame,
    *,
    account: str = "",
    service: str = "",
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    top: int = 10,
    include_text: bool = False,
    plots: bool = True,
) -> ReportData:
    """The report's content from a messages frame (no loading, no file written).

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> data = build_report(load_messages("demo", progress=False), plots=False)
    >>> [f["name"] for f in data.figures][:2]
    ['messages', 'members posting']
    """
    t0 = time.perf_counter()
    since, until = _period(messages, since, until, tz)
    in_period = select(messages, since=since, until=until, include_bots=True, include_system=True)
    left_out = {
        "bot messages": int(in_period.get("is_bot", pd.Series(dtype=bool)).astype(bool).sum()),
        "system events": int(in_period.get("is_system", pd.Series(dtype=bool)).astype(bool).sum()),
    }
    members = member_summary(messages, since=since, until=until, tz=tz).head(top)
    conversations = conversation_summary(messages, since=since, until=until).head(top)
    threads = thread_table(select(messages, until=until), since=since, until=until)
    unanswered = threads[threads["unanswered"]].sort_values("started").tail(top).iloc[::-1].copy()
    names = dict(zip(messages["sender_id"].astype(str), messages["sender_name"].astype(str)))
    convs = dict(zip(messages["conversation_id"].astype(str), messages["conversation_name"].astype(str)))
    unanswered["author"] = unanswered["root_sender_id"].astype(str).map(names)
    unanswered["conversation"] = unanswered["conversation_id"].astype(str).map(convs)
    unanswered["waiting (days)"] = ((until - unanswered["started"]).dt.total_seconds() / 86400).round(1)
    if include_text:
        text = messages.set_index(messages["id"].astype(str))["text"].astype(str)
        unanswered["text"] = [t[:200] for t in text.reindex(unanswered.index.astype(str)).fillna("")]
    data = ReportData(
        title=f"Team engagement: {account or 'chat'}",
        account=account,
        service=service,
        tz=tz,
        since=since,
        until=until,
        complete_through=until - pd.Timedelta(microseconds=1),
        figures=_figures(messages, since, until, tz),
        members=members,
        conversations=conversations,
        unanswered=unanswered,
        left_out=left_out,
    )
    if plots:
        from .. import plotting as P

        data.images = {
            "timeline": _png(P.plot_timeline(messages, freq="W", by="conversation", tz=tz, until=until, top=6)),
            "active": _png(P.plot_active_members(messages, tz=tz, until=until)),
            "rhythm": _png(P.plot_rhythm(messages, tz=tz, since=since, until=until)),
            "reply_times": _png(P.plot_reply_times(messages, since=since, until=until)),
            "network": _png(
                P.plot_interaction_graph(interaction_graph(messages, since=since, until=until), top=40, labels=12)
            ),
        }
    data.generated_in = time.perf_counter() - t0
    return data


def _fmt_value(name: str, value: float) -> str:
    if value != value:  # NaN
        return "–"
    if name == "reply rate":
        return f"{value:.0%}"
    if isinstance(value, float) and not float(value).is_integer():
        return f"{value:.2f}"
    return f"{int(value):,}"


def _fmt_change(change: float) -> str:
    return "–" if change != change else f"{change:+.0%}"


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
    env.filters["value"] = lambda row: _fmt_value(row["name"], row["value"])
    env.filters["previous"] = lambda row: _fmt_value(row["name"], row["previous"])
    env.filters["change"] = _fmt_change
    env.filters["when"] = lambda ts: (
        "–" if pd.isna(ts) else pd.Timestamp(ts).tz_convert(data.tz).strftime("%Y-%m-%d %H:%M")
    )
    env.filters["day"] = lambda ts: pd.Timestamp(ts).tz_convert(data.tz).strftime("%Y-%m-%d")
    env.filters["hours"] = lambda td: "–" if pd.isna(td) else f"{pd.Timedelta(td).total_seconds() / 3600:.1f} h"
    env.filters["pct"] = lambda x: "–" if x != x else f"{x:.0%}"
    return env.get_template("report.html").render(d=data)


def report(
    account: Any = None,
    *,
    conversations: Any = None,
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    out: str | os.PathLike[str] = "report.html",
    include_text: bool = False,
    progress: bool = True,
) -> Path:
    """Load an account (the demo by default) and write its engagement report to ``out``; returns the path.

    Examples
    --------
    >>> import tempfile, os
    >>> path = report(out=os.path.join(tempfile.mkdtemp(), "r.html"), progress=False)
    >>> path.read_text(encoding="utf-8").startswith("<!doctype html>")
    True
    """
    from ..loaders import _account, load_messages

    api = _account(account)
    messages = load_messages(api, conversations, progress=progress)
    data = build_report(
        messages,
        account=api.account_id,
        service=api.service,
        since=since,
        until=until,
        tz=tz,
        include_text=include_text,
    )
    path = Path(out)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(data), encoding="utf-8")
    os.replace(tmp, path)  # never a half-written report
    return path
