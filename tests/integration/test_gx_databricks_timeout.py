"""GX's Databricks data source tests its connection when it is added; against a warehouse that never
answers it must give up within the harness's bound and say so without leaking the token."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

import quality.expectations.gx_context as gx_context
from quality.errors import TargetError

pytestmark = pytest.mark.integration

TOKEN = "dapi-not-a-real-token-0123456789"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A 127.0.0.1 port that accepts TCP connections and never answers (a hung warehouse)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for connection in accepted:
        connection.close()


def test_unanswering_warehouse_is_a_target_error_within_the_bound(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gx_context, "DATABRICKS_CONNECT_TIMEOUT_S", 2.0)
    context = gx_context.ephemeral_context(None)
    url = f"databricks://token:{TOKEN}@127.0.0.1:{silent_server}?http_path=/sql/1.0/warehouses/abc&catalog=ci&schema=x"

    with pytest.raises(TargetError) as caught:
        gx_context.add_datasource(context, url)

    message = str(caught.value)
    assert message.startswith("GX could not reach the Databricks SQL warehouse at 127.0.0.1 within 2 s (")
    assert "max retry duration of 2.0 seconds" in message
    assert TOKEN not in message
    assert caught.value.__cause__ is None


def test_quality_connect_timeout_bounds_the_data_source_too(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUALITY_CONNECT_TIMEOUT", "2")
    context = gx_context.ephemeral_context(None)
    url = f"databricks://token:{TOKEN}@127.0.0.1:{silent_server}?http_path=/sql/1.0/warehouses/abc&catalog=ci&schema=x"

    started = time.monotonic()
    with pytest.raises(TargetError) as caught:
        gx_context.add_datasource(context, url)

    assert time.monotonic() - started < 12.0
    assert str(caught.value).startswith("GX could not reach the Databricks SQL warehouse at 127.0.0.1 within 2 s (")
