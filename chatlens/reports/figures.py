"""Key figures as the report and the dashboard show them: values from the analyses, and the rules of presenting a
change honestly.

Every value is :func:`chatlens.analysis.figure_values` (each figure's one function, named by its ``key``); this
module only compares a period with the one before it:

- a count or a duration changes in per cent of the previous value (``change_unit`` ``"%"``); a rate or a share in
  percentage points (``"pp"``: "42%, previous 39%, +3 pp"), never in per cent of a per cent;
- ``verdict`` follows the metric's declared direction (``better``: ``"up"``, ``"down"`` or ``None``), not the sign
  of the change: a median reply time that rises is ``"worse"``; a change that rounds to zero as shown (under half
  a per cent, or half a point) is ``"same"``; a metric with no better direction, or a change that cannot be
  computed, has no verdict (``None``).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .._durations import duration_words
from ..analysis.metrics import FIGURES, figure_metrics, figure_values

__all__ = ["key_figures", "compare", "format_value", "format_change"]


def _number(value: Any) -> float | int | None:
    """A JSON-ready number: None for NaN / NaT / None, ints stay ints."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    value = float(value)
    return None if math.isnan(value) else value


def compare(value: Any, previous: Any, *, unit: str, better: str | None) -> dict[str, Any]:
    """``change``, ``change_unit`` and ``verdict`` of a figure that was ``previous`` and is ``value``.

    Examples
    --------
    >>> compare(0.42, 0.39, unit="share", better="up")
    {'change': 3.0, 'change_unit': 'pp', 'verdict': 'better'}
    >>> compare(6.0, 1.0, unit="hours", better="down")["verdict"]  # six times slower is worse, though it rose
    'worse'
    >>> compare(1000, 1002, unit="count", better="up")  # -0.2% rounds to 0%: the same, never green or red
    {'change': -0.2, 'change_unit': '%', 'verdict': 'same'}
    >>> compare(5, None, unit="count", better="up")
    {'change': None, 'change_unit': '%', 'verdict': None}
    """
    value, previous = _number(value), _number(previous)
    change_unit = "pp" if unit == "share" else "%"
    change = None
    if value is not None and previous is not None:
        if unit == "share":
            change = (value - previous) * 100
        elif previous != 0:
            change = (value - previous) / abs(previous) * 100
        elif value == 0:
            change = 0.0
    verdict = None
    if change is not None:
        change = round(change, 1)
        if _shown(change) == 0:
            verdict = "same"
        elif better is not None:
            verdict = "better" if (change > 0) == (better == "up") else "worse"
    return {"change": change, "change_unit": change_unit, "verdict": verdict}


def key_figures(
    messages: Any,
    *,
    since: Any,
    until: Any,
    tz: str = "UTC",
    previous: bool = True,
    keys: tuple[str, ...] = FIGURES,
    include_bots: bool = False,
    include_system: bool = False,
) -> list[dict[str, Any]]:
    """The key figures over ``[since, until)``, each compared with the period of the same length before it.

    Each row: ``key`` (the analysis function), ``label`` (its name in :data:`chatlens.analysis.METRICS`), ``unit``,
    ``value``, ``previous`` (None with ``previous=False``), ``change``, ``change_unit``, ``better``, ``verdict``
    (see the module docs). Values are :func:`chatlens.analysis.figure_values` with NaN as None; ``include_bots`` and
    ``include_system`` are passed to every figure's function.

    Examples
    --------
    >>> from chatlens.loaders import load_messages
    >>> m = load_messages("demo", ["general"], progress=False)
    >>> rows = key_figures(m, since="2026-07-01", until="2026-07-29")
    >>> [(r["key"], r["label"]) for r in rows][:2]
    [('message_count', 'messages'), ('member_count', 'members posting')]
    """
    from ..analysis._common import to_utc

    since, until = to_utc(since, "since"), to_utc(until, "until")
    which = {"tz": tz, "keys": keys, "include_bots": include_bots, "include_system": include_system}
    now = _values(messages, since=since, until=until, **which)
    before = _values(messages, since=since - (until - since), until=since, **which) if previous else {}
    rows = []
    for metric in figure_metrics(keys):
        value, prev = _number(now[metric.key]), _number(before.get(metric.key))
        rows.append(
            {
                "key": metric.key,
                "label": metric.name,
                "unit": metric.unit,
                "value": value,
                "previous": prev,
                **compare(value, prev, unit=metric.unit, better=metric.better),
                "better": metric.better,
            }
        )
    return rows


def _values(messages: Any, *, keys: tuple[str, ...], **which: Any) -> dict[str, Any]:
    """:func:`chatlens.analysis.figure_values` (which calls each figure's function in turn), a figure at a time,
    each starting without the last one's garbage (:func:`chatlens.reports._release_unused`): on 1,000,000 messages
    the figures of one period together took 0.5x the frame of working memory beside it."""
    from . import _release_unused

    out: dict[str, Any] = {}
    for metric in figure_metrics(keys):
        out.update(figure_values(messages, keys=(metric.key,), **which))
        _release_unused()
    return out


def format_value(value: Any, unit: str | None) -> str:
    """A figure's value as shown: counts with thousands separators, shares in whole per cent, hours as a duration
    in words (whole minutes: "0.6 h" against "0.6 h" could not show the change beside it).

    Examples
    --------
    >>> format_value(24660, "count"), format_value(0.4235, "share"), format_value(3.84, "hours")
    ('24,660', '42%', '3 h 50 min')
    >>> format_value(None, "count")
    '–'

    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "hours":
        return duration_words(pd.Timedelta(hours=float(value)))
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_change(row: dict[str, Any]) -> str:
    """A figure's change as shown: "+12%", "-3 pp", "±0%" within rounding, "–" when it cannot be computed.

    Examples
    --------
    >>> format_change({"change": 3.04, "change_unit": "pp", "verdict": "better"})
    '+3 pp'
    >>> format_change({"change": 0.2, "change_unit": "%", "verdict": "same"})
    '±0%'
    """
    change, unit = row["change"], row["change_unit"]
    if change is None:
        return "–"
    space = " " if unit == "pp" else ""
    shown = _shown(change)
    if shown == 0:
        return f"±0{space}{unit}"
    return f"{shown:+d}{space}{unit}"


def _shown(change: float) -> int:
    """A change as the whole number shown, halves away from zero (so 0.5 reads +1, as its colour says, never +0)."""
    return int(math.copysign(math.floor(abs(change) + 0.5), change))
