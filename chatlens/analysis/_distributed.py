"""The one dispatch point for Dask: the analyses take a Dask DataFrame wherever they take a pandas one.

:func:`distributed` decorates an analysis. Given a pandas frame it calls the function as it is (dask is never
imported); given a Dask DataFrame whose partitions hold whole conversations (:func:`chatlens.read_messages`,
``load_messages(engine="dask")``, :func:`chatlens.partitions.partition_by_conversation`) it runs that same pandas
function on every partition and combines the per-partition results on the cluster, in a tree (:func:`_tree`), into
the pandas result the whole frame gives. Nothing here is a second implementation of an analysis; each plan below
says only how partial results combine:

- thread-level results (``thread_depth``, ``thread_table``, ``reply_times``, ``conversation_summary``) are
  per-partition results concatenated in partition order (no thread or conversation crosses a partition);
- counts (``activity_timeline``, ``hour_weekday_table``, ``interaction_edges``, ``reply_rate``) are sums;
- distinct members (``active_members``, ``dau_wau_mau``) are counted by the pandas function on what is left after
  each partition keeps one message per (member, finest period the result can tell apart), merged on the cluster;
- medians and quantiles (``time_to_first_reply_summary``, ``member_summary``) are taken locally from the collected
  per-thread or per-reply values (exact, not approximate);
- ``member_summary`` adds up its per-partition counts, mins and maxes and merges distinct (member, day) pairs.

Within :func:`on_cluster` the decorated analyses also send pandas frames to the cluster (partitioned by
conversation once per frame): what ``chatlens report --scheduler ADDRESS`` uses.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import math
import os
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..partitions import PARTITION_ROWS, partition_by_conversation

__all__ = ["distributed", "is_dask_frame", "on_cluster"]

#: Per-partition partial results are combined this many at a time (the fan-in of the reduction tree).
SPLIT_EVERY = 8


_ON_CLUSTER: contextvars.ContextVar[dict[int, Any] | None] = contextvars.ContextVar("chatlens_on_cluster", default=None)
#: The warnings the workers gave during the current plan: (category, message), said again on the client.
_CAUGHT: contextvars.ContextVar[list[tuple[type[Warning], Any]] | None] = contextvars.ContextVar(
    "chatlens_caught", default=None
)


def is_dask_frame(obj: Any) -> bool:
    """Whether ``obj`` is a Dask DataFrame, without importing dask."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(obj, "map_partitions")


def distributed(func: Callable[..., Any]) -> Callable[..., Any]:
    """Let the analysis ``func`` take a Dask DataFrame: its plan in :data:`PLANS` runs it per partition and
    combines the results into the pandas result (module docs). Pandas frames go straight to ``func``."""
    if func.__name__ not in PLANS:
        raise ValueError(f"no distributed plan for {func.__name__}")

    @functools.wraps(func)
    def dispatch(messages: Any, *args: Any, **kwargs: Any) -> Any:
        frames = _ON_CLUSTER.get()
        if frames is not None and isinstance(messages, pd.DataFrame):
            messages = _on_cluster_frame(frames, messages)
        if not is_dask_frame(messages):
            return func(messages, *args, **kwargs)
        if args:
            raise TypeError(f"{func.__name__}() takes its options as keywords only")
        token = _ON_CLUSTER.set(None)  # the plan's own local calls are pandas calls
        caught: list[tuple[type[Warning], Any]] = []
        said = _CAUGHT.set(caught)
        try:
            out = PLANS[func.__name__](dispatch, messages, kwargs)
        finally:
            _ON_CLUSTER.reset(token)
            _CAUGHT.reset(said)
        _say_again(caught)
        return out

    return dispatch


