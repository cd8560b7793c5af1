"""The base revision of a data change review: which commit, and its dbt project as files on disk.

The working tree (with uncommitted changes) is the change; the base is a commit: `--base REF`, or the merge
base of HEAD with the repository's default branch. Its project folder is written out with `git archive`, so
the base builds from exactly what was committed, without touching the user's checkout.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from quality.errors import UsageError

DEFAULT_BRANCH_CANDIDATES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")
GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class BaseRevision:
    """A commit to compare the working tree with, and the tree of its dbt project folder."""

    ref: str  # as the user named it (or how it was found)
    sha: str
    project_tree: str  # git's hash of the project folder at that commit: equal content, equal hash
    repo_root: Path
    project_path: str  # the project folder, relative to the repository root ("" for the root)


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise UsageError("git is not installed: `quality pr` compares git revisions; install git.") from None
    if check and done.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done


def resolve_base(project_root: Path, ref: str | None) -> BaseRevision:
    """The base commit (`ref`, else the merge base with the default branch) and its project tree.

    Usage errors (exit 2) name what is wrong: not a git repository, an unknown ref, a shallow clone that lacks
    the base, a project folder the base does not have.
    """
    probe = git(project_root, "rev-parse", "--show-toplevel", check=False)
    if probe.returncode != 0:
        raise UsageError(
            f"{project_root} is not in a git repository: `quality pr` builds a base commit next to the working "
            "tree. Run it in a clone of your project."
        )
    repo = Path(probe.stdout.strip()).resolve()
    relative = project_root.resolve().relative_to(repo).as_posix()
    project_path = "" if relative == "." else relative
    label, sha = _base_commit(repo, ref)
    tree = git(repo, "rev-parse", "--verify", "--quiet", f"{sha}:{project_path}", check=False)
    if tree.returncode != 0:
        raise UsageError(
            f"the base commit {sha[:12]} ({label}) has no folder '{project_path or '.'}': the dbt project did not "
            "exist there yet, so there is nothing to compare with. Pass --base with a commit that has the project."
        )
    return BaseRevision(label, sha, tree.stdout.strip(), repo, project_path)


def _base_commit(repo: Path, ref: str | None) -> tuple[str, str]:
    if ref is not None:
        return ref, _commit(repo, ref)
    default = _default_branch(repo)
    merge_base = git(repo, "merge-base", "HEAD", default, check=False)
    if merge_base.returncode != 0:
        raise UsageError(
            f"HEAD and the default branch {default} have no common commit here{_shallow_hint(repo)}. "
            "Pass --base REF to name the commit to compare with."
        )
    return f"merge base of HEAD and {default}", merge_base.stdout.strip()


def _commit(repo: Path, ref: str) -> str:
    done = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if done.returncode != 0:
        raise UsageError(
            f"--base {ref} is not a commit of this repository{_shallow_hint(repo)}. Name a branch, tag or commit "
            f"that exists (`git fetch origin {ref}` first if it is a remote branch)."
        )
    return done.stdout.strip()


def _default_branch(repo: Path) -> str:
    for candidate in DEFAULT_BRANCH_CANDIDATES:
        if git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False).returncode == 0:
            return candidate
    raise UsageError(
        "no default branch found (none of origin/HEAD, origin/main, origin/master, main, master exists): pass "
        "--base REF, e.g. --base HEAD to review the uncommitted change, or --base origin/<branch>."
    )


def _shallow_hint(repo: Path) -> str:
    shallow = git(repo, "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true"
    if not shallow:
        return ""
    return (
        " (this is a shallow clone, which may not hold it: fetch the history first, `git fetch --unshallow`, or "
        "`fetch-depth: 0` in actions/checkout)"
    )


def write_project(base: BaseRevision, destination: Path) -> Path:
    """Write the base's project folder under `destination` (from git, not the checkout); returns its root."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", base.sha, "--", base.project_path or "."],
        cwd=base.repo_root,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )
    if archive.returncode != 0:
        raise UsageError(f"git archive of {base.sha[:12]} failed: {archive.stderr.decode(errors='replace').strip()}")
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination / base.project_path if base.project_path else destination
