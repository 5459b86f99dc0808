"""Parallel ingestion: a Slack export into a Parquet dataset in the messages schema, parsed as Dask tasks.

``chatlens import slack-export PATH --to DATASET [--scheduler ADDRESS]`` calls :func:`import_slack_export_dataset`:
the export's conversations are cut into batches, and each batch is one task that opens the export, parses its
conversations' day files into the messages frame (:func:`chatlens.load_messages` without a cache, the loaders'
own bulk read) and writes it as one Parquet file of the dataset. Batches follow the conversations' id order and
the files are numbered in it, so the dataset is ordered by (conversation_id, created, id) and
:func:`chatlens.read_messages` reads it with no shuffle. On a cluster, PATH and DATASET must be where every worker
can reach them (a shared disk, or URLs fsspec understands for DATASET, e.g. ``s3://bucket/messages``).

Each file is written under a temporary name and renamed when complete, so a failed import leaves no partial file
under a data file's name.
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any

from .partitions import require_dask

__all__ = ["import_slack_export_dataset"]

#: Conversations per task: a task opens the export once (its users and channels lists) for all of them.
CONVERSATIONS_PER_TASK = 16


def import_slack_export_dataset(
    path: str | os.PathLike[str],
    dataset: str | os.PathLike[str],
    *,
    account_id: str | None = None,
    text: bool = True,
    conversations_per_task: int = CONVERSATIONS_PER_TASK,
    storage_options: dict[str, Any] | None = None,
    scheduler: Any = None,
) -> dict[str, Any]:
    """Parse a Slack export (.zip or folder) into the Parquet dataset ``dataset``, batches of conversations as
    Dask tasks (module docs); returns ``{"account", "conversations", "messages", "files", "problems"}``.

    Parameters
    ----------
    path
        The export.
    dataset
        A directory or fsspec URL; it must not hold Parquet files already.
    account_id
        The account id the messages carry (default: the export's team id).
    text
        Keep message text (``text=False``: the text-free columns of ``load_messages(text=False)``).
    conversations_per_task
        How many conversations one task parses.
    storage_options
        fsspec options for ``dataset``.
    scheduler
        What ``dask.compute`` runs the tasks on: None for the current default (a ``distributed.Client`` if one is
        active, else local processes), or any ``scheduler=`` value dask takes.

    Examples
    --------
    >>> import tempfile, os
    >>> from pathlib import Path
    >>> from chatlens.partitions import read_messages
    >>> archive = Path("../shared/data/slack-export-small/testarchive.zip")
    >>> out = os.path.join(tempfile.mkdtemp(), "messages")
    >>> if archive.exists():
    ...     counts = import_slack_export_dataset(archive, out, scheduler="sync")
    ...     counts["messages"] == len(read_messages(out))
    ... else:
    ...     True
    True
    """
    import dask
    import fsspec

    require_dask()
    if conversations_per_task < 1:
        raise ValueError(f"conversations_per_task must be at least 1, got {conversations_per_task}")
    api = _export(os.fspath(path), account_id)
    ids = sorted(str(c) for c in _conversation_ids(api))
    fs, root = fsspec.core.url_to_fs(os.fspath(dataset), **(storage_options or {}))
    if fs.exists(root) and any(f.endswith(".parquet") for f in fs.find(root)):
        raise ValueError(f"dataset: {os.fspath(dataset)!r} already holds Parquet files; choose an empty place")
    fs.makedirs(root, exist_ok=True)
    batches = [ids[i : i + conversations_per_task] for i in range(0, len(ids), conversations_per_task)]
    tasks = [
        dask.delayed(_write_batch)(os.fspath(path), account_id, batch, fs, root, n, text)
        for n, batch in enumerate(batches)
    ]
    if scheduler is None and not _has_client():
        scheduler = "processes"
    results = dask.compute(*tasks, scheduler=scheduler) if scheduler is not None else dask.compute(*tasks)
    problems = list(dict.fromkeys([*api.problems, *(p for r in results for p in r["problems"])]))
    return {
        "account": api.account_id,
        "conversations": len(ids),
        "messages": sum(r["messages"] for r in results),
        "files": sum(r["messages"] > 0 for r in results),
        "problems": problems,
    }


def _has_client() -> bool:
    try:
        from distributed import get_client

        get_client()
    except (ImportError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=4)
def _export(path: str, account_id: str | None) -> Any:
    """The export opened once per process (a worker's tasks share its users and channels lists)."""
    from .accounts import connect

    return connect({"type": "slack_export", "path": path, **({"account": account_id} if account_id else {})})


def _conversation_ids(api: Any) -> list[str]:
    from .chatapi import iter_items

    return [c["id"] for c in iter_items(api.list_conversations, page_size=1000)]


def _write_batch(
    path: str, account_id: str | None, ids: list[str], fs: Any, root: str, number: int, text: bool
) -> dict[str, Any]:
    """One task: the conversations' messages parsed and written as ``part-NNNNN.parquet`` (none if empty)."""
    from .loaders import load_messages

    api = _export(path, account_id)
    frame = load_messages(api, ids, cache=False, progress=False, text=text)
    if len(frame):
        name = f"{root.rstrip('/')}/part-{number:05d}.parquet"
        temporary = f"{root.rstrip('/')}/.part-{number:05d}.{uuid.uuid4().hex}.tmp"
        with fs.open(temporary, "wb") as f:
            frame.to_parquet(f, index=False)
        fs.mv(temporary, name)
    return {"messages": len(frame), "problems": list(api.problems)}
