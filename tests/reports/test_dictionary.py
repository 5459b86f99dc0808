"""The data dictionary (docs/metrics.md): generated from the registry, and the registry names every metric."""

from __future__ import annotations

import inspect
from pathlib import Path

from chatlens import analysis as A
from chatlens.analysis import metrics as M
from chatlens.reports.dictionary import metrics_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

# The modules that hold report-grade metrics, one per family; each public function of theirs is a metric.
FAMILIES = (
    "people",
    "replies",
    "conversations",
    "groups",
    "periods",
    "hygiene",
    "totals",
    "reactions",
    "sharing",
    "urgency",
    "membership",
)


def test_docs_metrics_md_is_generated_from_the_code():
    assert DOCS.read_text(encoding="utf-8") == metrics_markdown(), (
        "docs/metrics.md is stale: python -m chatlens.reports.dictionary > docs/metrics.md"
    )


def test_every_metric_function_is_in_the_dictionary():
    families = [__import__(f"chatlens.analysis.{f}", fromlist=["x"]).__all__ for f in FAMILIES]
    functions = {name for names in families for name in names if inspect.isfunction(getattr(A, name))} | {
        "after_hours_share"
    }
    listed = {m.function.__name__ for m in M.METRICS}
    assert functions <= listed, f"missing from METRICS: {sorted(functions - listed)}"
    text = DOCS.read_text(encoding="utf-8")
    for name in functions:
        assert f"`{name}`" in text
    for m in M.METRICS:
        assert m.formula, f"{m.function.__name__} has no formula (Notes section)"
        # One definition per figure: the registry names the public function, not a copy of it.
        assert getattr(A, m.function.__name__) is m.function
        assert m.function.__module__.removeprefix("chatlens.analysis.") in (
            *FAMILIES,
            "rhythm",
            "terms",
        )  # terms also has tokenize, no metric
    assert set(M.__all__) <= set(A.__all__)
