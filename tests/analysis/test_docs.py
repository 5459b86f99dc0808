"""Every public analysis documents every parameter, and the shared ones read the same everywhere."""

from __future__ import annotations

import inspect
import re

import pytest

from chatlens import analysis as A
from chatlens.analysis._docs import PARAMS, shared_docs

# Former spellings, accepted for one version with a DeprecationWarning; their new names' entries mention them.
FORMER = {"business_hours", "workday", "days"}


def _documented(function) -> dict[str, str]:
    doc = inspect.getdoc(function) or ""
    found = re.search(r"^Parameters\n-+\n(.*?)(?:\n\n[A-Z][a-z ]+\n-+\n|\Z)", doc, flags=re.S | re.M)
    entries: dict[str, str] = {}
    if found:
        for line in found.group(1).splitlines():
            if line and not line.startswith(" "):
                names = [n.strip() for n in line.split(",")]
                entries.update(dict.fromkeys(names, line))
    return entries


FUNCTIONS = [getattr(A, n) for n in A.__all__ if inspect.isfunction(getattr(A, n))]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_parameter_is_documented(function):
    doc = inspect.getdoc(function) or ""
    assert "%(" not in doc, "an unfilled shared parameter doc: decorate with @shared_docs"
    params = set(inspect.signature(function).parameters) - FORMER
    assert params - set(_documented(function)) == set()


def test_shared_entries_read_the_same_in_every_function():
    entries = {name: inspect.cleandoc(text) for name, text in PARAMS.items()}
    users = {name: 0 for name in entries}
    for function in FUNCTIONS:
        doc = inspect.getdoc(function)
        for name, text in entries.items():
            if text in doc:
                users[name] += 1
    assert users["messages"] >= 20 and users["include"] >= 20 and users["since_until"] >= 10
    assert all(users.values()), f"shared entries nothing uses: {[n for n, c in users.items() if not c]}"


def test_an_unknown_entry_is_named():
    def f():
        """Parameters
        ----------
        %(nonsense)s
        """

    with pytest.raises(KeyError, match="nonsense"):
        shared_docs(f)
