"""A content key of everything that shapes a dbt project's manifest graph, computed without importing dbt.

`dbt parse` builds the manifest from: YAML (descriptions, columns, tests, contracts, meta), macros,
`dbt_project.yml`, the profile, docs blocks, seeds, and - in SQL models, snapshots, analyses and singular
tests - only the Jinja: `ref()`, `source()`, `config()`, `{% if %}` ... The SQL text around the Jinja
changes a node's `raw_code` and checksum, never its dependencies, config, columns or tests.

So the `graph` key hashes the Jinja tags of those SQL files and the full content of everything else,
plus the values of the environment variables the project reads with `env_var()`. The `content` key
hashes every byte instead (what dbt's own partial parsing compares).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from hooks import dist_version
from hooks.jinja_calls import jinja_tags

KEY_KINDS = ("graph", "content")
IGNORED_DIRS = frozenset({"target", "logs", "dbt_packages", "dbt_modules", "__pycache__", ".venv"})
IGNORED_FILES = frozenset({".user.yml", "package-lock.yml.bak"})
ENV_VAR_NAME = re.compile(r"""env_var\(\s*['"]([^'"]+)['"]""")


def project_files(root: Path) -> Iterator[Path]:
    """Every file of the project except build output, installed packages and hidden files."""
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED_DIRS or entry.name in IGNORED_FILES:
            continue
        if entry.is_dir():
            yield from project_files(entry)
        elif entry.is_file():
            yield entry


def _is_node_sql(root: Path, path: Path, macro_folders: tuple[str, ...]) -> bool:
    """A .sql file outside the macro folders is a node (model, snapshot, analysis, singular test)."""
    return path.suffix == ".sql" and path.relative_to(root).parts[0] not in macro_folders


def _dbt_version() -> str:
    return dist_version.version("dbt-core") or "absent"


def compute(
    root: Path,
    *,
    kind: str = "graph",
    macro_folders: Iterable[str] = ("macros",),
    extra: Iterable[str] = (),
) -> str:
    """The key of the project at `root`. `extra` holds parse settings (target, profiles dir, ...)."""
    if kind not in KEY_KINDS:
        raise ValueError(f"unknown key kind {kind!r}: use one of {KEY_KINDS}")
    digest = hashlib.sha256()
    env_names: set[str] = set()
    macro_folders = tuple(macro_folders)
    for path in project_files(root):
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        env_names.update(ENV_VAR_NAME.findall(text))
        if kind == "graph" and _is_node_sql(root, path, macro_folders):
            body = "\x00".join(jinja_tags(text)).encode()
        else:
            body = raw
        digest.update(f"{path.relative_to(root).as_posix()}\x00{len(body)}\x00".encode())
        digest.update(body)
    for name in sorted(env_names):
        digest.update(f"env\x00{name}\x00{os.environ.get(name, '<unset>')}\x00".encode())
    for item in (f"dbt-core {_dbt_version()}", *extra):
        digest.update(f"extra\x00{item}\x00".encode())
    return digest.hexdigest()
