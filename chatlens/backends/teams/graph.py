"""The Microsoft Teams backend: the Chat API on a Teams account, through Microsoft Graph v1.0.

Transport is ``requests`` with the HTTP client's retry policy (:class:`~chatlens.backends.http.ChatRetry`): 429
and 503 with ``Retry-After`` are waited out and retried (a POST only on 429, which Graph answers before doing
anything), 502/504 and dropped connections are retried for reads only. Graph errors (``{"error": {"code",
"message"}}``) become chatlens exceptions by HTTP status, with Graph's code kept in ``error_code``.

How the Chat API maps onto Teams:

- conversations are the user's chats (``/me/chats``: one-on-one, group and meeting chats) and the channels of the
  teams they joined (``/me/joinedTeams``, ``/teams/{id}/channels``). Ids are stateless and reversible (see
  :mod:`.wire`). A chat is private; a channel is private unless its ``membershipType`` is ``standard``. A
  one-on-one chat has no name; a group chat's name is its ``topic``; a channel's is its ``displayName``.
- list conversations: oldest first across chats and channels (Graph has no common order, so each page lists them
  all, 50 chats a request, and returns the slice after a keyset position; loaders ask for 1000 a page).
- create conversation: by default a channel in the account's team (``team_id``, or the only team the user joined):
  standard when ``private`` is false (its members are the team's), private with the given ``members`` otherwise.
  With ``create="chat"`` it is a group chat (``topic`` = name, always private) instead; chats cannot be deleted
  through Graph by a user, which is why channels are the default. Names are unique in the account (Graph itself
  only refuses a duplicate channel name within one team).
- update conversation: ``displayName`` (channels) or ``topic`` (group chats); ``members`` is the full new list,
  applied by adding and removing memberships (private channels and group chats only). Privacy cannot change.
- delete conversation: deletes a channel. Graph lets a delegated user hide or leave a chat but not delete it (that
  takes the application permission ``Chat.ManageDeletion.All``): Graph's 403 becomes PermissionDenied.
- list messages: a chat's newest first (``$orderby=createdDateTime desc``: Graph lists chat messages by last
  modification by default, so an edit or a reaction moves an old message to the top); a channel's in Graph's own
  order, which its reference does not document (roots by last activity, as observed), each root preceded by its
  replies newest first (``$expand=replies``; ``replies@odata.nextLink`` followed for threads longer than Graph
  inlines). The page token holds the Graph page's own ``@odata.nextLink`` (compressed: channel skiptokens can be
  kilobytes) and the position within it, so no order is assumed and each message is listed once. Every request
  carries ``Prefer: include-unknown-enum-members`` (else newer messageType and eventDetail kinds arrive as
  ``unknownFutureValue``). Soft-deleted messages (``deletedDateTime`` set) are left out, as deleted messages are
  everywhere in chatlens, except a channel root soft-deleted while it has live replies: it stays as its thread's
  tombstone (no text, ``is_system``, subtype ``tombstone``, as on Slack and in the embedded workspace), so its
  replies keep their root. Graph's reference says of a deleted message only that ``deletedDateTime`` is when it was
  deleted (chatmessage.md) and that ``softDelete`` deletes it (chatmessage-softdelete.md); that it stays listed with
  ``deletedDateTime`` set and an empty body, its replies with it, is how Teams shows it ("This message has been
  deleted" above the replies), which the fake Graph follows. ``replyToId`` becomes ``parent``; an HTML body keeps
  its HTML in ``raw`` and gives plain text in ``text`` (emoji as their ``alt``); a message Graph sends malformed
  (one documented example has an impossible timestamp) is skipped with a warning naming it, never a crash.
- create message: as the token's own user (Graph posts as the signed-in user only); a reply goes to its thread's
  root (Teams threads are one level deep); chats have no threads. ``raw`` may carry chatMessage fields Graph
  accepts on post (``subject``, ``importance``, ``mentions``, ``attachments``).
- update message: ``PATCH`` of the body; delete message: ``softDelete``.
- the activity feed is refused: Graph pushes change notifications to a public URL and its delta query covers
  channel root posts only. Load incrementally instead.

Users (names and e-mails of senders and members) come from ``/users`` once per object; where the token may not
read the directory, names come from the messages and members themselves and e-mails are left empty.

The token is a Graph bearer token the caller obtained (for example with MSAL's device-code flow; see the
README); this backend never signs anyone in.
"""

from __future__ import annotations

import base64
import logging
import threading
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote

import orjson
import requests

from ..._time import key_from_us, us_from_key
from ...chatapi import (
    DEFAULT_PAGE_SIZE,
    ChatAPI,
    ThreadRecord,
    check_id,
    check_member_ids,
    check_name,
    check_page_size,
    check_text,
    decode_page_token,
    encode_page_token,
    iso_from_us,
    list_page,
    slice_by_id,
    team_group,
    team_page,
    team_user,
    us_from_iso,
)
from ...chatapi.rules import ServiceRules, check_operation, refusing, rules_for
from ...errors import InvalidRequest, NotFound, PermissionDenied, ServiceError, error_from_status
from .._transport import HoldsToken, retry_after, retrying_session, scrubbing_token, transport_error
from . import wire

