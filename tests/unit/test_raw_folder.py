"""The raw fixture folder `quality gate` loads with no --fixtures: the one pytest's ini names, found in the
files pytest reads, in pytest's order; else tests/fixtures/raw."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.harness.raw_folder import RawFolder, configured_raw_folder


@pytest.mark.parametrize(
    ("files", "expected", "origin"),
    [
        ({}, "tests/fixtures/raw", "the default folder"),
        (
            {"pyproject.toml": '[tool.pytest.ini_options]\nraw_fixtures_dir = "a"\n'},
            "a",
            "ini raw_fixtures_dir in pyproject.toml",
        ),
        (
            {
                "pytest.ini": "[pytest]\nraw_fixtures_dir = b\n",
                "pyproject.toml": '[tool.pytest.ini_options]\nraw_fixtures_dir = "a"\n',
            },
            "b",
            "ini raw_fixtures_dir in pytest.ini",
        ),
        ({"pytest.ini": "", "tox.ini": "[pytest]\nraw_fixtures_dir = c\n"}, "tests/fixtures/raw", "the default folder"),
        (
            {"pyproject.toml": "[project]\nname = 'x'\n", "tox.ini": "[pytest]\nraw_fixtures_dir = c\n"},
            "c",
            "ini raw_fixtures_dir in tox.ini",
        ),
        ({"setup.cfg": "[tool:pytest]\nraw_fixtures_dir = d\n"}, "d", "ini raw_fixtures_dir in setup.cfg"),
    ],
    ids=[
        "default",
        "pyproject",
        "pytest-ini-first",
        "empty-pytest-ini-is-the-ini",
        "pyproject-without-pytest",
        "setup-cfg",
    ],
)
def test_the_folder_is_the_one_pytest_reads(tmp_path: Path, files: dict[str, str], expected: str, origin: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert configured_raw_folder(tmp_path) == RawFolder(tmp_path / expected, origin)


def test_a_folder_says_what_it_holds(tmp_path: Path) -> None:
    folder = RawFolder(tmp_path / "raw", "the default folder")
    assert folder.describe() == f"raw fixtures: none ({tmp_path / 'raw'}, the default folder: no such folder)"
    (tmp_path / "raw").mkdir()
    assert (
        folder.describe() == f"raw fixtures: none ({tmp_path / 'raw'}, the default folder: which holds no <table>.csv)"
    )
    (tmp_path / "raw" / "orders.csv").write_text("id\n1\n", encoding="utf-8")
    assert folder.describe() == f"raw fixtures: 1 <table>.csv file(s) of {tmp_path / 'raw'} (the default folder)"
