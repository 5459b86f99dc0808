"""The ``chatlens`` command: a thin layer over the library's functions.

- ``chatlens`` / ``chatlens summary [--account NAME]``: the account's conversations with message and member counts
- ``chatlens report [--account NAME] [--since ... --until ...] [--tz ...] [--out report.html] [--anonymize]
  [--min-group-size K] [--scheduler ADDRESS]``: the HTML report (``--anonymize`` takes its salt from
  ``$CHATLENS_SALT`` if set; ``--scheduler`` computes its analyses on a Dask cluster, the same figures)
- ``chatlens serve [--db PATH | --account NAME] [--host H] [--port P] [--rate-limit N] [--public-url URL]``: the
  wire protocol server
- ``chatlens import slack-export PATH [--db chat.sqlite]``: copy a Slack export into a SQLite workspace;
  ``--to DATASET [--scheduler ADDRESS]`` parses it as Dask tasks into a Parquet dataset instead
  (:mod:`chatlens.ingest`)
- ``chatlens cache info`` / ``chatlens cache clear [ACCOUNT]``: the loaders' on-disk cache
- ``chatlens export [--account NAME] --format parquet|csv|xlsx --out PATH [--tables messages,users,...]
  [--text/--no-text] [--anonymize]``: the tidy frames as files (:mod:`chatlens.export`; ``--anonymize`` takes its
  salt from ``$CHATLENS_SALT`` if set)

``--account`` takes an account name from the accounts file, or a path: a Slack export (.zip or folder, any layout
:mod:`chatlens.backends.slack.archive` reads) or a SQLite workspace file.

Exit status: 0 when everything the source holds was read; 1 when the work was done but the source left something
out (each item is printed as ``problem: ...``, as ``api.problems`` lists it); 2 for an error (bad arguments, a
path that is no archive, a service error); 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator, Sequence

from .errors import ChatError

__all__ = ["main"]


def _summary(args: argparse.Namespace) -> int:
    from .accounts import connect
    from .chatapi import iter_items

    api = connect(args.account, account=args.account_id)
    rows = []
    for conv in iter_items(api.list_conversations, page_size=1000):
        if "list_messages" in api.rules.allowed:
            n = sum(p["count"] for p in _pages(api.list_messages, conv["id"]))
        else:
            n = None
        rows.append(
            (
                conv["name"] or "(direct)",
                conv["id"],
                "private" if conv["private"] else "public",
                len(conv["members"]),
                n,
            )
        )
    print(f"{api.account_id} ({api.service}): {len(rows)} conversations")
    width = max([len(r[0]) for r in rows] + [12])
    print(f"{'conversation':<{width}}  {'id':<24} {'access':<8} {'members':>7} {'messages':>9}")
    for name, cid, access, members, n in rows:
        shown = "n/a" if n is None else f"{n:,}"
        print(f"{name:<{width}}  {cid:<24} {access:<8} {members:>7} {shown:>9}")
    total = sum(r[4] or 0 for r in rows)
    print(f"{'total':<{width}}  {'':<24} {'':<8} {'':>7} {total:>9,}")
    return _left_out(api)


def _pages(op, *args):
    from .chatapi import iter_pages

    return iter_pages(op, *args, page_size=1000)


def _report(args: argparse.Namespace) -> int:
    import time

    from .accounts import connect
    from .reports import report

    t0 = time.perf_counter()
    api = connect(args.account, account=args.account_id)
    with _scheduler(args.scheduler, analyses=True):
        path = report(
            api,
            conversations=args.conversations,
            since=args.since,
            until=args.until,
            tz=args.tz,
            out=args.out,
            include_text=args.include_text,
            anonymize=args.anonymize,
            # From the environment, never the command line, where other users could read it.
            salt=os.environ.get("CHATLENS_SALT") or None,
            min_group_size=args.min_group_size,
            progress=not args.quiet,
            json_out=args.json,
            include_private=args.include_private,
            freq=args.freq,
            sla=args.sla,
            lead_in=args.lead_in,
        )
    where = f" (analyses on the cluster at {args.scheduler})" if args.scheduler else ""
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) for {api.account_id} in {time.perf_counter() - t0:.1f} s"
        + where
    )
    return _left_out(api)


@contextlib.contextmanager
def _scheduler(address: str | None, *, analyses: bool = False) -> Iterator[None]:
    """With an address, a ``distributed.Client`` of that scheduler for the block (and, with ``analyses``, the
    analyses sent to it: :func:`chatlens.analysis._distributed.on_cluster`); without, nothing."""
    if address is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise ValueError('--scheduler needs the dask extra: pip install "chatlens[dask]"') from None
    from .analysis._distributed import on_cluster

    try:
        client = Client(address)  # waits distributed.comm.timeouts.connect (dask config) at most
    except OSError as exc:
        raise ValueError(f"--scheduler: no Dask scheduler reachable at {address} ({exc})") from None
    with client, on_cluster() if analyses else contextlib.nullcontext():
        yield


def _left_out(api) -> int:
    """Print what the source left out, and the exit status that says whether anything was (1) or not (0)."""
    for note in api.notes:
        print(f"  note: {note}")
    for problem in api.problems:
        print(f"  problem: {problem}", file=sys.stderr)
    return 1 if api.problems else 0


def _import(args: argparse.Namespace) -> int:
    if args.to is not None:
        return _import_dataset(args)
    from .importers import import_slack_export

    counts = import_slack_export(
        args.path, args.db, account_id=args.account_id, replace=args.replace, progress=not args.quiet
    )
    print(
        f"imported {counts['messages']:,} messages in {counts['conversations']} conversations "
        f"({counts['users']} users) into {args.db} as account {counts['account']}"
    )
    for note in counts["notes"]:
        print(f"  note: {note}")
    for problem in counts["problems"]:
        print(f"  problem: {problem}")
    return 1 if counts["problems"] else 0


def _import_dataset(args: argparse.Namespace) -> int:
    from .ingest import import_slack_export_dataset

    if args.replace:
        raise ValueError("--replace is for --db; --to writes a new dataset (choose an empty place)")
    with _scheduler(args.scheduler):
        counts = import_slack_export_dataset(args.path, args.to, account_id=args.account_id)
    print(
        f"wrote {counts['messages']:,} messages in {counts['conversations']} conversations to {args.to} "
        f"({counts['files']} files) as account {counts['account']}"
    )
    for problem in counts["problems"]:
        print(f"  problem: {problem}", file=sys.stderr)
    return 1 if counts["problems"] else 0


def _rate(value: str) -> float:
    """A --rate-limit: a finite number of requests per second above 0 (argparse turns the error into a usage line)."""
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of requests per second, got {value!r}") from None
    if not math.isfinite(rate) or rate <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {value!r}")
    return rate


def _serve(args: argparse.Namespace) -> int:
    from .server import run_server

    return run_server(
        db=args.db,
        account=args.account,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        public_url=args.public_url,
    )


def _cache(args: argparse.Namespace) -> int:
    from . import cache

    if args.cache_command == "info":
        print(cache.format_cache_info(cache.cache_info()))
    else:
        removed = cache.clear_cache(args.account)
        print(f"removed {removed} cached dataset(s)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .accounts import connect
    from .export import export_tables

    api = connect(args.account, account=args.account_id)
    try:
        done = export_tables(
            api,
            args.out,
            format=args.format,
            tables=args.tables,
            text=args.text,
            anonymize=args.anonymize,
            # From the environment, never the command line, where other users could read it.
            salt=os.environ.get("CHATLENS_SALT") or None,
            progress=not args.quiet,
        )
    except ImportError as exc:  # the xlsx extra is not installed
        print(f"chatlens: error: {exc}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{name} {n:,}" for name, n in done.rows.items())
    print(f"wrote {done.path} ({done.format}: {rows} rows) for {api.account_id}")
    return _left_out(api)


_ACCOUNT_HELP = (
    "account name from the accounts file, or a path: a Slack archive (.zip or folder) or a SQLite workspace "
    "(default: demo)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatlens", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")

    summary = sub.add_parser("summary", help="list an account's conversations with message and member counts")
    summary.add_argument(
        "--account",
        default="demo",
        help=_ACCOUNT_HELP,
    )
    summary.add_argument("--account-id", default=None, help="which account of a workspace, e.g. acme-teams")
    summary.set_defaults(func=_summary)

    rep = sub.add_parser("report", help="write a self-contained HTML engagement report")
    rep.add_argument(
        "--account",
        default="demo",
        help=_ACCOUNT_HELP,
    )
    rep.add_argument("--account-id", default=None, help="which account of a workspace, e.g. acme-teams")
    rep.add_argument("--conversations", nargs="*", default=None, help="conversation names or ids (default: all)")
    rep.add_argument(
        "--since",
        default=None,
        help="period start: all, a length back from --until (90d, 12w), a month (2025-01) or an ISO date "
        "(2025-01-31) in --tz (default: 28 days before --until)",
    )
    rep.add_argument(
        "--until",
        default=None,
        help="period end, exclusive: a month or an ISO date (default: end of the last complete day)",
    )
    rep.add_argument("--tz", default="UTC", help="time zone for days, hours and weeks (default: UTC)")
    rep.add_argument("--out", default="report.html", help="output file (default: report.html)")
    rep.add_argument(
        "--freq",
        default=None,
        help="the plots' period: D, W, MS or QS (default: from the span, days for weeks, weeks for months, ...)",
    )
    rep.add_argument(
        "--sla",
        default="24h",
        help="the reply-time threshold: unanswered threads waiting longer are listed, oldest first, and each "
        "conversation shows the share answered within it (default: 24h)",
    )
    rep.add_argument(
        "--lead-in",
        default=None,
        metavar="LENGTH",
        help="also draw this much time before the period in the activity plots, shaded (e.g. 28D; off by default)",
    )
    rep.add_argument("--json", default=None, metavar="PATH", help="also write what the report shows as JSON")
    rep.add_argument("--include-text", action="store_true", help="show message text of unanswered threads")
    rep.add_argument(
        "--include-private",
        action="store_true",
        help="count private channels, direct and group direct messages (left out by default)",
    )
    rep.add_argument(
        "--anonymize",
        action="store_true",
        help="show people by keyed pseudonyms; the salt comes from $CHATLENS_SALT (stable pseudonyms), else is "
        "random (pseudonyms differ per report)",
    )
    rep.add_argument(
        "--min-group-size",
        type=int,
        default=1,
        metavar="K",
        help="leave out rows about single people and show conversations with fewer than K people posting as "
        '"other" (default: 1, no suppression)',
    )
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="compute the analyses on this Dask scheduler, e.g. tcp://10.0.0.5:8786 (same figures; needs "
        'pip install "chatlens[dask]")',
    )
    rep.set_defaults(func=_report)

    serve = sub.add_parser("serve", help="serve a workspace or account over the Kloudless wire protocol")
    serve.add_argument("--db", default=None, help="a SQLite workspace file (default: the demo workspace)")
    serve.add_argument("--account", default=None, help="serve a named account from the accounts file instead")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    serve.add_argument("--rate-limit", type=_rate, default=None, help="requests per second per token (default: off)")
    serve.add_argument(
        "--public-url", default=None, help="base URL of every href, e.g. behind a proxy (default: the bound address)"
    )
    serve.set_defaults(func=_serve)

    imp = sub.add_parser("import", help="copy an export into a SQLite workspace")
    imp_sub = imp.add_subparsers(dest="import_kind", required=True)
    slack = imp_sub.add_parser("slack-export", help="a Slack workspace export (.zip or folder)")
    slack.add_argument("path")
    slack.add_argument("--db", default="chat.sqlite", help="the workspace file (default: chat.sqlite)")
    slack.add_argument("--account-id", default=None, help="account id (default: the export's team id)")
    slack.add_argument("--replace", action="store_true", help="replace an account of the same id")
    slack.add_argument("--quiet", action="store_true", help="no progress bar")
    slack.add_argument(
        "--to",
        default=None,
        metavar="DATASET",
        help="write a Parquet dataset in the messages schema (a directory or fsspec URL) instead of --db, the "
        "export's conversations parsed as Dask tasks",
    )
    slack.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --to: the Dask scheduler to run the tasks on, e.g. tcp://10.0.0.5:8786 (default: local processes)",
    )
    slack.set_defaults(func=_import)

    cache = sub.add_parser("cache", help="inspect or clear the loaders' cache")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True)
    cache_sub.add_parser("info", help="what is cached, per account")
    clear = cache_sub.add_parser("clear", help="remove cached data (all, or one account)")
    clear.add_argument("account", nargs="?", default=None)
    cache.set_defaults(func=_cache)

    export = sub.add_parser("export", help="write the tidy frames as Parquet, CSV or XLSX files")
    export.add_argument("--account", default="demo", help=_ACCOUNT_HELP)
    export.add_argument("--account-id", default=None, help="which account of a workspace, e.g. acme-teams")
    export.add_argument(
        "--format",
        required=True,
        choices=["parquet", "csv", "xlsx"],
        help="parquet or csv: a directory with a file per table; xlsx: one workbook, a sheet per table",
    )
    export.add_argument(
        "--out", required=True, help="the directory (parquet, csv) or file (xlsx) to write; its parent must exist"
    )
    export.add_argument(
        "--tables",
        default=None,
        help="comma-separated table names (default: all the account allows; an unknown name lists the known ones)",
    )
    export.add_argument(
        "--text",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="include message text (default: --no-text, text-free messages with text_length and is_question)",
    )
    export.add_argument(
        "--anonymize",
        action="store_true",
        help="people's ids, names and emails as keyed pseudonyms, the same in every table; the salt comes from "
        "$CHATLENS_SALT (stable pseudonyms), else is random (not with --text)",
    )
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(func=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chatlens`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["summary", *(argv or [])])
    try:
        return args.func(args)
    except (ChatError, ValueError, FileNotFoundError) as exc:
        print(f"chatlens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chatlens: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
