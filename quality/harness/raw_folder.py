"""Where the raw fixture CSVs are when no folder is named: one answer for pytest and `quality gate`.

pytest reads its option `--raw-fixtures-dir`, else the ini `raw_fixtures_dir`, else `tests/fixtures/raw`.
The gate, given neither `--fixtures` nor `--orders`, reads the same ini from the same files pytest does
(`pytest.ini`, `.pytest.ini`, `pyproject.toml`, `tox.ini`, `setup.cfg` in the working directory, the
first with a pytest section), so both find the raw data in the same folder, and both say which.
"""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RAW_FIXTURES_DIR = Path("tests/fixtures/raw")
INI_NAME = "raw_fixtures_dir"
# pytest's own order (`_pytest.config.findpaths`): the first file that has a pytest section is the ini file.
_INI_FILES = (
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", ""),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


@dataclass(frozen=True)
class RawFolder:
    path: Path
    origin: str  # how it was chosen, for the message: "ini raw_fixtures_dir in pyproject.toml", "the default folder"

    def describe(self) -> str:
        """Which folder is used and why, or why none is: one line for pytest's header and the gate."""
        csvs = sorted(self.path.glob("*.csv")) if self.path.is_dir() else []
        if csvs:
            return f"raw fixtures: {len(csvs)} <table>.csv file(s) of {self.path} ({self.origin})"
        state = "which holds no <table>.csv" if self.path.is_dir() else "no such folder"
        return f"raw fixtures: none ({self.path}, {self.origin}: {state})"


def configured_raw_folder(root: Path) -> RawFolder:
    """The ini's `raw_fixtures_dir` (relative to the ini file's folder), else `tests/fixtures/raw` under root."""
    for name, section in _INI_FILES:
        path = root / name
        if not path.is_file():
            continue
        found, value = _ini_value(path, section)
        if not found:
            continue
        if value:
            return RawFolder(path.parent / value, f"ini {INI_NAME} in {name}")
        break
    return RawFolder(root / DEFAULT_RAW_FIXTURES_DIR, "the default folder")


def _ini_value(path: Path, section: str) -> tuple[bool, str | None]:
    """(whether the file is pytest's ini file, its `raw_fixtures_dir` or None)."""
    if path.name == "pyproject.toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return False, None
        options = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if not isinstance(options, dict):
            return False, None
        value = options.get(INI_NAME)
        return True, str(value) if value else None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return False, None
    if not parser.has_section(section):
        return path.name in {"pytest.ini", ".pytest.ini"}, None  # pytest.ini is the ini file even when empty
    return True, parser.get(section, INI_NAME, fallback=None) or None
