"""Where a warning should point: the user's own line, however deep inside chatlens it is raised."""

from __future__ import annotations

import sys

__all__ = ["user_stacklevel"]


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` in the caller of this function name the first frame outside
    chatlens (Python 3.11 has no ``skip_file_prefixes``). chatlens's own command line, the outermost frame, stops
    the walk.

    Examples
    --------
    >>> import warnings
    >>> def inner():
    ...     warnings.warn("look here", UserWarning, stacklevel=user_stacklevel())
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     inner()
    >>> caught[0].lineno > 0
    True
    """
    frame, level = sys._getframe(2), 2  # the caller's caller: the warning's first candidate
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "chatlens":
        frame, level = frame.f_back, level + 1
    return level
