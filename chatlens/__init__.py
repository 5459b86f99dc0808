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
