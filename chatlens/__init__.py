"""chatlens: team chat (Slack, Microsoft Teams) as tidy pandas DataFrames, analyses and dashboards.

Start with the demo workspace:

>>> import chatlens
>>> api = chatlens.connect()
>>> api.list_conversations(page_size=3)["count"]
3
"""

from __future__ import annotations

from .accounts import connect, list_accounts
from .chatapi import ChatAPI, iter_items, iter_pages
from .errors import (
    AuthenticationError,
    ChatError,
    Conflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServiceError,
)

__all__ = [
    "AuthenticationError",
    "ChatAPI",
    "ChatError",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServiceError",
    "connect",
    "iter_items",
    "iter_pages",
    "list_accounts",
]

__version__ = "0.1.0"

# Heavier layers load on first use, so `import chatlens` stays quick and the Chat API needs no pandas.
_LAZY = {
    "load_conversations": "chatlens.loaders",
    "load_members": "chatlens.loaders",
    "load_messages": "chatlens.loaders",
    "iter_messages": "chatlens.loaders",
    "load_users": "chatlens.loaders",
    "load_groups": "chatlens.loaders",
    "add_sender_details": "chatlens.loaders",
    "read_messages": "chatlens.partitions",
    "on_cluster": "chatlens.analysis._distributed",
    "pseudonymize": "chatlens.privacy",
    "export_tables": "chatlens.export",
    "write_slack_export": "chatlens.backends.slack.writer",
    "analysis": "chatlens",
    "plotting": "chatlens",
    "report": "chatlens.reports",
    "dashboard": "chatlens.widgets",
    "serve": "chatlens.server",
}


def __dir__() -> list[str]:
    """The module's names and the lazily loaded ones, so tab completion (Jupyter, IPython) offers them all."""
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str):
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'chatlens' has no attribute {name!r}")
    module = _LAZY[name]
    if module == "chatlens":
        return importlib.import_module(f"chatlens.{name}")
    if name == "serve":
        return importlib.import_module(module).ServerThread
    return getattr(importlib.import_module(module), name)
