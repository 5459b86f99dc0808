"""A stateful fake of the Slack Web API on 127.0.0.1, for testing the Slack connector over real HTTP.

It answers the methods the connector calls, with the shapes Slack documents on each method's page
(https://api.slack.com/methods/<method>, and the examples in slackapi/slack-api-specs
``web-api/slack_web_openapi_v2.json``):

- ``auth.test``                 https://api.slack.com/methods/auth.test
- ``users.list``, ``users.info``  https://api.slack.com/methods/users.list, .../users.info
- ``conversations.list``, ``.info``, ``.members``, ``.history``, ``.replies``, ``.create``, ``.rename``,
  ``.archive``               https://api.slack.com/methods/conversations.history (and siblings)
- ``chat.postMessage``, ``chat.update``, ``chat.delete``  https://api.slack.com/methods/chat.postMessage (...)
- ``usergroups.list``, ``usergroups.users.list``  https://api.slack.com/methods/usergroups.list (...)
- ``search.messages`` (user tokens)             https://api.slack.com/methods/search.messages

Behaviour copied from Slack's method documentation, each cited where it is implemented:

- every answer is HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "<code>"}``; a rate limit is
  HTTP 429 with ``Retry-After`` (seconds) and ``{"ok": false, "error": "ratelimited"}``, counted per method
  (https://docs.slack.dev/apis/web-api/rate-limits);
- list methods page with ``cursor`` in and ``response_metadata.next_cursor`` out, an empty string at the end
  (https://docs.slack.dev/apis/web-api/pagination), cursors being base64 of ``"<kind>:<position>"`` (Slack's own
  look: ``bmV4dF90czoxNTEy...`` is ``next_ts:1512...``, in the published examples);
- ``conversations.history`` lists thread parents and replies also sent to the channel (``thread_broadcast``),
  newest first, between ``oldest`` (default 0) and ``latest`` (default now), both exclusive unless
  ``inclusive`` (https://docs.slack.dev/reference/methods/conversations.history);
- ``conversations.replies`` answers the parent first, then its replies oldest first; ``ts`` may name the parent
  or any reply (https://docs.slack.dev/reference/methods/conversations.replies);
- a reply sent with ``reply_broadcast`` is a ``thread_broadcast`` message listed by both, carrying a copy of its
  thread's parent in ``root`` in the channel's history
  (https://docs.slack.dev/reference/events/message/thread_broadcast, chat.postMessage's ``reply_broadcast``);
- deleting a parent that has replies leaves a ``tombstone`` ("This message was deleted.") that keeps the thread,
  and the tombstone goes when its last reply does (inferred: Slack documents the subtype on no page; exports and
  clients show this);
- ``ts`` is ``"<seconds>.<6 digits>"`` and unique within a channel.

Each bearer token is its own workspace (team), so tests get isolated accounts from one server. Throttling can be
switched on per method (:meth:`FakeSlack.throttle`) to mimic the 2025 limits on non-Marketplace apps
(``conversations.history``/``replies``: one call a minute, ``limit`` capped at 15), scaled down in time.
"""

from __future__ import annotations

import base64
import calendar
import itertools
import json
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.secrets_seen import remember

_NAME = re.compile(r"^[a-z0-9_\-]{1,80}$")


class SlackError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code, self.extra = code, extra


@dataclass
class Channel:
    obj: dict[str, Any]
    members: list[str]
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # ts -> message


