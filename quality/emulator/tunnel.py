"""A CONNECT proxy on an unprivileged loopback port: the endpoint's route when this user may not bind port 443.

dbt-databricks' host probe and the Databricks SDK call `https://<host>/...` on port 443 whatever port the SQL
connector is given. All three clients (requests, and the connector's urllib3 `ProxyManager`) honour
HTTPS_PROXY, so the endpoint's TLS server listens on a free port and this proxy, named by HTTPS_PROXY,
tunnels `CONNECT <endpoint host>:443` to it. TLS stays end to end (the proxy only copies bytes), so clients
verify the endpoint's certificate as before.

Every other CONNECT target is passed through only when it is a loopback address (or `localhost`) on the
machine; anything else gets 403, so nothing can leave the machine through it, not even a DNS lookup. Other
methods than CONNECT get 405. Every wait is bounded: the request head (`HEAD_TIMEOUT_S`), the connect to the
target (`CONNECT_TIMEOUT_S`), and a tunnel with no traffic either way (`IDLE_TIMEOUT_S`) is closed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import socketserver
import threading
from collections.abc import Callable

HEAD_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 600.0  # longer than any statement wait a client holds a connection for
MAX_HEAD_BYTES = 16 * 1024
_CHUNK = 64 * 1024

Route = Callable[[str, int], tuple[str, int] | None]  # (host, port) asked for -> where to connect, None: refuse


class TunnelError(Exception):
    """A CONNECT request that is refused: the HTTP status and reason to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def endpoint_route(host: str, port: int) -> Route:
    """`host:443` goes to the endpoint's TLS server at `host:port`; other loopback targets as asked; others: None."""

    def route(target_host: str, target_port: int) -> tuple[str, int] | None:
        if target_host == host and target_port == 443:
            return host, port
        if target_host == "localhost":
            return "127.0.0.1", target_port
        return (target_host, target_port) if is_loopback(target_host) else None

    return route


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: never looked up here


def parse_connect(head: bytes) -> tuple[str, int]:
    """The (host, port) of a `CONNECT host:port HTTP/1.x` request head; TunnelError for anything else."""
    try:
        method, target, version = head.split(b"\r\n", 1)[0].decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise TunnelError(400, "Bad Request") from None
    if not version.startswith("HTTP/1."):
        raise TunnelError(400, "Bad Request")
    if method != "CONNECT":
        raise TunnelError(405, "Method Not Allowed")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TunnelError(400, "Bad Request")
    return host.strip("[]"), int(port)


class _Handler(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(HEAD_TIMEOUT_S)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # relay each record at once (server.py)
        try:
            upstream = self._open(client)
        except TunnelError as error:
            _answer(client, f"HTTP/1.1 {error.status} {error.reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        except OSError:  # the client went away or sent nothing in time
            return
        with upstream:
            _answer(client, "HTTP/1.1 200 Connection established\r\n\r\n")
            pump(client, upstream, IDLE_TIMEOUT_S)

    def _open(self, client: socket.socket) -> socket.socket:
        head = _read_head(client)
        target = self.server.route(*parse_connect(head))
        if target is None:
            raise TunnelError(403, "Forbidden")
        try:
            upstream = socket.create_connection(target, timeout=CONNECT_TIMEOUT_S)
        except OSError:
            raise TunnelError(502, "Bad Gateway") from None
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream


def _read_head(client: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the request head ended")
        head += chunk
        if len(head) > MAX_HEAD_BYTES:
            raise TunnelError(431, "Request Header Fields Too Large")
    return head  # a client sends nothing after CONNECT until it has the answer


def _answer(client: socket.socket, text: str) -> None:
    with contextlib.suppress(OSError):
        client.sendall(text.encode("ascii"))


def pump(a: socket.socket, b: socket.socket, idle_s: float) -> None:
    """Copy bytes both ways until either side closes, or nothing moves for `idle_s` seconds."""
    peer = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for side in peer:
            side.setblocking(False)
            selector.register(side, selectors.EVENT_READ)
        while True:
            ready = selector.select(timeout=idle_s)
            if not ready:
                return
            for key, _ in ready:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = source.recv(_CHUNK)
                    if not data:
                        return
                    _ack_now(source)
                    peer[source].settimeout(idle_s)  # a bounded blocking send, then back to polling
                    peer[source].sendall(data)
                    peer[source].setblocking(False)
                except OSError:
                    return


def _ack_now(side: socket.socket) -> None:
    """ACK what was read at once (Linux; it has to be asked again after each read). The clients write a request
    as two TLS records without TCP_NODELAY on their socket to a proxy (urllib3 sets it only on direct ones), so
    Nagle held the second until this side's delayed ACK of the first: 40 ms per request."""
    if hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            side.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class ConnectProxy(socketserver.ThreadingTCPServer):
    """The proxy, on `address` (port 0: a free one); `start()` serves in a thread, `stop()` ends it."""

    daemon_threads = True
    allow_reuse_address = False  # a port taken must fail here, not be shared

    def __init__(self, address: tuple[str, int], route: Route) -> None:
        super().__init__(address, _Handler)
        self.route = route
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="endpoint-tunnel", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread = None
        self.server_close()
