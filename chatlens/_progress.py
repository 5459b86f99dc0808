"""Progress bars for long work: tqdm.auto (a widget in Jupyter, text in a terminal), one switch for all of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(iterable: Iterable[Any] | None = None, *, progress: bool, **options: Any) -> tqdm:
    """tqdm.auto's bar over ``iterable`` (or a manual one, ``total=``); ``progress=False`` hides it.

    With ``progress=True`` no ``disable=`` is passed, so tqdm's own environment variables apply
    (``TQDM_DISABLE=1`` turns every bar off, as its documentation says): an explicit ``disable=False`` would
    override them.

    Examples
    --------
    >>> sum(progress_bar(range(3), progress=False))
    3
    """
    if not progress:
        options["disable"] = True
    return tqdm(iterable, **options)
