"""Check a Databricks workspace before dbt runs: one bounded REST call, failures explained in one paragraph.

`preflight_databricks` first opens a TCP connection to the host (so DNS failures and refused connections
are reported at once, by name), then makes ONE REST call through databricks-sdk: `GET` the SQL warehouse
named in the HTTP path (reachability, credentials and the warehouse in one answer), or the current user
when the HTTP path names no warehouse.

Why a hard deadline on top of the SDK's own timeouts (measured with databricks-sdk 0.117): building a
`WorkspaceClient` first asks the host for `/.well-known/databricks-config` through a client that ignores
`Config(http_timeout_seconds=..., retry_timeout_seconds=...)` and retries a refused connection for 300 s.
So the whole check runs in a daemon thread and the caller waits at most `timeout_s`; the SDK's retry
budget is half of it, so its own error (which says why) usually arrives before the deadline.

While it waits, `say` is told every few seconds (`wait_with_progress`; stderr by default), so a slow
workspace is never a silent terminal. Messages name the host and the fix, never the token or the client secret.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from quality.errors import TargetError

DEFAULT_TIMEOUT_S = 10.0
HTTPS_PORT = 443
_WAREHOUSE_IN_HTTP_PATH = re.compile(r"/(?:warehouses|endpoints)/(?P<id>[0-9A-Za-z]+)/?$")
_SDK_DEBUG_SUFFIX = re.compile(r"\.?\s+Config: host=.*$", re.DOTALL)  # the SDK appends ". Config: host=..."
_HTTP_STATUS_BY_ERROR = {
    "BadRequest": 400,
    "Unauthenticated": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "ResourceDoesNotExist": 404,
    "TooManyRequests": 429,
    "InternalError": 500,
    "TemporarilyUnavailable": 503,
}

Say = Callable[[str], None]


def say_on_stderr(message: str) -> None:
    """The default progress sink: one line on stderr, flushed at once."""
    print(message, file=sys.stderr, flush=True)


def connect_timeout_s(default: float = DEFAULT_TIMEOUT_S) -> float:
    """Seconds to wait for the workspace: QUALITY_CONNECT_TIMEOUT, a positive number, else `default`."""
    text = os.environ.get("QUALITY_CONNECT_TIMEOUT", "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise TargetError(
            f"QUALITY_CONNECT_TIMEOUT={text!r} is not a number of seconds; set it to a positive number, "
            f"e.g. QUALITY_CONNECT_TIMEOUT=30, or unset it for the default ({DEFAULT_TIMEOUT_S:g} s)."
        )
    return seconds


def wait_with_progress(
    done: threading.Event, timeout_s: float, what: str, say: Say, *, started: float | None = None
) -> bool:
    """Wait until `timeout_s` after `started` (monotonic; default now, and never less than 1 s from now) for
    `done`, saying every few seconds that `what` is still awaited. Returns whether `done` was set in time.
    """
    now = time.monotonic()
    started = now if started is None else started
    deadline = max(started + timeout_s, now + 1.0)
    interval = max(1.0, min(5.0, timeout_s / 3))
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return done.is_set()
        if done.wait(min(interval, remaining)):
            return True
        elapsed = time.monotonic() - started
        if elapsed < timeout_s:
            say(f"still waiting for {what}: {elapsed:.0f} s of {timeout_s:g} s")


@dataclass(frozen=True)
class WorkspaceAddress:
    """Where a workspace listens, parsed from DATABRICKS_HOST (`adb-1.2.azuredatabricks.net`, `https://...`)."""

    scheme: str
    hostname: str
    port: int

    @property
    def display(self) -> str:
        """The host as messages name it: `hostname`, with `:port` when it is not 443."""
        return self.hostname if self.port == HTTPS_PORT else f"{self.hostname}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL for REST calls, e.g. `https://adb-1.2.azuredatabricks.net`."""
        return f"{self.scheme}://{self.display}"


def parse_host(host: str) -> WorkspaceAddress:
    """Parse DATABRICKS_HOST with or without scheme; a path or trailing slash is ignored."""
    text = host.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if not parts.hostname:
        raise TargetError(
            f"DATABRICKS_HOST {text!r} names no host; set it to the workspace URL, "
            "e.g. https://adb-1234567890123456.7.azuredatabricks.net."
        )
    try:
        port = parts.port
    except ValueError:
        raise TargetError(f"DATABRICKS_HOST {text!r} has an invalid port; set it to the workspace URL.") from None
    scheme = parts.scheme or "https"
    return WorkspaceAddress(scheme, parts.hostname, port or (80 if scheme == "http" else HTTPS_PORT))


