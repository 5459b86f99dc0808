"""chatlens.export and ``chatlens export``: each format on the demo account through the command line, formula
injection read back with the csv module, the privacy options, and bad input refused with nothing half-written."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from chatlens import export as E
from chatlens.analysis import membership_changes, reaction_rows
from chatlens.cli import main
from chatlens.loaders import load_conversations, load_groups, load_members, load_messages, load_users

MALICIOUS = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", " =1+2", '"=1+2', "'-1"]
NORMAL = ["hello", "a, b; c", 'say "hi"', "1-2", "x=1", "日本語 ✓", ""]
T0 = 1_735_689_600_000_000  # 2025-01-01 UTC, in microseconds


def _demo_frames(*, text: bool = False) -> dict[str, pd.DataFrame]:
    messages = load_messages("demo", text=text, progress=False)
    return {
        "messages": messages,
        "conversations": load_conversations("demo", progress=False),
        "members": load_members("demo", progress=False),
        "users": load_users("demo", progress=False),
        "groups": load_groups("demo", progress=False),
        "reactions": reaction_rows(messages, include_bots=True, include_system=True),
        "membership_changes": membership_changes(messages),
    }


def _csv_rows(path: Path, **kwargs) -> list[list]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, **kwargs))


def _assert_same(back: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Frame-equal, dtypes included, except the dtype of a categorical's categories: pandas gives the same strings
    the dtype object or str depending on how the categorical was made, so categoricals compare by categories and
    codes."""
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    for c in categorical:
        assert isinstance(back[c].dtype, pd.CategoricalDtype), c
        assert list(back[c].cat.categories) == list(frame[c].cat.categories), c
        assert back[c].cat.codes.tolist() == frame[c].cat.codes.tolist(), c
    pd.testing.assert_frame_equal(back.drop(columns=categorical), frame.drop(columns=categorical))


