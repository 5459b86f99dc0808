"""Every public analysis, the report and the dashboard on a 1,000,000-message workspace (issue 20, section 5).

    python benchmarks/bench_analyses.py [--messages 1000000] [--work /tmp/chatlens-bench-analyses] [--runs 3]
                                        [--only NAME ...] [--no-report] [--no-dashboard] [--report-only]

The input is built once under ``--work`` and reused: the demo workspace of twice ``--messages`` messages (its
Slack account, ``acme-slack``, holds ``--messages``: channels, DMs, threads with reply chains, bots, system events,
members in six time zones), a warm on-disk cache of that account (``CHATLENS_CACHE_DIR`` under ``--work``), and
the messages frame as ``load_messages`` + ``add_sender_details`` give it, pickled (text and text-free).

Targets, each row printed with the best of ``--runs`` runs (timings are noisy on a shared machine):

- every public analysis of :mod:`chatlens.analysis` on the whole frame (with text) <= 0.5 s, shown twice: "cold"
  as the first analysis of a frame (reply chains not yet resolved: a hash of every id, which every later thread
  analysis of the same frame reuses) and "warm" (resolved), each the best of ``--runs``;
- the report (``chatlens.reports.report`` on the account, warm cache, plots included) <= 3 s, in a fresh process,
  its peak memory (RSS growth over the process after imports) <= 2x the text-free messages frame
  (``memory_usage(deep=True)``); ``--report-only`` times these two rows alone;
- each dashboard part (``DashboardState``), and a redraw after a change of period with each tab open (the change,
  then that tab's part: the dashboard draws the others when they are opened) <= 1 s.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SELF = Path(__file__).resolve()
ACCOUNT = "acme-slack"


# -- inputs --------------------------------------------------------------------------------------------------


def build(work: Path, messages: int) -> dict:
    """The workspace, a warm cache and the pickled frames under ``work``; returns their description."""
    meta_file = work / "meta.json"
    if meta_file.exists():
        return json.loads(meta_file.read_text())
    work.mkdir(parents=True, exist_ok=True)
    os.environ["CHATLENS_CACHE_DIR"] = str(work / "cache")
    from chatlens.backends.sqlite import Workspace
    from chatlens.demo import generate_workspace
    from chatlens.loaders import add_sender_details, load_conversations, load_groups, load_messages, load_users

    db = work / "demo.sqlite"
    if not db.exists():
        t0 = time.perf_counter()
        generate_workspace(db, messages=2 * messages).close()
        print(f"built {db} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    api = Workspace(db).account(ACCOUNT)
    users = load_users(api, progress=False)
    meta = {}
    for text in (True, False):
        frame = add_sender_details(load_messages(api, text=text, progress=False), users)
        name = "messages" if text else "messages_notext"
        with open(work / f"{name}.pkl", "wb") as fh:
            pickle.dump(frame, fh, protocol=pickle.HIGHEST_PROTOCOL)
        meta[name] = {"rows": len(frame), "bytes": int(frame.memory_usage(deep=True).sum())}
    load_thread_status_warm(api)
    extras = {"conversations": load_conversations(api, progress=False), "groups": load_groups(api, progress=False)}
    with open(work / "extras.pkl", "wb") as fh:
        pickle.dump(extras, fh, protocol=pickle.HIGHEST_PROTOCOL)
    meta_file.write_text(json.dumps(meta))
    return meta


def load_thread_status_warm(api) -> None:
    from chatlens.loaders import load_thread_status

    load_thread_status(api, text=False)


def read(work: Path, name: str):
    with open(work / f"{name}.pkl", "rb") as fh:
        return pickle.load(fh)


# -- cases ---------------------------------------------------------------------------------------------------


def analysis_calls(messages, extras) -> dict:
    """``name -> zero-argument call`` for every public function of chatlens.analysis, on the whole frame."""
    import warnings

    from chatlens import analysis as A

    until = messages["created"].max().normalize()
    graph = A.interaction_graph(messages)
    special = {
        "dead_conversations": lambda: A.dead_conversations(messages, extras["conversations"], now=until),
        "visibility_share": lambda: A.visibility_share(messages, extras["conversations"]),
        "cross_group_interaction": lambda: A.cross_group_interaction(
            messages, extras["groups"], member_column="user_id", group_column="group_name"
        ),
        "centrality": lambda: A.centrality(graph),
        "communities": lambda: A.communities(graph),
        "write_graph": lambda: A.write_graph(graph, os.path.join(tempfile.mkdtemp(), "g.graphml")),
        "mark_partial": lambda: A.mark_partial(
            A.activity_timeline(messages), "D", messages["created"].min(), messages["created"].max()
        ),
        "unanswered_questions": lambda: A.unanswered_questions(messages, now=until),
        "time_to_first_reply_summary": lambda: A.time_to_first_reply_summary(messages),
        "after_hours_share_member": lambda: A.after_hours_share(messages, tz="member"),
        "hour_weekday_table_member": lambda: A.hour_weekday_table(messages, tz="member"),
        "member_summary_tz": lambda: A.member_summary(messages, tz="Europe/Berlin"),
        "dau_wau_mau_tz": lambda: A.dau_wau_mau(messages, tz="America/New_York"),
    }
    calls = {}
    for name in A.__all__:
        fn = getattr(A, name)
        if not inspect.isfunction(fn):
            continue
        params = list(inspect.signature(fn).parameters.values())
        needs = [p for p in params[1:] if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD]
        if name not in special and (not params or params[0].name != "messages" or needs):
            continue  # takes something other than the messages frame alone (say so in `special`)
        calls[name] = special.get(name, lambda fn=fn: fn(messages))
    for name, call in special.items():
        calls.setdefault(name, call)

    def quiet(call):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return call()

        return run

    return {name: quiet(call) for name, call in calls.items()}


def best_of(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return min(times)


def dashboard_calls(messages) -> dict:
    from chatlens.widgets.state import PARTS, DashboardState

    state = DashboardState(load=lambda name: messages)
    state.update(account="bench")
    until = messages["created"].max().normalize()
    calls = {f"dashboard {part}": getattr(state, part) for part in PARTS}
    calls["dashboard unanswered"] = state.unanswered

    import itertools

    import pandas as pd

    # A new period each time (every part reads since/until): the dashboard then draws the tab on screen, and the
    # others only when they are opened, so a redraw costs the open tab's part after the change.
    periods = itertools.cycle([(until - pd.Timedelta(days=90), until), (until - pd.Timedelta(days=60), until)])

    def redraw(part):
        def run():
            since, end = next(periods)
            state.update(since=since, until=end)
            getattr(state, part)()

        return run

    for part in PARTS:
        calls[f"dashboard redraw, {part} open"] = redraw(part)
    return calls


# The child imports what the report imports (pyplot, and scipy.sparse through networkx's layouts: 22 MiB, 0.13x
# the frame) before it takes the base: the growth is what the report's data and work cost, not library code.
REPORT_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
import chatlens.reports, chatlens.loaders, chatlens.plotting, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot, networkx, scipy.sparse
from chatlens.backends.sqlite import Workspace
work = Path(sys.argv[1])
api = Workspace(work / "demo.sqlite").account(sys.argv[2])
import psutil
base = psutil.Process().memory_info().rss
t0 = time.perf_counter()
chatlens.reports.report(api, out=str(work / "report.html"), progress=False)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "growth": peak - base}))
"""


