"""The Microsoft Teams part of the backends: everything chatlens knows about Microsoft Graph.

- :mod:`.wire`: Graph objects -> Chat API objects and normalised signals, stateless reversible ids, HTML to text;
- :mod:`.graph`: :class:`TeamsChatAPI`, the Graph v1.0 connector, with its thread-complete refresh calls.

The connector is imported on first use (so importing :mod:`.wire` does not load it).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["TeamsChatAPI", "GraphDataWarning"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module(".graph", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
