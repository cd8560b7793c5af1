"""A dbt `profiles.yml` holds secrets and hosts only through `env_var()`: the rule of the `profiles-safety`
hook (`hooks/profiles_safety.py`), which target resolution (`quality/dbt/targets.py`) applies too.

Fails, with `file:line: message` and the fix, on:
- a Databricks personal access token (`dapi` + 32 hex) anywhere in the file, comments included;
- a secret key (`token`, `password`, `client_secret`, ...) whose value is a literal, or an `env_var()`
  call with a literal default (the default would be the secret);
- a literal `host` in a Databricks (or Spark) output.
The secret itself is never printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hooks.databricks_token import DATABRICKS_TOKEN
from hooks.env_vars import ENV_VAR_CALL as ENV_VAR_CALL
from hooks.findings import Finding
from hooks.yaml_lines import InvalidYaml, LineDict, line_of, load_text

# (key of a profile output that holds a secret, the environment variable to read it from)
SECRET_KEYS: tuple[tuple[str, str], ...] = (
    ("token", "DATABRICKS_TOKEN"),
    ("password", "DBT_PASSWORD"),
    ("client_secret", "DATABRICKS_CLIENT_SECRET"),
    ("private_key", "DBT_PRIVATE_KEY"),
    ("private_key_passphrase", "DBT_PRIVATE_KEY_PASSPHRASE"),
    ("access_token", "DATABRICKS_TOKEN"),
)
HOST_KEYS = ("host",)
ENV_VAR_FOR_HOST = "DATABRICKS_HOST"
EMPTY_DEFAULTS = frozenset({"", "''", '""', "none", "None"})
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|_KEY$|_PAT$", re.IGNORECASE)


def _env_var_fix(key: str, env_name: str) -> str:
    return f"""{key}: "{{{{ env_var('{env_name}') }}}}" (and export {env_name} in your shell or CI secrets)"""


def _literal_reason(value: Any, *, any_default: bool) -> str | None:
    """Why a value is unsafe, or None when it only reads the environment.

    A non-empty `env_var()` default is unsafe when it could be the value itself: for a host always
    (`any_default`), for a secret when the variable's name says it holds one (a default of
    `env_var('DATABRICKS_AUTH_TYPE', 'token')` is a mode, not a secret).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    calls = list(ENV_VAR_CALL.finditer(str(value)))
    if not calls:
        return "is a literal value"
    for call in calls:
        default = (call.group("default") or "").strip()
        if default in EMPTY_DEFAULTS:
            continue
        if any_default or SECRET_NAME.search(call.group("name")):
            return f"has a literal default in env_var('{call.group('name')}', ...)"
    return None


def host_checked_types() -> frozenset[str]:
    """The output `type`s whose `host` is a workspace host: the engine kinds' (`workspace_host_types`)."""
    from quality.engines.kinds import kinds

    return frozenset(name for kind in kinds() for name in kind.workspace_host_types)


def _outputs(profiles: LineDict) -> Iterator[tuple[str, str, LineDict]]:
    for profile_name, profile in profiles.items():
        if profile_name == "config" or not isinstance(profile, dict):
            continue
        outputs = profile.get("outputs")
        if not isinstance(outputs, dict):
            continue
        for output_name, output in outputs.items():
            if isinstance(output, LineDict):
                yield str(profile_name), str(output_name), output


def _check_output(path: str, profile: str, output_name: str, output: LineDict) -> Iterator[Finding]:
    where = f"output '{output_name}' of profile '{profile}'"
    for key, env_name in SECRET_KEYS:
        reason = _literal_reason(output.get(key), any_default=False) if key in output else None
        if reason:
            yield Finding(path, output.line_of(key), f"`{key}` of {where} {reason}", _env_var_fix(key, env_name))
    adapter_type = str(output.get("type", "")).lower()
    if adapter_type not in host_checked_types():
        return
    for key in HOST_KEYS:
        reason = _literal_reason(output.get(key), any_default=True) if key in output else None
        if reason:
            yield Finding(
                path,
                output.line_of(key),
                f"`{key}` of {adapter_type} {where} {reason} (a workspace host)",
                _env_var_fix(key, ENV_VAR_FOR_HOST),
            )


def _token_findings(path: str, text: str) -> Iterator[Finding]:
    for number, line in enumerate(text.splitlines(), start=1):
        if DATABRICKS_TOKEN.search(line):
            yield Finding(
                path,
                number,
                "a Databricks personal access token (dapi...) is written in the file",
                "delete it, revoke the token in Databricks (it is in git history now), "
                "and read it with env_var('DATABRICKS_TOKEN')",
            )


def check_text(path: str, text: str) -> list[Finding]:
    findings = list(_token_findings(path, text))
    try:
        profiles = load_text(text, path)
    except InvalidYaml as invalid:
        return [*findings, invalid.finding]
    if not isinstance(profiles, LineDict):
        if profiles is not None:
            findings.append(Finding(path, line_of(profiles), "a profiles file must be a mapping of profiles"))
        return findings
    for profile, output_name, output in _outputs(profiles):
        findings.extend(_check_output(path, profile, output_name, output))
    return findings
