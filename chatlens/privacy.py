"""Privacy controls: stable, keyed pseudonyms for the people in chatlens frames.

:func:`pseudonymize` replaces every person's id and name with a pseudonym such as ``member-3f9a1c2b04d7``,
computed as HMAC-SHA256(salt, id) truncated to 48 bits. The same salt gives the same pseudonyms in every run,
so pseudonymized frames from different loads can still be joined; without the salt, hashing known ids gives
nothing to compare against, so the pseudonyms cannot be reversed by guessing. Keep the salt secret (it is a key,
not a nonce), and use :func:`new_salt` to make one.

What is replaced, in any frame that has these columns (loader frames and analysis results alike):

- person ids: ``sender_id``, ``user_id``, ``root_sender_id``, ``parent_sender_id``, ``member`` (also as the index
  name, as in ``member_summary``), every id in ``mentions``, ``members_joined`` and ``members_left`` lists, and the
  ``user`` of every entry of ``reactions``;
- person names and emails: ``sender_name`` (the pseudonym of the ``sender_id`` on the same row, or of the name
  itself in a frame without ``sender_id``), and in members frames (those with ``user_id``) and member summaries
  ``name`` and ``email`` (the pseudonym, and ``<pseudonym>@example.invalid``), and groups frames' ``user_name``;
- users frames (:func:`chatlens.load_users`: those with ``id`` and ``display_name``): ``id``, ``name``,
  ``display_name`` and ``email``, the same way;
- direct and group-direct conversations, whose labels are people's names (``dm: Ada, Bob``) and whose ids may
  embed user ids (Teams one-on-one chats): their ``id`` /
  ``conversation_id`` become ``conversation-<hash>`` and their ``label`` / ``conversation_name``
  ``dm: conversation-<hash>``. A conversation is direct when a conversations frame among the inputs says so
  (``kind``), when its label is one chatlens gives direct conversations, or when its id contains a person id.
  Channel names are kept.

Pseudonymize the loaders' frames before analysing them: of analysis results, only the columns above are covered
(a ``conversation_summary`` of direct conversations, say, keeps their names).

Message text holds whatever people wrote, names included, so unless ``keep_text=True`` it is replaced, as in a
text-free load (``load_messages(text=False)``), by ``text_length`` and ``is_question``. With ``keep_text=True`` the
ids in mention markup (``<@U123>``, ``<@U123|ada>``: :data:`chatlens.chatapi.MENTION_MARKUP`) are replaced and their
labels dropped, but names written as plain words (and Teams mentions, which arrive as plain names) are not. The
``raw`` column (the service's JSON) is always dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .chatapi import MENTION_MARKUP
from .schema import dtype_of, text_free

__all__ = ["pseudonymize", "new_salt", "pseudonym", "MIN_SALT_BYTES"]

#: A salt shorter than this could be found by trying salts against known ids.
MIN_SALT_BYTES = 16
_HEX = 12  # 48 bits: a collision among 100,000 people has odds of about 1 in 50,000 (and is detected)

_PERSON_IDS = ("sender_id", "user_id", "root_sender_id", "parent_sender_id", "member")
_PERSON_LISTS = ("mentions", "members_joined", "members_left")
_REACTION = dtype_of("messages", "reactions").pyarrow_dtype.value_type
_DIRECT_KINDS = ("direct", "group_direct")
_MENTION = re.compile(MENTION_MARKUP)

Frames = TypeVar("Frames", pd.DataFrame, dict, list, tuple)


def new_salt() -> str:
    """A fresh random salt (32 hex digits, 128 bits) for :func:`pseudonymize`.

    Examples
    --------
    >>> len(new_salt())
    32
    """
    return secrets.token_hex(16)


def _key(salt: str | bytes | None) -> bytes:
    if salt is None:
        raise ValueError("salt: a secret salt is required to pseudonymize (make one with chatlens.privacy.new_salt())")
    if not isinstance(salt, (str, bytes)):
        raise TypeError(f"salt must be str or bytes, got {type(salt).__name__}")
    key = salt.encode("utf-8") if isinstance(salt, str) else salt
    if len(key) < MIN_SALT_BYTES:
        raise ValueError(
            f"salt: at least {MIN_SALT_BYTES} bytes are needed so it cannot be guessed, got {len(key)} "
            "(make one with chatlens.privacy.new_salt())"
        )
    return key


def pseudonym(value: str, salt: str | bytes, *, kind: str = "member") -> str:
    """The pseudonym of one id: ``<kind>-`` and the first 12 hex digits of HMAC-SHA256(salt, kind + id).

    Examples
    --------
    >>> pseudonym("U123", "a salt of sixteen+ bytes")
    'member-e9430f715595'
    """
    return _hasher(_key(salt), kind)(value)


def _hasher(key: bytes, kind: str) -> Any:
    prefix = f"{kind}\x00".encode()  # domain separation: a conversation and a member never share a hash

    def digest(value: str) -> str:
        mac = hmac.new(key, prefix + str(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{kind}-{mac[:_HEX]}"

    return digest


def pseudonymize(frames: Frames, salt: str | bytes, *, keep_text: bool = False) -> Frames:
    """Replace the people in ``frames`` by keyed pseudonyms (see the module docs for what is replaced).

    Parameters
    ----------
    frames
        A DataFrame, or a dict, list or tuple of them (e.g. messages, members and conversations together, so
        that direct conversations are recognised by their ``kind`` and everyone gets the same pseudonym in all).
    salt
        The secret key, at least 16 bytes (:func:`new_salt`). The same salt gives the same pseudonyms.
    keep_text
        Keep the ``text`` column, with mention markup pseudonymized; names written in the text survive.

    Returns
    -------
    The same shape as ``frames``: new frames, the inputs are not changed. Values keep their dtypes.

    Raises
    ------
    ValueError
        If ``salt`` is missing or too short, or two ids get the same pseudonym.
    TypeError
        If ``frames`` holds something other than DataFrames.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"sender_id": pd.Categorical(["U1", "U2", "U1"]),
    ...                   "sender_name": pd.Categorical(["Ada", "Bob", "Ada"]), "mentions": [["U2"], [], []]})
    >>> out = pseudonymize(m, "a salt of sixteen+ bytes")
    >>> out["sender_id"].tolist()
    ['member-4b4a07eb29c5', 'member-c6bb2da7a655', 'member-4b4a07eb29c5']
    >>> bool((out["sender_name"] == out["sender_id"]).all()), out["mentions"][0]
    (True, ['member-c6bb2da7a655'])
    >>> pseudonymize(m, None)
    Traceback (most recent call last):
    ...
    ValueError: salt: a secret salt is required to pseudonymize (make one with chatlens.privacy.new_salt())
    """
    key = _key(salt)
    items = _frames_of(frames)
    member, conversation = _hasher(key, "member"), _hasher(key, "conversation")
    people = _person_ids(items)
    direct = _direct_conversations(items, people)
    member_map = _mapping(people, member)
    conversation_map = _mapping(direct, conversation)
    out = [_pseudonymize_frame(f, member_map, conversation_map, member, keep_text) for f in items]
    if isinstance(frames, pd.DataFrame):
        return out[0]
    if isinstance(frames, Mapping):
        return dict(zip(frames.keys(), out))  # type: ignore[return-value]
    return type(frames)(out)  # type: ignore[return-value]


# -- collecting what to replace ------------------------------------------------------------------------------


def _frames_of(frames: Any) -> list[pd.DataFrame]:
    if isinstance(frames, pd.DataFrame):
        items = [frames]
    elif isinstance(frames, Mapping):
        items = list(frames.values())
    elif isinstance(frames, (list, tuple)):
        items = list(frames)
    else:
        raise TypeError(f"frames must be a DataFrame or a dict, list or tuple of them, got {type(frames).__name__}")
    wrong = [type(f).__name__ for f in items if not isinstance(f, pd.DataFrame)]
    if wrong:
        raise TypeError(f"frames must hold only DataFrames, got {', '.join(sorted(set(wrong)))}")
    return items


def _distinct(values: pd.Series | pd.Index) -> np.ndarray:
    """The distinct non-missing values as str (by category when categorical: no pass over the rows)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Index(values.cat.categories if isinstance(values, pd.Series) else values.categories)
    uniques = pd.unique(pd.Series(values).dropna().astype(str).to_numpy())
    return np.asarray(uniques, dtype=object)


