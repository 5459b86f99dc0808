"""Names in any script draw correctly (issue 20 §2): a font fallback chain covers the scripts installed fonts
cover, and a name no installed font can draw is shown as its id, never as empty boxes. No glyph warning is
silenced: every drawing here turns warnings into errors."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from chatlens import plotting as P
from chatlens.reports import build_report

#: A private-use character: no font has a glyph for it.
NOWHERE = "\U000f0001"


def frame(names: list[str]) -> pd.DataFrame:
    """Each name is a member and a conversation; every member replies to the one before and mentions it."""
    n = len(names)
    ids = [f"m{i}" for i in range(n)]
    return pd.DataFrame(
        {
            "id": ids,
            "parent": [None, *ids[:-1]],
            "sender_id": [f"U{i}" for i in range(n)],
            "sender_name": names,
            "conversation_id": [f"C{i}" for i in range(n)],
            "conversation_name": names,
            "created": pd.date_range("2026-01-05", periods=n, freq="6h", tz="UTC"),
            "is_bot": False,
            "is_system": False,
            "mentions": [[], *([f"U{i - 1}"] for i in range(1, n))],
        }
    )


def drawn_labels(names: list[str]) -> tuple[list[str], list[str]]:
    """The network's node labels and the timeline's legend for members and conversations called ``names``,
    drawn with every warning an error (a missing glyph warns)."""
    m = frame(names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        network = P.plot_interaction_graph(m, labels=len(names))
        network.figure.canvas.draw()
        timeline = P.plot_timeline(m, freq="D", by="conversation", top=len(names))
        timeline.figure.canvas.draw()
    return sorted(t.get_text() for t in network.texts), sorted(t.get_text() for t in timeline.get_legend().get_texts())


def test_cyrillic_and_arabic_names_are_drawn_as_they_are():
    names = ["Ольга", "محمد علي", "Ada"]  # DejaVu Sans, which matplotlib ships, has these scripts
    assert drawn_labels(names) == (sorted(names), sorted(names))


def test_a_name_no_font_can_draw_is_shown_as_its_id():
    network, legend = drawn_labels(["Ada", f"{NOWHERE}{NOWHERE}", "Bob"])
    assert network == ["Ada", "Bob", "U1"]  # the member's id
    assert legend == ["Ada", "Bob", "C1"]  # the conversation's id


def test_names_need_only_the_glyphs_they_draw():
    """Zero-width joiners and spaces, direction marks and variation selectors draw nothing: no font needs them."""
    assert P.drawable("Ada\u200d\u200b\u200f\ufe0f") and not P.drawable(f"Ada{NOWHERE}")
    assert P.name_label(None, "U7") == "U7" and P.name_label("$x$", "U7") == r"\$x\$"


def test_without_a_cjk_font_a_cjk_name_falls_back_to_its_id(monkeypatch):
    monkeypatch.setattr(P, "FALLBACK_FAMILIES", ("DejaVu Sans",))
    assert P.font_chain() == ["DejaVu Sans"] and not P.drawable("山田太郎")
    network, legend = drawn_labels(["Ada", "山田太郎"])
    assert network == ["Ada", "U1"] and legend == ["Ada", "C1"]


needs_cjk = pytest.mark.skipif(
    not P.drawable("山田太郎"), reason="no CJK font installed (Debian: fonts-noto-cjk, which .ci/run installs)"
)


@needs_cjk
def test_with_a_cjk_font_a_cjk_name_is_drawn():
    assert any("CJK" in family for family in P.font_chain())
    names = ["山田太郎", "김민준", "Ольга"]
    assert drawn_labels(names) == (sorted(names), sorted(names))


@pytest.mark.skipif(not P.drawable("🎉"), reason="no emoji outline font installed (Debian: fonts-symbola)")
def test_with_an_emoji_font_an_emoji_name_is_drawn():
    assert drawn_labels(["Ada 🎉", "Bob"]) == (["Ada 🎉", "Bob"], ["Ada 🎉", "Bob"])


def test_colour_bitmap_fonts_are_never_in_the_chain():
    """matplotlib cannot draw bitmap-only fonts (Noto Color Emoji): in the chain, every drawing would fail."""
    assert "Noto Color Emoji" not in P.font_chain()
    from matplotlib import font_manager

    for family in P.font_chain():
        font_manager.get_font(font_manager.findfont(family, fallback_to_default=False)).set_size(10, 72)


def test_each_name_is_checked_once():
    P._drawable.cache_clear()
    drawn_labels(["Ada", "Bob", "Ольга"])
    first = P._drawable.cache_info()
    drawn_labels(["Ada", "Bob", "Ольга"])
    again = P._drawable.cache_info()
    assert again.misses == first.misses and again.hits > first.hits


@needs_cjk
def test_the_report_draws_cjk_names_without_a_glyph_warning():
    m = frame(["山田太郎", "Ada", f"x{NOWHERE}", "Ольга"])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph")
        data = build_report(m, since="2026-01-05", until="2026-01-06")
    assert {"timeline", "network"} <= set(data.images)
    plt.close("all")
