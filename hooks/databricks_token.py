"""pre-commit hook: no Databricks personal access token (`dapi` + 32 hex) in any committed text file.

detect-secrets has no Databricks detector, and `profiles-safety` reads only `profiles.yml`: this hook
reads every text file it is given (workflows, scripts, notebooks, docs), so a token pasted into
`.github/workflows/*.yml` fails the commit with `file:line` and the fix. The token is never printed.

A deliberate fake (a test fixture) is allowed the way detect-secrets allows one: a comment
`pragma: allowlist secret` on its line (`#`, `//`, `--`, `/* */` or `<!-- -->`), or a line holding only
`# pragma: allowlist nextline secret` right above it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from hooks.findings import Finding, check_files

# `dapi` + 32 lower-case hex, optionally `-2`, `-3`... (tokens issued per workspace shard); not inside a
# longer word, so a hash or an identifier that merely contains the letters is no token.
DATABRICKS_TOKEN = re.compile(r"(?<![0-9A-Za-z])dapi[0-9a-f]{32}(?:-[0-9]+)?(?![0-9A-Za-z])")
COMMENT_START = r"(?:#|//|/\*|--|<!--)"
ALLOWLISTED = re.compile(COMMENT_START + r"[ \t]*pragma: ?(?:allow|white)list[ -]secret")
ALLOWLISTED_NEXT_LINE = re.compile(r"^[ \t]*" + COMMENT_START + r"[ \t]*pragma: ?allowlist[ -]nextline[ -]secret")
WORKFLOW = re.compile(r"(^|/)\.github/workflows/[^/]+\.ya?ml$")
PROFILES = re.compile(r"(^|/)profiles\.ya?ml$")
MESSAGE = "a Databricks personal access token (dapi...) is written in the file"
REVOKE = "delete it and revoke the token in Databricks (a committed token is in git history)"


def fix_for(path: str) -> str:
    """Where the token should come from instead, for this kind of file."""
    posix = path.replace("\\", "/")
    if WORKFLOW.search(posix):
        return f"{REVOKE}; store it as a GitHub Actions secret and read it with ${{{{ secrets.DATABRICKS_TOKEN }}}}"
    if PROFILES.search(posix):
        return f"{REVOKE}; read it with env_var('DATABRICKS_TOKEN')"
    return (
        f"{REVOKE}; read it from a secret store or the environment (DATABRICKS_TOKEN). "
        "A deliberate fake in a test: end its line with `# pragma: allowlist secret`"
    )


def token_lines(text: str) -> Iterator[int]:
    """The 1-based numbers of the lines that hold a token and are not allowlisted."""
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if DATABRICKS_TOKEN.search(line) and not _allowlisted(line, previous):
            yield number
        previous = line


def _allowlisted(line: str, previous: str) -> bool:
    return bool(ALLOWLISTED.search(line) or ALLOWLISTED_NEXT_LINE.search(previous))


def check_text(path: str, text: str) -> list[Finding]:
    return [Finding(path, number, MESSAGE, fix_for(path)) for number in token_lines(text)]


def main(argv: Sequence[str] | None = None) -> int:
    return check_files(
        argv,
        prog="databricks-token",
        description=__doc__.splitlines()[0],
        files_help="text files to check",
        check_text=check_text,
        errors="replace",
    )


if __name__ == "__main__":
    raise SystemExit(main())
