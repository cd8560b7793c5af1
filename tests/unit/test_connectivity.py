"""The Databricks preflight against local fakes: every failure arrives as one paragraph naming host and fix.

Each check gets a small timeout (2 s) so a hang would fail fast; no test asserts wall time.
"""

from __future__ import annotations

import pytest

from quality.engines.connectivity import parse_host, preflight_databricks, warehouse_id_from_http_path
from quality.errors import TargetError
from tests.fakes import DEFAULT_TOKEN, DEFAULT_WAREHOUSE_ID, FakeWorkspace, refusing_port, silent_server

TIMEOUT_S = 2.0
WAREHOUSE_PATH = f"/sql/1.0/warehouses/{DEFAULT_WAREHOUSE_ID}"
WAREHOUSE_API = f"/api/2.0/sql/warehouses/{DEFAULT_WAREHOUSE_ID}"
CLIENT_ID = "6f1c2d3e-sp"
CLIENT_SECRET = "dose-fake-client-secret-42"  # pragma: allowlist secret


pytestmark = pytest.mark.usefixtures("hermetic_databricks_env")


@pytest.fixture
def workspace(fake_workspace: FakeWorkspace) -> FakeWorkspace:
    return fake_workspace


def preflight_error(
    host: str,
    http_path: str = WAREHOUSE_PATH,
    token: str | None = DEFAULT_TOKEN,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    timeout_s: float = TIMEOUT_S,
) -> str:
    """The TargetError paragraph of a failing preflight, checked to hold neither token nor client secret."""
    with pytest.raises(TargetError) as raised:
        preflight_databricks(
            host, http_path, token, client_id=client_id, client_secret=client_secret, timeout_s=timeout_s
        )
    message = str(raised.value)
    assert DEFAULT_TOKEN not in message
    assert CLIENT_SECRET not in message
    return message


class TestReachableWorkspace:
    def test_passes_with_one_warehouse_call_carrying_the_token(self, workspace: FakeWorkspace) -> None:
        preflight_databricks(workspace.url, WAREHOUSE_PATH, DEFAULT_TOKEN, timeout_s=TIMEOUT_S)

        calls = workspace.calls("GET", WAREHOUSE_API)
        assert [call.bearer_token for call in calls] == [DEFAULT_TOKEN]
        assert [r.path for r in workspace.requests if r.path.startswith("/api/")] == [WAREHOUSE_API]

    def test_asks_for_the_current_user_when_the_http_path_names_a_cluster(self, workspace: FakeWorkspace) -> None:
        preflight_databricks(
            workspace.url, "sql/protocolv1/o/123/0123-456789-abcdef", DEFAULT_TOKEN, timeout_s=TIMEOUT_S
        )

        assert [r.path for r in workspace.requests if r.path.startswith("/api/")] == ["/api/2.0/preview/scim/v2/Me"]

    def test_retries_once_after_429_with_retry_after(self, workspace: FakeWorkspace) -> None:
        workspace.fail(429, retry_after=1, times=1)

        preflight_databricks(workspace.url, WAREHOUSE_PATH, DEFAULT_TOKEN, timeout_s=5)

        assert len(workspace.calls("GET", WAREHOUSE_API)) == 2

    def test_logs_in_with_oauth_m2m_and_uses_the_access_token(self, workspace: FakeWorkspace) -> None:
        workspace.serve_oauth_m2m(CLIENT_ID, CLIENT_SECRET, access_token="m2m-access")

        preflight_databricks(
            workspace.url, WAREHOUSE_PATH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, timeout_s=TIMEOUT_S
        )

        assert len(workspace.calls("POST", "/oidc/v1/token")) == 1
        assert [call.bearer_token for call in workspace.calls("GET", WAREHOUSE_API)] == ["m2m-access"]


class TestUnreachableHost:
    def test_refused_port_names_host_and_fix(self) -> None:
        with refusing_port() as port:
            message = preflight_error(f"http://127.0.0.1:{port}")

        assert message == (
            f"cannot reach 127.0.0.1:{port}: the connection to port {port} was refused. "
            "Check DATABRICKS_HOST and your network/VPN."
        )

    def test_silent_host_is_abandoned_at_the_timeout(self) -> None:
        with silent_server() as server:
            message = preflight_error(server.url)

        assert message == (
            f"127.0.0.1:{server.port} did not answer within 2 s: it accepted the connection but sent no reply in "
            "time. The workspace or a proxy in between is hanging or throttling; check that DATABRICKS_HOST is "
            "the workspace URL and your network/VPN, then retry."
        )

    def test_unknown_name_names_host_and_fix(self) -> None:
        message = preflight_error("nonexistent-workspace.invalid")

        assert message.startswith("cannot reach nonexistent-workspace.invalid: ")
        assert message.endswith("Check DATABRICKS_HOST and your network/VPN.")