def _leaves(value) -> list[str]:
    """Every string in a nested value (lists and records), an emoji's name aside."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() if k != "emoji" for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return []


def _no_leftovers(parent: Path, keep: set[str]) -> None:
    assert {p.name for p in parent.iterdir()} == keep


# -- formula injection -----------------------------------------------------------------------------------------


def test_neutralize_prefixes_exactly_the_formula_starts():
    values = pd.Series(MALICIOUS + NORMAL + [None])
    out = E.neutralize(values).astype(object).tolist()
    assert out[: len(MALICIOUS)] == ["'" + v for v in MALICIOUS]
    assert out[len(MALICIOUS) : -1] == NORMAL
    assert pd.isna(out[-1])
    # The same rule on categories (kept categorical), Arrow strings, Python strings and object columns mixing
    # strings and numbers; Python's re (categories, objects) and Arrow's RE2 (string columns) agree.
    wanted = [*out[:-1], None]
    for same in (values.astype("category"), values.astype(pd.ArrowDtype(E.pa.string())), values.astype(object)):
        safe = E.neutralize(same)
        assert [None if pd.isna(v) else v for v in safe.astype(object)] == wanted, same.dtype
    assert isinstance(E.neutralize(values.astype("category")).dtype, pd.CategoricalDtype)
    assert E.neutralize(pd.Series(["=1", -2, None], dtype=object)).tolist() == ["'=1", -2, None]
    # A category and its neutralised twin both present: one value, the column then of objects.
    assert E.neutralize(pd.Series(["=a", "'=a"], dtype="category")).tolist() == ["'=a", "''=a"]
    numbers = pd.Series([-2, 3], dtype="Int64")
    assert E.neutralize(numbers) is numbers


def test_csv_export_neutralises_strings_and_keeps_numbers(tmp_path):
    n = len(MALICIOUS) + len(NORMAL)
    frame = pd.DataFrame(
        {
            "text": MALICIOUS + NORMAL,
            "name": pd.Categorical(MALICIOUS + NORMAL),
            "delta": pd.array([-(i + 1) for i in range(n)], dtype="Int64"),
            "share": [-0.5 * i for i in range(n)],
            "mentions": pd.Series([["=U1", "U2"]] + [[]] * (n - 1), dtype=pd.ArrowDtype(E.pa.list_(E.pa.string()))),
        }
    )
    done = E.export_tables({"evil": frame}, tmp_path / "out", format="csv", text=True)
    assert done.rows == {"evil": n}
    path = tmp_path / "out" / "evil.csv"
    # Read as a spreadsheet would see types: unquoted cells are numbers, quoted ones text.
    header, *rows = _csv_rows(path, quoting=csv.QUOTE_NONNUMERIC)
    assert header == ["text", "name", "delta", "share", "mentions"]
    texts = [r[0] for r in rows]
    assert texts[: len(MALICIOUS)] == ["'" + v for v in MALICIOUS]
    assert texts[len(MALICIOUS) :] == NORMAL
    assert [r[1] for r in rows] == texts
    assert [r[2] for r in rows] == [float(-(i + 1)) for i in range(n)]
    assert [r[3] for r in rows] == [-0.5 * i for i in range(n)]
    assert json.loads(rows[0][4]) == ["=U1", "U2"] and rows[1][4] == "[]"
    for cell in (c for r in rows for c in r if isinstance(c, str)):
        assert not E._FORMULA.match(cell) or cell.startswith("'")
    # The file is UTF-8, and a value's separator, quote or line break never starts a new cell.
    assert "日本語 ✓" in path.read_text(encoding="utf-8")
    assert all(len(r) == 5 for r in rows) and len(rows) == n


def test_to_safe_csv_for_the_dashboard_neutralises_headers_and_index():
    # An analysis table whose columns are conversation names and whose index is people's names.
    table = pd.DataFrame(
        {"=cmd|' /C calc'!A0": [1, -2], "general": [3, 4]}, index=pd.Index(["@ada", "bob"], name="member")
    )
    rows = list(csv.reader(E.to_safe_csv(table).splitlines()))
    assert rows == [["member", "'=cmd|' /C calc'!A0", "general"], ["'@ada", "1", "3"], ["bob", "-2", "4"]]
    assert E.to_safe_csv(pd.DataFrame({"a": [-1]})).splitlines() == ['"a"', "-1"]
    # Rows filtered out of a table leave an unnamed index of row numbers: not written.
    assert E.to_safe_csv(pd.DataFrame({"a": [-1, 2, 3]})[lambda f: f["a"] > 0]).splitlines() == ['"a"', "2", "3"]


def test_to_safe_csv_writes_any_analysis_table():
    import datetime as dt_

    frame = pd.DataFrame(
        {
            "median_reply": pd.to_timedelta(["1h", None]),
            "when": pd.to_datetime(["2025-01-31 09:30", None], utc=True),
            "answered": [True, False],
            "mixed": pd.Series([-2, "=x"], dtype=object),
            "counts": pd.Series([-2, None], dtype=object),
            "reactions": pd.Series(
                [[{"emoji": "+1", "user": "U1", "created": dt_.datetime(2025, 1, 1, tzinfo=dt_.UTC)}], []],
                dtype=pd.ArrowDtype(
                    E.pa.list_(
                        E.pa.struct(
                            [
                                ("emoji", E.pa.string()),
                                ("user", E.pa.string()),
                                ("created", E.pa.timestamp("us", tz="UTC")),
                            ]
                        )
                    )
                ),
            ),
        }
    )
    header, *rows = list(csv.reader(E.to_safe_csv(frame).splitlines()))
    assert header == list(frame.columns)
    assert rows[0][:5] == ["0 days 01:00:00", "2025-01-31 09:30:00.000000Z", "true", "'-2", "-2"]
    assert rows[1][:5] == ["", "", "false", "'=x", ""]
    assert json.loads(rows[0][5]) == [{"emoji": "+1", "user": "U1", "created": "2025-01-01T00:00:00+00:00"}]
    assert rows[1][5] == "[]"
    # Numbers unquoted, text quoted: a column of objects is numbers when all its values are, else text (where a
    # "-2" is a string, so neutralised like any other).
    assert E.to_safe_csv(frame[["mixed", "counts"]]).splitlines() == ['"mixed","counts"', '"\'-2",-2', '"\'=x",']


def _evil_account(tmp_path: Path) -> None:
    """A workspace whose people and messages try formula injection, as the named account "evil"."""
    from chatlens.backends.sqlite import Workspace

    ws = Workspace(tmp_path / "evil.sqlite")
    ws.add_account("E", service="slack", name="evil", user_id="U1")
    ws.add_users(
        "E", [{"id": "U1", "name": '=HYPERLINK("http://x")', "email": "@a@x.org"}, {"id": "U2", "name": "bob"}]
    )
    ws.add_conversations(
        "E", [{"id": "C1", "name": "+general", "private": False, "kind": "channel", "created": T0, "members": ["U1"]}]
    )
    ws.add_messages("E", [(f"M{i}", "C1", "U2", T0 + i, t, "", None, "{}") for i, t in enumerate(MALICIOUS + NORMAL)])
    with open(os.environ["CHATLENS_CONFIG"], "w", encoding="utf-8") as fh:
        fh.write(f'[accounts.evil]\ntype = "sqlite"\npath = "{tmp_path / "evil.sqlite"}"\n')


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_of_a_hostile_workspace_is_safe_to_open(tmp_path, capsys, fmt):
    _evil_account(tmp_path)
    out = tmp_path / ("evil.xlsx" if fmt == "xlsx" else "evil")
    assert main(["export", "--account", "evil", "--format", fmt, "--out", str(out), "--text", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} ({fmt}: messages {len(MALICIOUS + NORMAL)}, ")
    if fmt == "csv":
        cells = {name: _csv_rows(out / f"{name}.csv") for name in ("messages", "users", "conversations", "members")}
    else:
        import openpyxl

        book = openpyxl.load_workbook(out)
        cells = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets}
        # openpyxl would store a string starting with "=" as a formula: none is one.
        assert not any(c.data_type == "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    messages = cells["messages"]
    text = [r[messages[0].index("text")] for r in messages[1:]]
    # XML (so XLSX) reads a carriage return as a line feed; the cell starts with the quote all the same.
    malicious = [v.replace("\r", "\n") if fmt == "xlsx" else v for v in MALICIOUS]
    assert text == ["'" + v for v in malicious] + [v or (None if fmt == "xlsx" else "") for v in NORMAL]
    users = cells["users"]
    assert [r[users[0].index("name")] for r in users[1:]] == ['\'=HYPERLINK("http://x")', "bob"]
    assert [r[users[0].index("email")] for r in users[1:]] == ["'@a@x.org", None if fmt == "xlsx" else ""]
    assert [r[cells["conversations"][0].index("name")] for r in cells["conversations"][1:]] == ["'+general"]


# -- each format, on the demo account, through the command line ------------------------------------------------


def test_cli_parquet_export_reads_back_as_the_loaded_frames(tmp_path, capsys):
    out = tmp_path / "acme"
    assert main(["export", "--format", "parquet", "--out", str(out), "--quiet"]) == 0
    frames = _demo_frames()
    assert capsys.readouterr().out == (
        f"wrote {out} (parquet: {', '.join(f'{n} {len(f):,}' for n, f in frames.items())} rows) for acme-slack\n"
    )
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{n}.parquet" for n in frames), "export.json"])
    back = E.read_tables(out)
    assert list(back) == list(frames)
    for name, frame in frames.items():
        _assert_same(back[name], frame)
        # pandas' own reader reads every file too: the same values once cast to the schema's dtypes.
        plain = pd.read_parquet(out / f"{name}.parquet")
        assert list(plain.columns) == list(frame.columns)
        _assert_same(plain.astype(frame.dtypes.to_dict()), frame)
    assert list(back) == list(E.TABLES) and all(len(f) for f in back.values())  # the demo has every kind of row
    assert back["reactions"]["count"].sum() == back["messages"]["reaction_count"].sum()
    assert "text" not in back["messages"] and "raw" not in back["messages"]
    assert back["messages"]["text_length"].sum() > 0
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["text"] is False and manifest["anonymized"] is False
    assert manifest["tables"]["messages"] == {"file": "messages.parquet", "rows": len(frames["messages"])}


def test_parquet_export_is_a_warehouse_dataset(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "acme"
    E.export_tables("demo", out, tables="messages,users", progress=False)
    frames = _demo_frames()
    joined = duckdb.sql(
        f"SELECT count(*) FROM '{out / 'messages.parquet'}' m JOIN '{out / 'users.parquet'}' u ON m.sender_id = u.id"
    ).fetchall()[0][0]
    expected = frames["messages"]["sender_id"].astype(str).isin(frames["users"]["id"].astype(str)).sum()
    assert joined == expected > 0


def test_cli_csv_export_of_the_demo(tmp_path):
    out = tmp_path / "acme"
    assert main(["export", "--format", "csv", "--out", str(out), "--tables", "messages,members", "--quiet"]) == 0
    frames = _demo_frames()
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "members.csv", "messages.csv"]
    for name in ("messages", "members"):
        header, *rows = _csv_rows(out / f"{name}.csv")
        assert header == list(frames[name].columns) and len(rows) == len(frames[name])
    back = pd.read_csv(out / "messages.csv", keep_default_na=False, dtype={"mentions": str})
    messages = frames["messages"]
    assert back["id"].tolist() == messages["id"].tolist()
    assert pd.to_datetime(back["created"], utc=True).tolist() == messages["created"].tolist()
    assert back["text_length"].tolist() == messages["text_length"].tolist()
    assert [json.loads(m) for m in back["mentions"]] == [list(m) for m in messages["mentions"]]


def test_cli_xlsx_export_of_the_demo(tmp_path):
    import openpyxl

    out = tmp_path / "acme.xlsx"
    assert main(["export", "--format", "xlsx", "--out", str(out), "--quiet"]) == 0
    frames = _demo_frames()
    _no_leftovers(tmp_path, {"acme.xlsx"})
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == list(frames)
    sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    for name, frame in frames.items():
        assert list(sheets[name][0]) == list(frame.columns) and len(sheets[name]) == len(frame) + 1
    rows, messages = sheets["messages"], frames["messages"]
    created = [r[rows[0].index("created")] for r in rows[1:]]
    # Excel has no time zones: the UTC wall-clock time, without a zone, to the millisecond (Excel keeps days as a
    # float, and openpyxl reads them back to the millisecond).
    utc = messages["created"].dt.tz_convert("UTC").dt.tz_localize(None)
    off = [abs(c - t.to_pydatetime()) for c, t in zip(created, utc, strict=True)]
    assert max(off) <= dt.timedelta(milliseconds=1)
    assert all(isinstance(c, dt.datetime) and c.tzinfo is None for c in created)
    assert [r[rows[0].index("text_length")] for r in rows[1:]] == messages["text_length"].tolist()
    assert [r[rows[0].index("is_bot")] for r in rows[1:]] == messages["is_bot"].tolist()
    modified = [r[rows[0].index("modified")] for r in rows[1:]]
    assert modified.count(None) == int(messages["modified"].isna().sum()) > 0


def test_xlsx_without_openpyxl_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now raises ImportError
    assert main(["export", "--format", "xlsx", "--out", str(tmp_path / "a.xlsx"), "--quiet"]) == 2
    assert 'pip install "chatlens[xlsx]"' in capsys.readouterr().err
    _no_leftovers(tmp_path, set())


# -- privacy ---------------------------------------------------------------------------------------------------


def test_text_only_when_asked_and_raw_never(tmp_path):
    raw = {"messages": load_messages("demo", raw=True, progress=False)}
    E.export_tables(raw, tmp_path / "free", format="csv")
    header = _csv_rows(tmp_path / "free" / "messages.csv")[0]
    assert "text" not in header and "raw" not in header and "text_length" in header
    E.export_tables(raw, tmp_path / "text", format="parquet", text=True)
    back = E.read_tables(tmp_path / "text")["messages"]
    assert "raw" not in back and back["text"].tolist() == raw["messages"]["text"].tolist()
    assert main(["export", "--format", "parquet", "--tables", "messages", "--out", str(tmp_path / "t"), "--text"]) == 0
    assert E.read_tables(tmp_path / "t")["messages"]["text"].tolist() == raw["messages"]["text"].tolist()


def test_anonymized_export_names_nobody_and_joins_across_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLENS_SALT", "a salt of sixteen+ bytes")
    out = tmp_path / "anon"
    assert main(["export", "--format", "parquet", "--out", str(out), "--anonymize", "--quiet"]) == 0
    frames, back = _demo_frames(), E.read_tables(out)
    users = frames["users"]
    secrets = {*users["id"].astype(str), *users["name"].astype(str), *users["email"].dropna().astype(str)}
    secrets |= {*users["display_name"].dropna().astype(str)}
    secrets |= {*frames["groups"]["user_name"].astype(str), *frames["members"]["name"].astype(str)}
    secrets -= {""}
    for name, frame in back.items():
        for column in frame.columns:
            # Every string in the column, inside lists and records too (mentions, reactions' users, joins).
            values = {*_leaves(E.pa.array(frame[column]).to_pylist())}
            seen = values & secrets
            assert not seen, f"{name}.{column} names {sorted(seen)[:3]}"
    # One pseudonym per person in every table: the joins of the real frames hold.
    ids = set(back["users"]["id"])
    assert all(i.startswith("member-") for i in ids) and len(ids) == users["id"].nunique()
    real_known = frames["messages"]["sender_id"].astype(str).isin(users["id"].astype(str)).sum()
    assert back["messages"]["sender_id"].astype(str).isin(ids).sum() == real_known
    assert set(back["members"]["user_id"].astype(str)) <= ids and set(back["groups"]["user_id"].astype(str)) <= ids
    for name in ("reactions", "membership_changes"):
        assert back[name]["user_id"].dropna().astype(str).str.startswith("member-").all()
        assert len(back[name]) == len(frames[name]) > 0
    # The same salt, the same pseudonyms (a second export joins with the first).
    again = tmp_path / "again"
    E.export_tables("demo", again, tables="users", anonymize=True, salt="a salt of sixteen+ bytes", progress=False)
    assert E.read_tables(again)["users"]["id"].tolist() == back["users"]["id"].tolist()


def test_text_and_anonymize_together_are_refused(tmp_path, capsys):
    argv = ["export", "--format", "csv", "--out", str(tmp_path / "x"), "--text", "--anonymize"]
    assert main(argv) == 2
    assert "message text names people" in capsys.readouterr().err
    _no_leftovers(tmp_path, set())


# -- bad input, and never a half-written output ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "out", "message"),
    [
        (["--format", "csv", "--tables", "messages,reactionz"], "out", "unknown table 'reactionz' (known: messages, "),
        (["--format", "csv", "--tables", ","], "out", "tables: name at least one table"),
        (["--format", "csv"], "missing/out", "its directory"),
        (["--format", "csv"], "a-file/out", "its directory"),
        (["--format", "xlsx"], "a-dir", "is a directory; xlsx writes one file"),
        (["--format", "csv"], "a-file", "is a file; csv writes a directory"),
        (["--format", "parquet"], "a-dir", "holds files and no earlier export"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, argv, out, message):
    (tmp_path / "a-file").write_text("keep me")
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-dir" / "mine.txt").write_text("keep me")
    assert main(["export", *argv, "--out", str(tmp_path / out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatlens: error: ") and message in err and "Traceback" not in err
    # Nothing written, nothing of the user's touched.
    _no_leftovers(tmp_path, {"a-file", "a-dir"})
    assert (tmp_path / "a-file").read_text() == (tmp_path / "a-dir" / "mine.txt").read_text() == "keep me"
    assert [p.name for p in (tmp_path / "a-dir").iterdir()] == ["mine.txt"]


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--format", "json", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2
    assert "invalid choice: 'json'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="format must be one of parquet, csv, xlsx, got 'json'"):
        E.export_tables("demo", tmp_path / "x", format="json")


def test_a_failed_write_leaves_the_earlier_export_whole(tmp_path, monkeypatch):
    out = tmp_path / "acme"
    E.export_tables("demo", out, tables="users", progress=False)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    written = []

    def fail_after_one(frame, path, **kwargs):
        if written:
            raise OSError(28, "No space left on device")
        written.append(path)
        return real(frame, path, **kwargs)

    real = E.pq.write_table
    monkeypatch.setattr(E.pq, "write_table", fail_after_one)
    with pytest.raises(OSError, match="No space left"):
        E.export_tables("demo", out, tables="users,groups,members", progress=False)
    assert written and {p.name: p.read_bytes() for p in out.iterdir()} == first
    _no_leftovers(tmp_path, {"acme"})
    monkeypatch.undo()
    # An earlier export is replaced whole by a new one.
    E.export_tables("demo", out, tables="groups", format="csv", progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "groups.csv"]
    _no_leftovers(tmp_path, {"acme"})


def test_a_table_the_account_refuses_is_left_out_unless_asked(tmp_path):
    from chatlens.backends.sqlite import Workspace

    ws = Workspace(tmp_path / "t.sqlite")
    ws.add_account("T", service="ms_teams", name="t", user_id="U1")
    ws.add_users("T", [{"id": "U1", "name": "ada"}])
    ws.account("T").create_conversation(name="general")
    api = ws.account("T")
    if "list_messages" in api.rules.allowed:
        pytest.fail("this Teams account was meant to refuse list_messages, as test_cli's n/a case shows")
    with pytest.warns(UserWarning, match="left out of the export") as caught:
        done = E.export_tables(api, tmp_path / "out", progress=False)
    left_out = {str(w.message).split()[0] for w in caught}
    assert left_out == {"messages", "reactions", "membership_changes"} and "list_messages is refused" in str(caught[0])
    assert set(done.rows) == set(E.TABLES) - left_out and done.rows["users"] == 1
    from chatlens.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        E.export_tables(api, tmp_path / "out2", tables="messages", progress=False)
    assert not (tmp_path / "out2").exists()


def test_xlsx_cells_hold_what_excel_can(tmp_path):
    import openpyxl

    frame = pd.DataFrame({"text": ["bell\x07", "x" * 40_000, "=1"], "n": pd.array([1, None, -3], dtype="Int64")})
    with pytest.warns(UserWarning, match="1 cell"):
        E.export_tables({"t": frame}, tmp_path / "t.xlsx", format="xlsx", text=True)
    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx")["t"].iter_rows(values_only=True))
    assert rows == [("text", "n"), ("bell\ufffd", 1), ("x" * 32_767, None), ("'=1", -3)]