@contextlib.contextmanager
def on_cluster(*, partition_rows: int = PARTITION_ROWS) -> Iterator[None]:
    """Within the block, the decorated analyses run pandas frames on Dask too: each frame is partitioned by
    conversation once (:func:`partition_by_conversation`) and the analysis runs on the current scheduler (a
    ``distributed.Client`` made the default one, e.g. ``Client(address)``), returning the same results. A frame
    that cannot be partitioned so (its conversations' rows not contiguous, or its index not increasing) is
    analysed locally.

    Examples
    --------
    >>> import pandas as pd
    >>> from chatlens.analysis import reply_rate
    >>> m = pd.DataFrame({"id": ["a", "b"], "parent": [None, "a"], "sender_id": ["u", "v"],
    ...                   "conversation_id": "C", "created": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)})
    >>> with on_cluster():  # no distributed.Client here: dask's local scheduler
    ...     reply_rate(m)
    1.0
    """
    token = _ON_CLUSTER.set({"partition_rows": partition_rows})
    try:
        yield
    finally:
        _ON_CLUSTER.reset(token)


def _on_cluster_frame(frames: dict[Any, Any], messages: pd.DataFrame) -> Any:
    """The Dask frame of ``messages`` for this :func:`on_cluster` block, made once per frame object."""
    key = id(messages)
    known = frames.get(key)
    if known is not None and known[0]() is messages:
        return known[1]
    try:
        ddf = partition_by_conversation(messages, partition_rows=frames["partition_rows"])
    except ValueError:  # conversations not contiguous (merged into "other"), or an unordered index: run locally
        ddf = messages
    frames[key] = (weakref.ref(messages), ddf)
    return ddf


# -- running plans ---------------------------------------------------------------------------------------------


def _tree(
    ddf: Any, chunk: Callable[[pd.DataFrame], Any], combine: Callable[[list[Any]], Any], *, gather: bool = False
) -> Any:
    """``chunk`` of every partition, then ``combine`` of lists of at most SPLIT_EVERY partial results (in
    partition order) on the workers until at most SPLIT_EVERY are left, which come to the client and are combined
    there (the last, largest combination would otherwise be one worker's peak, then travel to the client anyway).
    ``gather``: every partial result comes to the client and is combined there once (for results as large as the
    frame's rows, which no worker should have to hold whole). The warnings ``chunk`` gives on the workers travel
    with the results and are said again on the client, once each (:func:`_say_again`), as the pandas function
    says them."""
    import dask

    layer = [dask.delayed(_recorded)(chunk, part) for part in ddf.to_delayed()]
    while not gather and len(layer) > SPLIT_EVERY:
        layer = [
            dask.delayed(_combined)(combine, layer[i : i + SPLIT_EVERY]) for i in range(0, len(layer), SPLIT_EVERY)
        ]
    outs = _streamed(layer)
    _keep(warned for _, warned in outs)
    return combine([out for out, _ in outs])  # one partition is combined too: the same shape of result


def _recorded(chunk: Callable[[pd.DataFrame], Any], part: pd.DataFrame) -> tuple[Any, list[tuple[type[Warning], Any]]]:
    """``chunk(part)`` and the warnings it gave (category, message), in order, each once. Recorded on a
    distributed worker of one thread only: ``catch_warnings`` swaps process-wide state, which tasks running side by
    side in threads would tangle; in a local threaded scheduler the warnings are the client's own anyway, and a
    worker of several threads logs them as dask does."""
    if not _single_threaded_worker():
        return chunk(part), []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = chunk(part)
    return out, _distinct((w.category, w.message) for w in caught)


def _distinct(said: Any) -> list[tuple[type[Warning], Any]]:
    """(category, message) pairs, each once (a message is a Warning or its text), in order."""
    return list({(category, str(message)): (category, message) for category, message in said}.values())


def _single_threaded_worker() -> bool:
    try:
        from distributed import get_worker

        return get_worker().state.nthreads == 1
    except (ImportError, ValueError, AttributeError):
        return False


def _combined(combine: Callable[[list[Any]], Any], parts: list[tuple[Any, list[Any]]]) -> tuple[Any, list[Any]]:
    return combine([out for out, _ in parts]), _distinct(w for _, warned in parts for w in warned)


def _keep(warned: Any) -> None:
    caught = _CAUGHT.get()
    if caught is not None:
        caught.extend(w for ws in warned for w in ws)


