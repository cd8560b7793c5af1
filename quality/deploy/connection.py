"""Connect to a Databricks workspace from the environment, with bounded timeouts, and explain API errors.

Auth is a personal access token (`DATABRICKS_TOKEN`) or OAuth machine-to-machine (`DATABRICKS_CLIENT_ID` +
`DATABRICKS_CLIENT_SECRET`), host in `DATABRICKS_HOST`. Every API call is made inside `api_call(...)`, which
turns the SDK's exceptions into one-paragraph `QualityError`s (the token never appears in them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import PermissionDenied, Unauthenticated
from databricks.sdk.errors.base import DatabricksError

from quality.deploy.errors import DeployAuthError, DeployConfigError, DeployError

DEFAULT_HTTP_TIMEOUT_SECONDS = 60.0
DEFAULT_RETRY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class WorkspaceAuth:
    host: str
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        return "pat" if self.token else "oauth-m2m"


def auth_from_env(environ: Mapping[str, str]) -> WorkspaceAuth:
    """Read host and credentials; a missing variable is reported by name before any request is made."""
    host = environ.get("DATABRICKS_HOST", "").strip()
    if not host:
        raise DeployConfigError(
            "DATABRICKS_HOST is not set: export the workspace URL (e.g. https://adb-123.4.azuredatabricks.net; "
            "in CI from the secret DATABRICKS_HOST) and run `quality deploy` again."
        )
    token = environ.get("DATABRICKS_TOKEN") or None
    client_id = environ.get("DATABRICKS_CLIENT_ID") or None
    client_secret = environ.get("DATABRICKS_CLIENT_SECRET") or None
    if token:
        return WorkspaceAuth(host=host, token=token)
    if client_id and client_secret:
        return WorkspaceAuth(host=host, client_id=client_id, client_secret=client_secret)
    if client_id:
        raise DeployConfigError(
            "DATABRICKS_CLIENT_ID is set but DATABRICKS_CLIENT_SECRET is not: OAuth machine-to-machine needs both; "
            "export the service principal's secret (in CI from the secret store) and run again."
        )
    raise DeployConfigError(
        f"no Databricks credentials for {host}: set DATABRICKS_TOKEN (a personal access token) or "
        "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (OAuth for a service principal), in CI from the "
        "secret store, and run `quality deploy` again."
    )


def workspace_client(
    auth: WorkspaceAuth,
    *,
    http_timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
    retry_timeout_seconds: int = DEFAULT_RETRY_TIMEOUT_SECONDS,
) -> WorkspaceClient:
    """A client whose single requests and whose retries (429/503 per Retry-After) are both bounded."""
    if auth.token:
        config = Config(
            host=auth.host,
            token=auth.token,
            auth_type="pat",
            http_timeout_seconds=http_timeout_seconds,
            retry_timeout_seconds=retry_timeout_seconds,
        )
    else:
        config = Config(
            host=auth.host,
            client_id=auth.client_id,
            client_secret=auth.client_secret,
            auth_type="oauth-m2m",
            http_timeout_seconds=http_timeout_seconds,
            retry_timeout_seconds=retry_timeout_seconds,
        )
    return WorkspaceClient(config=config)


@contextmanager
def api_call(action: str, host: str) -> Iterator[None]:
    """Run Jobs/Secrets API calls, turning SDK exceptions into a paragraph that says what to do."""
    try:
        yield
    except (Unauthenticated, PermissionDenied) as error:
        raise DeployAuthError(
            f"Databricks at {host} refused the credentials while {action} ({_status(error)}: {_text(error)}). "
            "Check that DATABRICKS_TOKEN (or the OAuth client) is valid for this workspace and that its principal "
            "may manage jobs and read the job's secret scope; renew it in the secret store and run again."
        ) from None
    except DatabricksError as error:
        raise DeployError(
            f"Databricks at {host} answered an error while {action} ({_status(error)}: {_text(error)}); "
            "fix the request or the workspace state it names and run `quality deploy` again."
        ) from None
    except TimeoutError as error:
        cause = error.__cause__
        raise DeployError(
            f"Databricks at {host} did not answer successfully while {action} before the retry budget ran out "
            f"({cause or error}); the workspace is throttling (429), unavailable (503) or unreachable. Try again "
            "later or raise the budget with --retry-timeout."
        ) from None
    except OSError as error:  # requests' connection errors derive from OSError
        raise DeployError(
            f"could not reach Databricks at {host} while {action} ({type(error).__name__}); check DATABRICKS_HOST "
            "and the network path to the workspace."
        ) from None


def _text(error: DatabricksError) -> str:
    """The API's message without the SDK's appended debug dump of the client config."""
    return str(error).split(" Config: ", 1)[0].strip()


def _status(error: DatabricksError) -> str:
    code = getattr(error, "error_code", None)
    return str(code) if code else type(error).__name__
