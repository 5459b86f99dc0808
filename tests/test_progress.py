"""Progress bars honour tqdm's own switch: TQDM_DISABLE=1 turns every chatlens bar off, progress=True or not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = "import tempfile, chatlens; chatlens.load_messages('demo', ['general'], cache_dir=tempfile.mkdtemp())"


def _stderr(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    out = subprocess.run(
        [sys.executable, "-c", CODE], env={**env, **env_extra}, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stderr


@pytest.mark.parametrize(("env", "shown"), [({}, True), ({"TQDM_DISABLE": "1"}, False)])
def test_tqdm_disable_turns_the_bars_off(env, shown):
    assert ("conv" in _stderr(env)) is shown  # the per-conversation bar: "acme-slack: 100%|...| 1/1 [...conv/s]"