__all__ = ["TeamsChatAPI", "from_config", "GraphDataWarning"]

log = logging.getLogger("chatlens.teams")

GRAPH_API = "https://graph.microsoft.com/v1.0"
NO_EVENTS = (
    "Microsoft Graph has no activity feed to poll (it pushes change notifications to a public URL, and its delta "
    "query covers channel root posts only); load incrementally instead"
)
_MEMBER_TYPE = "#microsoft.graph.aadUserConversationMember"
_USER_FIELDS = "id,displayName,mail,userPrincipalName,userType,accountEnabled,createdDateTime"
_POST_FIELDS = frozenset({"subject", "importance", "mentions", "attachments"})
_TOP = 50  # Graph's cap on $top for chats, messages and replies
# Chat messages newest *created* first: Graph's default is last modification (chat-list-messages), where an edit or a
# reaction moves an old message to the top.
_CREATED_ORDER = "&$orderby=createdDateTime%20desc"
# What changed since a time, of any age: chat-list-messages filters on lastModifiedDateTime (gt, lt) only when
# $orderby names the same property (else it ignores $filter).
_CHANGED_ORDER = "&$orderby=lastModifiedDateTime%20desc"
#: Sent on every request: without it Graph sends newer enumeration members (several messageType and eventDetail
#: kinds) as ``unknownFutureValue`` (Graph's "evolvable enums" best practice).
_PREFER = "include-unknown-enum-members"


class GraphDataWarning(UserWarning):
    """Graph sent an object that cannot be normalised; it was skipped (the message names it)."""


def _pack(link: str) -> str:
    return base64.urlsafe_b64encode(zlib.compress(link.encode(), 9)).decode("ascii")


def _unpack(packed: Any) -> str:
    try:
        return zlib.decompress(base64.urlsafe_b64decode(str(packed).encode("ascii"))).decode()
    except (ValueError, zlib.error, UnicodeError):
        raise InvalidRequest("page: not a page token issued for this messages listing") from None