def _say_again(caught: list[tuple[type[Warning], Any]]) -> None:
    """The workers' warnings, on the client: one per category. When partitions said different things (each counts
    its own messages), a category that knows how to add them up (``merged``, as MissingParentWarning does) says the
    whole frame's warning; others say the partitions' messages joined, the first three and how many more."""
    by_kind: dict[type[Warning], list[Any]] = {}
    for category, message in _distinct(caught):
        by_kind.setdefault(category, []).append(message)
    for category, messages in by_kind.items():
        if len(messages) == 1:
            said: Any = messages[0]
        elif hasattr(category, "merged") and all(isinstance(m, category) for m in messages):
            said = category.merged(messages)
        else:
            said = f"from {len(messages)} partitions: " + "; ".join(map(str, messages[:3]))
            if len(messages) > 3:
                said += f"; and {len(messages) - 3} more"
        if isinstance(said, Warning):
            warnings.warn(said, stacklevel=3)  # 1 here, 2 the dispatch, 3 the caller
        else:
            warnings.warn(str(said), category, stacklevel=3)


def _streamed(layer: list[Any]) -> list[Any]:
    """The results of ``layer``, in order. On a distributed cluster each is fetched as it completes and then
    released, so a worker holds only the results the client has not taken yet, never all of its partitions'."""
    import dask

    try:
        from distributed import as_completed, get_client

        client = get_client()
    except (ImportError, ValueError):
        return list(dask.compute(*layer))
    futures = client.compute(layer)
    position = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for future in as_completed(futures):
        i = position[future.key]
        results[i] = future.result()
        futures[i] = None
        future.release()
    return results


