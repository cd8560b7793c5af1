"""The Jinja renderings `sqlfluff-lint` made, handed to `spark-functions` so a commit renders a file once.

`hooks.sqlfluff_lint` runs sqlfluff's own `lint` command and, for each file it rendered without a
templating error, stores here the rendered SQL of every variant with the slices that map it back to the
file. `hooks.dbt_render` uses an entry instead of rendering again (and without importing sqlfluff, 0.4 s
of the Spark function check) only when nothing a rendering reads can have changed since:

- the file's text, and the name it was rendered under, are the same;
- the sqlfluff, Jinja and Python versions are the same;
- every sqlfluff config file that could apply is byte for byte the same: `setup.cfg`, `tox.ini`,
  `pep8.ini`, `.sqlfluff` and `pyproject.toml` in the file's folder and every folder above it, in the
  working directory and above it, in the home folder and in the user config folders;
- every file under the paths the jinja templater reads (`load_macros_from_path`,
  `exclude_macros_from_path`, `loader_search_path`, `library_path`) is the same, and no file was added
  or removed there.

The Python of `library_path` is taken to read nothing but its own files (this project's
`hooks/sqlfluff_library` reads nothing at all). Anything else (another templater, a templating error,
options that could change the rendering, a stale or unreadable entry) means no entry, and the Spark
function check renders the file itself, as it did before. Standard library only: this module also runs
in sqlfluff's own hook environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hooks import dist_version

FORMAT = 1
CONFIG_FILE_NAMES = ("setup.cfg", "tox.ini", "pep8.ini", ".sqlfluff", "pyproject.toml")
# The jinja templater's settings that name files it reads (macros, includes, the Python library).
PATH_SETTINGS = ("load_macros_from_path", "exclude_macros_from_path", "loader_search_path", "library_path")
SKIPPED_DIRS = frozenset({"__pycache__"})


@dataclass(frozen=True)
class Slice:
    """One slice of sqlfluff's `TemplatedFile.sliced_file`: its type, source and templated spans."""

    kind: str
    source_start: int
    source_stop: int
    templated_start: int
    templated_stop: int


@dataclass(frozen=True)
class CachedRendering:
    """One rendering: the SQL, the file's text it came from and the slices mapping one to the other."""

    sql: str
    source: str
    slices: tuple[Slice, ...]

    def line_of(self, offset: int) -> int:
        """The file's line (1-based) of an offset in `sql`: the same answer as sqlfluff's TemplatedFile
        (`templated_slice_to_source_slice` of the one character there, then its source line)."""
        offset = max(0, min(offset, len(self.sql) - 1))
        start = _source_start(self.slices, offset, offset + 1)
        return bisect_left(_newlines(self.source), start) + 1


@lru_cache(maxsize=16)
def _newlines(text: str) -> tuple[int, ...]:
    return tuple(index for index, char in enumerate(text) if char == "\n")


def _touching(slices: Sequence[Slice], position: int, *, inclusive: bool = True) -> tuple[int, int]:
    """sqlfluff's `TemplatedFile._find_slice_indices_of_templated_pos`."""
    first: int | None = None
    last = 0
    for index, item in enumerate(slices):
        last = index
        if item.templated_stop >= position:
            if first is None:
                first = index
            if item.templated_start > position:
                break
            if not inclusive and item.templated_start >= position:
                break
    else:
        last += 1
    if first is None:
        raise ValueError("position not found")
    return first, last


def _source_start(slices: Sequence[Slice], start: int, stop: int) -> int:
    """The start of sqlfluff's `TemplatedFile.templated_slice_to_source_slice(slice(start, stop))`,
    for a slice of length >= 1 (the zero-length case is never asked for)."""
    if not slices:
        return start
    start_first, start_last = _touching(slices, start)
    insertion = _insertion_point(slices[start_first:start_last], start)
    stop_first, stop_last = _touching(slices, stop, inclusive=False)
    if insertion >= 0:
        start_first = _first_starting_at(slices, start_first, insertion)
    spanned = slices[min(start_first, stop_first) : max(start_last, stop_last)]
    if start_first == start_last:
        return slices[1].source_start if start_first < len(slices) else slices[-1].source_start
    start_slices = slices[start_first:start_last]
    stop_slices = [slices[stop_first]] if stop_first == stop_last else slices[stop_first:stop_last]
    if insertion >= 0:
        source_start = insertion
    elif start_slices[0].kind == "literal":
        source_start = start_slices[0].source_start + (start - start_slices[0].templated_start)
    else:
        source_start = start_slices[0].source_start
    if stop_slices[-1].kind == "literal":
        source_stop = stop_slices[-1].source_stop - (stop_slices[-1].templated_stop - stop)
    else:
        source_stop = stop_slices[-1].source_stop
    if source_start > source_stop:  # a loop or a templated end: sqlfluff takes the widest span
        source_start = min(item.source_start for item in spanned)
    return source_start


def _insertion_point(touching: Sequence[Slice], start: int) -> int:
    """The smallest source position of a slice edge at templated position `start`, or -1 if none is."""
    insertion = -1
    for item in touching:
        for templated, source in (
            (item.templated_start, item.source_start),
            (item.templated_stop, item.source_stop),
        ):
            if templated == start and (insertion < 0 or source < insertion):
                insertion = source
    return insertion