class TestRefusedCredentials:
    def test_wrong_token_gets_401_and_the_pat_fix(self, workspace: FakeWorkspace) -> None:
        message = preflight_error(workspace.url, token="dapi-wrong-token")

        assert message == (
            f"the workspace at 127.0.0.1:{workspace.port} refused the credentials (HTTP 401: Invalid access "
            "token): create a new personal access token or check DATABRICKS_TOKEN (it may have expired or "
            "belong to another workspace)."
        )
        assert "dapi-wrong-token" not in message

    def test_403_names_the_warehouse_the_identity_must_use(self, workspace: FakeWorkspace) -> None:
        workspace.fail(403, message="IP address 10.1.2.3 is blocked")

        message = preflight_error(workspace.url)

        assert message == (
            f"the workspace at 127.0.0.1:{workspace.port} refused the credentials (HTTP 403: IP address 10.1.2.3 "
            "is blocked): create a new personal access token or check DATABRICKS_TOKEN (it may have expired or "
            f"belong to another workspace). Also check that this identity may use SQL warehouse "
            f"{DEFAULT_WAREHOUSE_ID}."
        )

    def test_wrong_oauth_secret_names_the_client_not_the_secret(self, workspace: FakeWorkspace) -> None:
        workspace.serve_oauth_m2m(CLIENT_ID, "the-real-secret")

        message = preflight_error(workspace.url, token=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

        assert message.startswith(
            f"the workspace at 127.0.0.1:{workspace.port} refused the OAuth login of client {CLIENT_ID} ("
        )
        assert message.endswith(
            f"check DATABRICKS_CLIENT_ID ({CLIENT_ID}) and DATABRICKS_CLIENT_SECRET of the OAuth service principal "
            "(create a new secret if it expired)."
        )

    def test_missing_credentials_are_refused_before_any_request(self, workspace: FakeWorkspace) -> None:
        message = preflight_error(workspace.url, token=None)

        assert message == (
            f"no Databricks credentials for 127.0.0.1:{workspace.port}: set DATABRICKS_TOKEN (a personal access "
            "token) or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (OAuth for a service principal) and run "
            "again."
        )
        assert workspace.requests == []

    def test_client_id_without_secret_is_refused(self, workspace: FakeWorkspace) -> None:
        message = preflight_error(workspace.url, token=None, client_id=CLIENT_ID)

        assert message.startswith("DATABRICKS_CLIENT_ID is set for 127.0.0.1:")
        assert workspace.requests == []


class TestWorkspaceErrors:
    def test_unknown_warehouse_points_at_the_http_path(self, workspace: FakeWorkspace) -> None:
        message = preflight_error(workspace.url, http_path="/sql/1.0/warehouses/0000dead")

        assert message == (
            "SQL warehouse 0000dead (from DATABRICKS_HTTP_PATH=/sql/1.0/warehouses/0000dead) was not found on "
            f"127.0.0.1:{workspace.port} (HTTP 404: Warehouse 0000dead does not exist.): copy the HTTP path from "
            "the warehouse's Connection details page into DATABRICKS_HTTP_PATH, and check that DATABRICKS_HOST "
            "is the workspace that owns it."
        )

    def test_internal_error_is_reported_with_its_status(self, workspace: FakeWorkspace) -> None:
        workspace.fail(500, message="boom")

        message = preflight_error(workspace.url)

        assert message == (
            f"the workspace at 127.0.0.1:{workspace.port} answered the preflight check with an error (HTTP 500: "
            "boom): check DATABRICKS_HOST and DATABRICKS_HTTP_PATH, and the workspace's status, then retry."
        )

    def test_persistent_429_says_throttling(self, workspace: FakeWorkspace) -> None:
        workspace.fail(429, retry_after=1, times=None, message="slow down")

        message = preflight_error(workspace.url, timeout_s=6)

        assert message == (
            f"127.0.0.1:{workspace.port} is throttling requests (HTTP 429: slow down) and did not let the check "
            "through within 6 s: retry later."
        )


class TestParsing:
    @pytest.mark.parametrize(
        ("host", "url", "display"),
        [
            ("adb-1.2.azuredatabricks.net", "https://adb-1.2.azuredatabricks.net", "adb-1.2.azuredatabricks.net"),
            ("https://dbc-9.cloud.databricks.com/", "https://dbc-9.cloud.databricks.com", "dbc-9.cloud.databricks.com"),
            ("http://127.0.0.1:8123", "http://127.0.0.1:8123", "127.0.0.1:8123"),
        ],
    )
    def test_host_with_or_without_scheme(self, host: str, url: str, display: str) -> None:
        address = parse_host(host)

        assert (address.url, address.display) == (url, display)

    def test_empty_host_is_refused(self) -> None:
        with pytest.raises(TargetError, match="names no host"):
            parse_host("")

    @pytest.mark.parametrize(
        ("http_path", "warehouse_id"),
        [
            ("/sql/1.0/warehouses/abc123def456", "abc123def456"),  # pragma: allowlist secret
            ("/sql/1.0/endpoints/abc123def456/", "abc123def456"),  # pragma: allowlist secret
            ("sql/protocolv1/o/123/0123-456789-abcdef", None),
        ],
    )
    def test_warehouse_id_from_http_path(self, http_path: str, warehouse_id: str | None) -> None:
        assert warehouse_id_from_http_path(http_path) == warehouse_id


class TestTcpCheckThroughAProxy:
    """The TCP check goes where the clients go: to HTTPS_PROXY unless NO_PROXY exempts the host."""

    def test_the_check_connects_to_the_proxy_not_to_the_host(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import socket
        from contextlib import closing

        from quality.engines.connectivity import https_proxy_for, open_tcp

        with closing(socket.socket()) as proxy:
            proxy.bind(("127.0.0.1", 0))
            proxy.listen(1)
            port = proxy.getsockname()[1]
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
            monkeypatch.delenv("https_proxy", raising=False)
            monkeypatch.setenv("NO_PROXY", "localhost")
            monkeypatch.delenv("no_proxy", raising=False)
            address = parse_host("dbc-nowhere.invalid")  # never resolved: the proxy is asked, not DNS

            open_tcp(address, 5)

            assert https_proxy_for(address) == ("127.0.0.1", port)
            monkeypatch.setenv("NO_PROXY", ".invalid")
            assert https_proxy_for(address) is None
