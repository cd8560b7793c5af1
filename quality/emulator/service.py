"""The endpoint's own process: Sail, the statement layer and the HTTPS server, until SIGTERM or SIGINT.

It listens on a loopback address of its own (127.x.y.z; an address per endpoint lets several run side by
side). dbt-databricks and the Databricks SDK call `https://<host>/...` on port 443 whatever port the SQL
connector is given, so clients must reach `<host>:443`: with the `port443` route it listens there (root or
CAP_NET_BIND_SERVICE, or `sysctl net.ipv4.ip_unprivileged_port_start=443`); with the `proxy` route it listens
on a free port and a CONNECT proxy on the same address tunnels `<host>:443` to it (`routing.py`, `tunnel.py`).

When it listens, it writes what clients need (host, HTTP path, token, catalog, CA bundle, the OAuth
service principal's client id and secret, and the route: the proxy's URL or none) as JSON to the ready file (mode 0600), atomically; the parent
(`endpoint.py`) waits for that file. The service principal is QUALITY_ENDPOINT_CLIENT_ID /
QUALITY_ENDPOINT_CLIENT_SECRET when set (in this process' environment, never on its command line), else
made at start.
"""

from __future__ import annotations

import errno
import json
import os
import random
import secrets
import shutil
import signal
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from quality.emulator.catalog_journal import CatalogJournal
from quality.emulator.oauth import DEFAULT_TOKEN_TTL_S, OAuthServer, new_client_secret
from quality.emulator.routing import PORT, PROXY_PORT_VARIABLE, ROUTE_VARIABLE
from quality.emulator.server import EndpointServer, EndpointState
from quality.emulator.spark import EmulatorError, SparkSql
from quality.emulator.statements import StatementTranslator
from quality.emulator.tls import make_tls_files
from quality.emulator.tunnel import ConnectProxy, endpoint_route

_ADDRESS_TRIES = 20
PARENT_POLL_S = 0.5
CATALOG_JOURNAL = "_catalog.json"


@dataclass
class Listener:
    """The endpoint's HTTPS server on its address, and the CONNECT proxy in front of it (proxy route only)."""

    server: EndpointServer
    host: str
    proxy: ConnectProxy | None = None

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        self.server.server_close()


def serve(
    state_dir: Path,
    catalog: str,
    ready_file: Path,
    *,
    address: str | None,
    persistent: bool,
    parent_pid: int | None = None,
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S,
    route: str = "port443",
    proxy_port: int = 0,
) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(state_dir)  # Sail writes managed tables under ./spark-warehouse
    spark = SparkSql(catalog)
    spark.start()
    try:
        journal = CatalogJournal(state_dir / CATALOG_JOURNAL) if persistent else None
        translator = StatementTranslator(spark, catalog, journal)
        translator.restore()
        token, warehouse_id = f"local-{secrets.token_hex(16)}", secrets.token_hex(8)
        oauth = OAuthServer(
            client_id=os.environ.get("QUALITY_ENDPOINT_CLIENT_ID") or str(uuid.uuid4()),
            client_secret=os.environ.get("QUALITY_ENDPOINT_CLIENT_SECRET") or new_client_secret(),
            token_ttl_s=token_ttl_s,
        )
        state = EndpointState(token, warehouse_id, translator.run, oauth=oauth)
        listener = _bind(state, state_dir / "tls", address, route, proxy_port)
        ready: dict[str, object] = {
            "host": listener.host,
            "http_path": f"/sql/1.0/warehouses/{warehouse_id}",
            "token": token,
        }
        ready |= {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
        ready |= {"u2m_refresh_token": oauth.refresh_token, "catalog": catalog}
        ready |= {"ca_bundle": str((state_dir / "tls" / "ca-bundle.pem").resolve()), "pid": os.getpid()}
        ready |= {"port": listener.server.server_address[1], "proxy": listener.proxy.url if listener.proxy else None}
        ready |= {"notice": translator.notice}  # e.g. an atomic block rolled back at start
        _run_until_stopped(listener, ready_file, ready, parent_pid)
    finally:
        spark.stop()
    if parent_pid is not None and os.getppid() != parent_pid:
        shutil.rmtree(ready_file.parent, ignore_errors=True)  # its parent died: nobody else will remove it
    return 0


def _run_until_stopped(listener: Listener, ready_file: Path, ready: dict[str, object], parent_pid: int | None) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=listener.server.serve_forever, name="databricks-endpoint", daemon=True)
    thread.start()
    if listener.proxy is not None:
        listener.proxy.start()
    if parent_pid is not None:  # never outlive the process that started it (even if that one was SIGKILLed)
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), name="parent-watch", daemon=True).start()
    _write_ready(ready_file, ready)
    stop.wait()
    listener.server.shutdown()
    listener.close()


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while not stop.wait(PARENT_POLL_S):
        if os.getppid() != parent_pid:
            stop.set()


def _bind(state: EndpointState, tls_dir: Path, address: str | None, route: str, proxy_port: int) -> Listener:
    last_error: OSError | None = None
    port = PORT if route == "port443" else 0
    for candidate in [address] if address else _random_loopback_addresses():
        tls = make_tls_files(tls_dir, candidate)
        try:
            server = EndpointServer((candidate, port), state, tls)
        except OSError as error:
            last_error = error
            if error.errno == errno.EACCES:
                raise EmulatorError(
                    f"the local Databricks endpoint cannot listen on port {PORT} ({error.strerror}): "
                    f"{ROUTE_VARIABLE}=port443 needs root, CAP_NET_BIND_SERVICE for Python, or "
                    f"`sysctl net.ipv4.ip_unprivileged_port_start={PORT}`; {ROUTE_VARIABLE}=auto (the default) "
                    "or proxy reaches it through a CONNECT tunnel on a free port instead."
                ) from None
            if error.errno == errno.EADDRINUSE and not address:
                continue
            raise EmulatorError(
                f"the local Databricks endpoint cannot listen on {candidate}:{port}: {error.strerror}. "
                "Pass another loopback address (127.x.y.z) with --address, or stop what holds that port."
            ) from None
        if route == "port443":
            return Listener(server, candidate)
        return Listener(server, candidate, _proxy_for(server, candidate, proxy_port))
    raise EmulatorError(f"no free loopback address for the local Databricks endpoint ({last_error})")


def _proxy_for(server: EndpointServer, host: str, proxy_port: int) -> ConnectProxy:
    """The CONNECT proxy that tunnels `host:443` to the server; a taken port is the user's to change."""
    try:
        return ConnectProxy((host, proxy_port), endpoint_route(host, server.server_address[1]))
    except OSError as error:
        server.server_close()
        raise EmulatorError(
            f"the local Databricks endpoint's tunnel cannot listen on {host}:{proxy_port} ({error.strerror}): "
            f"set {PROXY_PORT_VARIABLE} to a free port, or unset it to let the system pick one."
        ) from None


def _random_loopback_addresses() -> list[str]:
    rng = random.SystemRandom()
    return [f"127.{rng.randint(1, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}" for _ in range(_ADDRESS_TRIES)]


def _write_ready(path: Path, payload: dict[str, object]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".ready-")
    with os.fdopen(handle, "w") as file:
        json.dump(payload, file)
    os.chmod(temporary, 0o600)  # it holds the endpoint's token and client secret
    os.replace(temporary, path)