def _first_starting_at(slices: Sequence[Slice], first: int, source: int) -> int:
    """From index `first` on, the index of the first slice starting at `source` (len(slices) if none)."""
    for item in slices[first:]:
        if item.source_start != source:
            first += 1
        else:
            break
    return first


def _versions() -> str:
    found = [f"{name} {dist_version.version(name) or 'absent'}" for name in ("sqlfluff", "jinja2")]
    return f"{'; '.join(found)}; python {sys.version_info[0]}.{sys.version_info[1]}"


def _ancestors(folder: Path) -> Iterator[Path]:
    yield folder
    yield from folder.parents


def config_folders(path: Path) -> list[Path]:
    """Every folder whose config files sqlfluff could read for `path` (more than it reads: safe)."""
    home = Path(os.path.expanduser("~"))
    xdg = os.environ.get("XDG_CONFIG_HOME")
    user = [home / ".config" / "sqlfluff", *([Path(xdg) / "sqlfluff"] if xdg else [])]
    folders = [*_ancestors(path.resolve().parent), *_ancestors(Path.cwd().resolve()), home, *user]
    return list(dict.fromkeys(folders))


def _hash_file(digest: hashlib._Hash, path: Path, label: str) -> None:
    try:
        content = path.read_bytes()
    except OSError:
        digest.update(f"unreadable\x00{label}\x00".encode())
        return
    digest.update(f"file\x00{label}\x00{len(content)}\x00".encode())
    digest.update(content)


def _hash_tree(digest: hashlib._Hash, root: Path, skip: Path | None) -> None:
    if root.is_file():
        _hash_file(digest, root, root.as_posix())
        return
    if not root.is_dir():
        digest.update(f"absent\x00{root.as_posix()}\x00".encode())
        return
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(name for name in dirs if name not in SKIPPED_DIRS and (skip is None or here / name != skip))
        for name in sorted(files):
            _hash_file(digest, here / name, (here / name).as_posix())


def fingerprint(path: Path, fname: str, dependencies: Sequence[str], cache_dir: Path) -> str:
    """A digest of everything the rendering of `path` (rendered as `fname`) can depend on."""
    digest = hashlib.sha256()
    digest.update(f"format {FORMAT}\x00{_versions()}\x00{fname}\x00{Path.cwd().resolve().as_posix()}\x00".encode())
    digest.update(f"home {os.path.expanduser('~')}\x00xdg {os.environ.get('XDG_CONFIG_HOME', '')}\x00".encode())
    for folder in config_folders(path):
        for name in CONFIG_FILE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                _hash_file(digest, candidate, candidate.as_posix())
    skip = cache_dir.resolve()
    for dependency in sorted(set(dependencies)):
        digest.update(f"dependency\x00{dependency}\x00".encode())
        _hash_tree(digest, Path(dependency), skip)
    return digest.hexdigest()


def entry_path(cache_dir: Path, path: Path) -> Path:
    return cache_dir / f"{hashlib.sha256(path.resolve().as_posix().encode()).hexdigest()[:32]}.json"


def dependencies_from(settings: Iterable[object]) -> list[str]:
    """The absolute paths named by the values of the templater's path settings (comma-separated)."""
    found: list[str] = []
    for value in settings:
        if isinstance(value, str):
            found.extend(str(Path(part.strip()).resolve()) for part in value.split(",") if part.strip())
    return found


def store(
    cache_dir: Path,
    path: Path,
    fname: str,
    renderings: Sequence[CachedRendering],
    dependencies: Sequence[str],
) -> None:
    """Write the entry of one file (atomically: a reader sees the old entry or the new one)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "format": FORMAT,
        "fname": fname,
        "dependencies": sorted(set(dependencies)),
        "fingerprint": fingerprint(path, fname, dependencies, cache_dir),
        "renderings": [
            {
                "sql": rendering.sql,
                "source": rendering.source,
                "slices": [
                    [item.kind, item.source_start, item.source_stop, item.templated_start, item.templated_stop]
                    for item in rendering.slices
                ],
            }
            for rendering in renderings
        ],
    }
    target = entry_path(cache_dir, path)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    temporary.replace(target)


def load(cache_dir: Path, path: Path, fname: str, text: str) -> list[CachedRendering] | None:
    """The renderings stored for `path` when they are still exactly what rendering it now would give."""
    try:
        record = json.loads(entry_path(cache_dir, path).read_text(encoding="utf-8"))
        if record.get("format") != FORMAT or record.get("fname") != fname:
            return None
        renderings = [
            CachedRendering(
                str(item["sql"]),
                str(item["source"]),
                tuple(Slice(str(kind), int(a), int(b), int(c), int(d)) for kind, a, b, c, d in item["slices"]),
            )
            for item in record["renderings"]
        ]
        dependencies = [str(name) for name in record["dependencies"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not renderings or any(rendering.source != text for rendering in renderings):
        return None
    if record.get("fingerprint") != fingerprint(path, fname, dependencies, cache_dir):
        return None
    return renderings
