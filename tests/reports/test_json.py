"""What the report shows, as data: build_report(...).to_dict() and chatlens report --json PATH."""

from __future__ import annotations

import json

import pytest

from chatlens.cli import main
from chatlens.loaders import load_messages
from chatlens.reports import build_report, report_data

FIGURE_KEYS = {"key", "label", "unit", "value", "previous", "change", "change_unit", "better", "verdict"}


@pytest.fixture(scope="module")
def data():
    return build_report(load_messages("demo", progress=False), account="acme-slack", service="slack", plots=False)


def test_the_dict_has_the_documented_shape(data):
    d = json.loads(json.dumps(data.to_dict(), allow_nan=False))  # strict JSON: no NaN
    assert set(d) >= {"account", "service", "period", "figures", "conversations", "members", "unanswered", "left_out"}
    assert d["account"] == "acme-slack" and d["service"] == "slack"
    assert d["period"] == {"since": "2026-07-03T00:00:00Z", "until": "2026-07-31T00:00:00Z", "tz": "UTC"}
    for f in d["figures"]:
        assert set(f) == FIGURE_KEYS
        assert f["change_unit"] in ("%", "pp") and f["better"] in ("up", "down", None)
        assert f["verdict"] in ("better", "worse", "same", None)
        assert f["change_unit"] == ("pp" if f["unit"] == "share" else "%")
    assert [f["value"] for f in d["figures"]] == pytest.approx([f["value"] for f in data.figures])
    assert len(d["conversations"]) == len(data.conversations) and "conversation_id" in d["conversations"][0]
    assert "median_time_to_first_reply_seconds" in d["conversations"][0]
    assert len(d["members"]) == len(data.members) and d["members"][0]["member"] == data.members.index[0]
    assert {"thread_id", "conversation", "started"} <= set(d["unanswered"][0])
    assert d["unanswered"][0]["started"].endswith("Z")
    assert d["left_out"]["bot messages"] == data.left_out["bot messages"]


def test_report_json_command(tmp_path):
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", "--out", str(out), "--json", str(js), "--quiet"]) == 0
    d = json.loads(js.read_text(encoding="utf-8"))
    same = report_data("demo", plots=False, progress=False).to_dict()
    assert d["figures"] == json.loads(json.dumps(same["figures"]))
    assert d["account"] == "acme-slack"
