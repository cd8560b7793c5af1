"""The local endpoint's life: `quality emulator -- COMMAND` runs real clients (dbt debug) and passes the
command's exit code through; bad input ends in one clear message; SIGTERM, a killed endpoint and a killed
parent leave nothing behind and nobody hanging; a kept warehouse outlives the endpoint and has one endpoint
at a time."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from databricks.sql.exc import Error as ConnectorError
from urllib3.exceptions import HTTPError

from quality.commands.emulator import STOP_GRACE_S
from quality.emulator.endpoint import LocalEndpoint
from quality.emulator.routing import may_bind_port_443
from quality.emulator.spark import EmulatorError
from tests.integration.local_databricks import (
    Session,
    command_line,
    connect,
    on_local_endpoint,
    processes_with,
    running_endpoint,
)

pytestmark = on_local_endpoint("local_databricks_lifecycle")

ROOT = Path(__file__).resolve().parents[2]
DBT = str(Path(sys.executable).with_name("dbt"))
T = TypeVar("T")
SLOW_QUERY = "select sum(a.id * b.id) from range(100000) a cross join range(100000) b"  # minutes on Sail


def quality_emulator(
    *arguments: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`quality emulator ARGUMENTS` in a subprocess from the repository root, without DATABRICKS_* of ours."""
    return subprocess.run(
        [sys.executable, "-m", "quality.cli", "emulator", *arguments],
        cwd=ROOT,
        env=env or clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "QUALITY_LOCAL_ENDPOINT"))}