def _empty(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> Any:
    """What ``func`` gives for no messages: the frame's empty meta (its columns and dtypes)."""
    return func(ddf._meta, **kwargs)


def _call(func: Callable[..., Any], kwargs: dict[str, Any], part: pd.DataFrame) -> Any:
    return func(part, **kwargs)


def _concat(parts: list[Any], order_by: str | None = None, widen: dict[str, Any] | None = None) -> Any:
    """The partial tables one below the other (None for none), stably sorted by the datetime column ``order_by``
    if given: ties stay in partition order, as one frame's stable sort keeps them in frame order. ``widen``: the
    dtype each :func:`_narrowed` column is given back."""
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    perm = None
    if order_by is not None:
        perm = np.argsort(np.concatenate([p[order_by].array.asi8 for p in parts]), kind="stable")
    if len(parts) == 1 and not widen:
        return parts[0] if perm is None else parts[0].iloc[perm]
    return _stacked(parts, perm, widen or {})


def _stacked(parts: list[pd.DataFrame], perm: np.ndarray | None, widen: dict[str, Any]) -> pd.DataFrame:
    """``pd.concat(parts)`` (then ``.iloc[perm]``) column by column: one copy of each column's arrays instead of
    pandas' block concatenation and a take, three times faster on millions of rows. Categorical columns stay
    categorical when the parts' categories differ (a Parquet dataset's files each have their own). Columns named
    in ``widen`` are taken narrow and then given their dtype."""
    from pandas.api.types import union_categoricals

    def joined(name: Any, arrays: list[Any]) -> Any:
        first = arrays[0]
        if name in widen:
            numbers = np.concatenate([a.to_numpy() for a in arrays])  # the parts' widest narrow type
            return (numbers if perm is None else numbers[perm]).astype(widen[name], copy=False)
        if isinstance(first.dtype, pd.CategoricalDtype):
            if all(isinstance(a.dtype, pd.CategoricalDtype) and a.dtype == first.dtype for a in arrays):
                codes = np.concatenate([a.codes for a in arrays])
                return pd.Categorical.from_codes(codes if perm is None else codes[perm], dtype=first.dtype)
            if all(isinstance(a.dtype, pd.CategoricalDtype) for a in arrays):
                merged = union_categoricals(arrays, sort_categories=True)
                return merged if perm is None else merged.take(perm)
        if any(a.dtype != first.dtype for a in arrays):
            out = pd.concat([pd.Series(a) for a in arrays], ignore_index=True).array  # pandas' own promotion
        else:
            out = type(first)._concat_same_type(arrays)
        return out if perm is None else out.take(perm)

    names = list(parts[0].columns)
    arrays = [[p[c].array for p in parts] for c in names]
    first = parts[0].index
    ranges = [p.index for p in parts] if all(isinstance(p.index, pd.RangeIndex) for p in parts) else None
    if ranges is None:
        names.append(None)  # the index: texts (thread ids) are joined and taken as the columns are
        arrays.append([p.index.array for p in parts])
    if sum(len(p) for p in parts) < 200_000:
        done = list(map(joined, names, arrays))
    else:
        # Column by column in threads (numpy's and Arrow's copies and takes release the GIL): the client does this
        # after the workers are done, so its cores are free.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            done = list(pool.map(joined, names, arrays))
    if ranges is None:
        index = pd.Index(done.pop(), name=first.name)
        names.pop()
    else:
        follow = all(a.step == b.step == 1 and a.stop == b.start for a, b in itertools.pairwise(ranges))
        # Partitions numbered one after another (their rows' places in the whole frame) join into one range.
        index = pd.RangeIndex(first.start, ranges[-1].stop, name=first.name) if follow else None
        if index is None:
            index = pd.Index(np.concatenate([r.to_numpy() for r in ranges]), name=first.name)
        index = index if perm is None else index[perm]
    columns = dict(zip(names, done))
    frame = pd.DataFrame(columns, index=index, copy=False)
    frame.columns = parts[0].columns
    return frame


def _narrowed(
    func: Callable[..., Any], kwargs: dict[str, Any], names: list[str], leave_out: tuple[str, ...], part: pd.DataFrame
) -> Any:
    """``func(part)`` without the columns ``leave_out`` (the client derives them) and with each integer column of
    ``names`` in the smallest integer type that holds its values (exactly): a result with a row per thread or
    message crosses the network to the client, and counts such as a thread's size or depth need a byte, not eight
    (:func:`_stacked` widens them back)."""
    table = func(part, **kwargs)
    if table is None or not len(table):
        return table
    if leave_out:
        table = table.drop(columns=list(leave_out))
    narrow = {}
    for name in names:
        values = table[name].to_numpy()
        low, high = values.min(), values.max()
        for small in (np.int8, np.int16, np.int32):
            if np.iinfo(small).min <= low and high <= np.iinfo(small).max:
                narrow[name] = values.astype(small)
                break
    return table.assign(**narrow) if narrow else table


def _concatenated(
    func: Callable[..., Any],
    ddf: Any,
    kwargs: dict[str, Any],
    order_by: str | None = None,
    derived: tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """The per-partition results one below the other, as :func:`_concat`. ``derived``: the result's columns that
    follow from others, left out on the workers, and the function that adds them back on the client."""
    meta = _empty(func, ddf, kwargs)
    leave_out, add_back = derived or ((), None)
    widen = {name: dtype for name, dtype in meta.dtypes.items() if dtype == np.int64 and name not in leave_out}
    chunk = functools.partial(_narrowed, func, kwargs, list(widen), leave_out)
    out = _tree(ddf, chunk, functools.partial(_concat, order_by=order_by, widen=widen), gather=True)
    if out is None:
        return meta
    return out if add_back is None else add_back(out)


def _plan_thread_depth(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    return _concatenated(func, ddf, kwargs)


def _plan_reply_times(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    return _concatenated(func, ddf, kwargs).reset_index(drop=True)


def _plan_thread_table(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    from .threads import DERIVED_COLUMNS, with_derived_columns

    # Sorted by start, stable: threads starting together stay in frame (partition) order, as on one frame.
    return _concatenated(func, ddf, kwargs, order_by="started", derived=(DERIVED_COLUMNS, with_derived_columns))


def _by_messages(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["messages", "name"], ascending=[False, True], kind="stable")


def _plan_conversation_summary(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    # Each partition's table is sorted already; a stable sort of them in partition order keeps ties in order of
    # first message, as one frame numbers its conversations.
    return _by_messages(_concatenated(func, ddf, kwargs))


# -- sums ------------------------------------------------------------------------------------------------------


def _sum_tables(parts: list[Any]) -> Any:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    return pd.concat(parts).groupby(level=0, sort=True).sum(min_count=0) if len(parts) > 1 else parts[0]


def _plan_activity_timeline(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    from ._common import fill_periods

    freq = kwargs.get("freq", "D")
    offset = pd.tseries.frequencies.to_offset(freq)
    # Periods of several days or hours ("2D", "6h") are counted from the first message's local midnight, which
    # each partition would place elsewhere (a DST change moves it by an hour): count per day, or per divisor of an
    # hour, and cut the summed table into the periods once, from the whole frame's first one.
    base: Any = None
    if isinstance(offset, pd.offsets.Day) and offset.n != 1:
        base = "D"
    elif isinstance(offset, pd.offsets.Tick):
        step, hour = int(pd.Timedelta(offset).value), 3_600 * 10**9
        if hour % step:
            base = pd.Timedelta(math.gcd(step, hour), unit="ns")
    chunk_kwargs = kwargs if base is None else {**kwargs, "freq": base}
    out = _tree(ddf, functools.partial(_call, func, chunk_kwargs), _sum_tables)
    if out is None:
        return _empty(func, ddf, kwargs)
    out = out.fillna(0)
    if base is not None:
        out = out.groupby(pd.Grouper(freq=freq)).sum()
    out = out.iloc[:, np.argsort(out.columns.to_numpy(dtype=object), kind="stable")]
    out.index.name = "period"
    table = fill_periods(out, freq).astype("int64")
    table.columns.name = kwargs.get("by")
    return table


def _add(parts: list[Any]) -> Any:
    return functools.reduce(lambda a, b: a + b, parts)


def _plan_hour_weekday_table(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    return _tree(ddf, functools.partial(_call, func, kwargs), _add).astype("int64")


def _edge_list(kwargs: dict[str, Any], part: pd.DataFrame) -> pd.DataFrame:
    from .interactions import interaction_edges

    return interaction_edges(part, **kwargs)


def _sum_edges(parts: list[Any]) -> Any:
    """Partial edge lists added up per (source, target): by integer pair codes, not a group-by of two string
    columns (five times faster on a million edges)."""
    from ._common import factorize_text

    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    both = _stacked(parts, None, {})
    source, sources = factorize_text(both["source"])
    target, targets = factorize_text(both["target"])
    if (source < 0).any() or (target < 0).any():  # a missing end: pandas' own group-by says what that means
        return both.groupby(["source", "target"], sort=False).sum().reset_index()
    pair, pairs = pd.factorize(source * len(targets) + target)
    counts = [c for c in both.columns if c not in ("source", "target")]
    out = {
        "source": sources.take(pairs // len(targets)).array,
        "target": targets.take(pairs % len(targets)).array,
    }
    for c in counts:  # float64 sums are exact for counts below 2**53
        out[c] = np.bincount(pair, weights=both[c].to_numpy(dtype=np.int64), minlength=len(pairs)).astype(np.int64)
    return pd.DataFrame(out)


def _edges(ddf: Any, kwargs: dict[str, Any], out: Any = False) -> pd.DataFrame:
    """The summed edge list (``out``: the summed per-partition edges when they are computed already)."""
    from .interactions import interaction_edges

    if out is False:
        out = _tree(ddf, functools.partial(_edge_list, kwargs), _sum_edges)
    if out is None:
        return interaction_edges(ddf._meta, **kwargs)
    counts = [c for c in out.columns if c not in ("source", "target")]
    out[counts] = out[counts].astype(np.int64)
    return out.sort_values(["source", "target"], ignore_index=True)


def _plan_interaction_edges(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    return _edges(ddf, kwargs)


def _thread_counts(kwargs: dict[str, Any], part: pd.DataFrame) -> np.ndarray:
    from .threads import thread_table

    threads = thread_table(part, **kwargs)
    return np.array([len(threads), int((~threads["unanswered"]).sum())], dtype=np.int64)


def _plan_reply_rate(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> float:
    threads, answered = (int(x) for x in _tree(ddf, functools.partial(_thread_counts, kwargs), _add))
    # The mean of the answered flags, as one frame takes it: an exact integer sum over the count.
    return float("nan") if not threads else answered / threads


# -- distinct members ------------------------------------------------------------------------------------------


def _period_key(picked: pd.DataFrame, freq: str, tz: str) -> np.ndarray:
    """Per message, a key that tells apart at least the periods of ``freq`` in ``tz`` (bins of
    ``pd.Grouper(freq=freq)``): the local calendar day for daily or longer periods; for shorter ones dividing a day
    into whole quarter hours (every zone's offset is a whole number of those) the UTC quarter hour; else the
    time itself."""
    from ._common import day_numbers, micros

    offset = pd.tseries.frequencies.to_offset(freq)
    quarter = 15 * 60 * 1_000_000
    day = 86_400 * 1_000_000
    if isinstance(offset, pd.offsets.Tick):
        step = int(pd.Timedelta(offset).value // 1000)
        if step >= day and step % day == 0:
            return day_numbers(picked["created"], tz)
        if step >= quarter and step % quarter == 0 and day % step == 0:
            return micros(picked["created"]) // quarter
        return micros(picked["created"])
    return day_numbers(picked["created"], tz)  # weeks, months, quarters, years: whole local days


def _one_per_key(key_of: Callable[[pd.DataFrame], np.ndarray], select_kwargs: dict[str, Any], part: pd.DataFrame):
    """The partition's counted messages, one per (sender, key): enough for any distinct-member count."""
    from ._common import select_columns

    picked = select_columns(part, ("created", "sender_id"), **select_kwargs)[["id", "created", "sender_id"]]
    picked = picked.assign(sender_id=picked["sender_id"].astype(object), _key=key_of(picked))
    return picked.drop_duplicates(["sender_id", "_key"])


def _merge_keys(parts: list[Any]) -> Any:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    return pd.concat(parts).drop_duplicates(["sender_id", "_key"]) if len(parts) > 1 else parts[0]


def _select_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs[k] for k in ("since", "until", "include_bots", "include_system") if k in kwargs}


def _distinct_members(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any], key_of: Callable[..., Any]):
    shrunk = _tree(ddf, functools.partial(_one_per_key, key_of, _select_kwargs(kwargs)), _merge_keys)
    if shrunk is None:
        return _empty(func, ddf, kwargs)
    # The pandas function itself counts the members, on what is left: one message per (member, key).
    return func(shrunk.drop(columns="_key").sort_values("created", kind="stable"), **kwargs)


def _day_key(tz: str, picked: pd.DataFrame) -> np.ndarray:
    from ._common import day_numbers

    return day_numbers(picked["created"], tz)


def _freq_key(freq: str, tz: str, picked: pd.DataFrame) -> np.ndarray:
    return _period_key(picked, freq, tz)


def _plan_active_members(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.Series:
    key = functools.partial(_freq_key, kwargs.get("freq", "D"), kwargs.get("tz", "UTC"))
    return _distinct_members(func, ddf, kwargs, key)


def _plan_dau_wau_mau(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    return _distinct_members(func, ddf, kwargs, functools.partial(_day_key, kwargs.get("tz", "UTC")))


# -- medians ---------------------------------------------------------------------------------------------------


def _first_reply_times(kwargs: dict[str, Any], part: pd.DataFrame) -> tuple[int, pd.Series]:
    from .replies import time_to_first_reply

    table = time_to_first_reply(part, **kwargs)
    return len(table), pd.Series(table["time_to_first_reply"].array).dropna()


def _join_times(parts: list[tuple[int, pd.Series]]) -> tuple[int, pd.Series]:
    return sum(p[0] for p in parts), pd.concat([p[1] for p in parts], ignore_index=True)


def _plan_time_to_first_reply_summary(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    from ._common import renamed

    options = dict(kwargs)
    old = options.pop("business_hours", None)
    options["hours"] = renamed(options.get("hours"), old, new_name="hours", old_name="business_hours", default=None)
    threads, times = _tree(ddf, functools.partial(_first_reply_times, options), _join_times, gather=True)
    # The quantiles of the collected per-thread values: exact, as on one frame.
    return {
        "threads": threads,
        "answered": len(times),
        "median": times.quantile(0.5) if len(times) else pd.NaT,
        "p90": times.quantile(0.9) if len(times) else pd.NaT,
    }


_MEMBER_ADDS = {"messages": "sum", "threads_with_replies": "sum", "first_seen": "min", "last_seen": "max"}


def _member_parts(kwargs: dict[str, Any], part: pd.DataFrame) -> dict[str, Any]:
    """A partition's share of member_summary: its additive columns, each reply to someone else (the giver's
    position in the partition's table, the wait), the replies each member received, and the distinct (member,
    local day) pairs. Members travel as positions in the table, not as a string per reply or per day, so the
    merges and the client never make a Python object per message."""
    from ._common import day_numbers, factorize_text, micros, select_columns
    from .engagement import member_summary
    from .threads import reply_rows

    options = _select_kwargs(kwargs)
    picked = select_columns(part, ("created", "sender_id"), **options)
    # In order of first counted message (the summary is sorted by messages), so merged tables keep that order.
    picked_codes, in_order = factorize_text(picked["sender_id"])
    table = member_summary(part, **kwargs)[["name", *_MEMBER_ADDS]].reindex(in_order)
    # The replies reply_times lists (the same rows), to someone else: who gave, who received, how long it took.
    rows, parents = reply_rows(
        part,
        since=kwargs.get("since"),
        until=kwargs.get("until"),
        include_bots=kwargs.get("include_bots", False),
        include_system=kwargs.get("include_system", False),
    )
    codes, senders = factorize_text(part["sender_id"])
    giver, receiver = codes[rows], codes[parents]
    others = (giver != receiver) | (giver < 0)  # a missing sender is no one's own reply
    giver, receiver = giver[others], receiver[others]
    created = micros(part["created"])
    to_table = np.append(in_order.get_indexer(senders), -1)  # a sender's position in the table; -1 reads -1
    day = day_numbers(picked["created"], kwargs.get("tz", "UTC"))
    counted = picked_codes >= 0
    days = pd.unique(_day_keys(picked_codes[counted], day[counted]))
    got = receiver[receiver >= 0]
    received = pd.Series(np.bincount(got, minlength=len(senders)), index=senders)
    return {
        "table": table,
        "givers": to_table[giver],
        "waits": (created[rows] - created[parents])[others],
        "received": received[received > 0],
        "days": days,
    }


def _day_keys(members: np.ndarray, days: np.ndarray) -> np.ndarray:
    """(member position, day number) pairs packed in one int64 each, so distinct pairs are a hash of one array."""
    return (members.astype(np.int64) << 32) | (days.astype(np.int64) + 2**31)


def _moved_days(keys: np.ndarray, move: np.ndarray) -> np.ndarray:
    return (move[keys >> 32] << 32) | (keys & 0xFFFFFFFF)


def _merge_members(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if len(parts) == 1:
        return parts[0]
    tables = pd.concat([p["table"] for p in parts])
    # In partition order: a member's first name is that of their first counted message with a name.
    grouped = tables.groupby(level=0, sort=False)
    table = grouped.agg({"name": "first", **_MEMBER_ADDS})
    # Each part's table positions, renumbered as positions in the merged table.
    moves = [np.append(table.index.get_indexer(p["table"].index), -1) for p in parts]
    return {
        "table": table,
        "givers": np.concatenate([move[p["givers"]] for p, move in zip(parts, moves)]),
        "waits": np.concatenate([p["waits"] for p in parts]),
        "received": pd.concat([p["received"] for p in parts]).groupby(level=0).sum(),
        "days": pd.unique(np.concatenate([_moved_days(p["days"], move) for p, move in zip(parts, moves)])),
    }


def _plan_member_summary(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    from ._common import median_durations

    got = _tree(ddf, functools.partial(_member_parts, kwargs), _merge_members)
    table = got["table"].copy()
    if not len(table):
        return _empty(func, ddf, kwargs)
    index = table.index
    k = len(index)
    giver = got["givers"]  # positions in the table (-1: not a counted member)
    table["replies_given"] = np.bincount(giver[giver >= 0], minlength=k).astype("int64")
    table["replies_received"] = got["received"].reindex(index, fill_value=0).to_numpy(dtype="int64")
    us = got["waits"]  # microseconds
    table["median_reply_time"] = pd.Series(median_durations(giver, us, k), index=index)
    who = got["days"] >> 32
    table["active_days"] = np.bincount(who[who >= 0], minlength=k).astype("int64")
    for column in ("messages", "threads_with_replies"):
        table[column] = table[column].astype("int64")
    table.index.name = "member"
    columns = [
        "name",
        "messages",
        "threads_with_replies",
        "replies_given",
        "replies_received",
        "median_reply_time",
        "active_days",
        "first_seen",
        "last_seen",
    ]
    return _by_messages(table[columns])


# -- the graph -------------------------------------------------------------------------------------------------


def _member_firsts(select_kwargs: dict[str, Any], part: pd.DataFrame) -> pd.DataFrame:
    """Per member posting in the partition (in order of first message): messages, and the name on the first."""
    from ._common import select_columns

    picked = select_columns(part, ("sender_id", "sender_name"), **select_kwargs)
    who = picked["sender_id"].astype(str).astype(object).to_numpy()
    name = picked["sender_name"].astype(object).to_numpy() if "sender_name" in picked else np.full(len(who), None)
    frame = pd.DataFrame({"member": who, "name": name})
    counts = frame.groupby("member", sort=False).size()
    first = frame.drop_duplicates("member").set_index("member")["name"]
    return pd.DataFrame({"messages": counts, "name": first.reindex(counts.index)})


def _merge_firsts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    both = pd.concat(parts)
    counts = both.groupby(level=0, sort=False)["messages"].sum()
    first = both[~both.index.duplicated()]["name"]
    return pd.DataFrame({"messages": counts, "name": first.reindex(counts.index)})


def _graph_parts(edge_options: dict[str, Any], options: dict[str, Any], part: pd.DataFrame) -> tuple[Any, Any]:
    return _edge_list(edge_options, part), _member_firsts(options, part)


def _merge_graph_parts(parts: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    return _sum_edges([e for e, _ in parts]), _merge_firsts([p for _, p in parts])


def _plan_interaction_graph(func: Callable[..., Any], ddf: Any, kwargs: dict[str, Any]) -> Any:
    import networkx as nx

    options = _select_kwargs(kwargs)
    kinds = kwargs.get("kinds", ("reply", "mention"))
    edge_options = {**options, "kinds": kinds, "self_loops": kwargs.get("self_loops", False)}
    # One read of each partition for both: its edges and its members' message counts.
    summed, people = _tree(ddf, functools.partial(_graph_parts, edge_options, options), _merge_graph_parts)
    edges = _edges(ddf, edge_options, summed)
    # The graph is built locally from the aggregated edges and member counts, as one frame builds it.
    graph = nx.DiGraph()
    names = [str(n) if pd.notna(n) else p for p, n in zip(people.index, people["name"])]
    graph.add_nodes_from(
        (p, {"name": n, "messages": int(c)}) for p, n, c in zip(people.index, names, people["messages"]) if c > 0
    )
    graph.add_nodes_from(m for m in set(edges["target"]) if m not in graph)
    for m in graph:
        graph.nodes[m].setdefault("name", m)
        graph.nodes[m].setdefault("messages", 0)
    attrs = [*kinds, "weight"]
    rows = edges[attrs].to_numpy(dtype=np.int64).tolist()
    graph.add_edges_from(zip(edges["source"].tolist(), edges["target"].tolist(), (dict(zip(attrs, r)) for r in rows)))
    return graph


#: function name -> plan(decorated function, Dask frame, keyword options) -> the pandas result.
PLANS: dict[str, Callable[[Callable[..., Any], Any, dict[str, Any]], Any]] = {
    "activity_timeline": _plan_activity_timeline,
    "active_members": _plan_active_members,
    "dau_wau_mau": _plan_dau_wau_mau,
    "hour_weekday_table": _plan_hour_weekday_table,
    "thread_depth": _plan_thread_depth,
    "thread_table": _plan_thread_table,
    "reply_times": _plan_reply_times,
    "time_to_first_reply_summary": _plan_time_to_first_reply_summary,
    "reply_rate": _plan_reply_rate,
    "interaction_edges": _plan_interaction_edges,
    "interaction_graph": _plan_interaction_graph,
    "member_summary": _plan_member_summary,
    "conversation_summary": _plan_conversation_summary,
}