def warehouse_id_from_http_path(http_path: str) -> str | None:
    """The SQL warehouse id in `/sql/1.0/warehouses/<id>` (or legacy `/endpoints/<id>`); None for clusters."""
    match = _WAREHOUSE_IN_HTTP_PATH.search(http_path.strip())
    return match["id"] if match else None


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


U2M_CLIENT_ID = "dbt-databricks"  # dbt-databricks' public client: the harness shares dbt's cached U2M login
U2M_CACHE = "~/.config/databricks-sdk-py/oauth"  # where databricks-sdk caches a U2M login (one file per host/client)
OAUTH_PROFILE_VALUES = frozenset({"oauth", "oauth-m2m", "oauth-u2m", "external-browser"})


@dataclass(frozen=True)
class Credentials:
    """A personal access token, an OAuth machine-to-machine client (service principal), or an OAuth user
    login (U2M: `auth_type: oauth` without a client secret; a browser login that databricks-sdk caches)."""

    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    user_login: bool = False
    target: str | None = None  # the dbt target the credentials came from, for messages

    @property
    def auth_type(self) -> str:
        if self.token:
            return "pat"
        return "oauth-u2m" if self.user_login else "oauth-m2m"

    @property
    def secrets(self) -> tuple[str | None, str | None]:
        return (self.token, self.client_secret)

    def sdk_settings(self) -> dict[str, Any]:
        """The databricks-sdk `Config` arguments of this auth method (unified auth: `pat`, `oauth-m2m`,
        `external-browser`)."""
        if self.token:
            return {"token": self.token, "auth_type": "pat"}
        if self.user_login:
            return {"client_id": self.client_id or U2M_CLIENT_ID, "auth_type": "external-browser"}
        return {"client_id": self.client_id, "client_secret": self.client_secret, "auth_type": "oauth-m2m"}

    def describe(self) -> str:
        """E.g. ` for target 'prod' (auth oauth-m2m)` (empty without a target), for messages; never a secret."""
        return f" for target '{self.target}' (auth {self.auth_type})" if self.target else ""

    def fix_hint(self) -> str:
        if self.token:
            return (
                "create a new personal access token or check DATABRICKS_TOKEN (it may have expired or "
                "belong to another workspace)"
            )
        if self.user_login:
            return (
                f"log in again as yourself: run `uv run quality doctor{_target_flag(self.target)}` where a browser can "
                f"open (the login is cached under {U2M_CACHE}); in CI use a service principal (DATABRICKS_CLIENT_ID "
                "and DATABRICKS_CLIENT_SECRET) instead"
            )
        return (
            f"check DATABRICKS_CLIENT_ID ({self.client_id}) and DATABRICKS_CLIENT_SECRET of the OAuth "
            "service principal (create a new secret if it expired)"
        )


def _target_flag(target: str | None) -> str:
    return f" --target {target}" if target else ""


def credentials(
    token: str | None,
    client_id: str | None,
    client_secret: str | None,
    host: str,
    *,
    auth_type: str | None = None,
    target: str | None = None,
) -> Credentials:
    """Pick the auth method; refuse an incomplete pair before any request is made.

    A token wins; then a client id and secret (OAuth M2M); then, with the profile's `auth_type: oauth` and no
    secret, the user's browser login (OAuth U2M).
    """
    if token:
        return Credentials(token=token, target=target)
    if client_id and client_secret:
        return Credentials(client_id=client_id, client_secret=client_secret, target=target)
    if auth_type and auth_type.strip().lower() in OAUTH_PROFILE_VALUES:
        return Credentials(client_id=client_id, user_login=True, target=target)
    if client_id:
        raise TargetError(
            f"DATABRICKS_CLIENT_ID is set for {host} but DATABRICKS_CLIENT_SECRET is not: OAuth machine-to-machine "
            "needs both; export the service principal's secret (in CI from the secret store) and run again "
            "(for a login as yourself, OAuth U2M, set the profile's auth_type: oauth without a client secret)."
        )
    raise TargetError(
        f"no Databricks credentials for {host}: set DATABRICKS_TOKEN (a personal access token) or "
        "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (OAuth for a service principal) and run again."
    )


