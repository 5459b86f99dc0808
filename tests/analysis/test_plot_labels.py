"""Names from the data are drawn as they are: no mathtext from a ``$``, no legend entry lost to a leading ``_``,
and no plot that fails to draw (issue 18, item 5). Agg backend; the text checked is what the renderer draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.text import Text

from chatlens import plotting as P

NAMES = ["$x^2$", "a$b", "50% $off$", "_under_", r"back\slash {x}", r"a\$b", "$", "#1 & ~ ^", "$_$", r"$\bad$"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def drawn(text: Text) -> str:
    """The string the renderer draws for ``text`` (after mathtext's unescaping), failing if it is maths."""
    shown, is_math = text._preprocess_math(text.get_text())  # what Text.draw hands to the renderer
    assert is_math is False, f"{text.get_text()!r} is drawn as mathtext"
    return shown.removeprefix("\u200b")  # the zero-width space that keeps a leading "_" in legends


def frame(names: list[str]) -> pd.DataFrame:
    """Each name is a member and a conversation; every member replies to the one before and mentions it."""
    n = len(names)
    ids = [f"m{i}" for i in range(n)]
    return pd.DataFrame(
        {
            "id": ids,
            "parent": [None, *ids[:-1]],
            "sender_id": [f"U{i}" for i in range(n)],
            "sender_name": pd.Categorical(names),
            "conversation_id": [f"C{i}" for i in range(n)],
            "conversation_name": pd.Categorical(names),
            "created": pd.date_range("2026-01-05", periods=n, freq="6h", tz="UTC").astype("datetime64[us, UTC]"),
            "is_bot": False,
            "is_system": False,
            "mentions": [[], *([f"U{i - 1}"] for i in range(1, n))],
        }
    )


def test_timeline_legend_shows_conversation_names_literally():
    ax = P.plot_timeline(frame(NAMES), freq="D", by="conversation", top=len(NAMES))
    ax.figure.canvas.draw()  # mathtext is parsed when drawn: "a$b $c" would fail here
    assert sorted(drawn(t) for t in ax.get_legend().get_texts()) == sorted(NAMES)


def test_timeline_title_with_a_dollar_in_by():
    m = frame(NAMES).assign(**{"$team$": NAMES})
    ax = P.plot_timeline(m, freq="D", by="$team$", top=3)
    ax.figure.canvas.draw()
    assert drawn(ax.title).startswith("Activity by $team$")


def test_network_labels_show_member_names_literally():
    ax = P.plot_interaction_graph(frame(NAMES), labels=len(NAMES))
    ax.figure.canvas.draw()
    assert sorted(drawn(t) for t in ax.texts) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_plot_draws_with_the_name(name):
    m = frame([name, "ada", name + " 2"])
    for plot in (P.plot_timeline, P.plot_active_members, P.plot_rhythm, P.plot_thread_depth, P.plot_reply_times):
        plot(m).figure.canvas.draw()
    P.plot_timeline(m, by="member", freq="D").figure.canvas.draw()


def test_literal_label_escapes_for_usetex_too():
    with matplotlib.rc_context({"text.usetex": True}):
        assert P.literal_label("50% $off$ _x_ {a} \\ #&~^") == (
            r"50\% \$off\$ \_x\_ \{a\} \textbackslash{} \#\&\textasciitilde{}\textasciicircum{}"
        )
    assert P.literal_label("plain") == "plain" and P.literal_label(3) == "3"
