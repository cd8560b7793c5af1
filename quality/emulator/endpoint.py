"""Start and stop the local Databricks SQL endpoint, and the environment that points clients at it.

`with LocalEndpoint() as endpoint:` runs the endpoint in a process of its own (its own process group,
so stopping it stops everything it started), waits until it listens (bounded), and stops it when the
block ends, on an error too. `endpoint.environment()` holds the standard `DATABRICKS_*` variables and
the CA bundle that makes clients trust its certificate.

`auth` says how the exported variables authenticate: `pat` (DATABRICKS_TOKEN) or `oauth-m2m`
(DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET of the endpoint's service principal, no DATABRICKS_TOKEN).
The endpoint accepts both either way; `auth_stats()` tells which one its clients used (tokens issued per
grant, requests per auth kind). `client_id`/`client_secret` (or QUALITY_ENDPOINT_CLIENT_ID / _SECRET in
the environment) fix the service principal, else it is made at start; they reach the endpoint's process
through its environment, never its command line.

`route` (default QUALITY_ENDPOINT_ROUTE, else `auto`) says how clients reach `<host>:443`: the port itself, or
a CONNECT tunnel when this user may not bind it (`routing.py`); `environment()` then names the tunnel in
HTTPS_PROXY. `proxy_port` (default QUALITY_ENDPOINT_PROXY_PORT, else a free one) is the tunnel's port.

With `state_dir` the warehouse outlives the endpoint (Delta tables and the catalog journal; one endpoint
at a time, guarded by a lock); without, a temporary folder is used and removed at stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout

from quality.emulator.routing import (
    NO_PROXY_VARIABLES,
    PROXY_MARKER,
    USER_PROXY_VARIABLES,
    proxy_port,
    resolve_route,
    route_environment,
)
from quality.emulator.spark import EmulatorError

DEFAULT_CATALOG = "main"
DEFAULT_STATE_DIR = Path(".quality/databricks")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_LOG_TAIL_LINES = 12


@dataclass
class LocalEndpoint:
    catalog: str = DEFAULT_CATALOG
    state_dir: Path | None = None  # None: a throwaway warehouse
    address: str | None = None  # default: a free random 127.x.y.z
    start_timeout_s: float = START_TIMEOUT_S
    auth: Literal["pat", "oauth-m2m"] = "pat"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    oauth_token_ttl_s: int | None = None  # default: the endpoint's (one hour, as Databricks)
    route: Literal["auto", "proxy", "port443"] | None = None  # default: QUALITY_ENDPOINT_ROUTE, else auto
    proxy_port: int | None = None  # default: QUALITY_ENDPOINT_PROXY_PORT, else a free port
    ready: dict[str, Any] = field(init=False, default_factory=dict, repr=False)  # holds the token and secret
    started_in_s: float = field(init=False, default=0.0)
    _process: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _scratch: Path | None = field(init=False, default=None)
    _lock: FileLock | None = field(init=False, default=None)

    def __enter__(self) -> LocalEndpoint:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started_in_s = time.monotonic() - began

    def _start(self) -> None:
        settings = {**os.environ, **({"QUALITY_ENDPOINT_ROUTE": self.route} if self.route else {})}
        route = resolve_route(settings)  # a route that cannot work fails here, before anything starts
        tunnel_port = proxy_port(os.environ) if self.proxy_port is None else self.proxy_port
        self._scratch = Path(tempfile.mkdtemp(prefix="quality-endpoint-"))
        state_dir = self._claim_state_dir() if self.state_dir else self._scratch / "state"
        ready_file, log_file = self._scratch / "ready.json", self._scratch / "endpoint.log"
        command = [sys.executable, "-m", "quality.emulator", "--state-dir", str(state_dir)]
        command += ["--ready-file", str(ready_file), "--catalog", self.catalog]
        command += ["--address", self.address] if self.address else []
        command += ["--persistent"] if self.state_dir else []
        command += ["--parent-pid", str(os.getpid())]
        command += ["--oauth-token-ttl", str(self.oauth_token_ttl_s)] if self.oauth_token_ttl_s else []
        command += ["--route", route, "--proxy-port", str(tunnel_port)]
        environment = {**_without_proxies(os.environ), "TZ": "UTC"}  # SQL warehouses run in UTC
        if self.client_id:
            environment["QUALITY_ENDPOINT_CLIENT_ID"] = self.client_id
        if self.client_secret:
            environment["QUALITY_ENDPOINT_CLIENT_SECRET"] = self.client_secret
        with log_file.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while not ready_file.exists():
            if self._process.poll() is not None:
                raise EmulatorError(
                    f"the local Databricks endpoint stopped while starting (exit {self._process.returncode}): "
                    f"{_tail(log_file)}"
                )
            if time.monotonic() > deadline:
                raise EmulatorError(
                    f"the local Databricks endpoint did not start within {self.start_timeout_s:.0f} s "
                    f"(last output: {_tail(log_file) or 'none'}); the machine may be overloaded, try again."
                )
            time.sleep(0.05)
        self.ready = json.loads(ready_file.read_text())
        if self.ready.get("notice"):
            print(f"quality emulator: {self.ready['notice']}", file=sys.stderr)

    def _claim_state_dir(self) -> Path:
        assert self.state_dir is not None
        state_dir = self.state_dir.resolve()
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(state_dir / ".endpoint.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise EmulatorError(
                f"another local Databricks endpoint is serving the warehouse in {state_dir}; stop it (or wait "
                "for its command to end), or use another state folder."
            ) from None
        self._lock = lock
        return state_dir

    @property
    def host(self) -> str:
        return str(self.ready.get("host", ""))

    @property
    def proxy_url(self) -> str | None:
        """The CONNECT proxy that tunnels `<host>:443` to the endpoint (None: it listens on port 443 itself)."""
        proxy = self.ready.get("proxy")
        return str(proxy) if proxy else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def environment(self) -> dict[str, str]:
        """What a Databricks client needs to use this endpoint: host, path, credentials, catalog and TLS trust.

        The credentials are the PAT (`auth="pat"`) or the service principal's client id and secret
        (`auth="oauth-m2m"`; DATABRICKS_AUTH_TYPE is then the SDK's `oauth-m2m`, and DATABRICKS_TOKEN unset).
        """
        if not self.ready:
            raise EmulatorError("the local Databricks endpoint is not running")
        bundle = str(self.ready["ca_bundle"])
        if self.auth == "oauth-m2m":
            credentials = {
                "DATABRICKS_CLIENT_ID": str(self.ready["client_id"]),
                "DATABRICKS_CLIENT_SECRET": str(self.ready["client_secret"]),
                "DATABRICKS_AUTH_TYPE": "oauth-m2m",  # the SDK's name for OAuth machine-to-machine
            }
        else:
            credentials = {
                "DATABRICKS_TOKEN": str(self.ready["token"]),
                "DATABRICKS_AUTH_TYPE": "pat",  # the SDK's name for a personal access token
            }
        return {
            "DATABRICKS_HOST": self.host,
            "DATABRICKS_HTTP_PATH": str(self.ready["http_path"]),
            **credentials,
            "DBT_CATALOG": str(self.ready["catalog"]),
            "QUALITY_LOCAL_ENDPOINT": self.host,  # tells `activate_for` these variables name a local endpoint
            # Trust its certificate through the standard variables: OpenSSL's defaults (urllib3, the connector),
            # its CA in the file and every root in a hashed directory read on demand (tls.py); requests' bundle.
            "SSL_CERT_FILE": str(Path(bundle).with_name("ca.pem")),
            "SSL_CERT_DIR": str(Path(bundle).with_name("roots")),
            "REQUESTS_CA_BUNDLE": bundle,
            # How to reach <host>:443: HTTPS_PROXY naming the tunnel, or NO_PROXY naming the host.
            **route_environment(self.host, self.proxy_url),
        }

    def auth_stats(self) -> dict[str, Any]:
        """How clients authenticated so far: `tokens_issued` / `tokens_refused` per OAuth grant
        (client_credentials, refresh_token) and `requests_by_auth` per kind (pat, oauth)."""
        if not self.ready:
            raise EmulatorError("the local Databricks endpoint is not running")
        context = ssl.create_default_context(cafile=str(self.ready["ca_bundle"]))
        proxies = {"https": self.proxy_url} if self.proxy_url else {}  # never a proxy of the environment
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies), urllib.request.HTTPSHandler(context=context)
        )
        with opener.open(f"https://{self.host}/_quality/auth-stats", timeout=10) as answer:
            stats: dict[str, Any] = json.loads(answer.read())
        return stats

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            stop_group(process, STOP_TIMEOUT_S)
        elif process is not None:
            signal_group(process, signal.SIGKILL)  # anything it left in its group
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self.ready = {}


def _without_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """The endpoint's process makes no HTTP call: no proxy of the user's, nor another endpoint's tunnel."""
    dropped = {*USER_PROXY_VARIABLES, *NO_PROXY_VARIABLES, PROXY_MARKER}
    return {name: value for name, value in environ.items() if name not in dropped}


def signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    """Signal the process' whole group (it was started with start_new_session), if it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM to the group; SIGKILL when the process has not ended within the grace."""
    signal_group(process, signal.SIGTERM)
    if process.poll() is not None:
        return
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait(timeout=grace_s)


def _tail(log_file: Path) -> str:
    try:
        lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("error:")]
    return (errors[-1].removeprefix("error: ") if errors else " | ".join(lines[-_LOG_TAIL_LINES:])).strip()
