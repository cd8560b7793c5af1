"""Which auth method a Databricks target gets (PAT, OAuth M2M, OAuth U2M), what databricks-sdk is handed for
it, and that the engine's connections (its session and GX's) share one OAuth login."""

from __future__ import annotations

import datetime as dt
import json
import webbrowser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.engines.connectivity import U2M_CLIENT_ID, Credentials, credentials
from quality.engines.databricks import DatabricksEngine
from quality.errors import TargetError
from tests.fakes import FakeResponse, FakeWorkspace, RecordedRequest

pytestmark = pytest.mark.usefixtures("hermetic_databricks_env")

PROJECT = Path(__file__).resolve().parents[2] / "dbt"
HOST = "adb-1234567890123456.7.azuredatabricks.net"
HTTP_PATH = "/sql/1.0/warehouses/abc123def456"
CLIENT_SECRET = "dose" + "ab12" * 16  # pragma: allowlist secret
REFRESH = "doru-refresh-of-a-user-login"  # pragma: allowlist secret


class TestChoosingTheMethod:
    def test_a_token_wins_then_a_client_then_the_user_login(self) -> None:
        assert credentials("dapi-x", "sp", CLIENT_SECRET, HOST, auth_type="oauth").auth_type == "pat"
        assert credentials(None, "sp", CLIENT_SECRET, HOST, auth_type="oauth").auth_type == "oauth-m2m"
        assert credentials(None, "sp", CLIENT_SECRET, HOST).auth_type == "oauth-m2m"
        assert credentials(None, None, None, HOST, auth_type="oauth").auth_type == "oauth-u2m"
        assert credentials(None, "my-app", None, HOST, auth_type="oauth").auth_type == "oauth-u2m"

    @pytest.mark.parametrize(
        ("creds", "settings"),
        [
            (Credentials(token="dapi-x"), {"token": "dapi-x", "auth_type": "pat"}),
            (
                Credentials(client_id="sp", client_secret=CLIENT_SECRET),
                {"client_id": "sp", "client_secret": CLIENT_SECRET, "auth_type": "oauth-m2m"},
            ),
            (Credentials(user_login=True), {"client_id": U2M_CLIENT_ID, "auth_type": "external-browser"}),
            (
                Credentials(client_id="my-app", user_login=True),
                {"client_id": "my-app", "auth_type": "external-browser"},
            ),
        ],
    )
    def test_databricks_sdk_unified_auth_gets_the_methods_settings(
        self, creds: Credentials, settings: dict[str, Any]
    ) -> None:
        assert creds.sdk_settings() == settings

    def test_the_user_login_shares_dbt_databricks_client_and_so_its_cached_login(self) -> None:
        from dbt.adapters.databricks.credentials import CLIENT_ID

        assert U2M_CLIENT_ID == CLIENT_ID

    def test_a_client_id_alone_without_oauth_is_refused_and_names_both_ways(self) -> None:
        with pytest.raises(TargetError) as refused:
            credentials(None, "sp", None, HOST)

        assert "OAuth machine-to-machine needs both" in str(refused.value)
        assert "auth_type: oauth without a client secret" in str(refused.value)

    def test_messages_never_hold_a_secret(self) -> None:
        creds = Credentials(client_id="sp", client_secret=CLIENT_SECRET, target="prod")

        assert CLIENT_SECRET not in repr(creds) + creds.describe() + creds.fix_hint()
        assert creds.describe() == " for target 'prod' (auth oauth-m2m)"


