"""rising_terms on a 1,000,000-message demo workspace (issue 21 §4).

    python benchmarks/bench_terms.py [--messages 1000000] [--work /tmp/chatlens-bench-analyses-1000000] [--runs 3]

The input is the one :mod:`bench_analyses` builds under ``--work`` (and reuses if it is there): the Slack account of
a demo workspace of twice ``--messages`` messages, loaded with text. Cases, each the best of ``--runs``, wall time and
this process's CPU time (on a shared machine the CPU time is the steadier figure):

- the whole frame: ``[since, until)`` the second half of its time span, so every message is tokenised (the current
  half and the previous one);
- the report's default period, the last 28 complete days, against the 28 before;
- :func:`chatlens.analysis.terms.tokenize` of 100,000 texts (lists of Python strings: the slow part is building them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analyses import build, read


def best_of(call, runs: int) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--work", default=None, help="where the inputs are built and kept (as bench_analyses)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(args.work or f"/tmp/chatlens-bench-analyses-{args.messages}")
    build(work, args.messages)

    import pandas as pd

    from chatlens.analysis import terms

    messages = read(work, "messages")
    first, last = messages["created"].min(), messages["created"].max()
    middle = first + (last - first) / 2
    until = last.normalize()
    cases = {
        "whole frame (every message)": lambda: terms.rising_terms(
            messages, since=middle, until=last + pd.Timedelta("1us")
        ),
        "last 28 days vs the 28 before": lambda: terms.rising_terms(
            messages, since=until - pd.Timedelta("28D"), until=until
        ),
        "tokenize 100,000 texts": lambda: terms.tokenize(messages["text"].iloc[:100_000]),
    }
    print(f"{len(messages):,} messages, {first:%Y-%m-%d} to {last:%Y-%m-%d}; best of {args.runs}")
    print(f"{'case':<32} {'wall':>8} {'cpu':>8}")
    for name, call in cases.items():
        wall, cpu, result = best_of(call, args.runs)
        print(f"{name:<32} {wall:>7.3f}s {cpu:>7.3f}s")
        if isinstance(result, pd.DataFrame):
            print("    top: " + ", ".join(f"{t} (z {z:.1f})" for t, z in zip(result["term"][:5], result["z"][:5])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
