"""The wire protocol's OpenAPI document: the Kloudless object shapes, bodies, statuses and errors, exactly.

FastAPI derives paths and parameters from the routes; the routes take raw JSON bodies (so every backend validates
the same way) and return pre-serialised responses, so FastAPI alone would document neither. :func:`complete`
fills that in from the tables below, which are the protocol's reference: clients can be generated from it and
the reliability tests fuzz the server against it (every answer must match).
"""

from __future__ import annotations

import re
from typing import Any

from ..chatapi.paging import MAX_TOKEN_LENGTH as MAX_PAGE_TOKEN

__all__ = ["SCHEMAS", "complete"]

_STR = {"type": "string"}
_ISO = {"type": "string", "format": "date-time"}
_ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(props: dict[str, Any], required: list[str] | None = None, *, extra: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
    }
    if not extra:
        out["additionalProperties"] = False
    return out


def _list_of(item: str, api: str = "messaging") -> dict[str, Any]:
    return _object(
        {
            "count": {"type": "integer", "minimum": 0},
            "page": {"type": ["string", "null"]},
            "next_page": {"type": ["string", "null"]},
            "objects": {"type": "array", "items": _ref(item)},
            "type": {"const": "object_list"},
            "api": {"const": api},
        }
    )


_NAME = {"type": "string", "minLength": 1, "maxLength": 80}
_MEMBERS_IN = {
    "type": "array",
    "items": _object({"id": {"type": "string", "minLength": 1}}, extra=False),
    "description": "Users by id; refused on Slack.",
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "User": _object(
        {
            "id": _STR,
            "name": _STR,
            "email": {"type": ["string", "null"]},
            "type": {"const": "user"},
            "api": {"const": "team"},
        }
    ),
    "Conversation": _object(
        {
            "id": _STR,
            "private": {"type": "boolean"},
            "name": {"type": ["string", "null"]},
            "created": _ISO,
            "members": {"type": "array", "items": _ref("User")},
            "kind": {
                "enum": ["channel", "private_channel", "direct", "group_direct"],
                "description": "chatlens extension: what kind of conversation the service says this is",
            },
            "type": {"const": "conversation"},
            "raw": {"type": "object"},
            "api": {"const": "messaging"},
            "href": _STR,
        }
    ),
    "Message": _object(
        {
            "id": _STR,
            "conversation_id": _STR,
            "sender": _ref("User"),
            "created": _ISO,
            "modified": _ISO_OR_NULL,
            "text": _STR,
            "parent": {"type": "string", "description": '"" for a root message, else the id replied to'},
            "is_bot": {"type": "boolean", "description": "chatlens extension: posted by a bot or an app"},
            "is_system": {
                "type": "boolean",
                "description": "chatlens extension: an event of the workspace (a join, a rename), not a message",
            },
            "subtype": {
                "type": ["string", "null"],
                "description": "chatlens extension: the service's kind of message (Slack subtype, Graph messageType)",
            },
            "mentions": {
                "type": "array",
                "items": _STR,
                "description": "chatlens extension: ids of the users the message mentions",
            },
            "reactions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["emoji", "user", "count", "created"],
                    "additionalProperties": False,
                    "properties": {
                        "emoji": _STR,
                        "user": {"type": ["string", "null"]},
                        "count": {"type": "integer", "minimum": 1},
                        "created": _ISO_OR_NULL,
                    },
                },
                "description": (
                    "chatlens extension: one entry per reacting user and emoji (count 1), and one with user null "
                    "holding the rest of the count where the service names only some of those who reacted (Slack); "
                    "created where the service says (Teams)"
                ),
            },
            "file_kinds": {
                "type": "array",
                "items": _STR,
                "description": "chatlens extension: the kind of each file shared (image, pdf, document, ...)",
            },
            "importance": {
                "type": ["string", "null"],
                "enum": ["normal", "high", "urgent", None],
                "description": "chatlens extension: Teams importance; null for Slack",
            },
            "members_joined": {
                "type": "array",
                "items": _STR,
                "description": "chatlens extension: ids of the users a membership event says joined",
            },
            "members_left": {
                "type": "array",
                "items": _STR,
                "description": "chatlens extension: ids of the users a membership event says left",
            },
            "type": {"const": "message"},
            "raw": {"type": "object"},
            "api": {"const": "messaging"},
            "href": _STR,
        }
    ),
    "Event": _object(
        {
            "id": _STR,
            "account": _STR,
            "type": {"enum": ["add", "update", "delete"]},
            "object_type": {"enum": ["conversation", "message"]},
            "modified": _ISO,
            "user_id": {"type": ["string", "null"]},
            "metadata": {
                "type": "object",
                "description": (
                    "the object as it was after the event, with href as this server serves it. Deleting is erasing: "
                    "once a message is deleted, its delete event and every earlier event of it keep only id, "
                    "conversation_id, parent, created, type, api and deleted: true (no text, raw, mentions or sender)"
                ),
            },
        }
    ),
    "TeamUser": _object(
        {
            "id": _STR,
            "name": _STR,
            "email": {"type": ["string", "null"]},
            "created": _ISO_OR_NULL,
            "updated": _ISO_OR_NULL,
            "type": {"const": "user"},
            "api": {"const": "team"},
            "display_name": _STR,
            "is_bot": {"type": "boolean"},
            "deleted": {"type": "boolean"},
            "guest": {"type": "boolean"},
            "timezone": {"type": ["string", "null"], "description": "an IANA zone name"},
            "raw": {"type": "object"},
            "href": _STR,
        }
    ),
    "Group": _object(
        {
            "id": _STR,
            "name": _STR,
            "description": {"type": ["string", "null"]},
            "created": _ISO_OR_NULL,
            "type": {"const": "group"},
            "api": {"const": "team"},
            "raw": {"type": "object"},
            "href": _STR,
        }
    ),
    "TeamUserList": _list_of("TeamUser", "team"),
    "GroupList": _list_of("Group", "team"),
    "ConversationList": _list_of("Conversation"),
    "UserList": _list_of("User"),
    "MessageList": _list_of("Message"),
    "EventList": _object(
        {
            "count": {"type": "integer", "minimum": 0},
            "cursor": _STR,
            "remaining": {"type": "integer", "minimum": 0},
            "objects": {"type": "array", "items": _ref("Event")},
            "type": {"const": "object_list"},
            "api": {"const": "messaging"},
        }
    ),
    "Cursor": _object({"cursor": _STR}),
    "Account": _object(
        {
            "id": _STR,
            "service": {"enum": ["slack", "ms_teams"]},
            "admin": {"type": "boolean"},
            "type": {"const": "account"},
            "api": {"const": "meta"},
        }
    ),
    "Error": _object(
        {
            "status_code": {"type": "integer"},
            "error_code": _STR,
            "message": _STR,
            "id": {"type": ["string", "null"]},
        }
    ),
    "ConversationCreate": _object(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 80},
            "private": {"type": "boolean"},
            "members": _MEMBERS_IN,
        },
        ["name"],
        extra=False,
    ),
    "ConversationUpdate": _object(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 80},
            "private": {"type": "boolean"},
            "members": _MEMBERS_IN,
        },
        [],
        extra=False,
    ),
    "MessageCreate": _object(
        {
            "text": {"type": "string", "minLength": 1, "maxLength": 40_000},
            "sender": {"type": "string", "description": "a user id; default: the account's own user"},
            "parent": {"type": "string", "description": "the id of the message replied to"},
            "raw": {
                "type": "object",
                "description": "the client's own attributes, stored and returned as given (at most 64 levels deep "
                "with the body around it; never read to derive is_bot, is_system, subtype or mentions)",
            },
        },
        ["text"],
        extra=False,
    ),
    "MessageUpdate": _object({"text": {"type": "string", "minLength": 1, "maxLength": 40_000}}, extra=False),
}

