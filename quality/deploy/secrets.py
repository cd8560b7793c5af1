"""Check, before the job is touched, that every secret the job cluster reads exists in its scope.

A missing key would only surface minutes later as a cluster that fails to start; here it fails at once,
naming the environment variable and the secret it should come from.
"""

from __future__ import annotations

from collections.abc import Mapping

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound

from quality.deploy.connection import api_call
from quality.deploy.errors import DeployConfigError


def require_secrets(client: WorkspaceClient, scope: str, env_to_key: Mapping[str, str]) -> None:
    host = client.config.host
    try:
        with api_call(f"listing secret scope '{scope}'", host):
            keys = set(_list_keys(client, scope))
    except _ScopeMissing:
        raise DeployConfigError(
            f"the secret scope '{scope}' does not exist on {host}, and the job cluster reads "
            f"{', '.join(env_to_key)} from it; create it with `databricks secrets create-scope {scope}`, add "
            f"keys {', '.join(env_to_key.values())} with `databricks secrets put-secret {scope} <key>` and deploy "
            "again."
        ) from None
    missing = [(env, key) for env, key in env_to_key.items() if key not in keys]
    if missing:
        listed = "; ".join(f"{env} <- {{{{secrets/{scope}/{key}}}}}" for env, key in missing)
        raise DeployConfigError(
            f"the secret scope '{scope}' on {host} lacks {len(missing)} key(s) the job cluster needs: {listed}. "
            f"Add each with `databricks secrets put-secret {scope} <key>` and deploy again."
        )


class _ScopeMissing(Exception):
    pass


def _list_keys(client: WorkspaceClient, scope: str) -> list[str | None]:
    try:
        return [secret.key for secret in client.secrets.list_secrets(scope)]
    except NotFound:
        raise _ScopeMissing() from None
