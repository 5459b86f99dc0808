"""The one copy of chatlens' time conversions: microseconds since the epoch (UTC) to and from ISO 8601 text and
thread keys. Everything below the frames keeps times as integer microseconds; these are the only ways in and out.

A *thread key* is a message's creation time written ``"<seconds>.<6 digits>"``: exact, sortable as text within a
second's width, and what Slack calls a ``ts``. The refresh engine keys threads by it for every service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import InvalidRequest

__all__ = ["iso_from_us", "key_from_us", "us_from_iso", "us_from_key"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)


def iso_from_us(us: int) -> str:
    """ISO 8601 UTC with microseconds and ``Z`` from microseconds since the epoch.

    Examples
    --------
    >>> iso_from_us(1_700_000_000_123_456)
    '2023-11-14T22:13:20.123456Z'
    """
    # Naive arithmetic plus isoformat is twice as fast as formatting an aware datetime, on the listing hot path.
    return (_EPOCH_NAIVE + timedelta(microseconds=int(us))).isoformat(timespec="microseconds") + "Z"


def us_from_iso(value: str) -> int:
    """Microseconds since the epoch from an ISO 8601 timestamp (a zone is required).

    Examples
    --------
    >>> us_from_iso("2023-11-14T22:13:20.123456Z")
    1700000000123456
    """
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise InvalidRequest(f"created: {value!r} is not an ISO 8601 timestamp") from None
    if dt.tzinfo is None:
        raise InvalidRequest(f"created: {value!r} has no time zone")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def key_from_us(us: int) -> str:
    """The thread key (``"<seconds>.<6 digits>"``, Slack's ``ts``) of a time in microseconds since the epoch.

    Examples
    --------
    >>> key_from_us(1512085950000216)
    '1512085950.000216'
    """
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def us_from_key(key: str) -> int:
    """Microseconds since the epoch from a thread key (or any Slack ``ts``), exactly (no float rounding).

    Examples
    --------
    >>> us_from_key("1512085950.000216"), us_from_key("1512085950.5"), us_from_key("1512085950")
    (1512085950000216, 1512085950500000, 1512085950000000)
    """
    key = str(key)
    if len(key) > 7 and key[-7] == ".":  # the usual six digits: one int() (a bulk load converts millions)
        return int(key[:-7] + key[-6:])
    seconds, _, frac = key.partition(".")
    return int(seconds) * 1_000_000 + int((frac + "000000")[:6])
