"""`DatabricksEngine.open_session`: the SQL session opens under a deadline, says every few seconds that it
waits, and a failure says that the REST API answered but the SQL warehouse did not (issue 10, bounded waits).

The connector is replaced by functions that hang or fail, so each test takes at most ~1-2 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from quality.engines.connectivity import wait_with_progress
from quality.engines.databricks import DatabricksEngine
from quality.errors import TargetError

HOST = "adb-1234567890123456.7.azuredatabricks.net"
HTTP_PATH = "/sql/1.0/warehouses/abc123def456"
TOKEN = "dapi0123456789abcdef0123456789abcdef"  # pragma: allowlist secret


@pytest.fixture
def never() -> Iterator[threading.Event]:
    """An event the hanging connect waits on; set at teardown so the abandoned thread ends."""
    event = threading.Event()
    yield event
    event.set()


def engine_with(connect: Any) -> DatabricksEngine:
    return DatabricksEngine(HOST, HTTP_PATH, "main", token=TOKEN, connect=connect)


class TestDeadline:
    def test_a_hanging_sql_endpoint_is_abandoned_at_the_timeout_with_progress(self, never: threading.Event) -> None:
        said: list[str] = []
        engine = engine_with(lambda **kwargs: never.wait(60))

        started = time.monotonic()
        with pytest.raises(TargetError) as raised:
            engine.open_session(3.0, warehouse_state="RUNNING", say=said.append)
        elapsed = time.monotonic() - started

        assert 3.0 <= elapsed < 4.0
        assert str(raised.value) == (
            f"the Databricks REST API at {HOST} answers, but SQL warehouse abc123def456 (state RUNNING) did not "
            "open a SQL session (no session within 3 s): check that DATABRICKS_HTTP_PATH "
            "(/sql/1.0/warehouses/abc123def456) is the HTTP path on the warehouse's Connection details page, "
            "and the warehouse's state and this identity's permission to use it."
        )
        assert said[0] == f"still waiting for a SQL session on the warehouse at {HOST}: 1 s of 3 s"

    def test_the_deadline_counts_from_the_given_start(self, never: threading.Event) -> None:
        engine = engine_with(lambda **kwargs: never.wait(60))

        started = time.monotonic()
        with pytest.raises(TargetError):
            engine.open_session(2.0, started=started - 1.5, say=lambda _: None)

        assert time.monotonic() - started < 1.5, "0.5 s were left, the floor is 1 s"

    def test_a_stopped_warehouse_is_named_with_the_fix(self, never: threading.Event) -> None:
        engine = engine_with(lambda **kwargs: never.wait(60))

        with pytest.raises(TargetError) as raised:
            engine.open_session(1.0, warehouse_state="STOPPED", say=lambda _: None)

        assert str(raised.value).endswith(
            "SQL warehouse abc123def456 (state STOPPED) did not open a SQL session (no session within 1 s): it is "
            "not running: start it in the workspace (a cold start takes minutes) or raise QUALITY_CONNECT_TIMEOUT, "
            "then retry."
        )


class TestErrors:
    def test_a_connector_error_is_named_without_the_token(self) -> None:
        def failing(**kwargs: Any) -> Any:
            raise RuntimeError(f"HTTP 500 for Bearer {kwargs['access_token']}\nmore lines")

        engine = engine_with(failing)

        with pytest.raises(TargetError) as raised:
            engine.open_session(5.0, say=lambda _: None)

        assert str(raised.value).startswith(
            f"the Databricks REST API at {HOST} answers, but the SQL endpoint at DATABRICKS_HTTP_PATH={HTTP_PATH} "
            "did not open a SQL session (RuntimeError: HTTP 500 for Bearer ***): check that DATABRICKS_HTTP_PATH"
        )

    def test_an_open_session_is_kept_and_used(self) -> None:
        opened: list[dict[str, Any]] = []

        class Connection:
            def close(self) -> None:
                pass

        def connect(**kwargs: Any) -> Connection:
            opened.append(kwargs)
            return Connection()

        engine = engine_with(connect)
        engine.open_session(5.0, say=lambda _: None)
        engine.open_session(5.0, say=lambda _: None)

        assert len(opened) == 1
        assert opened[0]["_retry_stop_after_attempts_duration"] == 300.0


def test_wait_with_progress_reports_every_interval_and_returns_false_at_the_deadline() -> None:
    said: list[str] = []

    assert wait_with_progress(threading.Event(), 3.0, "the moon", said.append) is False

    assert said[:1] == ["still waiting for the moon: 1 s of 3 s"]
    assert all(line.startswith("still waiting for the moon: ") for line in said)
