"""Privacy controls, each proved by grepping what it produced: pseudonymized frames, text-free loads and their
cache, anonymized reports, minimum group sizes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import chatlens
from chatlens.cache import cache_root
from chatlens.cli import main
from chatlens.loaders import load_conversations, load_members, load_messages
from chatlens.privacy import new_salt, pseudonym, pseudonymize
from chatlens.reports import build_report, render_report, report
from chatlens.schema import check_frame, text_free
from tests.load.test_loaders import small_workspace

SALT = "a test salt, long enough to key"


@pytest.fixture(scope="module", params=["acme-slack", "acme-teams"])
def demo(request):
    """The demo account's frames (loaded without the cache) and every real id, name and email in them."""
    api = chatlens.connect("demo", account=request.param)
    frames = {
        "conversations": load_conversations(api, cache=False, progress=False),
        "members": load_members(api, cache=False, progress=False),
        "messages": load_messages(api, cache=False, progress=False),
    }
    members, messages = frames["members"], frames["messages"]
    real = (
        set(members["user_id"].astype(str))
        | set(members["name"].astype(str))
        | set(members["email"].dropna().astype(str))
        | set(messages["sender_id"].astype(str))
        | set(messages["sender_name"].astype(str))
    )
    return frames, real


def cells(frame: pd.DataFrame) -> set[str]:
    """str() of every distinct cell and index value of a frame."""
    out = {str(v) for v in frame.index.unique()}
    for c in frame.columns:
        out |= {str(v) for v in frame[c].astype(str).unique()}
    return out


def leaks(texts: set[str], real: set[str]) -> list[tuple[str, str]]:
    return [(r, t) for t in texts for r in real if r in t]


# -- pseudonymize --------------------------------------------------------------------------------------------


def test_no_real_id_or_name_survives_in_any_cell(demo):
    frames, real = demo
    assert leaks(cells(frames["messages"]), real)  # the check can see them
    out = pseudonymize(frames, SALT)
    assert list(out) == list(frames)
    for name, frame in out.items():
        assert not leaks(cells(frame), real), name
    # Slack's group DM is named after its members' handles ("mpdm-ada.lovelace--..."): it goes too.
    assert not any("mpdm-" in c or "lovelace" in c.lower() for c in cells(out["conversations"]))
    check_frame(out["conversations"], "conversations")
    check_frame(out["members"], "members")
    check_frame(out["messages"], "messages", text=False)  # text is dropped unless kept
    # The inputs are not changed.
    assert frames["messages"]["sender_id"].astype(str).isin(real).all()


def test_one_person_one_pseudonym_everywhere(demo):
    frames, _ = demo
    out = pseudonymize(frames, SALT)
    before, after = frames["messages"], out["messages"]
    expected = before["sender_id"].astype(str).map(lambda s: pseudonym(s, SALT))
    assert after["sender_id"].astype(str).tolist() == expected.tolist()
    assert (after["sender_name"].astype(str) == after["sender_id"].astype(str)).all()
    assert after["sender_id"].nunique() == before["sender_id"].nunique()  # one-to-one
    # Categories are re-sorted: kept in the old order, they would tell the alphabetical order of the real names.
    assert list(after["sender_name"].cat.categories) == sorted(after["sender_name"].cat.categories)
    # A member's id, name and email all follow the same pseudonym as their messages and mentions.
    members = out["members"]
    assert (members["name"].astype(str) == members["user_id"].astype(str)).all()
    assert members["email"].dropna().str.endswith("@example.invalid").all()
    people = set(members["user_id"].astype(str))
    assert set(after.loc[~after["is_bot"] & ~after["is_system"], "sender_id"].astype(str)) <= people
    mentioned = before["mentions"].explode().dropna().astype(str)
    assert set(after["mentions"].explode().dropna().astype(str)) == {pseudonym(m, SALT) for m in mentioned}


def test_same_salt_same_pseudonyms_different_salt_different(demo):
    frames, _ = demo
    a = pseudonymize(frames["messages"], SALT)
    b = pseudonymize(frames["messages"], SALT)
    c = pseudonymize(frames["messages"], SALT + "!")
    pd.testing.assert_frame_equal(a, b)
    assert not set(a["sender_id"].astype(str)) & set(c["sender_id"].astype(str))
    # A list of frames comes back as a list, pseudonymized alike.
    listed = pseudonymize([frames["members"], frames["messages"]], SALT)
    assert isinstance(listed, list) and len(listed) == 2
    pd.testing.assert_frame_equal(listed[1], a)


