"""commit-msg hook: the commit message header is a Conventional Commit.

`<type>(<optional scope>)!: <description>` with type one of feat, fix, chore, docs, style, refactor,
perf, test, build, ci, revert; a blank line before any body. Git's own messages (`Merge ...`,
`Revert "..."`, `fixup! `, `squash! `, `amend! `) pass. Comment lines (`#`) are ignored as git does.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

from hooks.findings import Finding, report

TYPES = ("feat", "fix", "chore", "docs", "style", "refactor", "perf", "test", "build", "ci", "revert")
GIT_GENERATED = re.compile(r"^(Merge |Revert \"|fixup! |squash! |amend! )")
MAX_HEADER = 100
SCISSORS = "# ------------------------ >8 ------------------------"


def header_pattern(types: Sequence[str]) -> re.Pattern[str]:
    return re.compile(rf"^(?:{'|'.join(map(re.escape, types))})(?:\([\w./-]+\))?!?: \S.*$")


def message_lines(text: str) -> list[str]:
    """The message as git will store it: up to the scissors line, without comment lines."""
    kept = text.split(SCISSORS, 1)[0]
    return [line.rstrip() for line in kept.splitlines() if not line.startswith("#")]


def check_message(path: str, text: str, types: Sequence[str] = TYPES) -> list[Finding]:
    lines = message_lines(text)
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return [Finding(path, 1, "the commit message is empty", "write '<type>: <what changed>'")]
    header = lines[0]
    if GIT_GENERATED.match(header):
        return []
    findings: list[Finding] = []
    if not header_pattern(types).match(header):
        findings.append(
            Finding(
                path,
                1,
                f"header '{header}' is not a Conventional Commit",
                f"write '<type>(<scope>): <description>' with type one of {', '.join(types)}, "
                "e.g. 'feat(marts): add fct_orders'",
            )
        )
    if len(header) > MAX_HEADER:
        findings.append(Finding(path, 1, f"header is {len(header)} characters long", f"keep it to {MAX_HEADER}"))
    if len(lines) > 1 and lines[1]:
        findings.append(Finding(path, 2, "the body starts right after the header", "leave line 2 empty"))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="commit-msg", description=__doc__.splitlines()[0])
    parser.add_argument("filename", help="the commit message file git passes to the hook")
    parser.add_argument("--types", nargs="+", default=list(TYPES), help="allowed types")
    args = parser.parse_args(argv)
    text = Path(args.filename).read_text(encoding="utf-8")
    return report(check_message(args.filename, text, args.types))


if __name__ == "__main__":
    raise SystemExit(main())
