"""The endpoint needs no root: a process that may not bind port 443 starts it and makes a round trip.

As root the child runs under `setpriv` without CAP_NET_BIND_SERVICE (dropped from its bounding and inheritable
sets, so not even root's execve gives it back); as any other user it runs as that user. The child checks that
it may not bind port 443 first, so the test proves what it says (a lowered
`net.ipv4.ip_unprivileged_port_start` would let it bind, and the test then fails rather than pass for the
wrong reason). The round trip is what each client of the endpoint does on port 443: databricks-sql-connector
(SEA: session, statement, Arrow result), dbt-databricks' host probe (`requests.get` of
`/.well-known/databricks-config`) and the Databricks SDK (`current_user.me()`), TLS verification on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.local_databricks import on_local_endpoint

pytestmark = on_local_endpoint("local_databricks_no_root")

ROOT = Path(__file__).resolve().parents[2]
ROUND_TRIP = """
import json, os, socket
from contextlib import closing

import requests
from databricks import sql
from databricks.sdk import WorkspaceClient

from quality.emulator.endpoint import LocalEndpoint
from quality.emulator.routing import may_bind_port_443

outcome = {"may_bind_port_443": may_bind_port_443()}
with LocalEndpoint() as endpoint:
    os.environ.update(endpoint.environment())
    outcome["proxy"] = endpoint.proxy_url
    outcome["https_proxy"] = os.environ["HTTPS_PROXY"]
    connection = sql.connect(
        server_hostname=endpoint.host, http_path=endpoint.ready["http_path"], access_token=endpoint.ready["token"],
        use_sea=True, enable_telemetry=False,
    )
    with closing(connection), closing(connection.cursor()) as cursor:
        cursor.execute("select 40 + 2 as answer, current_catalog() as catalog")
        outcome["rows"] = [list(row) for row in cursor.fetchall()]
    probe = requests.get(f"https://{endpoint.host}/.well-known/databricks-config", timeout=10)
    outcome["probe"] = [probe.status_code, probe.json()["host_type"]]
    outcome["me"] = WorkspaceClient().current_user.me().user_name
print("OUTCOME " + json.dumps(outcome))
"""


def without_port_443(command: list[str]) -> list[str]:
    """The command as a process that may not bind port 443 (this user's, or root's without the capability)."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root needs `setpriv` (util-linux) to drop CAP_NET_BIND_SERVICE for this test")
    return [setpriv, "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service", *command]


def test_a_process_that_may_not_bind_port_443_starts_the_endpoint_and_makes_a_round_trip() -> None:
    drop = ("DATABRICKS_", "QUALITY_LOCAL_ENDPOINT", "QUALITY_ENDPOINT_", "HTTPS_PROXY", "https_proxy")
    environment = {name: value for name, value in os.environ.items() if not name.startswith(drop)}
    environment["QUALITY_ENDPOINT_ROUTE"] = "auto"  # the default, as `uv run pytest` gets it

    result = subprocess.run(
        without_port_443([sys.executable, "-c", ROUND_TRIP]),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("OUTCOME ")]
    outcome = json.loads(line.removeprefix("OUTCOME "))
    assert outcome["may_bind_port_443"] is False
    assert outcome["proxy"].startswith("http://127.")
    assert outcome["https_proxy"] == outcome["proxy"]
    assert outcome["rows"] == [[42, "main"]]
    assert outcome["probe"] == [200, "workspace"]
    assert outcome["me"]