class TestProfiles:
    BASE: ClassVar[dict[str, str]] = {"DATABRICKS_HOST": HOST, "DATABRICKS_HTTP_PATH": HTTP_PATH, "DBT_CATALOG": "main"}

    def resolve(self, monkeypatch: pytest.MonkeyPatch, name: str, **env: str) -> Any:
        for key, value in {**self.BASE, **env}.items():
            monkeypatch.setenv(key, value)
        return resolve_target(load_project(PROJECT), name).databricks

    @pytest.mark.parametrize("target", ["dev", "ci", "prod"])
    @pytest.mark.parametrize("mode", ["oauth", "oauth-m2m"])
    def test_dev_ci_and_prod_take_a_service_principal(
        self, monkeypatch: pytest.MonkeyPatch, target: str, mode: str
    ) -> None:
        settings = self.resolve(
            monkeypatch,
            target,
            DATABRICKS_AUTH_TYPE=mode,
            DATABRICKS_CLIENT_ID="sp",
            DATABRICKS_CLIENT_SECRET=CLIENT_SECRET,
        )

        assert (settings.auth_type, settings.client_id, settings.client_secret, settings.token) == (
            "oauth",
            "sp",
            CLIENT_SECRET,
            None,
        )

    @pytest.mark.parametrize("target", ["dev", "prod"])
    def test_a_user_login_needs_neither_token_nor_secret(self, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
        settings = self.resolve(monkeypatch, target, DATABRICKS_AUTH_TYPE="oauth-u2m")

        assert (settings.auth_type, settings.client_id, settings.client_secret, settings.token) == (
            "oauth",
            None,
            None,
            None,
        )
        assert credentials(None, None, None, HOST, auth_type=settings.auth_type).auth_type == "oauth-u2m"

    def test_without_an_auth_type_the_token_is_required_by_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(TargetError, match=r"environment variable DATABRICKS_TOKEN is not set"):
            self.resolve(monkeypatch, "prod")

    def test_the_local_oauth_target_needs_the_client_secret_by_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(TargetError, match=r"DATABRICKS_CLIENT_SECRET is not set"):
            self.resolve(monkeypatch, "local_databricks_oauth", DATABRICKS_CLIENT_ID="sp")


class TestTheEngine:
    def test_a_user_login_engine_hands_the_connector_a_credentials_provider_and_no_token(self) -> None:
        engine = DatabricksEngine(HOST, HTTP_PATH, "main", auth_type="oauth")

        arguments = engine.connect_arguments()
        gx_arguments = engine.sqlalchemy_connect_args()

        assert engine.auth_type == "oauth-u2m"
        assert "access_token" not in arguments
        assert callable(arguments["credentials_provider"])
        assert callable(gx_arguments["credentials_provider"])
        assert "auth='oauth-u2m'" in repr(engine)
        assert (
            engine.sqlalchemy_url()
            == f"databricks://{HOST}:443?http_path=%2Fsql%2F1.0%2Fwarehouses%2Fabc123def456&catalog=main"
        )

    def test_every_connection_of_the_engine_shares_one_m2m_login(self) -> None:
        with FakeWorkspace() as workspace:
            workspace.serve_oauth_m2m("sp", CLIENT_SECRET, access_token="m2m-access")
            made: list[dict[str, Any]] = []
            engine = DatabricksEngine(
                workspace.url,
                HTTP_PATH,
                "main",
                client_id="sp",
                client_secret=CLIENT_SECRET,
                connect=lambda **kwargs: made.append(kwargs) or object(),  # type: ignore[func-returns-value,arg-type,return-value]
            )
            creator = engine.sqlalchemy_creator(5.0)

            headers = [engine.connect_arguments()["credentials_provider"]()() for _ in range(2)]
            creator()
            headers.append(made[0]["credentials_provider"]()())

        assert headers == [{"Authorization": "Bearer m2m-access"}] * 3
        assert len(workspace.calls("POST", "/oidc/v1/token")) == 1

    def test_a_cached_user_login_is_refreshed_without_a_browser(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """U2M as databricks-sdk runs it after a browser login: the login is in its token cache, the access
        token has expired, the refresh token gets a new one from the workspace's token endpoint."""
        from databricks.sdk.oauth import OidcEndpoints, Token, TokenCache

        monkeypatch.setattr(webbrowser, "open_new", pytest.fail)
        with FakeWorkspace() as workspace:
            workspace.serve_oauth_m2m("unused", "unused")

            def refresh(request: RecordedRequest) -> FakeResponse:
                form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
                if form != {"grant_type": "refresh_token", "refresh_token": REFRESH, "client_id": U2M_CLIENT_ID}:
                    return FakeResponse(400, {"error": "invalid_grant", "error_description": "bad refresh"})
                return FakeResponse(200, {"access_token": "u2m-access", "token_type": "Bearer", "expires_in": 3600})

            workspace.route("POST", "/oidc/v1/token", refresh)
            oidc = f"{workspace.url}/oidc"
            cache = TokenCache(
                host=workspace.url,
                oidc_endpoints=OidcEndpoints(f"{oidc}/v1/authorize", f"{oidc}/v1/token"),
                client_id=U2M_CLIENT_ID,
                redirect_url="http://localhost:8020",
                scopes=["all-apis", "offline_access"],
            )
            expired = Token("old", "Bearer", REFRESH, dt.datetime.now() - dt.timedelta(hours=1))
            Path(cache.filename).parent.mkdir(parents=True, exist_ok=True)
            Path(cache.filename).write_text(json.dumps({"token": expired.as_dict()}))
            engine = DatabricksEngine(workspace.url, HTTP_PATH, "main", auth_type="oauth")

            header = engine.connect_arguments()["credentials_provider"]()()

        assert header == {"Authorization": "Bearer u2m-access"}
        assert len(workspace.calls("POST", "/oidc/v1/token")) >= 1