def _list_array(column: pd.Series, item: pa.DataType | None = None) -> pa.ListArray:
    """A column of lists (Arrow-backed or Python lists) as one Arrow list array (of strings unless ``item`` says)."""
    lists = pa.array(column, type=pa.list_(item or pa.string()), from_pandas=True)
    return lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists


def _list_values(column: pd.Series) -> pa.Array:
    """Every item of a column of lists, flattened, as an Arrow string array."""
    return _list_array(column).flatten()


def _is_users_frame(frame: pd.DataFrame) -> bool:
    """A users frame (load_users): its ``id`` is a person's."""
    return "id" in frame.columns and "display_name" in frame.columns


def _person_ids(items: list[pd.DataFrame]) -> set[str]:
    people: set[str] = set()
    for frame in items:
        if _is_users_frame(frame):
            people.update(_distinct(frame["id"]))
        for c in _PERSON_IDS:
            if c in frame.columns:
                people.update(_distinct(frame[c]))
        if frame.index.name in _PERSON_IDS:
            people.update(_distinct(frame.index))
        for c in _PERSON_LISTS:
            if c in frame.columns:
                people.update(_distinct(pd.Series(_list_values(frame[c]).unique().to_pylist())))
        if "reactions" in frame.columns:
            people.update(_distinct(pd.Series(_reaction_users(frame["reactions"]).unique().to_pylist())))
    return people


