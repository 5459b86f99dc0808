"""Handing back to the system the memory the allocators keep of what was freed.

Arrow's allocator (mimalloc) keeps freed memory for its own reuse, which numpy never takes, and glibc's malloc keeps
freed blocks under its mmap threshold (which rises to 32 MiB after the first big free): a step that frees a large
working set leaves it resident for the next, which allocates its own beside it. On 1,000,000 messages a load left
as much again as the frame held by the process, and each table of the report's community section 0.3x the frame
from each allocator. :func:`release_unused` between big steps keeps the process at what is alive.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import pyarrow as pa

__all__ = ["release_unused"]


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (Dask's workers call it for the same reason), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


_MALLOC_TRIM = _malloc_trim()


def release_unused() -> None:
    """Return to the system what Arrow's memory pool and (on glibc) malloc hold of freed memory; cheap (about
    half a millisecond), so it can follow every step that frees much.

    Examples
    --------
    >>> release_unused()
    """
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