class TeamsChatAPI(HoldsToken, ChatAPI):
    """The Chat API of one Microsoft Teams user, through Microsoft Graph.

    Parameters
    ----------
    token
        A Graph bearer (access) token for the user; never shown in reprs, errors or logs.
    base_url
        The Graph root (a fake one in tests).
    admin
        Treat the account as a Kloudless Teams *admin* account (lists every conversation's messages, and leaves
        one-on-one chats out of listings).
    account_id
        The account's name in page objects and hrefs; defaults to the user's id.
    team_id
        The team new conversations are created in (default: the only team the user joined).
    create
        What :meth:`create_conversation` makes: ``"channel"`` (default) or ``"chat"`` (a group chat).
    timeout, retries, backoff_factor, max_retry_after
        As for :class:`~chatlens.backends.http.HttpChatAPI`.

    Examples
    --------
    >>> api = TeamsChatAPI("eyJ0-not-a-real-token")  # no request is made until an operation runs
    >>> api
    <TeamsChatAPI https://graph.microsoft.com/v1.0 (token hidden)>
    """

    service = "ms_teams"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = GRAPH_API,
        admin: bool = False,
        account_id: str | None = None,
        team_id: str | None = None,
        create: str = "channel",
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 8,
        backoff_factor: float = 0.5,
        max_retry_after: float = 90.0,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError("token: a non-empty Graph access token is required")
        self.base_url = base_url.rstrip("/")
        self.admin = bool(admin)
        self._account_id = account_id
        self.team_id = team_id
        if create not in ("channel", "chat"):
            raise ValueError(f"create: 'channel' or 'chat', got {create!r}")
        self.create = create
        self.timeout = timeout
        self._me: dict[str, Any] | None = None
        self._users: dict[str, dict[str, Any]] | None = None
        self._lock = threading.Lock()
        #: Graph requests made, by kind (what a load cost, and what a refresh budget counts).
        self.calls: Counter[str] = Counter()
        self._threads: dict[tuple[str, str], list[ThreadRecord]] = {}  # (conversation, root key) -> replies
        self.session = retrying_session(
            token,
            retries=retries,
            backoff_factor=backoff_factor,
            max_retry_after=max_retry_after,
            headers={"Accept": "application/json", "Prefer": _PREFER},
        )

    # -- transport --------------------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            # A nextLink (from Graph or a page token): the token is only ever sent to the Graph root it belongs to.
            if not path.startswith(self.base_url + "/"):
                raise InvalidRequest("page: the page token points outside this account's Graph endpoint")
            return path
        return self.base_url + path

    @scrubbing_token
    def _request(
        self, verb: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any] | None:
        """One Graph request; the JSON answer (None for 204), or the chatlens exception for an error."""
        url = self._url(path)
        kinds = (("/search/", "search"), ("/replies", "replies"), ("/messages", "messages"))
        self.calls[next((kind for part, kind in kinds if part in path), "other")] += 1
        what = f"{verb} {path.removeprefix(self.base_url)[:120]}"
        try:
            response = self.session.request(
                verb,
                url,
                params=params,
                data=orjson.dumps(body) if body is not None else None,
                headers={"Content-Type": "application/json"} if body is not None else None,
                timeout=self.timeout,
            )
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, what, write=verb != "GET") from None
        if response.status_code == 204:
            return None
        try:
            data = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            data = None
        if response.status_code >= 400:
            error = (data or {}).get("error") if isinstance(data, dict) else None
            code = str(error.get("code")) if isinstance(error, dict) and error.get("code") else None
            message = str(error.get("message"))[:300] if isinstance(error, dict) and error.get("message") else ""
            raise error_from_status(
                response.status_code,
                f"{what} -> {response.status_code} {code or ''}{': ' + message if message else ''}",
                error_code=code,
                retry_after=retry_after(response),
            )
        if not isinstance(data, dict):
            raise ServiceError(f"{what}: the answer is not a JSON object")
        return data

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._request("GET", path, params=params or None) or {}

    def _all(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a Graph collection, following ``@odata.nextLink``."""
        body = self._get(path, **params)
        while True:
            yield from body.get("value") or []
            link = body.get("@odata.nextLink")
            if not link:
                return
            body = self._get(link)

    # -- account --------------------------------------------------------------------------------------------
    def _whoami(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self._get("/me")
        return self._me

    @property
    def account_id(self) -> str:  # type: ignore[override]
        return self._account_id or str(self._whoami().get("id") or "ms_teams")

    @property
    def user_id(self) -> str:
        """The Graph user the token acts as."""
        return str(self._whoami()["id"])

    @property
    def identity(self) -> str:
        return f"ms_teams:{self.base_url}#{self.user_id}"

    @property
    def rules(self) -> ServiceRules:
        return refusing(rules_for("ms_teams", self.admin), "list_events", f"the Teams connector: {NO_EVENTS}")

    def _check(self, operation: str) -> None:
        check_operation(self.rules, operation)

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"<TeamsChatAPI {self.base_url} (token hidden)>"

    @property
    def _href(self) -> str:
        return f"/v1/accounts/{self.account_id}/messaging"

    def _directory(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._users is None:
                try:
                    users = self._all("/users", **{"$select": _USER_FIELDS, "$top": 999})
                    self._users = {str(u["id"]): u for u in users if u.get("id")}
                except PermissionDenied:
                    log.info("the token may not read the directory: names come from messages, e-mails are empty")
                    self._users = {}
            return self._users

    def _user(self, user_id: str, display_name: str | None = None, email: str | None = None) -> dict[str, Any]:
        known = self._directory().get(user_id) or {}
        name = known.get("displayName") or display_name
        return wire.user_object(user_id, name, known.get("mail") or email)

    # -- conversations ----------------------------------------------------------------------------------------
    def _members_of(self, where: tuple[str, ...], raw: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Membership objects of a chat or channel (from an expanded chat when given)."""
        if raw is not None and isinstance(raw.get("members"), list):
            return raw["members"]
        return list(self._all(self._path(where) + "/members"))

    def _member_users(self, memberships: list[dict[str, Any]]) -> list[dict[str, Any]]:
        users = {
            str(m["userId"]): self._user(str(m["userId"]), m.get("displayName"), m.get("email"))
            for m in memberships
            if m.get("userId")
        }
        return [users[u] for u in sorted(users)]

    @staticmethod
    def _path(where: tuple[str, ...]) -> str:
        if where[0] == "chat":
            return f"/chats/{quote(where[1], safe='@:')}"
        return f"/teams/{quote(where[1], safe='')}/channels/{quote(where[2], safe='@:')}"

    def _conversation(self, where: tuple[str, ...], raw: dict[str, Any]) -> dict[str, Any]:
        if where[0] == "chat":
            cid = wire.chat_conversation_id(where[1])
            private, name = True, raw.get("topic") if raw.get("chatType") != "oneOnOne" else None
        else:
            cid = wire.channel_conversation_id(where[1], where[2])
            private, name = raw.get("membershipType") != "standard", raw.get("displayName")
        created = wire.graph_time_us(raw.get("createdDateTime"), what=f"conversation {cid} createdDateTime")
        return {
            "id": cid,
            "private": private,
            "name": name,
            "created": iso_from_us(created),
            "members": self._member_users(self._members_of(where, raw)),
            "kind": wire.conversation_kind(raw, private),
            "type": "conversation",
            "raw": {k: v for k, v in raw.items() if k != "members"},
            "api": "messaging",
            "href": f"{self._href}/conversations/{cid}",
        }

    def _listing(self) -> list[tuple[tuple[int, str], tuple[str, ...], dict[str, Any]]]:
        """Every conversation the account lists, oldest first: ((created, id), where, Graph object)."""
        found = []
        for chat in self._all("/me/chats", **{"$expand": "members", "$top": _TOP}):
            if self.admin and chat.get("chatType") == "oneOnOne":
                continue  # the Kloudless rule: Teams admin accounts do not list member-to-member chats
            found.append((("chat", str(chat["id"])), chat))
        for team in self._all("/me/joinedTeams"):
            for channel in self._all(f"/teams/{quote(str(team['id']), safe='')}/channels"):
                found.append((("channel", str(team["id"]), str(channel["id"])), channel))
        out = []
        for where, raw in found:
            try:
                created = wire.graph_time_us(raw.get("createdDateTime"), what=f"{where[0]} {where[-1]} created")
            except wire.BadGraphObject as err:
                warnings.warn(f"skipped: {err}", GraphDataWarning, stacklevel=3)
                continue
            cid = (
                wire.chat_conversation_id(where[1]) if where[0] == "chat" else wire.channel_conversation_id(*where[1:])
            )
            out.append(((created, cid), where, raw))
        return sorted(out, key=lambda item: item[0])

    def _where(self, conversation_id: Any) -> tuple[str, ...]:
        try:
            return wire.parse_conversation_id(conversation_id)
        except InvalidRequest:
            if isinstance(conversation_id, str) and conversation_id:
                raise NotFound(f"conversation {conversation_id!r} does not exist") from None
            raise InvalidRequest(f"conversation_id: must be a non-empty string, got {conversation_id!r}") from None

    def _fetch(self, conversation_id: str) -> tuple[tuple[str, ...], dict[str, Any]]:
        where = self._where(conversation_id)
        try:
            raw = self._get(self._path(where), **({"$expand": "members"} if where[0] == "chat" else {}))
        except NotFound:
            raise NotFound(f"conversation {conversation_id!r} does not exist") from None
        if self.admin and raw.get("chatType") == "oneOnOne":
            raise NotFound(f"conversation {conversation_id!r} does not exist (admin accounts see no direct chats)")
        return where, raw

    def list_conversations(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        self._check("list_conversations")
        page_size = check_page_size(page_size)
        after = None
        if page is not None:
            key = decode_page_token("teams-conversations", page, (int, str))
            after = (key[0], key[1])
        listing = [item for item in self._listing() if after is None or item[0] > after]
        chosen = listing[:page_size]
        objects = [self._conversation(where, raw) for _, where, raw in chosen]
        token = encode_page_token("teams-conversations", list(chosen[-1][0])) if len(listing) > page_size else None
        return list_page(objects, page, token)

    def _team_for_create(self) -> str:
        if self.team_id:
            return self.team_id
        teams = [str(t["id"]) for t in self._all("/me/joinedTeams")]
        if len(teams) != 1:
            raise InvalidRequest(
                f"create_conversation: the account must name its team_id (the user joined {len(teams)} teams)"
            )
        return teams[0]

    def _check_members(self, members: Any) -> list[str]:
        ids = check_member_ids(members)
        directory = self._directory()
        missing = [u for u in ids if directory and u not in directory]
        if missing:
            raise InvalidRequest(f"members: unknown user ids {missing}")
        return ids

    def _check_unique(self, name: str, but: str | None = None) -> None:
        taken = {
            str(raw.get("displayName") or raw.get("topic") or "").lower()
            for key, _, raw in self._listing()
            if key[1] != but
        }
        if name.lower() in taken:
            raise InvalidRequest(f"name: a conversation named {name!r} already exists", error_code="name_taken")

    def _bind(self, user_id: str) -> dict[str, Any]:
        return {
            "@odata.type": _MEMBER_TYPE,
            "roles": ["owner"],
            "user@odata.bind": f"{self.base_url}/users('{quote(user_id, safe='')}')",
        }

    def create_conversation(
        self, *, name: str, private: bool = False, members: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        self._check("create_conversation")
        name = check_name(name)
        ids = self._check_members(members) if members is not None else []
        if members is not None and not private:
            raise InvalidRequest("members: a standard Teams channel's members are its team's; create a private one")
        self._check_unique(name)
        if self.create == "chat":
            return self._create_chat(name, private, ids)
        team = self._team_for_create()
        body: dict[str, Any] = {"displayName": name, "membershipType": "private" if private else "standard"}
        if private:
            body["members"] = [self._bind(u) for u in dict.fromkeys([self.user_id, *ids])]
        try:
            channel = self._request("POST", f"/teams/{quote(team, safe='')}/channels", body=body) or {}
        except InvalidRequest as err:
            raise InvalidRequest(
                f"name: Graph refused {name!r} ({err.error_code})", error_code=err.error_code
            ) from None
        where = ("channel", team, str(channel["id"]))
        if private:
            # Graph adds the given members; remove the creator only if they were not asked for.
            wanted = set(ids)
            if ids and self.user_id not in wanted:
                self._set_members(where, ids)
        return self._conversation(where, channel)

    def _create_chat(self, name: str, private: bool, ids: list[str]) -> dict[str, Any]:
        if not private:
            raise InvalidRequest("private: a Teams chat is always private (create channels for public conversations)")
        body = {
            "chatType": "group",
            "topic": name,
            "members": [self._bind(u) for u in dict.fromkeys([self.user_id, *ids])],
        }
        chat = self._request("POST", "/chats", body=body) or {}
        return self.retrieve_conversation(wire.chat_conversation_id(str(chat["id"])))

    def retrieve_conversation(self, conversation_id: str) -> dict[str, Any]:
        self._check("retrieve_conversation")
        where, raw = self._fetch(conversation_id)
        return self._conversation(where, raw)

    def _set_members(self, where: tuple[str, ...], ids: list[str]) -> None:
        current = {str(m["userId"]): str(m["id"]) for m in self._members_of(where) if m.get("userId")}
        for uid in ids:
            if uid not in current:
                self._request("POST", self._path(where) + "/members", body=self._bind(uid))
        for uid, membership in current.items():
            if uid not in ids:
                self._request("DELETE", self._path(where) + f"/members/{quote(membership, safe='')}")

    def update_conversation(
        self,
        conversation_id: str,
        *,
        name: str | None = None,
        private: bool | None = None,
        members: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        self._check("update_conversation")
        ids = self._check_members(members) if members is not None else None
        where, raw = self._fetch(conversation_id)
        conv = self._conversation(where, raw)
        if private is not None and bool(private) != conv["private"]:
            raise InvalidRequest("private: Microsoft Graph cannot change a conversation's privacy")
        if ids is not None and not conv["private"]:
            raise InvalidRequest("members: a standard Teams channel's members are its team's")
        if ids is not None and raw.get("chatType") == "oneOnOne":
            raise InvalidRequest("members: a one-on-one chat's members cannot change")
        if name is not None and check_name(name) != conv["name"]:
            if raw.get("chatType") == "oneOnOne":
                raise InvalidRequest("name: a one-on-one chat has no name")
            self._check_unique(name, but=conv["id"])
            field = "topic" if where[0] == "chat" else "displayName"
            try:
                self._request("PATCH", self._path(where), body={field: name})
            except InvalidRequest as err:
                raise InvalidRequest(
                    f"name: Graph refused {name!r} ({err.error_code})", error_code=err.error_code
                ) from None
        if ids is not None:
            self._set_members(where, ids)
        return self.retrieve_conversation(conversation_id)

    def delete_conversation(self, conversation_id: str) -> None:
        self._check("delete_conversation")
        where, _ = self._fetch(conversation_id)
        try:
            self._request("DELETE", self._path(where))
        except PermissionDenied as err:
            raise PermissionDenied(
                f"delete_conversation: Microsoft Graph lets a user leave or hide a chat, not delete it ({err})",
                error_code=err.error_code,
            ) from None

    def list_members(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        self._check("list_members")
        page_size = check_page_size(page_size)
        after = None
        if page is not None:
            (after,) = decode_page_token("teams-members", page, (str,))
        where, raw = self._fetch(conversation_id)
        # Graph returns a conversation's members in one answer; chatlens pages them by user id.
        users = [u for u in self._member_users(self._members_of(where, raw)) if after is None or u["id"] > after]
        chosen = users[:page_size]
        token = encode_page_token("teams-members", [chosen[-1]["id"]]) if len(users) > page_size else None
        return list_page(chosen, page, token)

    # -- messages ---------------------------------------------------------------------------------------------
    def _message(self, raw: dict[str, Any], conversation_id: str) -> dict[str, Any]:
        raw = {k: v for k, v in raw.items() if k not in ("replies", "replies@odata.nextLink")}
        msg = wire.message_from_graph(raw, conversation_id, self._href)
        sender = msg["sender"]
        if sender["id"] != "system":
            msg["sender"] = self._user(sender["id"], sender["name"])
        if raw.get("deletedDateTime"):
            # Only a soft-deleted channel root with live replies is listed: it stays as its thread's tombstone (as
            # Slack's and the embedded workspace's do), with no text or mentions, never a person's post.
            msg.update(text="", is_system=True, subtype="tombstone", mentions=[])
        return msg

    def _thread(self, root: dict[str, Any]) -> list[dict[str, Any]]:
        """A channel root's replies (inlined by ``$expand``, then any further pages), newest first."""
        replies = list(root.get("replies") or [])
        link = root.get("replies@odata.nextLink")
        while link:
            body = self._get(link)
            replies += body.get("value") or []
            link = body.get("@odata.nextLink")
        unique = {str(r.get("id")): r for r in replies}
        return sorted(unique.values(), key=_sort_key, reverse=True)

    def _first_page(self, where: tuple[str, ...], top: int) -> str:
        """The first Graph page of a conversation's messages: a chat's newest *created* first (Graph lists chat
        messages by last modification unless asked, chat-list-messages), a channel's roots with their replies in
        Graph's order (channel-list-messages has no ``$orderby``: never assume one)."""
        query = f"?$top={top}" + ("&$expand=replies" if where[0] == "channel" else _CREATED_ORDER)
        return self.base_url + self._path(where) + "/messages" + query

    def _groups(self, body: dict[str, Any], where: tuple[str, ...], cid: str) -> list[tuple[dict[str, Any], bool]]:
        """The messages of one Graph page, as chatlens lists them, each with whether it is listed: each channel
        root preceded by its replies (newest first), soft-deleted ones included but not listed (so positions in
        the page stay put), except a soft-deleted root with live replies, listed as their thread's tombstone;
        malformed ones left out."""
        out = []
        for root in body.get("value") or []:
            if not _checked(root, cid):
                continue
            replies = [m for m in (self._thread(root) if where[0] == "channel" else []) if _checked(m, cid)]
            live = [m for m in replies if not m.get("deletedDateTime")]
            out += [(m, not m.get("deletedDateTime")) for m in replies]
            out.append((root, not root.get("deletedDateTime") or bool(live)))
        return out

    def list_messages(
        self, conversation_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        """A page of a conversation's messages: a chat's newest first; a channel's in Graph's order (its roots by
        last activity, as Graph lists them, each preceded by its replies newest first), since Graph documents no
        order for channel messages. Either way every message is listed once: the page token holds the Graph page
        it stopped in and how far into it."""
        self._check("list_messages")
        page_size = check_page_size(page_size)
        link: str | None = None
        skip = 0
        if page is not None:
            position = decode_page_token("teams-messages", page, (str, int))
            if len(position) != 2 or not isinstance(position[0], str) or not isinstance(position[1], int):
                raise InvalidRequest(f"page: {page!r} is not a page token issued for this messages listing")
            link, skip = _unpack(position[0]), position[1]
        where, _ = self._fetch(conversation_id)
        cid = conversation_id
        link = link or self._first_page(where, min(_TOP, page_size))
        objects: list[dict[str, Any]] = []
        token = None
        while True:
            body = self._get(link)
            group = self._groups(body, where, cid)
            next_link = body.get("@odata.nextLink")
            for n in range(skip, len(group)):
                if len(objects) == page_size:
                    # Stopped within this Graph page: the token points back into it.
                    if any(listed for _, listed in group[n:]) or next_link:
                        token = encode_page_token("teams-messages", [_pack(link), n])
                    break
                if group[n][1]:
                    objects.append(self._message(group[n][0], cid))
            if token is not None or not next_link:
                break
            if len(objects) == page_size:
                token = encode_page_token("teams-messages", [_pack(next_link), 0])
                break
            link, skip = next_link, 0
        return list_page(objects, page, token)

    def _find(self, message_id: str) -> tuple[str, tuple[str, ...], str, dict[str, Any]]:
        """(conversation id, where, message path, Graph message) of a live message; NotFound otherwise."""
        cid, gid, reply_to = wire.parse_message_id(message_id)
        missing = NotFound(f"message {message_id!r} does not exist")
        try:
            where = wire.parse_conversation_id(cid)
        except InvalidRequest:
            raise missing from None
        path = self._path(where) + "/messages/" + (f"{quote(reply_to, safe='')}/replies/" if reply_to else "")
        path += quote(gid, safe="")
        try:
            raw = self._get(path)
        except NotFound:
            raise missing from None
        if raw.get("deletedDateTime"):
            raise missing
        return cid, where, path, raw

    def create_message(
        self,
        conversation_id: str,
        *,
        text: str,
        sender: str | None = None,
        parent: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._check("create_message")
        text = check_text(text)
        if raw is not None and (not isinstance(raw, dict) or set(raw) - _POST_FIELDS):
            unknown = sorted(set(raw) - _POST_FIELDS) if isinstance(raw, dict) else raw
            raise InvalidRequest(f"raw: a Graph chatMessage post takes only {sorted(_POST_FIELDS)}, got {unknown!r}")
        extra = dict(raw or {})
        if sender is not None and sender != self.user_id:
            raise InvalidRequest(f"sender: Graph posts as the signed-in user ({self.user_id}), not {sender!r}")
        where, _ = self._fetch(conversation_id)
        path = self._path(where) + "/messages"
        if parent:
            try:
                parent_cid, _, _, parent_raw = self._find(parent)
            except (NotFound, InvalidRequest):
                raise InvalidRequest(f"parent: message {parent!r} does not exist") from None
            if parent_cid != conversation_id:
                raise InvalidRequest(f"parent: message {parent!r} is in another conversation")
            if where[0] == "chat":
                raise InvalidRequest(f"parent: Teams chats have no threads (message {parent!r})")
            root = parent_raw.get("replyToId") or parent_raw["id"]  # Teams threads are one level deep
            path += f"/{quote(str(root), safe='')}/replies"
        posted = self._request("POST", path, body={"body": {"contentType": "text", "content": text}, **extra}) or {}
        return self._message(posted, conversation_id)

    def retrieve_message(self, message_id: str) -> dict[str, Any]:
        self._check("retrieve_message")
        cid, _, _, raw = self._find(message_id)
        return self._message(raw, cid)

    def update_message(self, message_id: str, *, text: str) -> dict[str, Any]:
        self._check("update_message")
        text = check_text(text)
        _, _, path, _ = self._find(message_id)
        self._request("PATCH", path, body={"body": {"contentType": "text", "content": text}})
        return self.retrieve_message(message_id)

    def delete_message(self, message_id: str) -> None:
        self._check("delete_message")
        _, _, path, _ = self._find(message_id)
        self._request("POST", path + "/softDelete")

    # -- incremental loading: what chatlens.threadsync needs ----------------------------------------------------
    #: Graph's cap on $top for messages: one listing request returns at most this many roots.
    history_limit = _TOP
    #: A channel's replies come with its roots ($expand=replies): refetching a thread costs no request.
    replies_inline = True
    thread_refresh = True
    #: What each kind of Graph request (``calls`` counts them so) is to a refresh.
    request_kinds: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"messages": "history", "replies": "replies", "search": "search"}
    )

    def rate_limits(self) -> dict[str, float]:
        """Requests a minute, for planning: Graph allows about one request a second on any one chat or channel."""
        return {"history": 60.0, "replies": 60.0, "search": 60.0}

    @staticmethod
    def _key(msg: dict[str, Any]) -> str:
        return key_from_us(_sort_key(msg)[0])

    def lists_changes(self, conversation_id: str) -> bool:
        """True for a chat: a refresh lists what changed since the last one (``$filter`` on last modification,
        below), so a message not listed is unchanged; False for a channel, whose roots are all listed."""
        return self._where(conversation_id)[0] == "chat"

    def history_page(
        self, conversation_id: str, *, oldest_us: int | None = None, cursor: str | None = None
    ) -> tuple[list[ThreadRecord], str | None]:
        """One page of roots as records (keyed by creation time, with the reply count and latest reply of the
        replies listed inline); the Graph object rides along for :meth:`to_messages`. A soft-deleted root is a
        record without ``raw`` (gone), or, with live replies, its thread's tombstone, as in :meth:`list_messages`.

        A chat's messages (:meth:`lists_changes`): with ``oldest_us``, every message created *or changed* since
        then, of any age: ``$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime gt ...``, the one
        filter chat-list-messages documents for last modification (it is ignored unless ``$orderby`` names the same
        property), which catches new messages, edits, reactions and soft deletes alike; without it every message,
        newest created first. A channel's roots come in Graph's order, which is not documented (by last activity,
        as observed): nothing says where roots older than ``oldest_us`` end, so every root is listed, with its
        replies inline, whatever ``oldest_us`` says. A refresh thus sees every thread of a channel, of any age (and
        tells so by the older roots it gets). Graph's channel delta query (chatmessage-delta) is not used: it
        returns only messages of the last eight months, and documents added and updated messages but not deleted
        ones, so it could not replace this listing without missing old threads' replies, edits and deletions."""
        where = self._where(conversation_id)
        channel = where[0] == "channel"
        first = self._first_page(where, _TOP)
        if not channel and oldest_us is not None:
            since = quote(_graph_time(oldest_us), safe=":")
            first = f"{self.base_url}{self._path(where)}/messages?$top={_TOP}{_CHANGED_ORDER}"
            first += f"&$filter=lastModifiedDateTime%20gt%20{since}"
        body = self._get(cursor or first)
        records = []
        for root in body.get("value") or []:
            if not _checked(root, conversation_id):
                continue
            key = self._key(root)
            live = self._hold(conversation_id, key, self._thread(root) if channel else [])
            if root.get("deletedDateTime") and not live:
                # Soft-deleted (Graph keeps listing it): gone, said so rather than left to its absence.
                records.append(ThreadRecord(key=key, thread_key=key))
                continue
            latest = max((r.key for r in live), default=None, key=us_from_key)
            records.append(ThreadRecord(key=key, thread_key=key, reply_count=len(live), latest_reply=latest, raw=root))
        next_link = body.get("@odata.nextLink")
        return records, str(next_link) if next_link else None

    def thread_replies(self, conversation_id: str, root_ts: str) -> list[ThreadRecord]:
        """A channel thread's live replies as listed with its root (Graph inlines them), newest first; none for a
        thread this refresh did not list (chats have no threads; a channel's listing covers every thread)."""
        replies = self._threads.get((conversation_id, root_ts), [])
        return sorted(replies, key=lambda r: us_from_key(r.key), reverse=True)

    def to_messages(self, records: list[ThreadRecord], conversation_id: str) -> list[dict[str, Any]]:
        """Chat API messages of the records from :meth:`history_page` and :meth:`thread_replies`."""
        return [self._message(r.raw, conversation_id) for r in records]

    def threads_active_since(self, since_us: int) -> dict[str, set[str]] | None:
        """No thread needs searching for, so no request is made: a refresh lists every root of a channel with its
        replies (Graph documents no order for channel messages to stop at), so it sees every thread of any age;
        chats have no threads. (Microsoft Search, which could name older threads with new replies, would only
        add requests.) Starts a refresh: threads held from an earlier one are forgotten."""
        self._threads.clear()
        return {}

    def _hold(self, cid: str, key: str, replies: list[dict[str, Any]]) -> list[ThreadRecord]:
        """Keep a thread's live replies (as records for :meth:`thread_replies`) for this refresh, and return them."""
        live = [
            ThreadRecord(key=self._key(r), thread_key=key, raw=r)
            for r in replies
            if _checked(r, cid) and not r.get("deletedDateTime")
        ]
        self._threads[(cid, key)] = live
        return live

    # -- Team API ---------------------------------------------------------------------------------------------
    @property
    def _team_href(self) -> str:
        return f"/v1/accounts/{self.account_id}/team"

    def _team_user(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A Team API user from a Graph user. Graph keeps time zones in mailbox settings (another permission
        and a request per user), so ``timezone`` is left empty; a disabled account counts as deleted."""
        created = raw.get("createdDateTime")
        try:
            created_us = us_from_iso(created) if created else None
        except InvalidRequest:
            created_us = None
        return team_user(
            str(raw["id"]),
            raw.get("displayName"),
            email=raw.get("mail") or None,
            created_us=created_us,
            display_name=raw.get("displayName"),
            deleted=raw.get("accountEnabled") is False,
            guest=raw.get("userType") == "Guest",
            raw=raw,
            href_prefix=self._team_href,
        )

    def list_users(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        # /users is ordered by Graph, not by id: a first page reads the directory afresh, later ones slice it.
        if page is None:
            with self._lock:
                self._users = None
        users = self._directory()
        chosen, token = slice_by_id(list(users.values()), "teams-users", page_size, page)
        return team_page([self._team_user(u) for u in chosen], page, token)

    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        check_id(user_id, "user_id")
        try:
            raw = self._get(f"/users/{quote(user_id, safe='')}", **{"$select": _USER_FIELDS})
        except NotFound:
            raise NotFound(f"user {user_id!r} does not exist") from None
        return self._team_user(raw)

    def list_groups(self, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None) -> dict[str, Any]:
        # Teams' groups are the teams the user joined (a team is a Microsoft 365 group).
        teams = [
            team_group(
                str(t["id"]), t.get("displayName"), description=t.get("description"), raw=t, href_prefix=self._team_href
            )
            for t in self._all("/me/joinedTeams")
            if t.get("id")
        ]
        chosen, token = slice_by_id(teams, "teams-groups", page_size, page)
        return team_page(chosen, page, token)

    def list_group_members(
        self, group_id: str, *, page_size: int = DEFAULT_PAGE_SIZE, page: str | None = None
    ) -> dict[str, Any]:
        check_id(group_id, "group_id")
        check_page_size(page_size)
        try:
            members = list(self._all(f"/teams/{quote(group_id, safe='')}/members"))
        except NotFound:
            raise NotFound(f"group {group_id!r} does not exist") from None
        directory = self._directory()
        users = [
            directory.get(str(m["userId"]))
            or {"id": str(m["userId"]), "displayName": m.get("displayName"), "mail": m.get("email")}
            for m in members
            if m.get("userId")
        ]
        chosen, token = slice_by_id(users, "teams-group-members", page_size, page)
        return team_page([self._team_user(u) for u in chosen], page, token)


def _graph_time(us: int) -> str:
    """A time as Graph writes it in a ``$filter`` (milliseconds, UTC), rounded down.

    Examples
    --------
    >>> _graph_time(1_663_804_800_123_456)
    '2022-09-22T00:00:00.123Z'
    """
    return iso_from_us(us - us % 1000)[:23] + "Z"


def _sort_key(msg: dict[str, Any]) -> tuple[int, str]:
    return us_from_iso(msg["createdDateTime"]), str(msg["id"])


def _checked(msg: dict[str, Any], conversation_id: str) -> bool:
    """Whether a Graph message can be normalised; warns naming it (and skips it) if not."""
    try:
        wire.graph_time_us(msg.get("createdDateTime"), what=f"message {msg.get('id')} createdDateTime")
    except wire.BadGraphObject as err:
        warnings.warn(f"skipped in {conversation_id}: {err}", GraphDataWarning, stacklevel=4)
        return False
    return bool(msg.get("id"))


def from_config(config: Mapping[str, Any]) -> TeamsChatAPI:
    """A :class:`TeamsChatAPI` from an accounts-file table (``token`` resolved from ``token_env`` by
    :func:`chatlens.connect`; optional ``base_url``, ``admin``, ``account``, ``team_id``, ``create``).

    Examples
    --------
    >>> from_config({"token": "eyJ0-not-a-real-token", "team_id": "team-1"}).team_id
    'team-1'
    """
    if not config.get("token"):
        raise ValueError("ms_teams account: token_env is required")
    return TeamsChatAPI(
        str(config["token"]),
        base_url=str(config.get("base_url") or GRAPH_API),
        admin=bool(config.get("admin", False)),
        account_id=config.get("account"),
        team_id=config.get("team_id"),
        create=str(config.get("create") or "channel"),
    )