def test_salt_is_required_and_pseudonyms_are_keyed():
    m = pd.DataFrame({"sender_id": ["U1"], "sender_name": ["Ada"]})
    with pytest.raises(TypeError):
        pseudonymize(m)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="salt: a secret salt is required"):
        pseudonymize(m, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="salt: at least 16 bytes"):
        pseudonymize(m, "short")
    with pytest.raises(TypeError, match="frames must"):
        pseudonymize("U1", SALT)  # type: ignore[arg-type]
    value = pseudonymize(m, SALT)["sender_id"].iloc[0]
    assert value.startswith("member-") and len(value) == len("member-") + 12
    # Hashing a known id without the salt gives nothing to compare it with.
    unkeyed = [hashlib.sha256(x.encode()).hexdigest() for x in ("U1", "member\x00U1", "member-U1")]
    assert not any(value[len("member-") :] in h for h in unkeyed)
    assert len(new_salt()) == 32 and new_salt() != new_salt()


def test_kept_text_has_slack_mentions_pseudonymized():
    m = pd.DataFrame(
        {
            "sender_id": ["U1", "U2"],
            "text": ["hi <@U2> and <@U3|carol>", "plain"],
            "mentions": [["U2", "U3"], []],
            "raw": ['{"user": "U1"}', "{}"],
        }
    )
    out = pseudonymize(m, SALT, keep_text=True)
    assert out["text"][0] == f"hi <@{pseudonym('U2', SALT)}> and <@{pseudonym('U3', SALT)}>"
    assert out["text"][1] == "plain" and "raw" not in out
    assert "text" not in pseudonymize(m, SALT)


# -- text-free loads -----------------------------------------------------------------------------------------


def cached_texts(root: Path) -> set[str]:
    """Every string in every file under ``root``: raw bytes, and each cell of each Parquet file decoded."""
    found: set[str] = set()
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        found.add(path.read_bytes().decode("utf-8", errors="replace"))
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                found |= {str(v) for v in column.to_pylist()}
    return found


@pytest.fixture(scope="module")
def known_texts():
    """Distinct, distinctive message texts of the demo (long enough not to occur by chance)."""
    texts = load_messages("demo", cache=False, progress=False)["text"].astype(str)
    return set(texts[texts.str.len() >= 25].unique())


def test_text_free_load_keeps_no_text_in_frame_or_cache(tmp_path, known_texts):
    full = load_messages("demo", cache=False, progress=False)
    free = load_messages("demo", text=False, cache_dir=tmp_path / "free", progress=False)
    check_frame(free, "messages", text=False)
    assert "text" not in free and not (cells(free) & known_texts)
    assert free["text_length"].tolist() == full["text"].str.len().tolist()
    assert free["is_question"].tolist() == full["text"].str.contains("?", regex=False).tolist()
    assert free["mentions"].astype(str).tolist() == full["mentions"].astype(str).tolist()
    # Nothing of any message text in any file of the cache; the same check finds it in a cache made with text.
    assert not any(t in blob for blob in cached_texts(tmp_path / "free") for t in known_texts)
    load_messages("demo", cache_dir=tmp_path / "full", progress=False)
    assert known_texts & cached_texts(tmp_path / "full")
    # A warm text-free load reads its own cache and still has no text.
    again = load_messages("demo", text=False, cache_dir=tmp_path / "free", progress=False)
    pd.testing.assert_frame_equal(again, free)


def test_text_free_and_full_caches_never_stand_in_for_each_other(tmp_path):
    load_messages("demo", ["general"], text=False, progress=False)
    with_text = load_messages("demo", ["general"], progress=False)
    reference = load_messages("demo", ["general"], cache=False, progress=False)
    pd.testing.assert_frame_equal(with_text, reference)
    free = load_messages("demo", ["general"], text=False, progress=False)
    assert "text" not in free
    pd.testing.assert_frame_equal(free, text_free(reference))
    manifests = list(cache_root().glob("*/manifest.json"))
    assert sum('"text": false' in p.read_text() for p in manifests) == 1


def test_text_free_refresh_writes_no_text(tmp_path):
    ws = small_workspace(tmp_path / "w.sqlite")
    api = ws.account("S")
    load_messages(api, text=False, cache_dir=tmp_path / "c", progress=False)
    api.create_message("C1", text="a brand new secret plan?", parent="m1")
    api.update_message("m2", text="an edited secret remark")
    refreshed = load_messages(api, text=False, refresh=True, cache_dir=tmp_path / "c", progress=False)
    reference = load_messages(ws.account("S"), cache=False, progress=False)
    pd.testing.assert_frame_equal(refreshed, text_free(reference))
    assert refreshed["is_question"].sum() == reference["text"].str.contains("?", regex=False).sum()
    blobs = cached_texts(tmp_path / "c")
    for text in ("secret", "hello", "hi ada", "how are you", "fine, Ça va"):
        assert not any(text in blob for blob in blobs), text


def test_text_free_cannot_take_raw():
    with pytest.raises(ValueError, match="raw=True cannot be combined with text=False"):
        load_messages("demo", raw=True, text=False, progress=False)


# -- reports -------------------------------------------------------------------------------------------------


