"""What a hook found: one problem at `path:line`, with the fix, printed the way editors and CI link to."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in one file. `line` is 1-based; `fix` says what to change (never a secret value)."""

    path: str
    line: int
    message: str
    fix: str = ""

    def render(self) -> str:
        head = f"{self.path}:{self.line}: {self.message}"
        return f"{head}\n    fix: {self.fix}" if self.fix else head


def report(findings: Iterable[Finding], stream: TextIO | None = None) -> int:
    """Print the findings sorted by file and line; return the hook's exit code (1 if any)."""
    out = stream if stream is not None else sys.stdout
    ordered = sorted(set(findings))
    for finding in ordered:
        print(finding.render(), file=out)
    return 1 if ordered else 0


def check_files(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    files_help: str,
    check_text: Callable[[str, str], list[Finding]],
    errors: str = "strict",
) -> int:
    """A hook that checks each file it is given on its own: read (UTF-8, `errors` as in `open`),
    check, then report every finding; the exit code is `report`'s."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("filenames", nargs="*", help=files_help)
    args = parser.parse_args(argv)
    findings: list[Finding] = []
    for filename in args.filenames:
        findings.extend(check_text(filename, Path(filename).read_text(encoding="utf-8", errors=errors)))
    return report(findings)
