"""Mutation testing of the core: how many small wrong programs does the suite still pass? Run on demand, never in CI.

    python benchmarks/mutation.py [MODULE ...] [--sample N] [--seed S] [--timeout SECONDS] [--overlay PATH ...]
                                  [--only NAME ...]

For each module (default: ``chatlens/_links.py`` and ``chatlens/analysis/threads.py``) mutants are made by AST
transforms, one change each: a comparison swapped (``<`` / ``<=``, ``>`` / ``>=``, ``==`` / ``!=``, ``is`` /
``is not``, ``in`` / ``not in``), an arithmetic or bitwise operator swapped (``+ -``, ``* //``, ``& |``), ``and`` /
``or``, a small int constant off by one, ``True`` / ``False``, a ``not`` or ``~`` removed, a returned value
replaced by ``None``; in a string that reads as SQL (``SELECT`` ... ``FROM``), a comparison swapped (``<`` /
``<=``, ``>`` / ``>=``), the last key of an ``ORDER BY`` dropped, a ``DESC`` dropped. Annotations and docstrings
are never mutated. ``--only NAME`` keeps the mutants inside functions (or methods, or classes) of that name
(``--only list_messages --only list_users``: the paging of a large module). ``--sample N`` takes N of the mutants
at random (``--seed``), so a run is reproducible from its command line.

Nothing under the working tree is written: the landed code (``git archive HEAD`` of ``chatlens/``, ``tests/``,
``docs/``, ``pyproject.toml`` and ``conftest.py``) is unpacked into a temporary directory, ``--overlay`` copies
named working-tree files on top (a test file not committed yet), and each mutant is written into that copy and
run there with ``PYTHONPATH`` and the working directory pointing at it, so the tests import the mutated copy. Before the
mutants, an unmutated run must pass and a deliberately broken module must fail (proof that the copy is what the
tests import). At the end ``git diff --quiet`` checks that the working tree's module is unchanged.

Per mutant only the tests covering the module run (``COVERING`` below, plus the module's own doctests), with
``-x -q -p no:randomly`` and a timeout (a run that times out is run again with four times as long, and one that
times out twice counts as caught: it loops). The table gives module, mutants, caught and
score; survivors are listed with file:line and the change.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODULES = ["chatlens/_links.py", "chatlens/analysis/threads.py"]
# Tests that exercise each module (the module's doctests are added). Plot tests draw rather than compute, so left out.
_ANALYSIS_TESTS = [
    "tests/analysis",
    "--ignore=tests/analysis/test_plot_labels.py",
    "--ignore=tests/analysis/test_plots.py",
]
# Paging: the contract suite (every backend, the tied listings of test_paging_ties.py) and the interface's own
# tests (slices of whole lists, tokens, walking pages; the Slack and Teams connectors page with slice_by_id).
_PAGING_TESTS = ["tests/contract", "tests/chatapi"]
# Reply chains and threads: the tests that exercise them, the targeted ones first (a caught mutant stops at its
# first failure). On a machine shared with others the whole analysis suite took two minutes a mutant; pass
# --covering analysis to use it (_ANALYSIS_TESTS) instead.
_T = "tests/analysis/"
_CHAIN_TESTS = [
    _T + "test_mutation_survivors.py",
    _T + "test_fast_paths.py",
    _T + "test_bot_rooted_threads_and_questions.py",
    *(_T + "test_properties.py::" + t for t in ("test_thread_depth", "test_missing_parents_are_reported")),
    *(_T + "test_properties.py::" + t for t in ("test_cycles_raise_naming_the_messages", "test_thread_table")),
    *(_T + "test_properties.py::" + t for t in ("test_interaction_edges", "test_member_and_conversation_summaries")),
    _T + "test_team_analyses.py",
    _T + "test_answered_within.py",
    *(_T + "test_metrics.py::" + t for t in ("test_reply_rate", "test_time_to_first_reply")),
    *(_T + "test_metrics.py::" + t for t in ("test_unanswered_questions", "test_cross_group_interaction")),
]
# The metric registry (figure_values) and the homes of the metrics issue 24 names.
_METRIC_TESTS = [
    _T + "test_metrics_edges.py",
    "tests/reports/test_figures.py",
    "tests/reports/test_rendered_values.py",
    "tests/reports/test_dictionary.py",
]
_PERIOD_TESTS = [
    _T + "test_metrics_edges.py",
    *(_T + "test_metrics.py::" + t for t in ("test_mark_partial", "test_complete_range")),
    _T + "test_metrics.py::test_complete_range_with_bounds_on_period_edges",
]
REPORT_MODULES = ["__init__.py", "figures.py", "lookup.py", "community.py", "sections.py"]
COVERING: dict[str, list[str]] = {
    "chatlens/_links.py": _CHAIN_TESTS,
    "chatlens/analysis/threads.py": _CHAIN_TESTS,
    "chatlens/analysis/metrics.py": _METRIC_TESTS,
    "chatlens/analysis/periods.py": _PERIOD_TESTS,
    # The metrics' homes: the edge cases and, per module, the tests that call each of its functions.
    "chatlens/analysis/people.py": [
        _T + "test_metrics_edges.py",
        _T + "test_metric_homes.py",
        *(
            _T + "test_metrics.py::" + t
            for t in (
                "test_concentration",
                "test_concentration_at_exactly_half",
                "test_members_posting_and_post_split",
                "test_post_split_other_periods_add_up",
                "test_messages_per_posting_member",
                "test_stickiness",
            )
        ),
        "tests/reports/test_rendered_values.py::test_stickiness_counts_the_quiet_days_at_the_end_of_a_period",
    ],
    "chatlens/analysis/conversations.py": [
        _T + "test_metrics_edges.py",
        _T + "test_metric_homes.py",
        *(_T + "test_metrics.py::" + t for t in ("test_dead_conversations", "test_visibility_share")),
        _T + "test_fast_paths.py",
    ],
    "chatlens/analysis/groups.py": [
        _T + "test_metrics_edges.py",
        _T + "test_metric_homes.py",
        *(
            _T + "test_metrics.py::" + t
            for t in ("test_cross_group_interaction", "test_cross_group_interaction_reads_csv")
        ),
        _T + "test_team_analyses.py",
    ],
    "chatlens/analysis/activity.py": [
        _T + "test_metrics_edges.py",
        _T + "test_metric_homes.py",
        _T + "test_properties.py",
        _T + "test_signals.py::test_cohorts_take_the_timelines_frequency_words",
    ],
    # The report: its own tests (the rendered values, to_dict() and --json; the community section; the CLI).
    **{"chatlens/reports/" + m: ["tests/reports"] for m in REPORT_MODULES},
    "chatlens/chatapi/paging.py": _PAGING_TESTS,
    "chatlens/backends/sqlite.py": ["tests/contract"],
}
_WHOLE_ANALYSIS = False  # --covering analysis
PYTEST_OPTS = ["-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-o", "addopts=", "--doctest-modules"]
PYTEST_OPTS += ["-W", "ignore::pytest.PytestUnraisableExceptionWarning"]

_CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_BIN = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
_SYMBOL = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
    ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
    ast.FloorDiv: "//", ast.Div: "/", ast.BitAnd: "&", ast.BitOr: "|", ast.And: "and", ast.Or: "or",
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    module: str
    site: int  # index of the node in the module's (deterministic) ast.walk order
    variant: int
    line: int
    change: str


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: annotations (strings under ``from __future__ import annotations``) and
    docstrings."""
    skip: set[int] = set()

    def drop(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            drop(node.returns)
            for a in [
                *node.args.args,
                *node.args.kwonlyargs,
                *node.args.posonlyargs,
                node.args.vararg,
                node.args.kwarg,
            ]:
                drop(a.annotation if a is not None else None)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                drop(first)
    return skip


_SQL = re.compile(r"\bSELECT\b.*\bFROM\b|\bWHERE\b|\bORDER BY\b", re.S)
_SQL_CMP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def _sql_variants(text: str) -> list[tuple[str, str]]:
    """(description, changed text) for each SQL mutation of ``text``; none unless it reads as SQL."""
    if not _SQL.search(text):
        return []
    out = []
    for m in re.finditer(r"(?<= )(<=|>=|<|>)(?= )", text):
        new = _SQL_CMP[m.group()]
        out.append((f"SQL {m.group()} -> {new}", text[: m.start()] + new + text[m.end() :]))
    for m in re.finditer(r"ORDER BY ((?:[\w.]+(?: DESC| ASC)?, )+)([\w.]+(?: DESC| ASC)?)", text):
        out.append((f"SQL ORDER BY: ', {m.group(2)}' dropped", text[: m.start(1)] + m.group(1)[:-2] + text[m.end() :]))
    for m in re.finditer(r" DESC\b", text):
        out.append(("SQL DESC dropped", text[: m.start()] + text[m.end() :]))
    return out


def _variants(node: ast.AST) -> list[str]:
    """The changes that can be made at ``node``, described; :func:`_apply` makes variant i."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [change for change, _text in _sql_variants(node.value)]
    if isinstance(node, ast.Compare):
        return [f"{_SYMBOL[type(op)]} -> {_SYMBOL[_CMP[type(op)]]}" for op in node.ops if type(op) in _CMP]
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BIN:
        return [f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[_BIN[type(node.op)]]}"]
    if isinstance(node, ast.BoolOp):
        return [f"{_SYMBOL[type(node.op)]} -> {'or' if isinstance(node.op, ast.And) else 'and'}"]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
        return ["'not' removed" if isinstance(node.op, ast.Not) else "'~' removed"]
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return [f"{node.value} -> {not node.value}"]
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and abs(node.value) <= 64:
        return [f"{node.value} -> {node.value + 1}", f"{node.value} -> {node.value - 1}"]
    returns_value = isinstance(node, ast.Return) and node.value is not None
    if returns_value and not (isinstance(node.value, ast.Constant) and node.value.value is None):
        return ["return value -> None"]
    return []


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, new: ast.AST | None) -> None:
        self.target, self.new = target, new

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.new
        return super().generic_visit(node)


def _apply(tree: ast.Module, node: ast.AST, variant: int) -> ast.Module:
    """Make change ``variant`` at ``node`` (a node of ``tree``, changed in place or replaced)."""
    if isinstance(node, ast.Compare):
        idx = [i for i, op in enumerate(node.ops) if type(op) in _CMP][variant]
        node.ops[idx] = _CMP[type(node.ops[idx])]()
    elif isinstance(node, ast.BinOp | ast.AugAssign):
        node.op = _BIN[type(node.op)]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        tree = _Replace(node, node.operand).visit(tree)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        node.value = _sql_variants(node.value)[variant][1]
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        node.value = not node.value
    elif isinstance(node, ast.Constant):
        node.value = node.value + (1 if variant == 0 else -1)
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    return ast.fix_missing_locations(tree)


def _sites(tree: ast.Module) -> list[ast.AST]:
    skip = _skipped_nodes(tree)
    return [n for n in ast.walk(tree) if id(n) not in skip]


def mutants_of(module: str, source: str, only: frozenset[str] = frozenset()) -> list[Mutant]:
    """Every mutant of ``source``; with ``only``, those on the lines of functions or classes so named."""
    tree = ast.parse(source)
    spans = [
        (n.lineno, n.end_lineno or n.lineno)
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name in only
    ]
    out = []
    for site, node in enumerate(_sites(tree)):
        line = getattr(node, "lineno", 0)
        if only and not any(lo <= line <= hi for lo, hi in spans):
            continue
        for variant, change in enumerate(_variants(node)):
            out.append(Mutant(module, site, variant, line, change))
    return out


def mutated_source(source: str, mutant: Mutant) -> str:
    tree = ast.parse(source)
    node = _sites(tree)[mutant.site]
    return ast.unparse(_apply(tree, node, mutant.variant))


def _snapshot(dest: Path, overlay: list[str]) -> None:
    """``git archive HEAD`` of the package, the tests, the docs (tests compare them) and the pytest set-up,
    unpacked at ``dest``; then the ``overlay`` files copied from the working tree."""
    data = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD", "chatlens", "tests", "docs", "pyproject.toml", "conftest.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    for rel in overlay:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / rel, target)


def _run(root: Path, module: str, timeout: float) -> tuple[str, float]:
    """Run the covering tests in the copy at ``root``: ("pass" | "fail" | "timeout", seconds)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    tests = _ANALYSIS_TESTS if _WHOLE_ANALYSIS and module.startswith(("chatlens/_links", "chatlens/analysis")) else None
    cmd = [sys.executable, "-m", "pytest", *PYTEST_OPTS, "--rootdir", str(root), *(tests or COVERING[module]), module]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start
    return ("pass" if proc.returncode == 0 else "fail"), time.perf_counter() - start


def run_module(
    root: Path, module: str, sample: int | None, seed: int, timeout: float | None, only: frozenset[str] = frozenset()
) -> list[tuple[Mutant, str]]:
    path = root / module
    original = path.read_text()
    status, baseline = _run(root, module, timeout=600)
    if status != "pass":
        raise SystemExit(f"{module}: the covering tests fail on the unmutated copy; fix that first")
    limit = timeout or max(30.0, 3 * baseline)
    mutants = mutants_of(module, original, only)
    if not mutants:
        raise SystemExit(f"{module}: no mutants" + (f" in {sorted(only)}" if only else ""))
    if sample is not None and sample < len(mutants):
        mutants = sorted(random.Random(seed).sample(mutants, sample), key=lambda m: (m.line, m.site, m.variant))
    print(f"{module}: baseline {baseline:.1f}s, {len(mutants)} mutants, timeout {limit:.0f}s", flush=True)
    results = []
    try:
        # The copy is what the tests import: a module that cannot be imported must fail the run.
        path.write_text('raise ImportError("mutation canary")\n' + original)
        if _run(root, module, timeout=limit)[0] == "pass":
            raise SystemExit(f"{module}: a broken copy passed: the tests do not import the temporary copy")
        for i, m in enumerate(mutants, 1):
            path.write_text(mutated_source(original, m))
            status, secs = _run(root, module, timeout=limit)
            if status == "timeout":
                # A loaded machine can make a passing run slow: run once more with four times the time, so a
                # survivor is not counted caught for the machine's sake (a mutant that loops times out again).
                status, more = _run(root, module, timeout=4 * limit)
                secs += more
            results.append((m, status))
            print(f"  [{i}/{len(mutants)}] {module}:{m.line} {m.change}: {status} ({secs:.1f}s)", flush=True)
    finally:
        path.write_text(original)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", default=DEFAULT_MODULES, help="paths relative to the repository")
    ap.add_argument("--sample", type=int, default=None, help="mutants per module, drawn at random (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None, help="seconds per mutant (default: 3x the baseline)")
    ap.add_argument("--overlay", action="append", default=[], help="working-tree file copied over the snapshot")
    ap.add_argument("--only", action="append", default=[], help="mutate only inside functions or classes so named")
    ap.add_argument(
        "--covering",
        choices=["targeted", "analysis"],
        default="targeted",
        help="analysis modules: their targeted tests (COVERING, default) or the whole analysis suite",
    )
    args = ap.parse_args(argv)
    global _WHOLE_ANALYSIS
    _WHOLE_ANALYSIS = args.covering == "analysis"
    unknown = [m for m in args.modules if m not in COVERING]
    if unknown:
        ap.error(f"no covering tests known for {unknown}; add them to COVERING")
    table, survivors = [], []
    with tempfile.TemporaryDirectory(prefix="chatlens-mutation-") as tmp:
        root = Path(tmp)
        _snapshot(root, args.overlay)
        for module in args.modules:
            results = run_module(root, module, args.sample, args.seed, args.timeout, frozenset(args.only))
            caught = sum(status != "pass" for _m, status in results)
            table.append((module, len(results), caught))
            survivors += [m for m, status in results if status == "pass"]
    changed = [m for m in args.modules if subprocess.run(["git", "diff", "--quiet", "--", m], cwd=REPO).returncode]
    print(
        f"\nseed {args.seed}, sample {args.sample or 'all'}" + (f", only {', '.join(args.only)}" if args.only else "")
    )
    print(f"| {'module':<32} | mutants | caught | score |")
    print(f"|{'-' * 34}|---------|--------|-------|")
    for module, n, caught in table:
        print(f"| {module:<32} | {n:>7} | {caught:>6} | {caught / n if n else 1:>5.0%} |")
    if survivors:
        print("\nsurvivors:")
        for m in survivors:
            print(f"  {m.module}:{m.line}: {m.change}")
    if changed:
        print(f"\nthe working tree differs from HEAD in {changed} (not this script's doing: it writes only a copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