def route_environment(route: str, **variables: str) -> dict[str, str]:
    """`clean_environment()` with QUALITY_ENDPOINT_ROUTE, no proxy variable but `variables`."""
    proxies = {"HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "QUALITY_ENDPOINT_PROXY"}
    kept = {name: value for name, value in clean_environment().items() if name not in proxies}
    return {**kept, "QUALITY_ENDPOINT_ROUTE": route, **variables}


@pytest.fixture
def held_tunnel_port() -> Iterator[tuple[str, int]]:
    """A loopback address and an unprivileged port of it that another socket holds."""
    address = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as holder:
        holder.bind((address, 0))
        holder.listen(1)
        yield address, holder.getsockname()[1]


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def held_address() -> Iterator[str]:
    """A loopback address whose port 443 another socket holds (the port-443 route: a user who may bind it)."""
    if not may_bind_port_443():
        pytest.skip("this user may not bind port 443, so no port-443 route to test (the tunnel's: below)")
    for _ in range(20):
        address = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            holder.bind((address, 443))
        except OSError:
            holder.close()
            continue
        holder.listen(1)
        with closing(holder):
            yield address
        return
    pytest.fail("no free loopback address to hold")


class TestQualityEmulatorCommand:
    @pytest.mark.slow
    def test_dbt_debug_passes_through_the_real_databricks_adapter(self) -> None:
        result = quality_emulator(
            "--ephemeral",
            "--",
            DBT,
            "debug",
            "--project-dir",
            "dbt",
            "--profiles-dir",
            "dbt",
            "--target",
            "local_databricks",
        )

        assert result.returncode == 0, result.stdout + result.stderr
        assert "All checks passed!" in result.stdout
        assert "Connection test: [OK connection ok]" in result.stdout

    def test_the_commands_exit_code_is_returned_and_it_gets_the_endpoints_variables(self) -> None:
        result = quality_emulator("--ephemeral", "--", "sh", "-c", 'echo "child sees $DATABRICKS_HOST"; exit 3')

        assert result.returncode == 3, result.stderr
        [host] = [line.removeprefix("child sees ") for line in result.stdout.splitlines() if line.startswith("child")]
        assert host.startswith("127.")
        assert one_line(result.stdout).startswith(f"local Databricks SQL endpoint at https://{host} (catalog main), ")

    def test_through_the_tunnel_the_command_reaches_port_443_with_https_proxy_and_verification_on(self) -> None:
        probe = (
            "import os, requests; "
            "answer = requests.get(f\"https://{os.environ['DATABRICKS_HOST']}/.well-known/databricks-config\", "
            "timeout=10); print('probe', answer.status_code, os.environ['HTTPS_PROXY'])"
        )

        result = quality_emulator("--ephemeral", "--", sys.executable, "-c", probe, env=route_environment("proxy"))

        assert result.returncode == 0, result.stdout + result.stderr
        [line] = [line for line in result.stdout.splitlines() if line.startswith("probe ")]
        _, status, proxy = line.split()
        assert status == "200"
        assert proxy.startswith("http://127.")
        assert (
            one_line(result.stdout).split(" s, ", 1)[1].startswith(f"reached through its tunnel {proxy} (HTTPS_PROXY)")
        )

    def test_an_unknown_command_is_a_usage_error(self) -> None:
        result = quality_emulator("--ephemeral", "--", "no-such-command-3f9c")

        assert result.returncode == 2
        assert one_line(result.stderr) == (
            "usage error: command not found: no-such-command-3f9c; check its name and your PATH."
        )

    def test_an_address_whose_port_443_is_held_is_exit_1_naming_the_address_and_the_fix(
        self, held_address: str
    ) -> None:
        result = quality_emulator(
            "--ephemeral", "--address", held_address, "--", "true", env=route_environment(route="port443")
        )

        assert result.returncode == 1
        assert one_line(result.stderr) == (
            "error: the local Databricks endpoint stopped while starting (exit 1): the local Databricks endpoint "
            f"cannot listen on {held_address}:443: Address already in use. Pass another loopback address "
            "(127.x.y.z) with --address, or stop what holds that port."
        )
        assert "Traceback" not in result.stderr

    def test_a_taken_tunnel_port_is_exit_1_naming_it_and_the_fix_and_leaves_no_process(
        self, held_tunnel_port: tuple[str, int]
    ) -> None:
        address, port = held_tunnel_port
        marker = f"QUALITY_TEST_MARKER_{uuid.uuid4().hex}"
        environment = route_environment(route="proxy", QUALITY_ENDPOINT_PROXY_PORT=str(port), **{marker: "1"})

        result = quality_emulator("--ephemeral", "--address", address, "--", "true", env=environment)

        assert result.returncode == 1
        assert one_line(result.stderr) == (
            "error: the local Databricks endpoint stopped while starting (exit 1): the local Databricks endpoint's "
            f"tunnel cannot listen on {address}:{port} (Address already in use): set QUALITY_ENDPOINT_PROXY_PORT to "
            "a free port, or unset it to let the system pick one."
        )
        assert processes_with(marker) == []

    def test_a_proxy_of_the_users_is_refused_when_the_tunnel_is_the_route_and_nothing_starts(self) -> None:
        marker = f"QUALITY_TEST_MARKER_{uuid.uuid4().hex}"
        environment = route_environment(route="proxy", HTTPS_PROXY="http://proxy.invalid:3128", **{marker: "1"})

        result = quality_emulator("--ephemeral", "--", "true", env=environment)

        assert result.returncode == 1
        assert one_line(result.stderr).startswith(
            "error: HTTPS_PROXY is set (http://proxy.invalid:3128), and QUALITY_ENDPOINT_ROUTE=proxy, so the local "
            "Databricks endpoint would be reached through a proxy of its own that replaces yours"
        )
        assert "Unset HTTPS_PROXY, https_proxy, ALL_PROXY, all_proxy for this command" in one_line(result.stderr)
        assert "local Databricks SQL endpoint at" not in result.stdout
        assert processes_with(marker) == []

    def test_sigterm_stops_the_command_and_the_endpoint_and_leaves_no_process(self) -> None:
        with emulator_running("sleep", "60") as (process, marker):
            assert commands(processes_with(marker)) == ["python:quality.cli", "python:quality.emulator", "sleep"]
            stopping = time.monotonic()

            process.send_signal(signal.SIGTERM)

            assert process.wait(timeout=30) == 128 + signal.SIGTERM
            assert time.monotonic() - stopping < 5
            assert wait_for(lambda: processes_with(marker), lambda found: not found, timeout=5) == []

    @pytest.mark.slow
    def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(self) -> None:
        with emulator_running("sh", "-c", "trap '' TERM; sleep 60") as (process, marker):
            stopping = time.monotonic()

            process.send_signal(signal.SIGTERM)

            assert process.wait(timeout=60) == 128 + signal.SIGKILL
            assert STOP_GRACE_S <= time.monotonic() - stopping < STOP_GRACE_S + 5
            assert wait_for(lambda: processes_with(marker), lambda found: not found, timeout=5) == []


@contextmanager
def emulator_running(*command: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`quality emulator --ephemeral -- COMMAND` once COMMAND runs; its processes carry the returned marker."""
    marker = f"QUALITY_TEST_{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [sys.executable, "-m", "quality.cli", "emulator", "--ephemeral", "--", *command],
        cwd=ROOT,
        env={**clean_environment(), marker: "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        running = wait_for(lambda: commands(processes_with(marker)), lambda found: "sleep" in found, timeout=60)
        assert "sleep" in running, f"the command did not start: {running}"
        yield process, marker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def commands(pids: list[int]) -> list[str]:
    """What each process runs: `python:<module>` for `python -m <module>`, else the program's name."""
    names = []
    for pid in pids:
        line = command_line(pid)
        if len(line) > 2 and line[1] == "-m":
            names.append(f"python:{line[2]}")
        elif line:
            names.append(Path(line[0]).name)
    return sorted(names)


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float) -> T:
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = probe()
    return value


class TestEndpointProcess:
    def test_a_client_gets_an_error_not_a_hang_when_the_endpoint_dies_mid_statement(self) -> None:
        with (
            running_endpoint() as endpoint,
            closing(connect(endpoint, _socket_timeout=5, _retry_stop_after_attempts_count=1)) as connection,
        ):
            session = Session(connection, "default")
            killer = threading.Timer(1.5, os.kill, (endpoint.ready["pid"], signal.SIGKILL))
            started = time.monotonic()
            killer.start()

            with pytest.raises((ConnectorError, HTTPError)):
                session.query(SLOW_QUERY)

            assert time.monotonic() - started < 30
            assert endpoint.alive() is False

    def test_the_tunnel_stops_with_the_endpoint(self) -> None:
        with LocalEndpoint(route="proxy") as endpoint:
            assert endpoint.proxy_url is not None
            host, port = endpoint.proxy_url.removeprefix("http://").rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=5).close()

        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5)

    def test_the_endpoint_stops_when_the_process_that_started_it_is_killed(self, tmp_path: Path) -> None:
        ready = tmp_path / "endpoint.pid"
        script = (
            "import sys, time\n"
            "from quality.emulator.endpoint import LocalEndpoint\n"
            "endpoint = LocalEndpoint()\n"
            "endpoint.start()\n"
            f"open({str(ready)!r}, 'w').write(str(endpoint.ready['pid']))\n"
            "time.sleep(120)\n"
        )
        parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp_path)})
        try:
            assert wait_for(ready.exists, bool, timeout=60), "the endpoint did not start"
            endpoint_pid = int(ready.read_text())

            parent.kill()
            parent.wait()

            assert wait_for(lambda: alive(endpoint_pid), lambda running: not running, timeout=10) is False
        finally:
            if parent.poll() is None:
                parent.kill()


