"""The committed example notebooks (notebooks/*.ipynb, built by notebooks/build_notebooks.py) teach the public API,
say in words what each table and figure shows, and keep outputs a reader can trust: no progress bars, no warning
silenced. nbval (the test command's ``--nbval``) checks that the outputs are what the code gives."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: The analyses issue 20 §4 asks the notebooks, together, to show.
SHOWN = (
    "cohort_retention(",
    "new_vs_returning(",
    "dead_conversations(",
    "unanswered_questions(",
    "concentration(",
    "pseudonymize(",
    "text=False",
)
# A private name of chatlens (chatlens.x._y, from chatlens.x import _y) or a backend class used directly.
PRIVATE = re.compile(r"\bchatlens(?:\.\w+)*\._\w+|\bfrom chatlens[\w.]* import .*\b_\w+|\bbackends\b")
# What tqdm prints: "acme-slack:  45%|████▌     | 5/11 [00:01<00:01, 4.2conv/s]".
PROGRESS_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\d+(?:\.\d+)?\w+/s\]")
SILENCED = re.compile(r"filterwarnings|simplefilter|catch_warnings|warn=False")


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _outputs(cell: dict[str, Any]) -> list[str]:
    """Every text a cell's outputs hold: streams, results' text and HTML, errors."""
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append(_text(output["text"]))
        for kind in ("text/plain", "text/html"):
            if kind in output.get("data", {}):
                texts.append(_text(output["data"][kind]))
        if output["output_type"] == "error":
            texts.extend([output["evalue"], *output["traceback"]])
    return texts


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_uses_the_public_api_only(path):
    lines = [line for c in _cells(path) if c["cell_type"] == "code" for line in _text(c["source"]).splitlines()]
    assert [line for line in lines if PRIVATE.search(line)] == []


def test_private_names_are_caught():
    assert PRIVATE.search("from chatlens.backends.sqlite import Workspace")
    assert PRIVATE.search("chatlens.analysis._common.select_mask(m)")
    assert PRIVATE.search("from chatlens.analysis import _docs")
    assert not PRIVATE.search("from chatlens.reports import build_report, load_report_messages")


def test_together_they_show_every_analysis():
    code = "\n".join(_text(c["source"]) for p in NOTEBOOKS for c in _cells(p) if c["cell_type"] == "code")
    assert [name for name in SHOWN if name not in code] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_hold_no_progress_bar(path):
    bars = [t for c in _cells(path) for t in _outputs(c) if PROGRESS_BAR.search(t)]
    assert bars == []


def test_progress_bars_are_caught():
    assert PROGRESS_BAR.search("acme-slack:   0%|          | 0/11 [00:00<?, ?conv/s]")
    assert PROGRESS_BAR.search("users: 35user [00:00, 68502.40user/s]")
    assert not PROGRESS_BAR.search("reply rate    45%      43%   +3 pp")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_warning_is_silenced(path):
    code = [_text(c["source"]) for c in _cells(path) if c["cell_type"] == "code"]
    assert [c for c in code if SILENCED.search(c)] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_table_and_figure_has_words_beside_it(path):
    """A cell showing a table (HTML) or a figure (an image) follows a markdown cell saying what it shows."""
    cells = _cells(path)

    def shows(cell: dict[str, Any]) -> bool:
        return any({"text/html", "image/png"} & set(o.get("data", {})) for o in cell.get("outputs", []))

    bare = [
        _text(c["source"]).splitlines()[0]
        for before, c in itertools.pairwise(cells)
        if c["cell_type"] == "code" and shows(c) and before["cell_type"] != "markdown"
    ]
    assert bare == []
