"""A fake Databricks workspace REST API on 127.0.0.1, driven by a route table.

Built-in routes: `GET /api/2.0/preview/scim/v2/Me` and `GET /api/2.0/sql/warehouses/{id}`. Add more with
`fake.route("POST", "/api/2.2/jobs/create", handler)`; `{name}` in a path matches one segment and lands in
`request.path_params`. Later routes win over earlier ones, so a test can override a built-in route.

Every request is recorded in `fake.requests`. `fake.fail(status, ...)` makes the next API requests fail
(401, 403, 429 with Retry-After, 500, ...). With `token=` set, API requests without `Authorization: Bearer
<token>` get 401 the way a real workspace answers a bad personal access token. With `tls=` (files from
`quality.emulator.tls.make_tls_files`) it speaks HTTPS, so databricks-sql-connector (always HTTPS) can reach
its SQL routes too, e.g. `POST /sql/1.0/warehouses/{id}` (Thrift) or `POST /api/2.0/sql/sessions` (SEA).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.ports import LOOPBACK

if TYPE_CHECKING:
    from quality.emulator.tls import TlsFiles

DEFAULT_TOKEN = "dapi-fake-0123456789abcdef"
DEFAULT_WAREHOUSE_ID = "abc123def456"
API_PREFIX = "/api/"

ERROR_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def bearer_token(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None


@dataclass(frozen=True)
class FakeResponse:
    """What a handler answers: a status, a JSON body (None = empty) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None) -> FakeResponse:
    """A Databricks-style JSON error: `{"error_code": ..., "message": ...}`."""
    body = {"error_code": ERROR_CODES.get(status, str(status)), "message": message}
    return FakeResponse(status, body, headers or {})


Handler = Callable[[RecordedRequest], "FakeResponse | dict[str, Any] | list[Any]"]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class _Failure:
    status: int
    remaining: int | None  # None = every request from now on
    retry_after: int | None
    message: str
    path_prefix: str


def _compile(path_template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path_template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


class FakeWorkspace:
    """A threaded HTTP server on 127.0.0.1 answering like a Databricks workspace. Use as a context manager."""

    def __init__(
        self,
        *,
        token: str | None = DEFAULT_TOKEN,
        warehouses: dict[str, dict[str, Any]] | None = None,
        user_name: str = "ci-bot@example.com",
        tls: TlsFiles | None = None,
    ) -> None:
        self.token = token
        self.user_name = user_name
        self.warehouses: dict[str, dict[str, Any]] = (
            warehouses if warehouses is not None else {DEFAULT_WAREHOUSE_ID: {"name": "ci", "state": "RUNNING"}}
        )
        self.requests: list[RecordedRequest] = []
        self._routes: list[_Route] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _handler_class(self))
        self._server.daemon_threads = True
        if tls is not None:  # the handshake happens in the handler thread, so a silent client blocks no one
            self._server.socket = tls.server_context().wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._server.handle_error = _quiet_on_disconnect(self._server.handle_error)  # type: ignore[method-assign,assignment]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-workspace", daemon=True
        )
        self.port = int(self._server.server_address[1])
        self.url = f"{'https' if tls is not None else 'http'}://{LOOPBACK}:{self.port}"
        self.route("GET", "/api/2.0/preview/scim/v2/Me", self._me)
        self.route("GET", "/api/2.0/sql/warehouses/{id}", self._warehouse)

    # --- configuration -------------------------------------------------------------------------------
    def route(self, method: str, path_template: str, handler: Handler) -> None:
        """Answer `method path_template` with `handler(request)`; a dict/list return value means 200 JSON."""
        with self._lock:
            self._routes.append(_Route(method.upper(), _compile(path_template), handler))

    def fail(
        self,
        status: int,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        message: str | None = None,
        path_prefix: str = API_PREFIX,
    ) -> None:
        """Answer the next `times` requests under `path_prefix` with `status` (times=None: all of them)."""
        text = message or f"fake workspace answers {status}"
        with self._lock:
            self._failures.append(_Failure(status, times, retry_after, text, path_prefix))

    def serve_oauth_m2m(
        self, client_id: str, client_secret: str, *, access_token: str = "fake-m2m-access-token"
    ) -> None:
        """Act as the workspace's OAuth server: host metadata, OIDC discovery and a client-credentials token
        endpoint that hands `access_token` to `client_id`/`client_secret`; API calls then require that token.

        databricks-sdk 0.117 finds the OIDC endpoints through `/.well-known/databricks-config`, so OAuth M2M
        fails against a fake that answers it 404.
        """
        self.token = access_token
        oidc = f"{self.url}/oidc"
        self.route("GET", "/.well-known/databricks-config", lambda r: {"oidc_endpoint": oidc, "workspace_id": "1"})
        self.route(
            "GET",
            "/oidc/.well-known/oauth-authorization-server",
            lambda r: {"authorization_endpoint": f"{oidc}/v1/authorize", "token_endpoint": f"{oidc}/v1/token"},
        )
        expected = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

        def token(request: RecordedRequest) -> FakeResponse:
            if request.headers.get("authorization") != expected:
                return FakeResponse(
                    401, {"error": "invalid_client", "error_description": "Client authentication failed"}
                )
            return FakeResponse(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600})

        self.route("POST", "/oidc/v1/token", token)

    def calls(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests for one method and exact path."""
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> FakeWorkspace:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWorkspace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- dispatch ------------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
            failure = self._take_failure(request.path)
            routes = list(reversed(self._routes))
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return error_response(failure.status, failure.message, headers=headers)
        if request.path.startswith(API_PREFIX) and self.token is not None and request.bearer_token != self.token:
            return error_response(401, "Invalid access token.")
        for route in routes:
            match = route.pattern.match(request.path)
            if route.method == request.method and match:
                answer = route.handler(RecordedRequest(**{**request.__dict__, "path_params": match.groupdict()}))
                return answer if isinstance(answer, FakeResponse) else FakeResponse(200, answer)
        return error_response(404, f"No API found for '{request.method} {request.path}'")

    def _take_failure(self, path: str) -> _Failure | None:
        for failure in self._failures:
            if path.startswith(failure.path_prefix) and failure.remaining != 0:
                if failure.remaining is not None:
                    failure.remaining -= 1
                return failure
        return None

    # --- built-in routes -----------------------------------------------------------------------------
    def _me(self, request: RecordedRequest) -> dict[str, Any]:
        return {"id": "1234567890", "userName": self.user_name, "displayName": "CI bot", "active": True}

    def _warehouse(self, request: RecordedRequest) -> FakeResponse | dict[str, Any]:
        warehouse_id = request.path_params["id"]
        if warehouse_id not in self.warehouses:
            return error_response(404, f"Warehouse {warehouse_id} does not exist.")
        return {"id": warehouse_id, **self.warehouses[warehouse_id]}


def _quiet_on_disconnect(handle_error: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """socketserver's error hook without the traceback of a client that hung up (a TLS EOF, a reset)."""

    def quiet(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            handle_error(request, client_address)

    return quiet


def _handler_class(fake: FakeWorkspace) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            response = fake.handle(request)
            payload = b"" if response.body is None else json.dumps(response.body).encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

        def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
            return

    return _Handler
