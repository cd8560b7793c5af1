"""The raw data a review builds both revisions on: one folder of `<table>.csv` files per batch, in order.

Given folders are used as given. By default the raw fixtures folder (`tests/fixtures/raw`) is batch 1, and
folders beside it named `<name>_batch<N>` (`raw_batch2`, ...) are the later loads, so incremental models
and snapshots run on top of the first batch as they do in production. With no raw fixtures, the project's
seeds are its raw data (one batch).
"""

from __future__ import annotations

import re
from pathlib import Path

from quality.errors import UsageError
from quality.harness.raw_sources import fixture_folder

DEFAULT_FIXTURES = Path("tests/fixtures/raw")


def raw_batches(given: list[Path] | None, default: Path = DEFAULT_FIXTURES) -> list[Path]:
    if given:
        for folder in given:
            if fixture_folder(folder) is None:
                raise UsageError(
                    f"--fixtures {folder} is not a folder of <table>.csv files; pass one folder per raw data "
                    "batch, in load order (or leave --fixtures out to use tests/fixtures/raw and its _batchN folders)."
                )
        return list(given)
    first = fixture_folder(default)
    if first is None:
        return []
    pattern = re.compile(rf"^{re.escape(first.name)}_batch(\d+)$")
    later = [
        (int(match.group(1)), folder)
        for folder in first.parent.iterdir()
        if (match := pattern.match(folder.name)) and fixture_folder(folder) is not None
    ]
    return [first, *(folder for _, folder in sorted(later))]
