"""The endpoint's own process: Sail, the statement layer and the HTTPS server, until SIGTERM or SIGINT.

It listens on port 443 of a loopback address of its own (127.x.y.z): dbt-databricks and the Databricks
SDK call `https://<host>/...` on port 443 whatever port the SQL connector is given, so only 443 serves
every client unchanged, and an address per endpoint lets several run side by side. Binding 443 needs
root or CAP_NET_BIND_SERVICE (or `sysctl net.ipv4.ip_unprivileged_port_start=443`).

When it listens, it writes what clients need (host, HTTP path, token, catalog, CA bundle, and the OAuth
service principal's client id and secret) as JSON to the ready file (mode 0600), atomically; the parent
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
from pathlib import Path
from types import FrameType

from quality.emulator.catalog_journal import CatalogJournal
from quality.emulator.oauth import DEFAULT_TOKEN_TTL_S, OAuthServer, new_client_secret
from quality.emulator.server import EndpointServer, EndpointState
from quality.emulator.spark import EmulatorError, SparkSql
from quality.emulator.statements import StatementTranslator
from quality.emulator.tls import make_tls_files

PORT = 443
_ADDRESS_TRIES = 20
PARENT_POLL_S = 0.5
CATALOG_JOURNAL = "_catalog.json"


def serve(
    state_dir: Path,
    catalog: str,
    ready_file: Path,
    *,
    address: str | None,
    persistent: bool,
    parent_pid: int | None = None,
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S,
) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(state_dir)  # Sail writes managed tables under ./spark-warehouse
    spark = SparkSql(catalog)
    spark.start()
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
    server, host = _bind(state, state_dir / "tls", address)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="databricks-endpoint", daemon=True)
    thread.start()
    if parent_pid is not None:  # never outlive the process that started it (even if that one was SIGKILLed)
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), name="parent-watch", daemon=True).start()
    _write_ready(
        ready_file,
        {
            "host": host,
            "http_path": f"/sql/1.0/warehouses/{warehouse_id}",
            "token": token,
            "client_id": oauth.client_id,
            "client_secret": oauth.client_secret,
            "u2m_refresh_token": oauth.refresh_token,
            "catalog": catalog,
            "ca_bundle": str((state_dir / "tls" / "ca-bundle.pem").resolve()),
            "pid": os.getpid(),
            "notice": translator.notice,  # e.g. an atomic block rolled back at start
        },
    )
    stop.wait()
    server.shutdown()
    server.server_close()
    spark.stop()
    if parent_pid is not None and os.getppid() != parent_pid:
        shutil.rmtree(ready_file.parent, ignore_errors=True)  # its parent died: nobody else will remove it
    return 0


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while not stop.wait(PARENT_POLL_S):
        if os.getppid() != parent_pid:
            stop.set()


def _bind(state: EndpointState, tls_dir: Path, address: str | None) -> tuple[EndpointServer, str]:
    last_error: OSError | None = None
    for candidate in [address] if address else _random_loopback_addresses():
        tls = make_tls_files(tls_dir, candidate)
        try:
            return EndpointServer((candidate, PORT), state, tls), candidate
        except OSError as error:
            last_error = error
            if error.errno == errno.EACCES:
                raise EmulatorError(
                    f"the local Databricks endpoint must listen on port {PORT} (dbt-databricks and the "
                    f"Databricks SDK always call https://<host>:{PORT}), and this user may not bind it "
                    f"({error.strerror}). Run as root, grant CAP_NET_BIND_SERVICE to Python, or lower the "
                    f"limit with `sysctl net.ipv4.ip_unprivileged_port_start={PORT}`."
                ) from None
            if error.errno == errno.EADDRINUSE and not address:
                continue
            raise EmulatorError(
                f"the local Databricks endpoint cannot listen on {candidate}:{PORT}: {error.strerror}. "
                "Pass another loopback address (127.x.y.z) with --address, or stop what holds that port."
            ) from None
    raise EmulatorError(f"no free loopback address for the local Databricks endpoint ({last_error})")


def _random_loopback_addresses() -> list[str]:
    rng = random.SystemRandom()
    return [f"127.{rng.randint(1, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}" for _ in range(_ADDRESS_TRIES)]


def _write_ready(path: Path, payload: dict[str, object]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".ready-")
    with os.fdopen(handle, "w") as file:
        json.dump(payload, file)
    os.chmod(temporary, 0o600)  # it holds the endpoint's token and client secret
    os.replace(temporary, path)
