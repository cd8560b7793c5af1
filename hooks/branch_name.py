"""pre-push hook: branch names say what kind of change they carry.

Allowed: `main`, and `<kind>/<name>` with kind `feat`, `fix`, `chore` or `hotfix` and a name of lower-case
letters, digits, `.`, `_` and `-` (e.g. `feat/orders-mart`, `fix/123-null-amounts`).
The branch is the one being pushed (`PRE_COMMIT_LOCAL_BRANCH`, set by pre-commit), else the checked-out
one; a detached HEAD and tags are not checked.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from collections.abc import Sequence

DEFAULT_KINDS = ("feat", "fix", "chore", "hotfix")
DEFAULT_PLAIN = ("main",)
NAME = r"[a-z0-9][a-z0-9._-]*"


def branch_pattern(kinds: Sequence[str]) -> re.Pattern[str]:
    return re.compile(rf"^(?:{'|'.join(map(re.escape, kinds))})/{NAME}$")


def current_branch() -> str | None:
    """The branch being pushed, or checked out; None for a detached HEAD, a tag or no repository."""
    pushed = os.environ.get("PRE_COMMIT_LOCAL_BRANCH")
    if pushed:
        return pushed.removeprefix("refs/heads/") if pushed.startswith("refs/heads/") else None
    result = subprocess.run(
        ["git", "symbolic-ref", "--quiet", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or None


def problem(branch: str, kinds: Sequence[str], plain: Sequence[str]) -> str | None:
    if branch in plain or branch_pattern(kinds).match(branch):
        return None
    examples = ", ".join(f"{kind}/<short-name>" for kind in kinds)
    return (
        f"branch '{branch}' does not follow the naming rule: use {' or '.join(plain)}, or {examples} "
        f"(lower-case letters, digits, '.', '_', '-'). Rename it: git branch -m {branch} "
        f"{kinds[0]}/{_suggest(branch)}"
    )


def _suggest(branch: str) -> str:
    tail = branch.split("/", 1)[-1]
    return re.sub(r"[^a-z0-9._-]+", "-", tail.lower()).strip("-._") or "short-name"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="branch-name", description=__doc__.splitlines()[0])
    parser.add_argument("--branch", help="branch to check (default: the pushed or checked-out one)")
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS), help="allowed prefixes")
    parser.add_argument("--allow", nargs="+", default=list(DEFAULT_PLAIN), help="allowed plain names")
    args = parser.parse_args(argv)
    branch = args.branch or current_branch()
    if branch is None:
        return 0
    message = problem(branch, args.kinds, args.allow)
    if message:
        print(message)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
