"""The local Databricks SQL endpoint: the Statement Execution API over HTTPS, on Spark SQL.

Routes (what databricks-sql-connector 4.x sends with `use_sea=True`, and the REST calls of the SDK):
  POST   /api/2.0/sql/sessions                        -> {session_id}
  DELETE /api/2.0/sql/sessions/{id}
  POST   /api/2.0/sql/statements                      -> runs; answers inline within `wait_timeout`
  GET    /api/2.0/sql/statements/{id}                 -> state, then manifest and result
  POST   /api/2.0/sql/statements/{id}/cancel
  DELETE /api/2.0/sql/statements/{id}
  GET    /api/2.0/sql/statements/{id}/result/chunks/0
  GET    /api/2.0/sql/warehouses/{id}                 -> a RUNNING warehouse (the harness' preflight)
  GET    /api/2.0/preview/scim/v2/Me                  -> the token's user
  GET    /.well-known/databricks-config               -> a workspace that is not a unified (SPOG) host
  GET    /oidc/.well-known/oauth-authorization-server -> OIDC discovery (`quality.emulator.oauth`)
  POST   /oidc/v1/token                               -> OAuth access tokens (M2M client credentials, U2M refresh)
  GET    /_quality/auth-stats                         -> not Databricks: tokens issued, requests per auth kind
A SQL error is HTTP 200 with `status.state = FAILED` and `status.error`, as on Databricks; a wrong token
is HTTP 401 with Databricks' error body. Every API route takes the endpoint's PAT or an OAuth access token
that its OAuth server issued (and has not expired) as `Authorization: Bearer ...`.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa

from quality.emulator import wire
from quality.emulator.oauth import OAuthServer
from quality.emulator.parameters import Parameter
from quality.emulator.spark import SparkSqlError
from quality.emulator.tls import TlsFiles

StatementRunner = Callable[[str, Sequence[Parameter]], pa.Table]
_WAIT = re.compile(r"^(\d+)s$")
_MAX_WORKERS = 16


@dataclass
class Statement:
    id: str
    result_format: str
    future: Future[pa.Table]
    canceled: bool = False

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"statement_id": self.id}
        if self.canceled:
            return {**body, "status": {"state": "CANCELED"}}
        if not self.future.done():
            return {**body, "status": {"state": "RUNNING"}}
        error = self.future.exception()
        if isinstance(error, SparkSqlError):
            return {**body, "status": _failed(error)}
        if error is not None:
            internal = SparkSqlError(f"INTERNAL_ERROR: {type(error).__name__}: {error}", "INTERNAL_ERROR", "XX000")
            return {**body, "status": _failed(internal)}
        table = self.future.result()
        return {
            **body,
            "status": {"state": "SUCCEEDED"},
            "manifest": wire.manifest(table, self.result_format),
            "result": wire.result(table, self.result_format),
        }


def _failed(error: SparkSqlError) -> dict[str, Any]:
    status: dict[str, Any] = {
        "state": "FAILED",
        "error": {"error_code": "BAD_REQUEST", "message": error.message},
    }
    if error.sql_state:
        status["sql_state"] = error.sql_state
    return status


@dataclass
class EndpointState:
    token: str
    warehouse_id: str
    run_statement: StatementRunner
    oauth: OAuthServer | None = None
    sessions: set[str] = field(default_factory=set)
    statements: dict[str, Statement] = field(default_factory=dict)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(_MAX_WORKERS, "statement"))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, sql: str, parameters: Sequence[Parameter], result_format: str) -> Statement:
        future = self.executor.submit(self.run_statement, sql, parameters)
        statement = Statement(str(uuid.uuid4()), result_format, future)
        with self.lock:
            self.statements[statement.id] = statement
        return statement

    def statement(self, statement_id: str) -> Statement | None:
        with self.lock:
            return self.statements.get(statement_id)


class _Handler(BaseHTTPRequestHandler):
    server: EndpointServer
    protocol_version = "HTTP/1.1"
    # No Nagle: an answer goes out as two TLS records (head, then body), and with Nagle the second waited for
    # the client's delayed ACK of the first, 40 ms per answer on Linux: ~90 ms per statement (execute, close).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # requests are not logged: they carry SQL
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        raw = self._raw_body()
        body = _json_object(raw)
        host = self.headers.get("Host", "localhost")
        if path == "/.well-known/databricks-config":  # host discovery (SDK, dbt-databricks): a plain workspace
            return self._json(
                200, {"host_type": "workspace", "oidc_endpoint": f"https://{host}/oidc", "workspace_id": "1"}
            )
        oauth = self.server.state.oauth
        if path.startswith("/oidc/") or path == "/_quality/auth-stats":
            return self._oauth(method, path, host, raw, oauth)
        if not self._authorized():
            return self._error(401, "UNAUTHENTICATED", "Invalid access token.")
        for route_method, pattern, handler in _ROUTES:
            if route_method == method and (match := pattern.fullmatch(path)):
                return handler(self, body, *match.groups())
        return self._error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _raw_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorized(self) -> bool:
        """The PAT, or an access token of the OAuth server; each request counted by the kind that passed."""
        header = self.headers.get("Authorization", "")
        state = self.server.state
        if hmac.compare_digest(header, f"Bearer {state.token}"):
            if state.oauth is not None:
                state.oauth.authenticated("pat")
            return True
        if state.oauth is not None and header.startswith("Bearer ") and state.oauth.accepts(header[7:]):
            state.oauth.authenticated("oauth")
            return True
        return False

    def _oauth(self, method: str, path: str, host: str, raw: bytes, oauth: OAuthServer | None) -> None:
        if oauth is None:
            return self._error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        if method == "GET" and path == "/oidc/.well-known/oauth-authorization-server":
            return self._json(200, oauth.metadata(host))
        if method == "POST" and path == "/oidc/v1/token":
            answer = oauth.token(host, self.headers.get("Authorization", ""), raw)
            return self._json(answer.status, answer.body)
        if method == "GET" and path == "/_quality/auth-stats":
            return self._json(200, oauth.stats())
        return self._error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error_code": code, "message": message})

    # --- routes -------------------------------------------------------------------------------------
    def open_session(self, body: dict[str, Any]) -> None:
        if body.get("warehouse_id") != self.server.state.warehouse_id:
            return self._error(404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {body.get('warehouse_id')} does not exist.")
        session_id = str(uuid.uuid4())
        with self.server.state.lock:
            self.server.state.sessions.add(session_id)
        self._json(200, {"session_id": session_id})

    def close_session(self, body: dict[str, Any], session_id: str) -> None:
        with self.server.state.lock:
            self.server.state.sessions.discard(session_id)
        self._json(200, {})

    def execute(self, body: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            known = body.get("session_id") in state.sessions
        if not known:
            return self._error(404, "NOT_FOUND", f"Session {body.get('session_id')} does not exist.")
        result_format = wire.ARROW_STREAM if body.get("format") == wire.ARROW_STREAM else wire.JSON_ARRAY
        parameters = [
            Parameter(p.get("name"), p.get("value"), p.get("type"))
            for p in body.get("parameters") or []
            if isinstance(p, dict)
        ]
        statement = state.submit(str(body.get("statement", "")), parameters, result_format)
        wait = _WAIT.fullmatch(str(body.get("wait_timeout", "10s")))
        # A failure is reported in the payload; a statement still running is polled by the client.
        with contextlib.suppress(FutureTimeout, Exception):
            statement.future.result(timeout=int(wait.group(1)) if wait else 10)
        self._json(200, statement.payload())

    def get_statement(self, body: dict[str, Any], statement_id: str) -> None:
        statement = self.server.state.statement(statement_id)
        if statement is None:
            return self._error(404, "NOT_FOUND", f"Statement {statement_id} does not exist.")
        self._json(200, statement.payload())

    def cancel(self, body: dict[str, Any], statement_id: str) -> None:
        statement = self.server.state.statement(statement_id)
        if statement is not None and not statement.future.done():
            statement.canceled = True
            statement.future.cancel()
        self._json(200, {})

    def close_statement(self, body: dict[str, Any], statement_id: str) -> None:
        with self.server.state.lock:
            self.server.state.statements.pop(statement_id, None)
        self._json(200, {})

    def chunk(self, body: dict[str, Any], statement_id: str, index: str) -> None:
        statement = self.server.state.statement(statement_id)
        if statement is None or not statement.future.done() or index != "0":
            return self._error(404, "NOT_FOUND", f"No chunk {index} for statement {statement_id}.")
        self._json(200, statement.payload().get("result", {}))

    def warehouse(self, body: dict[str, Any], warehouse_id: str) -> None:
        if warehouse_id != self.server.state.warehouse_id:
            return self._error(404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {warehouse_id} does not exist.")
        self._json(
            200,
            {"id": warehouse_id, "name": "local Spark SQL", "state": "RUNNING", "warehouse_type": "PRO"},
        )

    def me(self, body: dict[str, Any]) -> None:
        self._json(200, {"id": "1", "userName": "local@localhost", "active": True})


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


_ROUTES: tuple[tuple[str, re.Pattern[str], Callable[..., None]], ...] = tuple(
    (method, re.compile(pattern), handler)
    for method, pattern, handler in (
        ("POST", r"/api/2\.0/sql/sessions", _Handler.open_session),
        ("DELETE", r"/api/2\.0/sql/sessions/([^/]+)", _Handler.close_session),
        ("POST", r"/api/2\.0/sql/statements", _Handler.execute),
        ("GET", r"/api/2\.0/sql/statements/([^/]+)", _Handler.get_statement),
        ("POST", r"/api/2\.0/sql/statements/([^/]+)/cancel", _Handler.cancel),
        ("DELETE", r"/api/2\.0/sql/statements/([^/]+)", _Handler.close_statement),
        ("GET", r"/api/2\.0/sql/statements/([^/]+)/result/chunks/(\d+)", _Handler.chunk),
        ("GET", r"/api/2\.0/sql/warehouses/([^/]+)", _Handler.warehouse),
        ("GET", r"/api/2\.0/preview/scim/v2/Me", _Handler.me),
    )
)


class EndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: EndpointState, tls: TlsFiles) -> None:
        super().__init__(address, _Handler)
        self.state = state
        # The handshake happens on the first read, in the request's own thread, not in the accept loop.
        self.socket = tls.server_context().wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def shutdown(self) -> None:
        super().shutdown()
        self.state.executor.shutdown(wait=False, cancel_futures=True)