def alive(pid: int) -> bool:
    """A live (not zombie) process."""
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


class TestKeptWarehouse:
    def test_tables_and_views_are_readable_after_a_restart(self, tmp_path: Path) -> None:
        state = tmp_path / "warehouse"
        with running_endpoint(state_dir=state) as endpoint, closing(connect(endpoint)) as connection:
            first = Session(connection, "kept")
            first.execute("create schema main.kept")
            first.execute("create table main.kept.orders (id bigint, amount decimal(10, 2)) using delta")
            first.execute("insert into main.kept.orders values (1, 9.99), (2, 20.00)")
            first.execute("create view main.kept.big_orders as select id from main.kept.orders where amount > 10")

        with running_endpoint(state_dir=state) as endpoint, closing(connect(endpoint)) as connection:
            again = Session(connection, "kept")

            assert again.query("select id, amount from main.kept.orders order by id") == [
                (1, Decimal("9.99")),
                (2, Decimal("20.00")),
            ]
            assert again.query("select id from main.kept.big_orders") == [(2,)]
            assert again.query(
                "select table_name, table_type from main.information_schema.tables where table_schema = 'kept' "
                "order by table_name"
            ) == [("big_orders", "VIEW"), ("orders", "MANAGED")]

    def test_a_second_endpoint_on_the_same_warehouse_is_refused_naming_the_folder(self, tmp_path: Path) -> None:
        state = tmp_path / "warehouse"
        with LocalEndpoint(state_dir=state):
            second = LocalEndpoint(state_dir=state)

            with pytest.raises(EmulatorError) as caught:
                second.start()

        assert str(caught.value) == (
            f"another local Databricks endpoint is serving the warehouse in {state.resolve()}; stop it (or wait "
            "for its command to end), or use another state folder."
        )
        with LocalEndpoint(state_dir=state) as third:  # the first one's stop released the folder
            assert third.alive()
