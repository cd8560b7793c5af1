"""pre-commit hook: a committed dbt `profiles.yml` holds secrets and hosts only through `env_var()`.

Fails, with `file:line: message` and the fix, on:
- a Databricks personal access token (`dapi` + 32 hex) anywhere in the file, comments included;
- a secret key (`token`, `password`, `client_secret`, ...) whose value is a literal, or an `env_var()`
  call with a literal default (the default would be the secret);
- a literal `host` in a Databricks (or Spark) output.
The secret itself is never printed. The rule is `quality/dbt/profile_secrets.py`, which target resolution
applies too.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from hooks.env_vars import ENV_VAR_CALL as ENV_VAR_CALL
from hooks.findings import Finding, report
from quality.dbt.profile_secrets import check_text as check_text
from quality.dbt.profile_secrets import host_checked_types as host_checked_types


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="profiles-safety", description=__doc__.splitlines()[0])
    parser.add_argument("filenames", nargs="*", help="profiles.yml files to check")
    args = parser.parse_args(argv)
    findings: list[Finding] = []
    for filename in args.filenames:
        findings.extend(check_text(filename, Path(filename).read_text(encoding="utf-8")))
    return report(findings)


if __name__ == "__main__":
    raise SystemExit(main())