_ERRORS = {
    "400": "invalid_parameters: a field is missing, malformed or out of range (the message names it)",
    "401": "unauthorized: no bearer token, or one this server does not know",
    "403": "forbidden: another account's token, or a service rule refuses the operation",
    "404": "not_found: the account, conversation, message, user or group does not exist",
    "405": "method_not_allowed: the path exists; Allow lists its methods",
    "429": "rate_limited: wait Retry-After seconds",
    "500": "service_error: the backend failed (the body's id identifies the request in the server log)",
}

# (method, path suffix pattern) -> (success status, response schema or None, request body schema or None)
_OPERATIONS: list[tuple[str, str, str, str | None, str | None]] = [
    ("get", r"/team/users$", "200", "TeamUserList", None),
    ("get", r"/team/users/\{user_id\}$", "200", "TeamUser", None),
    ("get", r"/team/groups$", "200", "GroupList", None),
    ("get", r"/team/groups/\{group_id\}/members$", "200", "TeamUserList", None),
    ("get", r"/v1/accounts/\{account_id\}$", "200", "Account", None),
    ("get", r"/conversations?$", "200", "ConversationList", None),
    ("post", r"/conversations?$", "201", "Conversation", "ConversationCreate"),
    ("get", r"/conversations?/\{conversation_id\}$", "200", "Conversation", None),
    ("patch", r"/conversations?/\{conversation_id\}$", "200", "Conversation", "ConversationUpdate"),
    ("delete", r"/conversations?/\{conversation_id\}$", "204", None, None),
    ("get", r"/members$", "200", "UserList", None),
    ("get", r"/\{conversation_id\}/messages$", "200", "MessageList", None),
    ("post", r"/\{conversation_id\}/messages$", "201", "Message", "MessageCreate"),
    ("get", r"/messages/\{message_id\}$", "200", "Message", None),
    ("patch", r"/messages/\{message_id\}$", "200", "Message", "MessageUpdate"),
    ("delete", r"/messages/\{message_id\}$", "204", None, None),
    ("get", r"/events$", "200", "EventList", None),
    ("get", r"/events/latest$", "200", "Cursor", None),
]

