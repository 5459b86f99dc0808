"""What every analysis does first: pick the messages it counts, and put times in the reader's zone."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._stack import user_stacklevel
from ..schema import to_utc

REQUIRED = ("id", "sender_id", "created")


def select(
    messages: pd.DataFrame,
    *,
    include_bots: bool = False,
    include_system: bool = False,
    since: Any = None,
    until: Any = None,
    required: tuple[str, ...] = REQUIRED,
) -> pd.DataFrame:
    """The messages an analysis counts: bots and system events left out unless asked for, and only those created
    in ``[since, until)``. Never modifies ``messages``."""
    keep = select_mask(
        messages, include_bots=include_bots, include_system=include_system, since=since, until=until, required=required
    )
    return messages[keep]


def select_mask(
    messages: pd.DataFrame,
    *,
    include_bots: bool = False,
    include_system: bool = False,
    since: Any = None,
    until: Any = None,
    required: tuple[str, ...] = REQUIRED,
) -> np.ndarray:
    """:func:`select`'s rule as a boolean mask over the rows of ``messages`` (by position), nothing copied."""
    if not isinstance(messages, pd.DataFrame):
        raise TypeError(f"messages must be a DataFrame (from chatlens.load_messages), got {type(messages).__name__}")
    missing = [c for c in required if c not in messages.columns]
    if missing:
        raise ValueError(f"messages lacks columns {missing}; expected the frame chatlens.load_messages returns")
    keep = np.ones(len(messages), dtype=bool)
    if not include_bots and "is_bot" in messages.columns:
        keep &= ~messages["is_bot"].astype(bool).to_numpy(dtype=bool)
    if not include_system and "is_system" in messages.columns:
        keep &= ~messages["is_system"].astype(bool).to_numpy(dtype=bool)
    created = messages["created"]
    if since is not None:
        keep &= (created >= to_utc(since, "since")).to_numpy(dtype=bool)
    if until is not None:
        keep &= (created < to_utc(until, "until")).to_numpy(dtype=bool)
    return keep


#: The columns select() reads to pick rows.
PICKING = ("id", "sender_id", "created", "is_bot", "is_system")


def select_columns(messages: pd.DataFrame, columns: Iterable[str], **choices: Any) -> pd.DataFrame:
    """:func:`select` of only ``columns`` (those present) and the ones it picks by: an analysis that reads a few
    columns does not copy the others (message text, mentions) for the rows it keeps."""
    if not isinstance(messages, pd.DataFrame):
        return select(messages, **choices)  # the TypeError
    wanted = dict.fromkeys((*PICKING, *columns))
    return select(messages[[c for c in messages.columns if c in wanted]], **choices)


def local_times(messages: pd.DataFrame, tz: str) -> pd.Series:
    """``created`` in the zone ``tz`` (DST-aware), as a tz-aware Series."""
    try:
        return messages["created"].dt.tz_convert(tz)
    except Exception as exc:
        raise ValueError(f"tz: {tz!r} is not a time zone ({exc})") from None


def fill_periods(table: pd.DataFrame | pd.Series, freq: str) -> pd.DataFrame | pd.Series:
    """A table indexed by period start with every period from the first to the last, missing ones as zeros."""
    full = pd.date_range(table.index.min(), table.index.max(), freq=table.index.freq or freq, name="period")
    return table.reindex(full, fill_value=0)


MEMBER = "member"


class UnknownTimeZoneWarning(UserWarning):
    """Some senders' time zones (``sender_timezone``) are not in this machine's tz database (a zone removed from
    it, as ``US/Pacific-New`` in tzdata 2020b, or a value that is no zone at all): their messages were counted on
    the ``default_tz`` clock instead. :func:`chatlens.analysis.rhythm.unknown_timezones` lists them."""


def is_time_zone(zone: Any) -> bool:
    """Whether pandas can convert times to ``zone`` on this machine: a name its tz database holds, ``"UTC"``, a
    fixed offset such as ``"+05:30"``, or a tzinfo object.

    Examples
    --------
    >>> is_time_zone("Europe/Berlin"), is_time_zone("US/Pacific-New"), is_time_zone(""), is_time_zone("Not/AZone")
    (True, False, False, False)
    """
    if isinstance(zone, str):
        return _is_zone_name(zone)
    return zone is not None and _converts(zone)


@functools.lru_cache(maxsize=4096)
def _is_zone_name(name: str) -> bool:
    return bool(name.strip()) and _converts(name)