def report_case(work: Path, runs: int) -> dict:
    env = dict(os.environ, CHATLENS_CACHE_DIR=str(work / "cache"), MPLBACKEND="Agg")
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", REPORT_CHILD, str(work), ACCOUNT], capture_output=True, text=True, env=env
        )
        if out.returncode:
            raise RuntimeError(out.stderr)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"seconds": min(r["seconds"] for r in results), "growth": min(r["growth"] for r in results)}


# -- main ----------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--work", default=None, help="where the inputs are built and kept")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="analysis names (or dashboard parts) to time")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="time the report alone (its two rows)")
    args = parser.parse_args()
    work = Path(args.work or f"/tmp/chatlens-bench-analyses-{args.messages}")
    meta = build(work, args.messages)
    if args.report_only:
        report_rows(work, args.runs, meta, [])
        return 0
    from chatlens import _links

    messages = read(work, "messages")
    extras = read(work, "extras")
    rows: list[tuple[str, float, float, str, float | None]] = []  # name, warm, target, unit, cold

    calls = analysis_calls(messages, extras)
    if not args.no_dashboard:
        calls.update(dashboard_calls(messages))
    for name, call in calls.items():
        if args.only is not None and not any(o in name for o in args.only):
            continue
        target = 1.0 if name.startswith("dashboard") else 0.5
        try:
            # Cold: the first analysis of a frame resolves its reply chains (a hash of every id), which later
            # analyses of the same frame reuse (chatlens._links.chain_links); warm: resolved. Best of --runs each.
            cold = min(best_of(lambda call=call: (_links._MEMO.clear(), call()), 1) for _ in range(args.runs))
            rows.append((name, best_of(call, args.runs), target, "s", cold))
        except Exception as exc:  # a function others are still writing: say so, time the rest
            print(f"  {name}: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
            rows.append((name, float("nan"), target, "s", float("nan")))
            continue
        print(f"  {name}: {rows[-1][1]:.3f} s (cold {cold:.3f} s)", file=sys.stderr)
    if not args.no_report and args.only is None:
        report_rows(work, args.runs, meta, rows)
        return 0
    print_table(meta, args.runs, rows)
    return 0


def report_rows(work: Path, runs: int, meta: dict, rows: list) -> None:
    """The report's rows (time, peak memory over the frame) added to ``rows``, and the table printed."""
    rep = report_case(work, runs)
    rows.append(("report (warm cache, plots)", rep["seconds"], 3.0, "s", None))
    frame = meta["messages_notext"]["bytes"]
    rows.append(("report peak RSS growth / frame", rep["growth"] / frame, 2.0, "x", None))
    print_table(meta, runs, rows)


def print_table(meta: dict, runs: int, rows: list) -> None:
    print(
        f"{meta['messages']['rows']:,} messages; frame {meta['messages']['bytes'] / 2**20:,.0f} MiB with text, "
        f"{meta['messages_notext']['bytes'] / 2**20:,.0f} MiB text-free; best of {runs}"
    )
    print(f"{'case':<34} {'warm':>8} {'cold':>8} {'target':>8}  warm  cold")
    for name, value, target, unit, cold in rows:
        verdict = lambda v, target=target: "pass" if v <= target else ("error" if v != v else "FAIL")  # noqa: E731
        shown = f"{cold:>7.3f}{unit}" if cold is not None else f"{'':>8}"
        print(
            f"{name:<34} {value:>7.3f}{unit} {shown} {'<= ' + format(target, 'g') + unit:>8}  {verdict(value):<5} "
            f"{verdict(cold) if cold is not None else ''}"
        )


if __name__ == "__main__":
    sys.exit(main())
