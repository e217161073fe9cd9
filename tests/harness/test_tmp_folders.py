"""The session's temporary folders live where no other pytest session changes their mode."""

from __future__ import annotations

import getpass
import tempfile
from pathlib import Path


def test_tmp_path_is_outside_the_folder_every_pytest_session_resets_to_0700(tmp_path: Path) -> None:
    shared = Path(tempfile.gettempdir()) / f"pytest-of-{getpass.getuser()}"
    assert shared not in tmp_path.parents, f"{tmp_path} is under {shared}: another suite would lock the db out"