def _converts(zone: Any) -> bool:
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(zone)
    except Exception:  # zoneinfo, dateutil and pytz each raise their own (and "US" is a directory)
        return False
    return True


def wall_clock(messages: pd.DataFrame, tz: str, *, default_tz: str = "UTC") -> pd.Series:
    """``created`` as naive local wall-clock times in ``tz``; ``tz="member"`` uses each sender's own zone from
    ``sender_timezone`` (:func:`chatlens.add_sender_details`), ``default_tz`` where it is missing or not a zone
    this machine's tz database knows (an :class:`UnknownTimeZoneWarning` names those, once per call).

    One conversion per distinct zone, not per message.

    Examples
    --------
    >>> m = pd.DataFrame({"created": pd.to_datetime(["2026-01-05 08:30"] * 3, utc=True),
    ...                   "sender_timezone": pd.Categorical(["Asia/Tokyo", None, "US/Pacific-New"])})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     wall_clock(m, "member", default_tz="Europe/Berlin").dt.hour.tolist()
    [17, 9, 9]
    >>> print(caught[0].message)
    senders' time zones unknown to this machine's tz database, counted in Europe/Berlin: 'US/Pacific-New'
    """
    if tz != MEMBER:
        return local_times(messages, tz).dt.tz_localize(None)
    check_tz(default_tz, "default_tz")
    if "sender_timezone" not in messages.columns:
        raise ValueError('tz="member" needs a sender_timezone column: add it with chatlens.add_sender_details')
    zones = messages["sender_timezone"].astype("category")
    names = [str(z) for z in zones.cat.categories]
    unknown = {name for name in names if not is_time_zone(name)}
    # Each category's clock (the unknown ones and missing ones, code -1, share default_tz's): one conversion each.
    per_code = [default_tz if name in unknown else name for name in names] + [default_tz]
    clock_of_code, clocks = pd.factorize(np.array(per_code, dtype=object))
    clock = clock_of_code[zones.cat.codes.to_numpy()]  # code -1 picks the last entry: default_tz
    out = np.zeros(len(messages), dtype="datetime64[us]")
    created = messages["created"]
    for k in np.unique(clock):
        mask = clock == k
        local = local_times(pd.DataFrame({"created": created[mask]}), clocks[k])
        out[mask] = local.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    used = set(zones.cat.remove_unused_categories().cat.categories.astype(str)) if unknown else set()
    if used & unknown:
        shown = sorted(used & unknown)
        warnings.warn(
            f"senders' time zones unknown to this machine's tz database, counted in {default_tz}: "
            + ", ".join(map(repr, shown)),
            UnknownTimeZoneWarning,
            stacklevel=user_stacklevel(),
        )
    return pd.Series(out, index=messages.index)


def local_clock(messages: pd.DataFrame, tz: str, *, default_tz: str = "UTC") -> tuple[np.ndarray, np.ndarray]:
    """(weekday 0=Mon..6, hour 0..23) of each message in ``tz`` or, with ``tz="member"``, in its sender's zone
    (:func:`wall_clock`, whose fallback for unknown zones it shares)."""
    local = wall_clock(messages, tz, default_tz=default_tz)
    return local.dt.day_of_week.to_numpy(), local.dt.hour.to_numpy()


def micros(times: pd.Series) -> Any:
    """Microseconds since the epoch as int64, without materialising Timestamp objects (``to_numpy()`` on a
    tz-aware column would)."""
    return times.astype("datetime64[us, UTC]").array.asi8


def day_numbers(times: pd.Series, tz: str) -> np.ndarray:
    """Each time's local calendar day in ``tz`` as days since 1970-01-01 (int64), without a Timestamp per value."""
    wall = local_times(pd.DataFrame({"created": times}), tz).dt.tz_localize(None)
    return np.floor_divide(wall.astype("datetime64[us]").array.asi8, 86_400_000_000)


def text_of(values: pd.Series) -> pa.Array:
    """The text of each value as one Arrow string array, null where missing: what ``values.astype(str)`` holds,
    without a Python string per value (a categorical's categories are converted, then taken by code)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        cat_text = pa.array(cats.astype(str).to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        codes = values.cat.codes.to_numpy()
        return cat_text.take(pa.array(codes, mask=codes < 0))
    arr = getattr(values.array, "_pa_array", None)
    if isinstance(arr, pa.ChunkedArray) and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
        return arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
    return pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def str_array(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as pandas' default ``str`` column (what a column of Python strings becomes)."""
    return pd.array(values, dtype="str")


