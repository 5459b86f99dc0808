"""The Slack part of the backends: everything chatlens knows about Slack, and nothing outside ``backends`` needs.

- :mod:`.wire`: Slack objects -> Chat API objects, bulk columns and normalised signals (bots, system events,
  mentions), ids, ``ts`` conversion, token redaction;
- :mod:`.webapi`: :class:`SlackChatAPI`, the Web API connector, with its thread-complete refresh calls;
- :mod:`.export`: :class:`SlackExportChatAPI`, workspace export archives (.zip or folder), read-only.

The classes are imported on first use (so importing :mod:`.wire` does not load the connectors).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["SlackChatAPI", "SlackExportChatAPI", "ExportProblemWarning"]

_WHERE = {"SlackChatAPI": ".webapi", "SlackExportChatAPI": ".export", "ExportProblemWarning": ".export"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
