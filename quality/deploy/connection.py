"""Connect to a Databricks workspace from the environment, with bounded timeouts, and explain API errors.

Auth is a personal access token (`DATABRICKS_TOKEN`) or OAuth machine-to-machine (`DATABRICKS_CLIENT_ID` +
`DATABRICKS_CLIENT_SECRET`), host in `DATABRICKS_HOST`. Every API call is made inside `api_call(...)`, which
turns the SDK's exceptions into one-paragraph `QualityError`s (the token never appears in them).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import PermissionDenied, Unauthenticated
from databricks.sdk.errors.base import DatabricksError

from quality.deploy.errors import DeployAuthError, DeployConfigError, DeployError
from quality.engines.connectivity import open_tcp, parse_host

# The error codes of an OAuth token endpoint (RFC 6749, 5.2): databricks-sdk raises them as ValueError("<code>: ...").
_OAUTH_ERROR = re.compile(
    r"^(invalid_client|invalid_grant|unauthorized_client|invalid_request|invalid_scope|unsupported_grant_type)\b"
)
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


def connect(
    auth: WorkspaceAuth,
    *,
    http_timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
    retry_timeout_seconds: int = DEFAULT_RETRY_TIMEOUT_SECONDS,
    say: Callable[[str], None] = lambda _: None,
) -> WorkspaceClient:
    """`workspace_client`, made within max(http timeout, retry timeout) seconds, saying what it waits for.

    Why a deadline of our own (measured with databricks-sdk 0.117): building the client first asks the host
    for `/.well-known/databricks-config` through a client that ignores both timeouts, and retries a refused
    or silent host for 300 s. So a TCP connect (bounded by the http timeout) comes first, which reports a
    refused port at once, and the client is built in a daemon thread the caller stops waiting for.
    """
    deadline_s = max(float(http_timeout_seconds), float(retry_timeout_seconds))
    host = parse_host(auth.host).display
    say(f"connecting to Databricks at {host} (giving up after {deadline_s:g} s)")
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            _open_tcp(auth.host, http_timeout_seconds)
            outcome["client"] = workspace_client(
                auth, http_timeout_seconds=http_timeout_seconds, retry_timeout_seconds=retry_timeout_seconds
            )
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, name="databricks-connect", daemon=True).start()
    _wait(done, deadline_s, host, say)
    if "error" in outcome:
        with api_call("connecting", auth.host):
            raise outcome["error"]
    client: WorkspaceClient = outcome["client"]
    return client


def _open_tcp(host: str, timeout_s: float) -> None:
    address = parse_host(host)
    try:
        open_tcp(address, timeout_s)
    except TimeoutError:
        raise DeployError(
            f"could not reach Databricks at {address.display}: no TCP connection within {timeout_s:g} s; check "
            "DATABRICKS_HOST and the network path to the workspace."
        ) from None


def _wait(done: threading.Event, deadline_s: float, host: str, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    interval = max(1.0, min(5.0, deadline_s / 3))
    while not done.wait(max(0.0, min(interval, started + deadline_s - time.monotonic()))):
        elapsed = time.monotonic() - started
        if elapsed >= deadline_s:
            raise DeployError(
                f"Databricks at {host} did not answer within {deadline_s:g} s while connecting: it accepted the "
                "connection but sent no reply (a hanging host or proxy). Check DATABRICKS_HOST and the network "
                "path to the workspace, or raise --http-timeout / --retry-timeout."
            )
        say(f"still waiting for {host}: {elapsed:.0f} s of {deadline_s:g} s")


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
    except ValueError as error:
        if not _OAUTH_ERROR.match(str(error)):
            raise
        raise DeployAuthError(
            f"Databricks at {host} refused the OAuth login (auth oauth-m2m) while {action} ({str(error).strip()}): "
            "check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET of the service principal (create a new OAuth "
            "secret for it if this one expired or was revoked), renew it in the secret store and run again."
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