@dataclass
class Team:
    id: str
    user_id: str
    admin: bool
    bot: bool = False  # a bot token (xoxb-): search.messages refuses it
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    usergroups: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_us: int = 0

    def next_ts(self) -> str:
        # Slack's ts: the post time, made unique within the workspace.
        self.last_us = max(self.last_us + 1, time.time_ns() // 1000)
        return ts_from_us(self.last_us)


def ts_from_us(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _us(ts: str) -> int:
    seconds, _, frac = ts.partition(".")
    return int(seconds) * 1_000_000 + int((frac + "000000")[:6])


def _cursor(kind: str, position: str) -> str:
    return base64.b64encode(f"{kind}:{position}".encode()).decode()


def _uncursor(kind: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        got, _, position = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if got != kind:
        raise SlackError("invalid_cursor")
    return position


def _limit(params: dict[str, Any], default: int = 100, cap: int | None = None) -> int:
    try:
        limit = int(params.get("limit") or default)
    except ValueError:
        raise SlackError("invalid_limit") from None
    limit = max(1, min(limit, 1000))
    return min(limit, cap) if cap else limit


def _recount(channel: Channel, root: dict[str, Any]) -> None:
    """A parent's thread fields from its replies as they are now (``reply_count``, ``reply_users``,
    ``reply_users_count``, ``latest_reply``), as conversations.history shows them; a parent left with no
    replies loses them (inferred: Slack shows no thread under it any more)."""
    replies = [m for m in channel.messages.values() if m.get("thread_ts") == root["ts"] != m["ts"]]
    if replies:
        users = sorted({str(m.get("user")) for m in replies})
        root.update(
            reply_count=len(replies),
            reply_users=users,
            reply_users_count=len(users),
            latest_reply=max((m["ts"] for m in replies), key=_us),
        )
    else:
        for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
            root.pop(key, None)


class FakeSlack:
    """The fake Slack Web API; ``with FakeSlack() as slack:`` serves it at ``slack.url`` (``.../api``)."""

    def __init__(self) -> None:
        self.teams: dict[str, Team] = {}  # token -> team
        self.calls: list[tuple[str, str]] = []  # (HTTP method, Slack method)
        self.lock = threading.RLock()
        self._throttles: dict[str, tuple[float, int, int]] = {}  # method -> (interval s, retry_after s, limit cap)
        self._last_call: dict[str, float] = {}
        self._fail_next: list[tuple[str | None, int, str]] = []  # (method or any, HTTP status, Retry-After)
        self._team_ids = itertools.count(1)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: avoid the 40 ms delayed-ACK stall

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = outer._handle(self.command, self.path, self.headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- set-up ---------------------------------------------------------------------------------------------
    def add_team(self, *, user_id: str, admin: bool = False, name: str = "Acme") -> tuple[str, Team]:
        """A new workspace whose token acts as ``user_id``; returns ``(token, team)``."""
        token = remember("xoxp-" + secrets.token_hex(12))
        team = Team(f"T{next(self._team_ids):08d}", user_id, admin)
        team.users[user_id] = {"id": user_id, "name": user_id.lower(), "profile": {}}
        with self.lock:
            self.teams[token] = team
        return token, team

    @staticmethod
    def add_user(
        team: Team,
        user_id: str,
        name: str,
        email: str | None = None,
        *,
        is_bot: bool = False,
        tz: str = "Europe/London",
        deleted: bool = False,
        guest: bool = False,
    ) -> None:
        team.users[user_id] = {
            "id": user_id,
            "team_id": team.id,
            "name": name,
            "deleted": deleted,
            "real_name": name,
            "tz": tz,
            "is_bot": is_bot,
            "is_restricted": guest,
            "is_ultra_restricted": False,
            "updated": 1_700_000_000,
            "profile": {"display_name": name, "real_name": name, **({"email": email} if email else {})},
        }

    @staticmethod
    def add_channel(team: Team, channel_id: str, *, name: str | None, kind: str, created_us: int, members: list[str]):
        obj: dict[str, Any] = {
            "id": channel_id,
            "created": created_us // 1_000_000,
            "is_archived": False,
            "is_channel": kind == "channel",
            "is_group": kind == "private_channel",
            "is_im": kind == "direct",
            "is_mpim": kind == "group_direct",
            "is_private": kind != "channel",
            "context_team_id": team.id,
        }
        if kind == "direct":
            obj["user"] = next(m for m in members if m != team.user_id)
        else:
            obj.update(name=name, name_normalized=name, creator=members[0], is_member=True)
        team.channels[channel_id] = Channel(obj, sorted(members))

    @staticmethod
    def add_message(
        team: Team,
        channel_id: str,
        user: str,
        ts: str,
        text: str,
        thread_ts: str = "",
        *,
        broadcast: bool = False,
        **extra: Any,
    ) -> dict:
        """Post a message (a reply if ``thread_ts``; also sent to the channel if ``broadcast``), with any other
        fields of Slack's message object in ``extra`` (``blocks``, ``subtype``, ``username``, ...)."""
        channel = team.channels[channel_id]
        msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts, "team": team.id, **extra}
        if thread_ts:
            parent = channel.messages[thread_ts]
            msg.update(thread_ts=thread_ts, parent_user_id=parent.get("user"))
            if broadcast:
                # https://docs.slack.dev/reference/events/message/thread_broadcast
                msg["subtype"] = "thread_broadcast"
            parent["thread_ts"] = thread_ts
            channel.messages[ts] = msg
            _recount(channel, parent)
        else:
            channel.messages[ts] = msg
        team.last_us = max(team.last_us, _us(ts))
        return msg

    @staticmethod
    def add_usergroup(team: Team, group_id: str, handle: str, name: str, users: list[str]) -> dict:
        """A user group (https://api.slack.com/methods/usergroups.list: ``S``-prefixed id, ``handle``, ``name``)."""
        group = {
            "id": group_id,
            "team_id": team.id,
            "is_usergroup": True,
            "name": name,
            "description": f"the {name} team",
            "handle": handle,
            "is_external": False,
            "date_create": 1_700_000_000,
            "date_update": 1_700_000_000,
            "date_delete": 0,
            "auto_type": None,
            "created_by": team.user_id,
            "updated_by": team.user_id,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "user_count": len(users),
            "users": list(users),
        }
        team.usergroups[group_id] = group
        return group

    def throttle(self, method: str, *, interval: float, retry_after: int = 1, limit_cap: int | None = None) -> None:
        """At most one ``method`` call per ``interval`` seconds (429 + ``Retry-After`` otherwise), ``limit``
        capped at ``limit_cap``: Slack's limits on non-Marketplace apps, scaled down in time."""
        self._throttles[method] = (interval, retry_after, limit_cap or 0)

    def fail_next(self, n: int, *, method: str | None = None, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next ``n`` requests (to ``method``, or any) with ``status`` and ``Retry-After``."""
        self._fail_next.extend([(method, status, str(retry_after))] * n)

    # -- dispatch -------------------------------------------------------------------------------------------
    def _handle(self, verb: str, path: str, headers: Any, body: bytes) -> tuple[int, dict, dict[str, str]]:
        parts = urlsplit(path)
        method = parts.path.rsplit("/", 1)[-1]
        with self.lock:
            self.calls.append((verb, method))
            if self._fail_next and self._fail_next[0][0] in (None, method):
                _, status, retry_after = self._fail_next.pop(0)
                return status, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after}
            throttle = self._throttles.get(method)
            if throttle:
                interval, retry_after, _ = throttle
                now = time.monotonic()
                if now - self._last_call.get(method, -math.inf) < interval:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
                self._last_call[method] = now
            params: dict[str, Any] = dict(parse_qsl(parts.query))
            if body:
                if (headers.get("Content-Type") or "").startswith("application/json"):
                    params.update(json.loads(body))
                else:
                    params.update(parse_qsl(body.decode()))
            auth = headers.get("Authorization") or ""
            if not auth.startswith("Bearer "):
                return 200, {"ok": False, "error": "not_authed"}, {}
            team = self.teams.get(auth[len("Bearer ") :])
            if team is None:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                return 404, {"ok": False, "error": "unknown_method"}, {}
            try:
                return 200, {"ok": True, **handler(team, params)}, {}
            except SlackError as err:
                return 200, {"ok": False, "error": err.code, **err.extra}, {}

    def _cap(self, method: str) -> int | None:
        throttle = self._throttles.get(method)
        return throttle[2] or None if throttle else None

    @staticmethod
    def _channel(team: Team, params: dict[str, Any]) -> Channel:
        channel = team.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    @staticmethod
    def _page(items: list[Any], kind: str, key: Any, params: dict[str, Any], cap: int | None = None):
        after = _uncursor(kind, params.get("cursor"))
        if after is not None:
            items = [i for i in items if key(i) > after]
        limit = _limit(params, cap=cap)
        page = items[:limit]
        more = len(items) > limit
        return page, {"next_cursor": _cursor(kind, key(page[-1])) if more else ""}

    # -- methods --------------------------------------------------------------------------------------------
    def _m_auth_test(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        user = team.users[team.user_id]
        return {
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": user["name"],
            "team_id": team.id,
            "user_id": team.user_id,
            "is_enterprise_install": False,
        }

    def _m_users_list(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        users = sorted(team.users.values(), key=lambda u: u["id"])
        page, meta = self._page(users, "users", lambda u: u["id"], params)
        return {"members": page, "cache_ts": int(time.time()), "response_metadata": meta}

    def _m_users_info(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        user = team.users.get(str(params.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _m_usergroups_list(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        # usergroups.list leaves out each group's users unless include_users is true.
        with_users = str(params.get("include_users")).lower() == "true"
        return {
            "usergroups": [{k: v for k, v in g.items() if with_users or k != "users"} for g in team.usergroups.values()]
        }

    def _m_usergroups_users_list(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        group = team.usergroups.get(str(params.get("usergroup")))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group["users"])}

    def _m_search_messages(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        """search.messages (user tokens only), with the ``in:<#C..>`` and ``after:YYYY-MM-DD`` modifiers, newest
        first (``sort=timestamp``): https://api.slack.com/methods/search.messages. Thread replies carry their
        ``thread_ts`` only in the permalink, as on Slack."""
        if team.bot:
            raise SlackError("not_allowed_token_type")
        query = str(params.get("query") or "")
        channel = re.search(r"in:<#(\w+)(?:\|[^>]*)?>", query)
        after = re.search(r"after:(\d{4}-\d\d-\d\d)", query)
        # after:DATE means from the next day on (Slack's day granularity, in UTC here).
        start = (calendar.timegm(time.strptime(after.group(1), "%Y-%m-%d")) + 86_400) if after else 0
        matches = []
        for ch in team.channels.values():
            if (channel and ch.obj["id"] != channel.group(1)) or ch.obj["is_archived"]:
                continue
            for m in ch.messages.values():
                if _us(m["ts"]) >= start * 1_000_000 and m.get("subtype") != "tombstone":
                    link = f"https://fake.slack.com/archives/{ch.obj['id']}/p{m['ts'].replace('.', '')}"
                    if m.get("thread_ts") and m["thread_ts"] != m["ts"]:
                        link += f"?thread_ts={m['thread_ts']}&cid={ch.obj['id']}"
                    matches.append(
                        {
                            "type": "message",
                            "user": m.get("user"),
                            "ts": m["ts"],
                            "text": m.get("text", ""),
                            "channel": {"id": ch.obj["id"], "name": ch.obj.get("name")},
                            "permalink": link,
                        }
                    )
        matches.sort(key=lambda m: _us(m["ts"]), reverse=True)
        count = max(1, min(int(params.get("count") or 20), 100))
        page = max(1, int(params.get("page") or 1))
        pages = max(1, -(-len(matches) // count))
        shown = matches[(page - 1) * count : page * count]
        paging = {"count": count, "total": len(matches), "page": page, "pages": pages}
        return {"query": query, "messages": {"total": len(matches), "paging": paging, "matches": shown}}

    def _m_conversations_list(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        types = set(str(params.get("types") or "public_channel").split(","))
        wanted = {
            "public_channel": lambda o: o["is_channel"],
            "private_channel": lambda o: o["is_group"],
            "mpim": lambda o: o["is_mpim"],
            "im": lambda o: o["is_im"],
        }
        if not types <= set(wanted):
            raise SlackError("invalid_types")
        exclude_archived = str(params.get("exclude_archived")).lower() in ("true", "1")
        objs = [
            c.obj
            for c in team.channels.values()
            if any(wanted[t](c.obj) for t in types) and not (exclude_archived and c.obj["is_archived"])
        ]
        # Slack lists in creation order; the channel id breaks ties (the cursor's position).
        objs.sort(key=lambda o: (o["created"], o["id"]))
        order = {o["id"]: f"{o['created']:012d}/{o['id']}" for o in objs}
        page, meta = self._page(objs, "team", lambda o: order[o["id"]], params)
        return {"channels": page, "response_metadata": meta}

    def _m_conversations_info(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(team, params).obj}

    def _m_conversations_members(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, params)
        page, meta = self._page(channel.members, "user", lambda u: u, params)
        return {"members": page, "response_metadata": meta}

    @staticmethod
    def _window(msgs: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        inclusive = str(params.get("inclusive")).lower() in ("true", "1")
        latest = _us(str(params["latest"])) if params.get("latest") else None
        oldest = _us(str(params["oldest"])) if params.get("oldest") else None
        out = []
        for m in msgs:
            us = _us(m["ts"])
            if latest is not None and (us > latest or (us == latest and not inclusive)):
                continue
            if oldest is not None and (us < oldest or (us == oldest and not inclusive)):
                continue
            out.append(m)
        return out

    def _m_conversations_history(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/conversations.history: the channel's messages, newest first,
        in the ``oldest``/``latest`` window; thread replies are left out unless also sent to the channel, and such a
        ``thread_broadcast`` carries a copy of its thread's parent in ``root`` (the thread_broadcast page's
        example). ``limit`` defaults to 100 (15 at most under the 2025 limits, :meth:`throttle`)."""
        channel = self._channel(team, params)
        listed = [
            m
            for m in channel.messages.values()
            if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("subtype") == "thread_broadcast"
        ]
        listed = sorted(self._window(listed, params), key=lambda m: _us(m["ts"]), reverse=True)
        after = _uncursor("next_ts", params.get("cursor"))
        if after is not None:
            listed = [m for m in listed if _us(m["ts"]) <= int(after)]
        limit = _limit(params, cap=self._cap("conversations.history"))
        page, more = listed[:limit], len(listed) > limit
        meta = {"next_cursor": _cursor("next_ts", str(_us(listed[limit]["ts"]))) if more else ""}
        shown = []
        for m in page:
            root = channel.messages.get(m.get("thread_ts") or "") if m.get("subtype") == "thread_broadcast" else None
            shown.append({**m, "root": dict(root)} if root is not None else m)
        return {"messages": shown, "has_more": more, "pin_count": 0, "response_metadata": meta}

    def _m_conversations_replies(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/conversations.replies: ``ts`` names the parent or any message of
        the thread; the answer is the parent, then its replies oldest first (the published example), replies
        limited to the ``oldest``/``latest`` window; a message without replies is answered alone. Later pages hold
        replies only (inferred). ``limit`` defaults to 1000. A deleted parent with replies is its tombstone; a
        message that is gone is ``thread_not_found``."""
        channel = self._channel(team, params)
        msg = channel.messages.get(str(params.get("ts")))
        if msg is None:
            raise SlackError("thread_not_found")
        root_ts = msg.get("thread_ts") or msg["ts"]
        root = channel.messages.get(root_ts)
        replies = sorted(
            (m for m in channel.messages.values() if m.get("thread_ts") == root_ts and m["ts"] != root_ts),
            key=lambda m: _us(m["ts"]),
        )
        thread = ([root] if root else []) + self._window(replies, params)
        after = _uncursor("next_ts", params.get("cursor"))
        if after is not None:
            thread = [m for m in thread if _us(m["ts"]) >= int(after) and m is not root]
        limit = _limit(params, default=1000, cap=self._cap("conversations.replies"))
        page, more = thread[:limit], len(thread) > limit
        meta = {"next_cursor": _cursor("next_ts", str(_us(thread[limit]["ts"]))) if more else ""}
        return {"messages": page, "has_more": more, "response_metadata": meta}

    def _m_conversations_create(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("name") or "")
        self._check_name(team, name)
        cid = ("G" if str(params.get("is_private")).lower() in ("true", "1") else "C") + secrets.token_hex(5).upper()
        kind = "private_channel" if cid.startswith("G") else "channel"
        self.add_channel(team, cid, name=name, kind=kind, created_us=int(time.time() * 1e6), members=[team.user_id])
        return {"channel": team.channels[cid].obj}

    @staticmethod
    def _check_name(team: Team, name: str) -> None:
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _NAME.match(name):
            raise SlackError("invalid_name_specials")
        if any(c.obj.get("name") == name for c in team.channels.values()):
            raise SlackError("name_taken")

    def _m_conversations_rename(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, params)
        if channel.obj["is_im"] or channel.obj["is_mpim"]:
            raise SlackError("method_not_supported_for_channel_type")
        name = str(params.get("name") or "")
        if name != channel.obj.get("name"):
            self._check_name(team, name)
        channel.obj.update(name=name, name_normalized=name)
        return {"channel": channel.obj}

    def _m_conversations_archive(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, params)
        if channel.obj["is_archived"]:
            raise SlackError("already_archived")
        if channel.obj["is_im"]:
            raise SlackError("method_not_supported_for_channel_type")
        channel.obj["is_archived"] = True
        return {}

    def _m_chat_postMessage(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, params)
        if channel.obj["is_archived"]:
            raise SlackError("is_archived")
        text = str(params.get("text") or "")
        if not text.strip() and not params.get("blocks"):
            raise SlackError("no_text")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        thread_ts = str(params.get("thread_ts") or "")
        if thread_ts and thread_ts not in channel.messages:
            raise SlackError("thread_not_found")
        if thread_ts:
            thread_ts = channel.messages[thread_ts].get("thread_ts") or thread_ts  # threads are one level deep
        # https://docs.slack.dev/reference/methods/chat.postMessage: reply_broadcast also sends a reply to the channel
        broadcast = bool(thread_ts) and str(params.get("reply_broadcast")).lower() in ("true", "1")
        msg = self.add_message(
            team, channel.obj["id"], team.user_id, team.next_ts(), text, thread_ts, broadcast=broadcast
        )
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key):
                value = params[key]
                msg[key] = json.loads(value) if isinstance(value, str) else value
        return {"channel": channel.obj["id"], "ts": msg["ts"], "message": msg}

    def _message(self, team: Team, params: dict[str, Any]) -> tuple[Channel, dict[str, Any]]:
        channel = self._channel(team, params)
        msg = channel.messages.get(str(params.get("ts")))
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("user") != team.user_id and not team.admin:
            raise SlackError("cant_update_message")
        return channel, msg

    def _m_chat_update(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        channel, msg = self._message(team, params)
        text = str(params.get("text") or "")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        msg["text"] = text
        msg["edited"] = {"user": team.user_id, "ts": team.next_ts()}
        return {"channel": channel.obj["id"], "ts": msg["ts"], "text": text, "message": msg}

    def _m_chat_delete(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.slack.dev/reference/methods/chat.delete. A deleted parent with replies stays as a tombstone
        (subtype ``tombstone``, "This message was deleted.", its thread kept); a deleted reply leaves its parent's
        counts updated, and a tombstone whose last reply goes, goes too (inferred, as Slack's clients show)."""
        channel, msg = self._message(team, params)
        ts = msg["ts"]
        if msg.get("reply_count") and msg.get("thread_ts", ts) == ts:
            keep = {k: msg[k] for k in ("reply_count", "latest_reply", "reply_users", "reply_users_count") if k in msg}
            msg.clear()
            msg.update(type="message", subtype="tombstone", text="This message was deleted.", ts=ts, thread_ts=ts)
            msg.update(user="USLACKBOT", hidden=True, **keep)
        else:
            del channel.messages[ts]
            root = channel.messages.get(msg.get("thread_ts") or "")
            if root is not None and root is not msg:
                _recount(channel, root)
                if root.get("subtype") == "tombstone" and not root.get("reply_count"):
                    del channel.messages[root["ts"]]
        return {"channel": channel.obj["id"], "ts": ts}