_PARAMETERS = {
    "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
    "page": {
        "type": "string",
        "maxLength": MAX_PAGE_TOKEN,
        "pattern": "^p1\\.[A-Za-z0-9_-]+$",
        "description": "the next_page token of the previous page (opaque; a forged one is a 400)",
    },
    "cursor": {
        "type": "string",
        "description": "an event cursor: ASCII decimal digits, within 64 bits",
        "pattern": "^[0-9]{1,18}$",
    },
}


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Fill FastAPI's generated document with the protocol's schemas, bodies, statuses and errors.

    Examples
    --------
    >>> from chatlens.backends.sqlite import Workspace
    >>> from chatlens.server.app import TokenStore, create_app
    >>> doc = create_app(Workspace(":memory:").account, TokenStore()).openapi()
    >>> op = doc["paths"]["/v1/accounts/{account_id}/messaging/conversations"]["post"]
    >>> sorted(op["responses"])
    ['201', '400', '401', '403', '404', '405', '413', '415', '429', '500']
    """
    doc.setdefault("components", {})
    doc["components"]["schemas"] = dict(SCHEMAS)
    doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    doc["security"] = [{"bearer": []}]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            spec = next((o for o in _OPERATIONS if o[0] == method and re.search(o[1], path)), None)
            if spec is None:
                raise ValueError(f"{method.upper()} {path}: not described in chatlens.server.openapi")
            _, _, status, response, body = spec
            responses: dict[str, Any] = {}
            if response is None:
                responses[status] = {"description": "done; empty body"}
            else:
                content = {"application/json": {"schema": _ref(response)}}
                responses[status] = {"description": response, "content": content}
            errors = dict(_ERRORS)
            if body is not None:
                errors["413"] = "payload_too_large: the body is over the server's limit"
                errors["415"] = "unsupported_media_type: a body must be sent as application/json"
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
            for code, text in errors.items():
                responses[code] = {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
            op["responses"] = dict(sorted(responses.items()))
            for param in op.get("parameters", []):
                if param["name"] in _PARAMETERS:
                    param["schema"] = dict(_PARAMETERS[param["name"]])
                elif param["in"] == "path":
                    param["schema"] = {"type": "string", "minLength": 1}
    return doc