def factorize_text(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(values.astype(str))`` without a Python string per value: (int64 codes, -1 where missing;
    the distinct texts in order of first appearance, a ``str`` Index). Categoricals go by their codes."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat_codes, cat_uniques = pd.factorize(values.cat.categories.astype(str))
        codes = values.cat.codes.to_numpy().astype(np.int64)
        codes = np.where(codes >= 0, np.append(cat_codes, -1)[codes], -1)
        # Renumber by first appearance, as factorize on the values themselves would.
        first = np.full(len(cat_uniques), len(codes), dtype=np.int64)
        present = codes >= 0
        np.minimum.at(first, codes[present], np.flatnonzero(present))
        order = np.argsort(first, kind="stable")[: int((first < len(codes)).sum())]
        renumber = np.full(len(cat_uniques) + 1, -1, dtype=np.int64)
        renumber[order] = np.arange(len(order))
        return renumber[codes], pd.Index(np.asarray(cat_uniques, dtype=object)[order], dtype="str")
    encoded = pc.dictionary_encode(text_of(values))
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, pd.Index(str_array(encoded.dictionary))


def member_codes(values: pd.Series) -> np.ndarray:
    """Codes of the values' text as float64, NaN where missing: what a groupby ``nunique`` or ``size`` of
    ``values.astype(str).to_numpy()`` counts, without a Python string per value."""
    codes, _ = factorize_text(values)
    return np.where(codes >= 0, codes, np.nan)


def keys_in_order(values: pd.Series, picked: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Per row of the frame, the code of its value's text among those the ``picked`` rows hold, numbered in order
    of first appearance there (as a groupby without sorting numbers them), -1 for the others; and those texts."""
    all_codes, labels = factorize_text(values)
    codes = all_codes[picked]
    present = codes >= 0
    first = np.full(len(labels), len(picked), dtype=np.int64)
    np.minimum.at(first, codes[present], np.flatnonzero(present))
    order = np.argsort(first, kind="stable")[: int((first < len(picked)).sum())]
    renumber = np.full(len(labels) + 1, -1, dtype=np.int64)  # code -1 reads the last entry
    renumber[order] = np.arange(len(order))
    return renumber[all_codes], pd.Index(labels[order], dtype="str")


def first_text(values: pd.Series, rows: np.ndarray, who: np.ndarray, index: pd.Index) -> pd.Series:
    """Per key, the text of ``values`` at the first of its ``rows`` where it is not missing (as groupby's first()
    takes it), NaN where none."""
    k = len(index)
    texts = text_of(values).take(pa.array(rows))
    valid = texts.is_valid().to_numpy(zero_copy_only=False)
    first = np.full(k, len(rows), dtype=np.int64)
    np.minimum.at(first, who[valid], np.flatnonzero(valid))
    got = first < len(rows)
    return pd.Series(str_array(texts.take(pa.array(np.where(got, first, 0), mask=~got))), index=index)


def count_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """How often each of 0..k-1 occurs in ``codes`` (-1, not a member of the table, is left out)."""
    return np.bincount(codes[codes >= 0], minlength=k).astype("int64")


def median_durations(codes: np.ndarray, us: np.ndarray, k: int) -> np.ndarray:
    """Per code 0..k-1, the median of its microsecond durations (NaT for none), as groupby's median() computes
    it: the mean of the two middle values in float64, truncated to whole microseconds."""
    keep = codes >= 0
    codes, us = codes[keep], us[keep]
    low = int(us.min()) if len(us) else 0
    bits = max(int(k).bit_length(), 1)
    if len(us) and int(us.max()) - low < 2 ** (62 - bits):
        # One sort of (code, duration) packed in an int64, instead of a lexsort of two keys.
        packed = np.sort((codes.astype(np.int64) << (62 - bits)) | (us - low))
        codes, us = packed >> (62 - bits), (packed & ((1 << (62 - bits)) - 1)) + low
    else:
        order = np.lexsort((us, codes))
        codes, us = codes[order], us[order]
    counts = np.bincount(codes, minlength=k)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    has = counts > 0
    lo = us[np.where(has, start + (counts - 1) // 2, 0)] if len(us) else np.zeros(k, dtype=np.int64)
    hi = us[np.where(has, start + counts // 2, 0)] if len(us) else np.zeros(k, dtype=np.int64)
    median = ((lo.astype(np.float64) + hi.astype(np.float64)) / 2).astype(np.int64).view("timedelta64[us]")
    return np.where(has, median, np.timedelta64("NaT", "us"))


def times_like(values: np.ndarray, like: Any, index: pd.Index) -> pd.Series:
    """Integers in the unit of the datetime array ``like``, as a Series of its dtype (tz included)."""
    naive = values.view(f"datetime64[{like.unit}]")
    return pd.Series(naive, index=index).dt.tz_localize("UTC").dt.tz_convert(like.tz)


def renamed(new: Any, old: Any, *, new_name: str, old_name: str, default: Any) -> Any:
    """The value of a parameter renamed from ``old_name`` to ``new_name``: the old spelling is still taken for one
    version, with a DeprecationWarning pointing at the caller; both at once is a TypeError."""
    if old is None:
        return new
    if new is not default and new != default:
        raise TypeError(f"{new_name}= and {old_name}= are the same parameter: pass {new_name}= only")
    warnings.warn(
        f"{old_name}= is renamed {new_name}= (same meaning); {old_name}= goes in the next version",
        DeprecationWarning,
        stacklevel=3,
    )
    return old


def duration(value: Any, name: str) -> pd.Timedelta:
    """A non-negative duration from ``"30D"``, ``"24h"``, a Timedelta or anything ``pd.Timedelta`` takes, or
    ValueError naming the parameter.

    Examples
    --------
    >>> duration("30D", "idle"), duration("90min", "after")
    (Timedelta('30 days 00:00:00'), Timedelta('0 days 01:30:00'))
    """
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a duration such as '30D' or '24h'") from None
    if delta is pd.NaT or delta < pd.Timedelta(0):
        raise ValueError(f"{name}: must be a duration of zero or more, got {value!r}")
    return delta


def options(include_bots: bool, include_system: bool) -> dict[str, bool]:
    """The two ``select`` switches as keywords, so every analysis passes them on the same way."""
    return {"include_bots": include_bots, "include_system": include_system}


def working_hours(value: Any, name: str) -> tuple[float, float]:
    """A (start_hour, end_hour) pair with 0 <= start < end <= 24, or ValueError naming the parameter."""
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected (start_hour, end_hour), got {value!r}") from None
    if not 0 <= start < end <= 24:
        raise ValueError(f"{name}: need 0 <= start_hour < end_hour <= 24, got {value!r}")
    return start, end


def check_tz(tz: Any, name: str = "tz") -> None:
    """ValueError naming the parameter ``name`` unless ``tz`` is a time zone pandas knows on this machine (an
    argument the user gave: a zone in the data falls back instead, :func:`wall_clock`).

    Examples
    --------
    >>> check_tz("Europe/Berlin")
    >>> check_tz("US/Pacific-New")
    Traceback (most recent call last):
    ...
    ValueError: tz: 'US/Pacific-New' is not a time zone this machine's tz database knows (e.g. 'UTC', 'Europe/Berlin')
    """
    if not is_time_zone(tz):
        raise ValueError(
            f"{name}: {tz!r} is not a time zone this machine's tz database knows (e.g. 'UTC', 'Europe/Berlin')"
        )


def holiday_array(holidays: Iterable[Any] | None) -> np.ndarray:
    """Holidays as ``datetime64[D]`` (for ``np.busday_count``); ValueError naming ``holidays`` if they are not dates."""
    if holidays is None:
        return np.array([], dtype="datetime64[D]")
    try:
        return pd.to_datetime(list(holidays)).to_numpy().astype("datetime64[D]")
    except (TypeError, ValueError):
        raise ValueError(f"holidays: expected a list of dates, got {holidays!r}") from None


def list_column(values: pd.Series, item: pa.DataType | None = None) -> pa.ListArray:
    """A column of lists (Arrow-backed, or Python lists) as one Arrow list array, without a copy where it is
    Arrow already: the list columns (``mentions``, ``reactions``, ``file_kinds``, ...) are read flattened."""
    if isinstance(values.dtype, pd.ArrowDtype):
        lists = values.array._pa_array
    else:
        lists = pa.array(values, type=pa.list_(item or pa.string()), from_pandas=True)
    return lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists


def flatten_lists(lists: pa.ListArray) -> tuple[np.ndarray, pa.Array]:
    """Each item's row (int64) and the items, of a list array."""
    flat = pc.list_flatten(lists)
    rows = np.asarray(pc.list_parent_indices(lists), dtype=np.int64) if len(flat) else np.array([], np.int64)
    return rows, flat


def arrow_categorical(values: pa.Array) -> pd.Categorical:
    """Arrow strings as a pandas categorical, encoded by Arrow: a Python string per distinct value, never per row."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Categorical.from_codes(codes, categories=pd.Index(encoded.dictionary.to_pylist(), dtype=object))
