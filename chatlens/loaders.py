"""The public loaders, under the name chatlens has always given them: see :mod:`chatlens.load`.

:mod:`chatlens.load` is the package (fetching, columns, the cache's use); this module re-exports its public names,
so ``from chatlens.loaders import load_messages`` keeps working.
"""

from __future__ import annotations

from .load import (
    MAX_RATE_LIMIT_WAITS,
    RefreshIncompleteWarning,
    add_sender_details,
    iter_messages,
    load_conversations,
    load_groups,
    load_members,
    load_messages,
    load_thread_status,
    load_users,
)

__all__ = [
    "load_conversations",
    "load_members",
    "load_messages",
    "load_users",
    "load_groups",
    "add_sender_details",
    "load_thread_status",
    "RefreshIncompleteWarning",
    "iter_messages",
    "MAX_RATE_LIMIT_WAITS",
]
