"""Importing any account into a workspace keeps every frame as it was: the importer knows no service."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlens.backends.sqlite import Workspace
from chatlens.importers import import_account
from chatlens.loaders import load_conversations, load_messages, load_users


@pytest.mark.parametrize("account", ["acme-slack", "acme-teams"])
def test_an_imported_account_loads_the_frames_of_its_source(demo_db, tmp_path, account):
    source = Workspace(demo_db).account(account)
    counts = import_account(source, tmp_path / "copy.sqlite", progress=False)
    copy = Workspace(tmp_path / "copy.sqlite").account(account)
    assert (copy.service, copy.admin, counts["problems"]) == (source.service, source.admin, [])
    for load in (load_users, load_conversations):
        pd.testing.assert_frame_equal(
            load(copy, cache=False, progress=False), load(source, cache=False, progress=False)
        )
    got = load_messages(copy, cache=False, raw=True, progress=False)
    pd.testing.assert_frame_equal(got, load_messages(source, cache=False, raw=True, progress=False))
    assert counts["messages"] == len(got)
