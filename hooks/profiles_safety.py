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

from collections.abc import Sequence

from hooks.findings import check_files


def main(argv: Sequence[str] | None = None) -> int:
    from quality.dbt.profile_secrets import check_text

    return check_files(
        argv,
        prog="profiles-safety",
        description=__doc__.splitlines()[0],
        files_help="profiles.yml files to check",
        check_text=check_text,
    )


if __name__ == "__main__":
    raise SystemExit(main())
