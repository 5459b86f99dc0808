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


#: The keys of each account type: (required, optional), besides ``type`` itself. Anything else is refused by name,
#: so a misspelt key ("service" for "type", "file" for "path") is an error, never a silently different account.
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sqlite": (("path",), ("account",)),
    "http": (("base_url", "token_env"), ("account",)),
    "slack": (("token_env",), ("base_url", "admin", "account", "history_limit", "refetch_unchanged_threads")),
    "ms_teams": (("token_env",), ("base_url", "admin", "account", "team_id", "create")),
    "slack_export": (("path",), ("account", "workspace")),
}


def _check_keys(config: Mapping[str, Any], label: str) -> str:
    """The config's type, once its keys are the ones that type takes; a ValueError naming the wrong key otherwise."""
    kind = config.get("type")
    types = ", ".join(_KEYS)
    if kind is None:
        raise ValueError(f"{label}: 'type' is missing; it says what the account is, one of: {types}")
    if kind not in _KEYS:
        raise ValueError(f"{label}: unknown account type {kind!r} (known: {types})")
    required, optional = _KEYS[kind]
    valid = ("type", *required, *optional)
    for key in config:
        if key not in valid:
            hint = " ('type' says what the account is)" if key in ("service", "kind", "backend") else ""
            raise ValueError(f"{label}: unknown key {key!r}{hint}; a {kind!r} account takes: {', '.join(valid)}")
    for key in required:
        if config.get(key) in (None, ""):
            raise ValueError(f"{label}: a {kind!r} account needs {key!r} (it takes: {', '.join(valid)})")
    return str(kind)


def _path_config(value: str) -> dict[str, Any] | None:
    """An account config for a path given where an account name goes: a SQLite workspace file, or a Slack archive
    (a .zip or a folder); None when ``value`` is no existing path."""
    path = Path(value).expanduser()
    if not path.exists():
        return None
    if path.is_file():
        with path.open("rb") as fh:
            if fh.read(16) == b"SQLite format 3\x00":
                return {"type": "sqlite", "path": str(path)}
    return {"type": "slack_export", "path": str(path)}


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
        ``None`` or ``"demo"`` for the bundled demo workspace; a name from the accounts file; a path to a Slack
        archive (.zip or folder) or a SQLite workspace file; or a mapping with the same keys as an accounts-file
        table (``{"type": "sqlite", "path": ..., "account": ...}``). A key the type does not take, or a missing
        one, is a ValueError naming it and the keys the type takes.
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
    >>> connect({"service": "sqlite", "path": "chat.sqlite"})
    Traceback (most recent call last):
    ...
    ValueError: the given config: 'type' is missing; it says what the account is, one of: sqlite, http, ...
    """
    if name is None or name == DEMO:
        from .backends.sqlite import Workspace
        from .demo import demo_workspace_path

        return Workspace(demo_workspace_path()).account(account or "acme-slack")
    if isinstance(name, Mapping):
        config, label = dict(name), "the given config"
    elif isinstance(name, str):
        accounts = _read_config(config_path())
        if name in accounts:
            config, label = dict(accounts[name]), f"account {name!r}"
        elif (found := _path_config(name)) is not None:
            config, label = found, name
        else:
            known = ", ".join(list_accounts())
            raise ValueError(
                f"no account named {name!r} and no such file or folder (known accounts: {known}; file: {config_path()})"
            )
    else:
        raise TypeError(f"name must be an account name, a path or a config mapping, got {type(name).__name__}")
    if account is not None:
        config["account"] = account
    if "token" in config:
        raise ValueError(f"{label}: a literal token is not accepted; set token_env to an environment variable name")
    kind = _check_keys(config, label)
    if kind == "sqlite":
        from .backends.sqlite import Workspace

        ws = Workspace(Path(str(config["path"])).expanduser())
        acct = config.get("account") or _only_account(ws, label)
        return ws.account(acct)
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
