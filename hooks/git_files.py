"""Read files as they are in a git revision (e.g. HEAD), in one `git cat-file --batch` call."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence


class GitError(Exception):
    """A git command failed (not a repository, unknown revision, ...)."""


def _git(args: Sequence[str], stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["git", *args], input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        raise GitError(result.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed")
    return result.stdout


def has_revision(revision: str) -> bool:
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"])
    except GitError:
        return False
    return True


def list_files(revision: str, folders: Iterable[str], suffixes: tuple[str, ...]) -> list[str]:
    """Paths (from the repository root) of the files under `folders` in `revision` with these suffixes."""
    output = _git(["ls-tree", "-r", "-z", "--full-tree", "--name-only", revision, "--", *folders])
    return [name for name in output.decode().split("\0") if name and name.endswith(suffixes)]


def merge_base(revision: str, other: str = "HEAD") -> str:
    """The commit `revision` and `other` share last (what a pull request is compared with), else `revision`."""
    try:
        return _git(["merge-base", revision, other]).decode().strip()
    except GitError:
        return revision


def tracked_files(folders: Iterable[str]) -> list[str]:
    """Paths of the files git tracks (the index) under `folders`, relative to the working directory."""
    output = _git(["ls-files", "-z", "--", *folders])
    return [name for name in output.decode().split("\0") if name]


def changed_files(revision: str, folders: Iterable[str]) -> list[str]:
    """Tracked paths under `folders` that differ between `revision` and the working tree, deletions included."""
    output = _git(["diff", "--name-only", "-z", "--no-renames", "--relative", revision, "--", *folders])
    return [name for name in output.decode().split("\0") if name]


def read_files(revision: str, paths: Sequence[str]) -> dict[str, str]:
    """The text of each path in `revision`; paths missing there are left out."""
    if not paths:
        return {}
    request = "".join(f"{revision}:{path}\n" for path in paths).encode()
    output = _git(["cat-file", "--batch"], stdin=request)
    contents: dict[str, str] = {}
    offset = 0
    for path in paths:
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].split()
        offset = header_end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        contents[path] = output[offset : offset + size].decode("utf-8", errors="replace")
        offset += size + 1
    return contents
