"""Named accounts: ``connect()`` turns a name from the accounts file (or ``"demo"``) into a Chat API backend.

The accounts file is TOML at ``platformdirs.user_config_dir("chatlens")/accounts.toml`` (``CHATLENS_CONFIG``
overrides the path). Secrets are never written in it: a token is named by the environment variable holding it::

    [accounts.archive]
    type = "sqlite"            # an embedded workspace file
    path = "~/chat/archive.sqlite"
    account = "acme-slack"

    [accounts.team-server]
    type = "http"              # any server speaking the Kloudless wire protocol, e.g. `chatlens serve`
    base_url = "http://127.0.0.1:8765"
    account = "acme-slack"
    token_env = "CHATLENS_TEAM_TOKEN"

A literal ``token = "..."`` is refused, so a token cannot end up in a file that gets shared or committed.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from .chatapi import ChatAPI

__all__ = ["config_path", "connect", "list_accounts", "token_from_env"]

DEMO = "demo"

# Account types besides "sqlite": type -> (module, factory name). A factory takes the account's config (with
# the token already resolved from token_env) and returns a ChatAPI. Imported lazily so `import chatlens` stays
# light, and so backends never import this module (they sit below it).
_FACTORIES: dict[str, tuple[str, str]] = {
    "http": ("chatlens.backends.http", "from_config"),
    "slack": ("chatlens.backends.slack.webapi", "from_config"),
    "ms_teams": ("chatlens.backends.teams.graph", "from_config"),
    "slack_export": ("chatlens.backends.slack.export", "from_config"),
}


def config_path() -> Path:
    """Where the accounts file is read from."""
    env = os.environ.get("CHATLENS_CONFIG")
    return Path(env).expanduser() if env else Path(platformdirs.user_config_dir("chatlens")) / "accounts.toml"


def _read_config(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid TOML accounts file: {exc}") from None
    accounts = data.get("accounts", {})
    if not isinstance(accounts, dict) or not all(isinstance(v, dict) for v in accounts.values()):
        raise ValueError(f"{path}: expected [accounts.NAME] tables")
    return accounts


def list_accounts() -> list[str]:
    """The account names :func:`connect` accepts: ``"demo"`` and those in the accounts file.

    Examples
    --------
    >>> "demo" in list_accounts()
    True
    """
    return [DEMO, *sorted(_read_config(config_path()))]


def connect(name: str | Mapping[str, Any] | None = None, *, account: str | None = None) -> ChatAPI:
    """A Chat API backend for a named account, a config mapping, or the demo workspace.

    Parameters
    ----------
    name
        ``None`` or ``"demo"`` for the bundled demo workspace; a name from the accounts file; or a mapping with
        the same keys as an accounts-file table (``{"type": "sqlite", "path": ..., "account": ...}``).
    account
        For the demo (and to override a config's ``account``): which account of the workspace, e.g.
        ``"acme-teams"``. The demo's default is ``"acme-slack"``.

    Examples
    --------
    >>> api = connect("demo")
    >>> api.service, api.account_id
    ('slack', 'acme-slack')
    >>> connect("demo", account="acme-teams").service
    'ms_teams'
    """
    if name is None or name == DEMO:
        from .backends.sqlite import Workspace
        from .demo import demo_workspace_path

        return Workspace(demo_workspace_path()).account(account or "acme-slack")
    if isinstance(name, Mapping):
        config, label = dict(name), "the given config"
    elif isinstance(name, str):
        accounts = _read_config(config_path())
        if name not in accounts:
            known = ", ".join(list_accounts())
            raise ValueError(f"no account named {name!r} (known: {known}; file: {config_path()})")
        config, label = dict(accounts[name]), f"account {name!r}"
    else:
        raise TypeError(f"name must be an account name or a config mapping, got {type(name).__name__}")
    if account is not None:
        config["account"] = account
    if "token" in config:
        raise ValueError(f"{label}: a literal token is not accepted; set token_env to an environment variable name")
    kind = config.get("type", "sqlite")
    if kind == "sqlite":
        from .backends.sqlite import Workspace

        path = config.get("path")
        if not path:
            raise ValueError(f"{label}: type 'sqlite' needs a path")
        ws = Workspace(Path(str(path)).expanduser())
        acct = config.get("account") or _only_account(ws, label)
        return ws.account(acct)
    if kind not in _FACTORIES:
        raise ValueError(f"{label}: unknown account type {kind!r} (known: sqlite, {', '.join(sorted(_FACTORIES))})")
    if "token_env" in config:
        config["token"] = token_from_env(config, label)
    module, attr = _FACTORIES[kind]
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ModuleNotFoundError, AttributeError):
        raise ValueError(f"{label}: account type {kind!r} is not available in this version of chatlens") from None
    return factory(config)


def _only_account(ws: Any, label: str) -> str:
    ids = [a["id"] for a in ws.accounts()]
    if len(ids) != 1:
        raise ValueError(f"{label}: the workspace holds accounts {ids}; say which with account = ...")
    return ids[0]


def token_from_env(config: Mapping[str, Any], label: str = "account") -> str:
    """The token an account config refers to via ``token_env``; a clear error if it is not set."""
    var = config.get("token_env")
    if not var:
        raise ValueError(f"{label}: token_env (the name of an environment variable holding the token) is required")
    value = os.environ.get(str(var))
    if not value:
        raise ValueError(f"{label}: environment variable {var} is not set")
    return value
