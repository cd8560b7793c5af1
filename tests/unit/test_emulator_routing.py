"""How clients reach the local endpoint's port 443 (`quality.emulator.routing`) and the CONNECT tunnel that
stands in for the port when this user may not bind it (`quality.emulator.tunnel`): routes, the proxy
variables set, what is refused, and a tunnel's traffic against a plain TCP echo server on loopback."""

from __future__ import annotations

import random
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import closing

import pytest

from quality.emulator import routing, tunnel
from quality.emulator.endpoint import LocalEndpoint
from quality.emulator.routing import resolve_route, route_environment
from quality.emulator.spark import EmulatorError
from quality.emulator.tunnel import ConnectProxy, TunnelError, endpoint_route, parse_connect

HOST = "127.7.8.9"
PROXY = "http://127.7.8.9:40000"


class TestRoute:
    def test_auto_takes_port_443_when_this_user_may_bind_it_and_the_tunnel_otherwise(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(routing, "may_bind_port_443", lambda: True)
        assert resolve_route({}) == "port443"
        monkeypatch.setattr(routing, "may_bind_port_443", lambda: False)
        assert resolve_route({}) == "proxy"
        assert resolve_route({"QUALITY_ENDPOINT_ROUTE": "proxy"}) == "proxy"

    def test_port443_chosen_without_the_right_to_bind_it_names_both_fixes(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(routing, "may_bind_port_443", lambda: False)

        with pytest.raises(EmulatorError) as caught:
            resolve_route({"QUALITY_ENDPOINT_ROUTE": "port443"})

        assert str(caught.value) == (
            "QUALITY_ENDPOINT_ROUTE=port443, and this user may not bind port 443: let this user bind port 443 "
            "(root, CAP_NET_BIND_SERVICE, or `sysctl net.ipv4.ip_unprivileged_port_start=443`), or set "
            "QUALITY_ENDPOINT_ROUTE=auto (or proxy) to reach the endpoint through a CONNECT tunnel on a free port."
        )

    def test_an_unknown_route_or_a_bad_tunnel_port_is_one_clear_message(self) -> None:
        with pytest.raises(
            EmulatorError, match=r"^QUALITY_ENDPOINT_ROUTE must be one of auto, proxy, port443, not 'x'"
        ):
            resolve_route({"QUALITY_ENDPOINT_ROUTE": "x"})
        for bad in ("http", "80", "70000"):
            with pytest.raises(EmulatorError, match=r"^QUALITY_ENDPOINT_PROXY_PORT must be a port from 1024 to 65535"):
                routing.proxy_port({"QUALITY_ENDPOINT_PROXY_PORT": bad})
        assert routing.proxy_port({}) == 0
        assert routing.proxy_port({"QUALITY_ENDPOINT_PROXY_PORT": "8443"}) == 8443

    @pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
    def test_a_proxy_of_the_users_is_refused_when_the_tunnel_would_replace_it(
        self, name: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(routing, "may_bind_port_443", lambda: False)

        with pytest.raises(EmulatorError) as caught:
            resolve_route({name: "http://proxy.corp:3128"})

        assert str(caught.value).startswith(
            f"{name} is set (http://proxy.corp:3128), and this user may not bind port 443, so the local Databricks "
            "endpoint would be reached through a proxy of its own"
        )
        assert f"(e.g. `env -u {name} ...`)" in str(caught.value)

    def test_a_proxy_of_the_users_stays_on_the_port_443_route_and_another_endpoints_tunnel_is_replaced(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(routing, "may_bind_port_443", lambda: True)
        assert resolve_route({"HTTPS_PROXY": "http://proxy.corp:3128"}) == "port443"
        monkeypatch.setattr(routing, "may_bind_port_443", lambda: False)
        ours = {"HTTPS_PROXY": PROXY, "https_proxy": PROXY, "QUALITY_ENDPOINT_PROXY": PROXY}
        assert resolve_route(ours) == "proxy"


class TestProxyVariables:
    def test_the_tunnel_is_https_proxy_and_no_proxy_keeps_only_entries_that_do_not_bypass_the_endpoint(self) -> None:
        user = {"NO_PROXY": "*", "no_proxy": f"localhost,.corp.example,127.0.0.0/8,{HOST},127.7.0.0/16,10.0.0.1"}

        environment = route_environment(HOST, PROXY, user)

        assert environment == {
            "HTTPS_PROXY": PROXY,
            "https_proxy": PROXY,
            "NO_PROXY": "localhost,.corp.example,10.0.0.1",  # no_proxy wins over NO_PROXY, as in urllib/requests
            "no_proxy": "localhost,.corp.example,10.0.0.1",
            "QUALITY_ENDPOINT_PROXY": PROXY,
        }

    def test_on_port_443_the_endpoint_host_joins_no_proxy_once(self) -> None:
        assert route_environment(HOST, None, {"NO_PROXY": "localhost"}) == {
            "NO_PROXY": f"localhost,{HOST}",
            "no_proxy": f"localhost,{HOST}",
        }
        assert route_environment(HOST, None, {"no_proxy": HOST})["NO_PROXY"] == HOST
        assert route_environment(HOST, None, {}) == {"NO_PROXY": HOST, "no_proxy": HOST}

    def test_the_endpoints_process_gets_no_proxy_variable(self) -> None:
        from quality.emulator.endpoint import _without_proxies

        environment = {"HTTPS_PROXY": PROXY, "no_proxy": "x", "QUALITY_ENDPOINT_PROXY": PROXY, "PATH": "/bin"}

        assert _without_proxies(environment) == {"PATH": "/bin"}

    def test_environment_names_the_tunnel_when_the_endpoint_has_one(self) -> None:
        endpoint = LocalEndpoint()
        endpoint.ready = {"host": HOST, "http_path": "/sql/1.0/warehouses/w", "token": "t", "catalog": "main"}
        endpoint.ready |= {"ca_bundle": "/ca.pem", "proxy": PROXY}

        assert endpoint.environment()["HTTPS_PROXY"] == PROXY
        assert endpoint.proxy_url == PROXY


class TestParseConnect:
    def test_a_connect_head_gives_host_and_port(self) -> None:
        assert parse_connect(b"CONNECT 127.0.0.5:443 HTTP/1.1\r\nHost: 127.0.0.5:443\r\n\r\n") == ("127.0.0.5", 443)
        assert parse_connect(b"CONNECT [::1]:8443 HTTP/1.0\r\n\r\n") == ("::1", 8443)

    @pytest.mark.parametrize(
        ("head", "status"),
        [
            (b"GET http://example.com/ HTTP/1.1\r\n\r\n", 405),
            (b"CONNECT example.com HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n", 400),
            (b"CONNECT 127.0.0.1:443 SPDY/3\r\n\r\n", 400),
            (b"\xff\xfe\r\n\r\n", 400),
        ],
    )
    def test_anything_else_is_refused_with_its_status(self, head: bytes, status: int) -> None:
        with pytest.raises(TunnelError) as caught:
            parse_connect(head)
        assert caught.value.status == status

    def test_the_route_maps_the_endpoint_and_passes_only_loopback_through(self) -> None:
        route = endpoint_route(HOST, 40001)

        assert route(HOST, 443) == (HOST, 40001)
        assert route(HOST, 8080) == (HOST, 8080)
        assert route("127.0.0.1", 443) == ("127.0.0.1", 443)
        assert route("::1", 443) == ("::1", 443)
        assert route("localhost", 5000) == ("127.0.0.1", 5000)
        assert route("8.8.8.8", 443) is None
        assert route("example.com", 443) is None  # a name is never looked up: no DNS query leaves the machine


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_and_proxy() -> Iterator[tuple[str, int, ConnectProxy]]:
    """A TCP echo server on a random loopback address, and a tunnel mapping that address' port 443 to it."""
    host = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
    echo = socketserver.ThreadingTCPServer((host, 0), _Echo)
    echo.daemon_threads = True
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    proxy = ConnectProxy((host, 0), endpoint_route(host, echo.server_address[1]))
    proxy.start()
    try:
        yield host, echo.server_address[1], proxy
    finally:
        proxy.stop()
        echo.shutdown()
        echo.server_close()


def connect_through(proxy: ConnectProxy, target: str) -> tuple[socket.socket, bytes]:
    client = socket.create_connection(proxy.server_address[:2], timeout=5)
    client.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = client.recv(4096)
        if not chunk:
            break
        answer += chunk
    return client, answer


class TestTunnel:
    def test_connect_to_the_endpoint_host_443_reaches_its_real_port_both_ways(
        self, echo_and_proxy: tuple[str, int, ConnectProxy]
    ) -> None:
        host, _, proxy = echo_and_proxy
        client, answer = connect_through(proxy, f"{host}:443")
        with closing(client):
            assert answer == b"HTTP/1.1 200 Connection established\r\n\r\n"
            client.sendall(b"x" * 200_000)
            received = b""
            while len(received) < 200_000:
                received += client.recv(65536)
        assert received == b"x" * 200_000

    def test_another_loopback_port_is_passed_through_as_asked(
        self, echo_and_proxy: tuple[str, int, ConnectProxy]
    ) -> None:
        host, port, proxy = echo_and_proxy
        client, answer = connect_through(proxy, f"{host}:{port}")
        with closing(client):
            assert answer.startswith(b"HTTP/1.1 200 ")
            client.sendall(b"ping")
            assert client.recv(4) == b"ping"

    @pytest.mark.parametrize(
        ("target", "status"), [("93.184.215.14:443", b"403"), ("example.com:443", b"403"), ("127.0.0.1:1", b"502")]
    )
    def test_other_targets_are_refused_and_a_closed_port_is_a_bad_gateway(
        self, echo_and_proxy: tuple[str, int, ConnectProxy], target: str, status: bytes
    ) -> None:
        client, answer = connect_through(echo_and_proxy[2], target)
        with closing(client):
            assert answer.split(b" ")[1] == status
            assert client.recv(1) == b""  # and the connection is closed

    def test_a_client_that_sends_no_request_is_dropped_after_the_head_timeout(
        self, echo_and_proxy: tuple[str, int, ConnectProxy], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tunnel, "HEAD_TIMEOUT_S", 0.2)
        with closing(socket.create_connection(echo_and_proxy[2].server_address[:2], timeout=5)) as client:
            assert client.recv(1) == b""

    def test_stop_frees_the_port(self, echo_and_proxy: tuple[str, int, ConnectProxy]) -> None:
        host, _, proxy = echo_and_proxy
        address = proxy.server_address[:2]
        proxy.stop()
        with closing(socket.socket()) as probe:
            probe.bind(address)  # free again
        assert proxy.url == f"http://{host}:{address[1]}"
