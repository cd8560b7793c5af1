"""Bounded waits (issue 10): `quality gate --target dev`, `quality doctor --target dev` and the prod smoke suite
(`pytest -m prod_smoke --dbt-target dev`) with QUALITY_CONNECT_TIMEOUT=5 end within 15 s, exit 1 with one clear paragraph and say that they wait, for a
refused port, a host that accepts TCP and never answers, and a workspace whose REST API answers while its
SQL endpoint fails (a TLS mismatch, HTTP 500) or hangs.

Before: the last case took 246 s (gate) and over 300 s (doctor): the connector retried the session open for
its whole retry budget, and doctor's connection check never opened a session, so `dbt debug` waited instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest

from quality.emulator.tls import make_tls_files
from tests.fakes import DEFAULT_TOKEN, DEFAULT_WAREHOUSE_ID, FakeWorkspace, refusing_port, silent_server
from tests.fakes.workspace import FakeResponse, RecordedRequest, error_response

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BOUND_S = 15.0  # QUALITY_CONNECT_TIMEOUT=5 plus 10 s
HTTP_PATH = f"/sql/1.0/warehouses/{DEFAULT_WAREHOUSE_ID}"
THRIFT_ROUTE = "/sql/1.0/warehouses/{id}"  # the dev target's connector speaks Thrift over HTTPS to the HTTP path
REST_ANSWERS = "answers, but SQL warehouse abc123def456 (state RUNNING) did not open a SQL session"
HTTP_PATH_FIX = "check that DATABRICKS_HTTP_PATH (/sql/1.0/warehouses/abc123def456) is the HTTP path"


@dataclass
class Case:
    """Where DATABRICKS_HOST points, extra environment, and what the one paragraph must say."""

    host: str
    phrases: tuple[str, ...]
    waits: bool  # whether it must say, while waiting, that it still waits
    env: dict[str, str] = field(default_factory=dict)
    sql_requests: Callable[[], int] | None = None  # how many session opens the SQL endpoint received


@contextmanager
def refused(tmp_path: Path) -> Iterator[Case]:
    with refusing_port() as port:
        yield Case(
            f"http://127.0.0.1:{port}",
            (f"cannot reach 127.0.0.1:{port}: the connection to port {port} was refused.", "DATABRICKS_HOST"),
            waits=False,
        )


@contextmanager
def hanging(tmp_path: Path) -> Iterator[Case]:
    with silent_server() as server:
        yield Case(
            server.url,
            (f"127.0.0.1:{server.port} did not answer within 5 s: it accepted the connection but sent no reply",),
            waits=True,
        )


@contextmanager
def rest_ok_sql_speaks_no_tls(tmp_path: Path) -> Iterator[Case]:
    """The REST API answers over plain HTTP; the connector's TLS handshake on the same port fails (retried)."""
    with FakeWorkspace() as fake:
        yield Case(fake.url, (f"127.0.0.1:{fake.port} {REST_ANSWERS} (no session within 5 s)", HTTP_PATH_FIX), True)


@contextmanager
def tls_workspace(tmp_path: Path, sql: Callable[[RecordedRequest], FakeResponse]) -> Iterator[Case]:
    tls = make_tls_files(tmp_path / "tls", "127.0.0.1")
    with FakeWorkspace(tls=tls) as fake:
        fake.route("POST", THRIFT_ROUTE, sql)
        trust = {"SSL_CERT_FILE": str(tls.ca_bundle), "REQUESTS_CA_BUNDLE": str(tls.ca_bundle)}
        phrases = (f"127.0.0.1:{fake.port} {REST_ANSWERS}", HTTP_PATH_FIX)
        yield Case(fake.url, phrases, True, trust, lambda: len(fake.calls("POST", HTTP_PATH)))


@contextmanager
def rest_ok_sql_500(tmp_path: Path) -> Iterator[Case]:
    with tls_workspace(tmp_path, lambda request: error_response(500, "SQL gateway down")) as case:
        yield case


@contextmanager
def rest_ok_sql_hangs(tmp_path: Path) -> Iterator[Case]:
    release = threading.Event()

    def hang(request: RecordedRequest) -> FakeResponse:
        release.wait(60)
        return error_response(503, "released")

    try:
        with tls_workspace(tmp_path, hang) as case:
            yield case
    finally:
        release.set()


SCENARIOS: dict[str, Callable[[Path], AbstractContextManager[Case]]] = {
    "refused port": refused,
    "hanging host": hanging,
    "REST answers, SQL endpoint speaks no TLS": rest_ok_sql_speaks_no_tls,
    "REST answers, SQL endpoint answers 500": rest_ok_sql_500,
    "REST answers, SQL endpoint hangs": rest_ok_sql_hangs,
}


def run_quality(command: str, case: Case, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "QUALITY_"))},
        **case.env,
        "HOME": str(tmp_path),
        "COLUMNS": "4000",  # doctor's table keeps each detail on one line
        "DATABRICKS_HOST": case.host,
        "DATABRICKS_HTTP_PATH": HTTP_PATH,
        "DATABRICKS_TOKEN": DEFAULT_TOKEN,
        "DBT_CATALOG": "main",
        "QUALITY_CONNECT_TIMEOUT": "5",
    }
    if command == "smoke":
        # The deployed job's last step: every smoke check shares the session's one read-only connection.
        args = ["-m", "pytest", "tests/smoke", "-m", "prod_smoke", "--dbt-target", "dev", "-p", "no:cacheprovider"]
        args += ["-p", "no:randomly", "-q", "--no-header", "-o", "addopts=", "--runs-dir", str(tmp_path / "runs")]
        args += ["--junitxml", str(tmp_path / "smoke.xml")]
    else:
        extra = ["--artifacts-dir", str(tmp_path / "runs")] if command == "gate" else []
        args = ["-m", "quality.cli", command, "--target", "dev", *extra]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    if command == "smoke":
        # The checks' own time (the connection wait is in the first one's set-up), without the interpreter's
        # start and the collection, which a loaded 2-core runner can stretch past the bound by themselves.
        cases = ElementTree.parse(tmp_path / "smoke.xml").getroot().iter("testcase")
        elapsed = sum(float(case.get("time", "nan")) for case in cases)
    return result, elapsed


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("command", ["gate", "doctor", "smoke"])
def test_fails_within_the_timeout_plus_10_s_with_one_clear_paragraph(
    command: str, scenario: str, tmp_path: Path
) -> None:
    with SCENARIOS[scenario](tmp_path) as case:
        result, elapsed = run_quality(command, case, tmp_path)

    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert elapsed < BOUND_S, f"{command} took {elapsed:.1f} s: {output}"
    for phrase in case.phrases:
        assert phrase in output, output
    if case.waits and command != "smoke":  # pytest captures the smoke's progress lines
        assert "still waiting for " in result.stderr, output
    if case.sql_requests is not None:
        assert case.sql_requests() >= 1, f"the SQL endpoint was never asked for a session: {output}"
    assert DEFAULT_TOKEN not in output
    assert "Traceback" not in output
    if command == "doctor":
        assert "dbt debug" not in output, "doctor stops at the failed connection"
