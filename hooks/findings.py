"""What a hook found: one problem at `path:line`, with the fix, printed the way editors and CI link to."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
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