def _reaction_users(column: pd.Series) -> pa.Array:
    flat = _list_array(column, _REACTION).flatten()
    return flat.field("user") if len(flat) else pa.array([], pa.string())


def _replace_reaction_users(column: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """A ``reactions`` column with each entry's ``user`` replaced (by distinct value), all else kept."""
    lists = _list_array(column, _REACTION)
    items = lists.values
    if not len(items):
        return column.copy()
    users = items.field("user")
    uniques = users.unique()
    replaced = pa.array([mapping.get(u, u) for u in uniques.to_pylist()], type=pa.string())
    new_users = pc.take(replaced, pc.index_in(users, value_set=uniques))
    fields = [items.field(i) if f.name != "user" else new_users for i, f in enumerate(items.type)]
    rebuilt_items = pa.StructArray.from_arrays(fields, fields=list(items.type), mask=items.is_null())
    rebuilt = pa.ListArray.from_arrays(lists.offsets, rebuilt_items, mask=lists.is_null())
    return pd.Series(pd.arrays.ArrowExtensionArray(rebuilt), index=column.index, name=column.name)


def _is_direct_label(label: str) -> bool:
    return label.startswith("dm: ")


def _direct_conversations(items: list[pd.DataFrame], people: set[str]) -> set[str]:
    """Ids of the direct conversations (their names are people's)."""
    direct: set[str] = set()
    # Ids of 4 characters or more: shorter test ids would match inside unrelated conversation ids.
    long_ids = [p for p in people if len(p) >= 4]
    for frame in items:
        id_col = "id" if "kind" in frame.columns or "label" in frame.columns else "conversation_id"
        label_col = "label" if "label" in frame.columns else "conversation_name"
        if id_col not in frame.columns:
            continue
        columns = [c for c in (id_col, label_col, "kind") if c in frame.columns]
        # One row per distinct conversation: the checks below run per conversation, never per message.
        pairs = frame[columns].drop_duplicates().astype(str)
        for row in pairs.itertuples(index=False):
            cid = str(row[0])
            label = str(row[1]) if label_col in columns else ""
            kind = str(row[-1]) if "kind" in columns else ""
            if kind in _DIRECT_KINDS or _is_direct_label(label) or any(p in cid for p in long_ids):
                direct.add(cid)
    return direct


def _mapping(values: Iterable[str], digest: Any) -> dict[str, str]:
    mapping = {v: digest(v) for v in values}
    if len(set(mapping.values())) != len(mapping):
        raise ValueError("two different ids got the same pseudonym; pseudonymize again with another salt")
    return mapping


# -- replacing -----------------------------------------------------------------------------------------------


def _replace(column: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """``column`` with each value found in ``mapping`` replaced, in the column's own dtype; computed once per
    distinct value (categories, or factorized values), never per row."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories.astype(str)
        renamed = [mapping.get(c, c) for c in categories]
        if len(set(renamed)) == len(renamed):
            # Sorted anew: categories kept in the old order would tell the alphabetical order of the real names.
            return column.cat.rename_categories(renamed).cat.reorder_categories(sorted(renamed))
        # A pseudonym equal to a kept value (only if someone passes pseudonyms again): merge the two categories.
        new = pd.Categorical.from_codes(column.cat.codes, categories=pd.Index(renamed), validate=False)
        return pd.Series(np.asarray(new, dtype=object), index=column.index, name=column.name).astype("category")
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    replaced = np.array([mapping.get(str(u), u) for u in uniques] + [None], dtype=object)
    values = replaced[codes]  # code -1 (missing) picks the trailing None
    return pd.Series(values, index=column.index, name=column.name).astype(column.dtype)


def _replace_lists(column: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """A column of id lists with every id replaced (on the flattened items, by distinct value)."""
    lists = _list_array(column)
    items = lists.values  # the whole child array, which the offsets (even of a slice) index into
    uniques = items.unique()
    replaced = pa.array([mapping.get(u, u) for u in uniques.to_pylist()], type=pa.string())
    new_items = pc.take(replaced, pc.index_in(items, value_set=uniques))
    rebuilt = pa.ListArray.from_arrays(lists.offsets, new_items, mask=lists.is_null())
    if isinstance(column.dtype, pd.ArrowDtype):
        return pd.Series(pd.arrays.ArrowExtensionArray(rebuilt), index=column.index, name=column.name).astype(
            column.dtype
        )
    return pd.Series(rebuilt.to_pylist(), index=column.index, name=column.name, dtype=object)


def _replace_mentions_in_text(text: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    def swap(match: re.Match[str]) -> str:
        return f"<@{mapping.get(match.group(1), match.group(1))}>"

    has = text.astype(str).str.contains("<@", regex=False).fillna(False).to_numpy(dtype=bool)
    if not has.any():
        return text
    out = text.copy()
    # Free text is per message by nature; only the messages with markup are rewritten.
    out[has] = text[has].astype(str).str.replace(_MENTION, swap, regex=True).to_numpy()
    return out


def _pseudonymize_frame(
    frame: pd.DataFrame,
    members: Mapping[str, str],
    conversations: Mapping[str, str],
    member_digest: Any,
    keep_text: bool,
) -> pd.DataFrame:
    out = frame.copy()
    if _is_users_frame(out):
        out["id"] = _replace(out["id"], members)
        if "name" in out.columns:
            out["name"] = _name_from(out, "id", out["name"])
        if "display_name" in out.columns:  # the pseudonym where there was a display name
            out["display_name"] = _name_from(out, "id", out["display_name"]).where(out["display_name"].notna())
        if "email" in out.columns:
            email = (out["id"].astype(str) + "@example.invalid").where(out["email"].notna())
            out["email"] = email.astype(out["email"].dtype)
        return out.drop(columns="raw", errors="ignore")
    for c in _PERSON_IDS:
        if c in out.columns:
            out[c] = _replace(out[c], members)
    if "user_name" in out.columns and "user_id" in out.columns:  # groups frames: the member's name
        out["user_name"] = _name_from(out, "user_id", out["user_name"])
    if out.index.name in _PERSON_IDS:
        out.index = pd.Index(_replace(out.index.to_series(), members), name=out.index.name)
    for c in _PERSON_LISTS:
        if c in out.columns:
            out[c] = _replace_lists(out[c], members)
    if "reactions" in out.columns:
        out["reactions"] = _replace_reaction_users(out["reactions"], members)
    if "sender_name" in out.columns:
        out["sender_name"] = (
            _name_from(out, "sender_id", out["sender_name"])
            if "sender_id" in out.columns
            else _replace(out["sender_name"], {n: member_digest(n) for n in _distinct(out["sender_name"])})
        )
    if "user_id" in out.columns or out.index.name == "member":
        # Members frames and member summaries: here "name" is a person's.
        if "name" in out.columns:
            out["name"] = _name_from(out, "user_id", out["name"])
        if "email" in out.columns:
            ids = out["user_id"].astype(str) if "user_id" in out.columns else out.index.to_series().astype(str)
            email = (ids + "@example.invalid").where(out["email"].notna())
            out["email"] = email.astype(out["email"].dtype)
    # Direct conversations: the id (Teams chats embed user ids) and the name or label (people's names).
    id_col = "id" if "kind" in out.columns or "label" in out.columns else "conversation_id"
    if id_col in out.columns and conversations:
        for c in ("label", "conversation_name"):
            if c in out.columns:
                # A label follows its conversation: mapped by distinct (id, label) pair, never per row.
                pairs = out[[id_col, c]].drop_duplicates().astype(str)
                labels = {
                    label: f"dm: {conversations[cid]}"
                    for cid, label in zip(pairs[id_col], pairs[c])
                    if cid in conversations
                }
                out[c] = _replace(out[c], labels)
        if "name" in out.columns and "user_id" not in out.columns and id_col == "id":
            is_direct = out["id"].astype(str).isin(list(conversations)).to_numpy()
            out["name"] = out["name"].mask(is_direct)  # a direct conversation's name is its members' handles
        out[id_col] = _replace(out[id_col], conversations)
    if "text" in out.columns:
        if keep_text:
            out["text"] = _replace_mentions_in_text(out["text"], members)
        else:
            out = text_free(out)
    if "raw" in out.columns:
        out = out.drop(columns="raw")
    return out


def _name_from(frame: pd.DataFrame, id_column: str, names: pd.Series) -> pd.Series:
    """A person's name column, rewritten to their (already pseudonymized) id, in the name column's dtype."""
    ids = frame[id_column] if id_column in frame.columns else frame.index.to_series(index=frame.index)
    if isinstance(names.dtype, pd.CategoricalDtype):
        return ids.astype(str).astype("category") if not isinstance(ids.dtype, pd.CategoricalDtype) else ids.copy()
    return ids.astype(str).where(ids.notna()).astype(names.dtype)
