"""Helpers for the tests that run against the local Databricks SQL endpoint (`quality.emulator`).

`running_endpoint()` starts one and points this process' TLS trust (SSL_CERT_FILE, SSL_CERT_DIR,
REQUESTS_CA_BUNDLE) at its CA and its route (HTTPS_PROXY naming its tunnel, or NO_PROXY naming its host:
`routed()`), as `quality emulator` does for its command; `connect()` opens a databricks-sql-connector
session on it the way dbt-databricks does with the `local_databricks` profile (SEA, no telemetry).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from databricks import sql as databricks_sql

from quality.emulator.endpoint import LocalEndpoint
from quality.emulator.routing import ROUTE_VARIABLES, resolve_route
from quality.emulator.spark import EmulatorError

TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
# How a skip for want of the endpoint begins: `.ci/run` fails the run when any test skipped with it.
ENDPOINT_SKIP_REASON = "the local Databricks endpoint cannot run here"
CONNECTION_PARAMETERS = {"use_sea": True, "enable_telemetry": False}  # as profiles.yml's local_databricks


@contextmanager
def running_endpoint(*, state_dir: Path | None = None, all_variables: bool = False) -> Iterator[LocalEndpoint]:
    """A started endpoint; this process trusts its certificate (and, with all_variables, has its DATABRICKS_*)."""
    with LocalEndpoint(state_dir=state_dir) as endpoint, pytest.MonkeyPatch.context() as patch:
        for name, value in endpoint.environment().items():
            if all_variables or name in TRUST_VARIABLES or name in ROUTE_VARIABLES:
                patch.setenv(name, value)
        yield endpoint


@contextmanager
def routed(endpoint: LocalEndpoint) -> Iterator[LocalEndpoint]:
    """This process reaches the endpoint's `<host>:443` (through its tunnel when it has one) for the block."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in endpoint.environment().items():
            if name in ROUTE_VARIABLES:
                patch.setenv(name, value)
        yield endpoint


def connect(endpoint: LocalEndpoint, **overrides: Any) -> Any:
    """A databricks-sql-connector connection to the endpoint (keyword arguments override the defaults)."""
    arguments: dict[str, Any] = {
        "server_hostname": endpoint.host,
        "http_path": endpoint.ready["http_path"],
        "access_token": endpoint.ready["token"],
        **CONNECTION_PARAMETERS,
        **overrides,
    }
    return databricks_sql.connect(**arguments)


def state_folder(endpoint: LocalEndpoint) -> Path:
    """The endpoint's warehouse folder (Delta tables under spark-warehouse/, the TLS files under tls/)."""
    return Path(endpoint.ready["ca_bundle"]).parents[1]


@dataclass
class Session:
    """One connector session and a schema of the test's own in the endpoint's catalog."""

    connection: Any
    schema: str

    def query(self, statement: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with closing(self.connection.cursor()) as cursor:
            cursor.execute(statement, parameters)
            return [tuple(row) for row in cursor.fetchall()]

    def execute(self, statement: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> None:
        with closing(self.connection.cursor()) as cursor:
            cursor.execute(statement, parameters)

    def description(self, statement: str) -> list[tuple[Any, ...]]:
        with closing(self.connection.cursor()) as cursor:
            cursor.execute(statement)
            cursor.fetchall()
            return [tuple(column) for column in cursor.description]

    def ref(self, name: str) -> str:
        return f"main.{self.schema}.{name}"


def unique_schema(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (descendants inherit it; a zombie shows none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker.encode() in environment:
            found.append(int(entry.name))
    return sorted(found)


def command_line(pid: int) -> list[str]:
    try:
        return [part.decode() for part in (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0") if part]
    except OSError:
        return []


def _endpoint_unavailable() -> str | None:
    """Why no endpoint can start in this environment (QUALITY_ENDPOINT_ROUTE, proxy variables), or None."""
    try:
        resolve_route(os.environ)
    except EmulatorError as error:
        return f"{ENDPOINT_SKIP_REASON}: {error}"
    return None


# Every module that starts the local Databricks endpoint carries this mark. As any user it runs (through the
# endpoint's CONNECT tunnel when port 443 is not this user's); it skips only when the environment rules both
# routes out, and `.ci/run` fails on such a skip.
_UNAVAILABLE = _endpoint_unavailable()
needs_local_endpoint = pytest.mark.skipif(_UNAVAILABLE is not None, reason=_UNAVAILABLE or "")


def on_local_endpoint(group: str, *, slow: bool = False) -> list[pytest.MarkDecorator]:
    """The `pytestmark` of a module whose tests start the local endpoint: skipped only where it cannot run,
    integration (slow too, for a whole gate or build), and one xdist group, so that under `--dist loadgroup`
    one worker runs the module and starts its endpoint once."""
    return [
        needs_local_endpoint,
        pytest.mark.integration,
        *([pytest.mark.slow] if slow else []),
        pytest.mark.xdist_group(group),
    ]
