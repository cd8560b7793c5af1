"""Ports on 127.0.0.1 that behave badly on purpose: nothing listening, or listening and never answering."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOOPBACK = "127.0.0.1"


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port on 127.0.0.1 where every connection is refused (ECONNREFUSED).

    The port stays bound (but not listening) while the context is open, so no other test can take it.
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind((LOOPBACK, 0))
        yield int(holder.getsockname()[1])
    finally:
        holder.close()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte back (a host that hangs)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self._accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_forever, name="silent-server", daemon=True)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://{LOOPBACK}:{self.port}"

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        return len(self._accepted)

    def _accept_forever(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(conn)

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._accepted:
            conn.close()
        self._listener.close()


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    """A running `SilentServer`; its `.url` is `http://127.0.0.1:<port>`, its `.port` the port."""
    server = SilentServer().start()
    try:
        yield server
    finally:
        server.stop()