def preflight_databricks(
    host: str,
    http_path: str,
    token: str | None = None,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    auth_type: str | None = None,
    target: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    say: Say = say_on_stderr,
) -> str | None:
    """Return the SQL warehouse's state (e.g. RUNNING; None for a cluster HTTP path) when the workspace answers
    the credentials; raise TargetError (one paragraph) otherwise.

    Waits at most `timeout_s` seconds in total (a hung DNS lookup or a silent host included), telling `say`
    every few seconds that it still waits.
    """
    address = parse_host(host)
    creds = credentials(token, client_id, client_secret, address.display, auth_type=auth_type, target=target)
    check = _Preflight(address, http_path, creds, timeout_s, say)
    check.run()
    return check.warehouse_state


@dataclass
class _Preflight:
    address: WorkspaceAddress
    http_path: str
    creds: Credentials
    timeout_s: float
    say: Say = say_on_stderr
    phase: str = "connect"
    warehouse_state: str | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def warehouse_id(self) -> str | None:
        return warehouse_id_from_http_path(self.http_path)

    def run(self) -> None:
        _import_sdk()  # seconds of imports on a cold start must not count against the network deadline
        deadline = time.monotonic() + self.timeout_s
        worker = threading.Thread(target=self._work, args=(deadline,), name="databricks-preflight", daemon=True)
        worker.start()
        if not wait_with_progress(
            self.done, self.timeout_s, f"the Databricks workspace at {self.address.display}", self.say
        ):
            raise TargetError(self._deadline_message()) from None
        if self.error is not None:
            raise TargetError(self.explain(self.error)) from None

    def _work(self, deadline: float) -> None:
        try:
            open_tcp(self.address, self.timeout_s)
            self.phase = "api"
            self._api_call(max(0.5, deadline - time.monotonic()))
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()

    def _api_call(self, remaining_s: float) -> None:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        settings: dict[str, Any] = {
            "host": self.address.url,
            "http_timeout_seconds": remaining_s,
            "retry_timeout_seconds": max(1, math.floor(remaining_s / 2)),
        }
        settings.update(self.creds.sdk_settings())
        config = Config(**settings)
        client = WorkspaceClient(config=config)
        if self.warehouse_id:
            state = client.warehouses.get(self.warehouse_id).state
            self.warehouse_state = state.value if state is not None else None
        else:
            client.current_user.me()

    # --- messages ----------------------------------------------------------------------------------
    def _deadline_message(self) -> str:
        host, seconds = self.address.display, _seconds(self.timeout_s)
        if self.phase == "api" and self.creds.user_login:
            hint = self.creds.fix_hint()
            return (
                f"the OAuth user login (U2M) to {host}{self.creds.describe()} did not complete within {seconds} s: "
                f"no cached login was usable, so a browser login was started and nobody finished it. "
                f"{hint[:1].upper()}{hint[1:]}."
            )
        if self.phase == "connect":
            return (
                f"cannot reach {host}: no connection within {seconds} s (the name lookup or the TCP connect "
                "hung). Check DATABRICKS_HOST and your network/VPN."
            )
        return (
            f"{host} did not answer within {seconds} s: it accepted the connection but sent no reply in time. "
            "The workspace or a proxy in between is hanging or throttling; check that DATABRICKS_HOST is the "
            "workspace URL and your network/VPN, then retry."
        )

    def explain(self, error: BaseException) -> str:
        """One paragraph for the most telling cause in the error's chain (root network causes first)."""
        causes = list(_chain(error))
        explainers = (self._dns_or_refused, self._api_error, self._tls_or_timeout, self._unreachable, self._oauth_login)
        for explainer in explainers:
            for cause in causes:
                message = explainer(cause)
                if message is not None:
                    return redact(message, *self.creds.secrets)
        return redact(
            f"the preflight check of {self.address.display} failed ({type(error).__name__}: {first_line(error)}). "
            "Check DATABRICKS_HOST, DATABRICKS_HTTP_PATH and the credentials, then retry.",
            *self.creds.secrets,
        )

    def _dns_or_refused(self, error: BaseException) -> str | None:
        host = self.address.display
        if isinstance(error, socket.gaierror):
            return f"cannot reach {host}: the name does not resolve (DNS). Check DATABRICKS_HOST and your network/VPN."
        if isinstance(error, ConnectionRefusedError):
            return (
                f"cannot reach {host}: the connection to port {self.address.port} was refused. "
                "Check DATABRICKS_HOST and your network/VPN."
            )
        return None

    def _api_error(self, error: BaseException) -> str | None:
        from databricks.sdk.errors import DatabricksError

        if not isinstance(error, DatabricksError):
            return None
        host, kind = self.address.display, type(error).__name__
        status = _HTTP_STATUS_BY_ERROR.get(kind)
        detail = f"{f'HTTP {status}' if status else kind}: {first_line(error)}"
        if status in (401, 403):
            access = (
                f" Also check that this identity may use SQL warehouse {self.warehouse_id}."
                if status == 403 and self.warehouse_id
                else ""
            )
            return (
                f"the workspace at {host} refused the credentials ({detail}){self.creds.describe()}: "
                f"{self.creds.fix_hint()}.{access}"
            )
        if status == 404 and self.warehouse_id and error.error_code != "ENDPOINT_NOT_FOUND":
            return (
                f"SQL warehouse {self.warehouse_id} (from DATABRICKS_HTTP_PATH={self.http_path}) was not found on "
                f"{host} ({detail}): copy the HTTP path from the warehouse's Connection details page into "
                "DATABRICKS_HTTP_PATH, and check that DATABRICKS_HOST is the workspace that owns it."
            )
        if status == 429:
            return (
                f"{host} is throttling requests ({detail}) and did not let the check through within "
                f"{_seconds(self.timeout_s)} s: retry later."
            )
        return (
            f"the workspace at {host} answered the preflight check with an error ({detail}): check "
            "DATABRICKS_HOST and DATABRICKS_HTTP_PATH, and the workspace's status, then retry."
        )

    def _tls_or_timeout(self, error: BaseException) -> str | None:
        import requests

        host, seconds = self.address.display, _seconds(self.timeout_s)
        if isinstance(error, requests.exceptions.SSLError):
            return (
                f"the TLS handshake with {host} failed ({first_line(error)}): if a proxy inspects TLS, point "
                "REQUESTS_CA_BUNDLE at its CA certificate; otherwise check DATABRICKS_HOST."
            )
        if isinstance(error, TimeoutError) and self.phase == "connect":
            return f"cannot reach {host}: no connection within {seconds} s. Check DATABRICKS_HOST and your network/VPN."
        if isinstance(error, requests.exceptions.Timeout):
            return f"{host} did not answer within {seconds} s. Check DATABRICKS_HOST and your network/VPN, then retry."
        return None

    def _unreachable(self, error: BaseException) -> str | None:
        import requests

        network = (requests.exceptions.ConnectionError, ConnectionError)
        if isinstance(error, network) or (isinstance(error, OSError) and self.phase == "connect"):
            reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
            return f"cannot reach {self.address.display} ({reason}). Check DATABRICKS_HOST and your network/VPN."
        return None

    def _oauth_login(self, error: BaseException) -> str | None:
        if self.creds.token or not isinstance(error, ValueError) or self.phase != "api":
            return None
        client = self.creds.client_id or U2M_CLIENT_ID
        where = self.creds.describe() or f" (auth {self.creds.auth_type})"
        return (
            f"the workspace at {self.address.display} refused the OAuth login of client {client} "
            f"({first_line(error)}){where}: {self.creds.fix_hint()}."
        )


