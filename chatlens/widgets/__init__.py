"""The notebook dashboard: ``chatlens.dashboard()``.

The state (:class:`DashboardState`) holds the choices and computes the tables; the view (:class:`Dashboard`) is a
thin ipywidgets layer over it. ipywidgets is imported only when a dashboard is made.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .state import DashboardState

__all__ = ["dashboard", "DashboardState"]


def dashboard(accounts: list[str] | None = None, *, load: Callable[[str], pd.DataFrame] | None = None):
    """A dashboard over the configured accounts and the demo (pick one to load it).

    Parameters
    ----------
    accounts
        Account names to offer; default: the demo workspace's two accounts and every account in the accounts
        file.
    load
        ``account name -> messages frame``; default: :func:`chatlens.load_messages` with progress shown.
    """
    from ..accounts import connect, list_accounts
    from ..loaders import load_messages
    from .view import Dashboard

    if accounts is None:
        accounts = ["demo:acme-slack", "demo:acme-teams", *[a for a in list_accounts() if a != "demo"]]

    def default_load(name: str) -> pd.DataFrame:
        base, _, sub = name.partition(":")
        return load_messages(connect(base, account=sub or None))

    return Dashboard(accounts, load or default_load)
