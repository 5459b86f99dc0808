"""The notebook dashboard: ``chatlens.dashboard()``.

The state (:class:`DashboardState`) holds the choices and computes the tables; the view (:class:`Dashboard`) is a
thin ipywidgets layer over it. ipywidgets is imported only when a dashboard is made.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .state import DashboardState

__all__ = ["dashboard", "load_account", "DashboardState"]


def dashboard(accounts: list[str] | None = None, *, load: Callable[[str], pd.DataFrame] | None = None):
    """A dashboard over the configured accounts and the demo (pick one to load it).

    Parameters
    ----------
    accounts
        Account names to offer; default: the demo workspace's two accounts and every account in the accounts
        file.
    load
        ``account name -> messages frame``; default: :func:`load_account`.
    """
    from ..accounts import list_accounts
    from .view import Dashboard

    if accounts is None:
        accounts = ["demo:acme-slack", "demo:acme-teams", *[a for a in list_accounts() if a != "demo"]]

    return Dashboard(accounts, load or load_account)


def load_account(name: str) -> pd.DataFrame:
    """The dashboard's default loader: ``"name"``, ``"name:account-id"`` (``"demo:acme-teams"``) or the path of an
    export or workspace file, loaded as the report loads it (:func:`chatlens.reports.load_report_messages`, with
    message text), progress shown."""
    import os

    from ..accounts import connect
    from ..reports import load_report_messages

    if os.path.exists(name):  # a path (on Windows, "C:\\..." holds a colon that names no account)
        return load_report_messages(connect(name), text=True)
    base, _, sub = name.partition(":")
    return load_report_messages(connect(base, account=sub or None), text=True)