def _import_sdk() -> None:
    import databricks.sdk
    import databricks.sdk.errors
    import requests

    del databricks, requests


def open_tcp(address: WorkspaceAddress, timeout_s: float) -> None:
    """Open and close one TCP connection: DNS failures and refused ports surface here, at once.

    When HTTPS_PROXY (or ALL_PROXY) applies to the host (NO_PROXY does not exempt it), the clients connect to
    the proxy, never to the host: so does this check.
    """
    with socket.create_connection(https_proxy_for(address) or (address.hostname, address.port), timeout=timeout_s):
        pass


def https_proxy_for(address: WorkspaceAddress) -> tuple[str, int] | None:
    """The (host, port) of the proxy requests would use for the address, as the environment says; None: direct."""
    import requests.utils

    proxies = requests.utils.get_environ_proxies(f"{address.scheme}://{address.hostname}:{address.port}")
    proxy = proxies.get(address.scheme) or proxies.get("all")
    if not proxy:
        return None
    parsed = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not parsed.hostname:
        return None
    return parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then its causes (`raise ... from`) and contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def first_line(error: BaseException) -> str:
    """The first non-blank line of an error's text (without the SDK's `Config: host=...` suffix)."""
    text = _SDK_DEBUG_SUFFIX.sub("", str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _seconds(value: float) -> str:
    return f"{value:g}"
