"""The project's own promises: the README's two commands, CI running exactly the test command, conda parity."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the quick start has one bash block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_readme_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "chatlens" in commands[0] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _quick_start_commands()[1] in ci


def test_environment_yml_lists_every_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    env = (ROOT / "environment.yml").read_text(encoding="utf-8")
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["test"]
    # "chatlens[dask,xlsx]" in the test extra means those extras' dependencies.
    for own in [d for d in wanted if d.startswith("chatlens[")]:
        wanted = [d for d in wanted if d != own]
        for extra in own[len("chatlens[") : own.index("]")].split(","):
            wanted += extras[extra]
    names = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower() for d in wanted}
    missing = [n for n in sorted(names) if not re.search(rf"^\s*-\s*{re.escape(n)}\b", env, flags=re.M | re.I)]
    assert not missing, f"environment.yml lacks {missing}"


def test_layers_are_kept():
    """The import-linter contracts in .importlinter: data flows one way, analyses stay pure."""
    import subprocess
    import sys

    tool = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(tool)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
