"""Local fakes of Databricks endpoints for offline tests: everything binds to 127.0.0.1 on a free port.

- `refusing_port()`: a port where connections are refused (nothing listening).
- `silent_server()`: accepts TCP connections and never answers (a hanging host).
- `FakeWorkspace`: the workspace REST API with a route table (`fake.route(method, path, handler)`),
  recorded requests and configurable failures (`fake.fail(401)`, `fake.fail(429, retry_after=1)`).
"""

from tests.fakes.ports import LOOPBACK, SilentServer, refusing_port, silent_server
from tests.fakes.workspace import (
    DEFAULT_TOKEN,
    DEFAULT_WAREHOUSE_ID,
    FakeResponse,
    FakeWorkspace,
    RecordedRequest,
    error_response,
)

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_WAREHOUSE_ID",
    "LOOPBACK",
    "FakeResponse",
    "FakeWorkspace",
    "RecordedRequest",
    "SilentServer",
    "error_response",
    "refusing_port",
    "silent_server",
]