def test_anonymized_report_names_nobody(tmp_path, demo, monkeypatch):
    frames, real = demo
    account = str(frames["messages"]["account"].iloc[0])
    api = chatlens.connect("demo", account=account)
    plain = report(api, out=tmp_path / "plain.html", progress=False).read_text(encoding="utf-8")
    assert leaks({plain}, real)  # the check can see them
    html = report(api, out=tmp_path / "anon.html", anonymize=True, progress=False).read_text(encoding="utf-8")
    assert not leaks({html}, real)
    assert "member-" in html and "pseudonyms" in html
    # The command line does the same, with a stable salt from the environment.
    monkeypatch.setenv("CHATLENS_SALT", SALT)
    assert main(["report", "--account-id", account, "--anonymize", "--out", str(tmp_path / "c.html"), "--quiet"]) == 0
    assert not leaks({(tmp_path / "c.html").read_text(encoding="utf-8")}, real)


def test_report_pseudonyms_are_stable_with_a_salt():
    messages = load_messages("demo", text=False, progress=False)
    a = build_report(messages, anonymize=True, salt=SALT, plots=False)
    b = build_report(messages, anonymize=True, salt=SALT, plots=False)
    c = build_report(messages, anonymize=True, plots=False)  # a random salt each time
    assert a.members["name"].tolist() == b.members["name"].tolist()
    assert not set(a.members["name"]) & set(c.members["name"])


def test_min_group_size_suppresses_people_and_small_groups():
    messages = load_messages("demo", text=False, progress=False)
    k = 3
    plain = build_report(messages, plots=False, top=100)
    small = plain.conversations[plain.conversations["members_posting"] < k]
    assert len(small) and len(plain.members)  # the demo has both, so the test means something
    data = build_report(messages, min_group_size=k, top=100)
    assert data.members.empty and "author" not in data.unanswered
    assert (data.conversations["members_posting"] >= k).all()
    assert "network" not in data.images and len(data.images) == 4
    names = set(data.conversations["name"])
    # Group conversations big enough stay, but a direct one is named by number, never by its members.
    numbered = {n for n in names if n.startswith("direct conversation ")}
    assert numbered and not any(n.startswith("dm: ") for n in names)
    assert not names & set(small["name"]) and names - numbered <= set(plain.conversations["name"]) | {"other"}
    # Every message in the period is still counted, in a group of at least k people or nowhere.
    assert data.conversations["messages"].sum() <= plain.conversations["messages"].sum()
    html = render_report(data)
    member_names = set(messages["sender_name"].astype(str))
    assert not [n for n in member_names | set(small["name"]) if n in html]
    assert "minimum group size" in html


def test_min_group_size_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "k.html"
    assert main(["report", "--min-group-size", "5", "--out", str(out), "--quiet"]) == 0
    html = out.read_text(encoding="utf-8")
    names = set(load_messages("demo", text=False, progress=False)["sender_name"].astype(str))
    assert not [n for n in names if n in html] and html.count("data:image/png;base64,") == 4
    assert main(["report", "--min-group-size", "0", "--out", str(out), "--quiet"]) == 2
    assert "min_group_size" in capsys.readouterr().err


def test_text_only_when_asked_and_never_with_privacy_controls(tmp_path, known_texts):
    html = report(out=tmp_path / "r.html", progress=False).read_text(encoding="utf-8")
    assert not [t for t in known_texts if t in html]
    # report() loaded text-free, so no message text reached the cache either.
    assert not any(t in blob for blob in cached_texts(cache_root()) for t in known_texts)
    for options in ({"anonymize": True}, {"min_group_size": 2}):
        with pytest.raises(ValueError, match="include_text=True cannot be combined"):
            report(out=tmp_path / "x.html", include_text=True, progress=False, **options)
    free = load_messages("demo", text=False, progress=False)
    with pytest.raises(ValueError, match="needs messages with a text column"):
        build_report(free, include_text=True, plots=False)


def test_users_and_groups_frames_lose_their_people_too():
    """A users frame keeps people in ``id``, ``name``, ``display_name`` and ``email``, a groups frame in
    ``user_name``: pseudonymized with the same pseudonyms as the messages they go with."""
    import chatlens

    users = chatlens.load_users("demo", progress=False)
    groups = chatlens.load_groups("demo", progress=False)
    messages = chatlens.load_messages("demo", text=False, progress=False)
    out = chatlens.pseudonymize({"users": users, "groups": groups, "messages": messages}, "s" * 16)
    real = set(users["id"].astype(str)) | set(users["name"].astype(str)) | set(users["display_name"].dropna())
    real |= set(users["email"].dropna()) | set(groups["user_name"].astype(str))
    for name, frame in out.items():
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype) in ("category", "string[pyarrow]", "str"):
                leaked = real & set(frame[column].dropna().astype(str))
                assert not leaked, (name, column, sorted(leaked)[:3])
    assert set(out["messages"]["sender_id"].astype(str)) <= set(out["users"]["id"].astype(str))
    assert set(out["groups"]["user_id"].astype(str)) <= set(out["users"]["id"].astype(str))
