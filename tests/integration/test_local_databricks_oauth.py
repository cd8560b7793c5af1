"""OAuth everywhere a token works, on the local Databricks SQL endpoint (Spark SQL), with no DATABRICKS_TOKEN.

The endpoint runs with `auth="oauth-m2m"`: it exports its service principal's DATABRICKS_CLIENT_ID and
DATABRICKS_CLIENT_SECRET, and its OAuth server (`quality.emulator.oauth`) answers the wire databricks-sdk
speaks (`/.well-known/databricks-config`, `/oidc/.well-known/oauth-authorization-server`, `POST
/oidc/v1/token` with client credentials). Its counters (`auth_stats()`) prove what each client used: OAuth
access tokens issued, and API requests by auth kind; a PAT request would show up as `pat`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.emulator.endpoint import LocalEndpoint
from quality.engines.databricks import DatabricksEngine
from quality.engines.factory import open_engine
from quality.errors import TargetError
from quality.onboarding.doctor import Check, run_checks
from tests.integration.local_databricks import on_local_endpoint, routed, unique_schema

pytestmark = on_local_endpoint("local_databricks_oauth")

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
TARGET = "local_databricks_oauth"
JWT_HEADER = "eyJhbGciOiJIUzI1NiIs"  # how every access token of the endpoint begins (base64 of its JWT header)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    with LocalEndpoint(auth="oauth-m2m") as endpoint, routed(endpoint):
        yield endpoint


@pytest.fixture
def oauth_env(endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process pointed at the endpoint by OAuth M2M: client id and secret, and no token anywhere."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "DBT_")):
            monkeypatch.delenv(name)
    environment = endpoint.environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("QUALITY_CONNECT_TIMEOUT", "30")
    assert "DATABRICKS_TOKEN" not in os.environ
    return environment


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """What changed in the endpoint's counters between two `auth_stats()`."""
    changes: dict[str, int] = {}
    for group in ("tokens_issued", "tokens_refused", "requests_by_auth"):
        for key in set(before[group]) | set(after[group]):
            change = after[group].get(key, 0) - before[group].get(key, 0)
            if change:
                changes[f"{group}.{key}"] = change
    return changes


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


class TestTheWire:
    """The OAuth routes answer as a workspace does (what databricks-sdk 0.117 sends, checked byte for byte)."""

    def test_discovery_points_the_sdk_at_the_token_endpoint(self, endpoint: LocalEndpoint) -> None:
        base, bundle = f"https://{endpoint.host}", endpoint.ready["ca_bundle"]

        config = requests.get(f"{base}/.well-known/databricks-config", verify=bundle, timeout=10).json()
        oidc = requests.get(f"{base}/oidc/.well-known/oauth-authorization-server", verify=bundle, timeout=10).json()

        assert config["oidc_endpoint"] == f"{base}/oidc"
        assert oidc["token_endpoint"] == f"{base}/oidc/v1/token"
        assert oidc["authorization_endpoint"] == f"{base}/oidc/v1/authorize"
        assert "client_credentials" in oidc["grant_types_supported"]

    def test_client_credentials_give_a_short_lived_bearer_token_for_every_api_route(
        self, endpoint: LocalEndpoint
    ) -> None:
        base, bundle = f"https://{endpoint.host}", endpoint.ready["ca_bundle"]
        client = (endpoint.ready["client_id"], endpoint.ready["client_secret"])

        answer = requests.post(
            f"{base}/oidc/v1/token",
            {"grant_type": "client_credentials", "scope": "all-apis"},
            auth=client,
            verify=bundle,
            timeout=10,
        )
        token = answer.json()
        warehouse = endpoint.ready["http_path"].rsplit("/", 1)[1]
        with_token = requests.get(
            f"{base}/api/2.0/sql/warehouses/{warehouse}",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            verify=bundle,
            timeout=10,
        )
        forged = token["access_token"][:-4] + ("AAAA" if not token["access_token"].endswith("AAAA") else "BBBB")
        with_forged = requests.get(
            f"{base}/api/2.0/sql/warehouses/{warehouse}",
            headers={"Authorization": f"Bearer {forged}"},
            verify=bundle,
            timeout=10,
        )

        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 3600
        assert token["access_token"].startswith(JWT_HEADER)
        claims = token["access_token"].split(".")[1]
        assert f'"iss":"{base}/oidc"'.encode() in base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))
        assert with_token.status_code == 200
        assert with_token.json()["state"] == "RUNNING"
        assert with_forged.status_code == 401
        assert with_forged.json() == {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}

    def test_a_wrong_secret_is_refused_as_invalid_client(self, endpoint: LocalEndpoint) -> None:
        base, bundle = f"https://{endpoint.host}", endpoint.ready["ca_bundle"]
        before = endpoint.auth_stats()

        answer = requests.post(
            f"{base}/oidc/v1/token",
            {"grant_type": "client_credentials", "scope": "all-apis"},
            auth=(endpoint.ready["client_id"], "dose-not-the-secret"),
            verify=bundle,
            timeout=10,
        )

        assert answer.status_code == 401
        assert answer.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}
        assert delta(before, endpoint.auth_stats()) == {"tokens_refused.client_credentials": 1}

    def test_short_lived_tokens_expire(self) -> None:
        with LocalEndpoint(auth="oauth-m2m", oauth_token_ttl_s=1) as short, routed(short):
            base, bundle = f"https://{short.host}", short.ready["ca_bundle"]
            token = requests.post(
                f"{base}/oidc/v1/token",
                {"grant_type": "client_credentials"},
                auth=(short.ready["client_id"], short.ready["client_secret"]),
                verify=bundle,
                timeout=10,
            ).json()
            time.sleep(2.1)
            late = requests.get(
                f"{base}/api/2.0/preview/scim/v2/Me",
                headers={"Authorization": f"Bearer {token['access_token']}"},
                verify=bundle,
                timeout=10,
            )

        assert token["expires_in"] == 1
        assert late.status_code == 401


class TestTheHarnessByM2M:
    def test_the_oauth_target_opens_the_engine_by_m2m_and_never_sends_a_token(
        self, endpoint: LocalEndpoint, oauth_env: dict[str, str], capfd: pytest.CaptureFixture[str]
    ) -> None:
        target = resolve_target(load_project(PROJECT), TARGET)
        before = endpoint.auth_stats()

        engine = open_engine(target)
        try:
            assert isinstance(engine, DatabricksEngine)
            assert engine.auth_type == "oauth-m2m"
            assert engine.query("select 1 + 1") == [(2,)]
        finally:
            engine.close()

        assert target.databricks is not None
        assert target.databricks.auth_type == "oauth"
        changes = delta(before, endpoint.auth_stats())
        # The preflight's SDK client and the engine's SQL session each log in once.
        assert changes["tokens_issued.client_credentials"] == 2
        assert changes["requests_by_auth.oauth"] >= 3
        assert "requests_by_auth.pat" not in changes
        output = "".join(capfd.readouterr())
        assert oauth_env["DATABRICKS_CLIENT_SECRET"] not in output
        assert JWT_HEADER not in output

    @pytest.mark.slow
    def test_great_expectations_validates_a_table_by_m2m_through_the_engine(
        self, endpoint: LocalEndpoint, oauth_env: dict[str, str]
    ) -> None:
        from quality.expectations.spec import check_suites
        from quality.expectations.validate import validate_models
        from tests.integration.test_local_databricks_engine import orders_manifest

        engine = open_engine(resolve_target(load_project(PROJECT), TARGET))
        assert isinstance(engine, DatabricksEngine)
        schema = unique_schema("gx_oauth")
        try:
            engine.create_schema(schema)
            orders = engine.relation_ref(schema, "orders")
            engine.execute(f"create table {orders} (order_id bigint, status string, total decimal(18, 2)) using delta")
            engine.execute(f"insert into {orders} values (1, 'shipped', 10.00), (2, 'placed', 3.50)")
            manifest = orders_manifest(schema)
            before = endpoint.auth_stats()

            report = validate_models(check_suites(manifest), manifest, engine, data_docs_dir=None, run_name="oauth")

            changes = delta(before, endpoint.auth_stats())
        finally:
            engine.drop_schema(schema)
            engine.close()

        assert report.errors == []
        assert report.ok is True, [(r.column, r.expectation, r.observed_value) for r in report.results]
        assert any(r.observed_value == 2 for r in report.results)
        assert changes["requests_by_auth.oauth"] > 0, "GX's connections came to the endpoint with OAuth tokens"
        assert "requests_by_auth.pat" not in changes

    @pytest.mark.slow
    def test_quality_doctor_passes_by_m2m_dbt_debug_included(
        self, endpoint: LocalEndpoint, oauth_env: dict[str, str], capfd: pytest.CaptureFixture[str]
    ) -> None:
        before = endpoint.auth_stats()

        checks = by_name(run_checks(PROJECT, None, TARGET, debug=True))

        assert checks["target"].status == "ok"
        assert checks["connection"].status == "ok", checks["connection"].detail
        assert "auth oauth-m2m" in checks["connection"].detail
        assert checks["dbt debug"].status == "ok", checks["dbt debug"].detail
        changes = delta(before, endpoint.auth_stats())
        assert changes["tokens_issued.client_credentials"] >= 3  # preflight, engine session, dbt-databricks
        assert "requests_by_auth.pat" not in changes
        output = "".join(capfd.readouterr())
        assert oauth_env["DATABRICKS_CLIENT_SECRET"] not in output
        assert JWT_HEADER not in output

    def test_a_wrong_client_secret_is_one_paragraph_naming_target_auth_and_fix(
        self, endpoint: LocalEndpoint, oauth_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wrong = "dose" + "0" * 64  # pragma: allowlist secret
        monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", wrong)
        before = endpoint.auth_stats()

        checks = by_name(run_checks(PROJECT, None, TARGET, debug=True))

        detail = checks["connection"].detail
        assert checks["connection"].status == "fail"
        assert detail == (
            f"the workspace at {endpoint.host} refused the OAuth login of client {oauth_env['DATABRICKS_CLIENT_ID']} "
            f"(invalid_client: Client authentication failed) for target '{TARGET}' (auth oauth-m2m): check "
            f"DATABRICKS_CLIENT_ID ({oauth_env['DATABRICKS_CLIENT_ID']}) and DATABRICKS_CLIENT_SECRET of the OAuth "
            "service principal (create a new secret if it expired)."
        )
        assert "\n" not in detail
        assert wrong not in detail
        assert oauth_env["DATABRICKS_CLIENT_SECRET"] not in detail
        assert "dbt debug" not in checks
        changes = delta(before, endpoint.auth_stats())
        assert changes.get("tokens_refused.client_credentials", 0) >= 1
        assert "tokens_issued.client_credentials" not in changes

    def test_the_engine_alone_refuses_a_half_configured_client_before_any_request(
        self, endpoint: LocalEndpoint, oauth_env: dict[str, str]
    ) -> None:
        with pytest.raises(
            TargetError, match=r"DATABRICKS_CLIENT_ID is set for .* but DATABRICKS_CLIENT_SECRET is not"
        ):
            DatabricksEngine(endpoint.host, endpoint.ready["http_path"], "main", client_id="sp")


@pytest.mark.slow
def test_dbt_runs_a_model_by_m2m_and_logs_no_secret(
    endpoint: LocalEndpoint, oauth_env: dict[str, str], tmp_path: Path
) -> None:
    """The real dbt-databricks adapter, in its own process, with client id and secret and no token."""
    schema = unique_schema("dbt_oauth")
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: oauth_probe\nprofile: retail\nversion: '1.0'\nconfig-version: 2\n", encoding="utf-8"
    )
    (project / "models" / "probe.sql").write_text(
        "{{ config(materialized='table') }}\nselect 1 as id, 'oauth' as how\n", encoding="utf-8"
    )
    environment = {**os.environ, "DBT_SCHEMA": schema, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    before = endpoint.auth_stats()

    command = [sys.executable, "-m", "dbt.cli.main", "run", "--project-dir", str(project)]
    command += ["--profiles-dir", str(PROJECT), "--target", TARGET, "--log-path", str(tmp_path / "logs")]
    command += ["--target-path", str(tmp_path / "target"), "--log-level-file", "debug"]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False)

    engine = open_engine(resolve_target(load_project(PROJECT), TARGET))
    assert isinstance(engine, DatabricksEngine)
    try:
        rows = engine.query(f"select id, how from {engine.relation_ref(schema, 'probe')}")
    finally:
        engine.drop_schema(schema)
        engine.close()

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert rows == [(1, "oauth")]
    changes = delta(before, endpoint.auth_stats())
    assert changes["tokens_issued.client_credentials"] >= 1
    assert "requests_by_auth.pat" not in changes
    logged = result.stdout + result.stderr + (tmp_path / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert oauth_env["DATABRICKS_CLIENT_SECRET"] not in logged
    assert JWT_HEADER not in logged


U2M_PROFILES = """
retail:
  target: u2m
  outputs:
    u2m:
      type: databricks
      host: "{{ env_var('DATABRICKS_HOST') }}"
      http_path: "{{ env_var('DATABRICKS_HTTP_PATH') }}"
      auth_type: oauth
      catalog: "{{ env_var('DBT_CATALOG', 'main') }}"
      schema: analytics
      threads: 1
      connect_retries: 0
      connection_parameters:
        use_sea: true
        enable_telemetry: false
        _retry_stop_after_attempts_count: 2
        _retry_stop_after_attempts_duration: 10
"""


def seed_u2m_login(endpoint: LocalEndpoint, home: Path) -> Path:
    """Write the login databricks-sdk caches after a browser login (what `external-browser` finds on the next
    run), for dbt-databricks' public client: an access token that has expired, and the refresh token."""
    from databricks.sdk.oauth import OidcEndpoints, Token, TokenCache

    oidc = f"https://{endpoint.host}/oidc"
    cache = TokenCache(
        host=f"https://{endpoint.host}",
        oidc_endpoints=OidcEndpoints(f"{oidc}/v1/authorize", f"{oidc}/v1/token"),
        client_id="dbt-databricks",
        redirect_url="http://localhost:8020",
        scopes=["all-apis", "offline_access"],
    )
    expired = Token(
        access_token="expired-access-token",
        token_type="Bearer",
        refresh_token=endpoint.ready["u2m_refresh_token"],
        expiry=dt.datetime.now() - dt.timedelta(hours=1),
    )
    path = Path(cache.filename)
    assert path.is_relative_to(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"token": expired.as_dict()}), encoding="utf-8")
    return path


@pytest.mark.slow
def test_u2m_uses_the_cached_user_login_for_doctor_engine_and_dbt_without_a_browser(
    endpoint: LocalEndpoint, oauth_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auth_type: oauth` without a secret is a user login (U2M): nothing insists on a token or a client
    secret, and with the login databricks-sdk cached (here seeded; on a workstation left by the first
    browser login) the preflight, the engine and dbt debug all connect by refreshing it, no browser opened."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DATABRICKS_CLIENT_ID")
    monkeypatch.delenv("DATABRICKS_CLIENT_SECRET")
    monkeypatch.delenv("DATABRICKS_AUTH_TYPE")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(U2M_PROFILES, encoding="utf-8")
    seed_u2m_login(endpoint, home)

    def no_browser(*args: Any, **kwargs: Any) -> bool:
        raise AssertionError("a browser login was started although a cached login was there")

    monkeypatch.setattr(webbrowser, "open_new", no_browser)
    monkeypatch.setattr(webbrowser, "open", no_browser)
    before = endpoint.auth_stats()

    checks = by_name(run_checks(PROJECT, profiles, "u2m", debug=True))

    assert checks["connection"].status == "ok", checks["connection"].detail
    assert checks["connection"].detail.endswith("(auth oauth-u2m)")
    assert checks["dbt debug"].status == "ok", checks["dbt debug"].detail
    changes = delta(before, endpoint.auth_stats())
    assert changes["tokens_issued.refresh_token"] >= 2  # the harness' SDK configs and dbt-databricks'
    assert "tokens_issued.client_credentials" not in changes
    assert "requests_by_auth.pat" not in changes
    assert changes["requests_by_auth.oauth"] > 0


def test_u2m_without_a_cached_login_stops_at_the_deadline_and_says_how_to_log_in(
    endpoint: LocalEndpoint, oauth_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quality.engines.connectivity import preflight_databricks

    monkeypatch.setenv("HOME", str(tmp_path))
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open_new", lambda url, *a, **k: bool(opened.append(url)))
    say: list[str] = []

    with pytest.raises(TargetError) as refused:
        preflight_databricks(
            endpoint.host,
            endpoint.ready["http_path"],
            auth_type="oauth",
            target="dev",
            timeout_s=3,
            say=say.append,
        )

    assert str(refused.value) == (
        f"the OAuth user login (U2M) to {endpoint.host} for target 'dev' (auth oauth-u2m) did not complete within "
        "3 s: no cached login was usable, so a browser login was started and nobody finished it. Log in again as "
        "yourself: run `uv run quality doctor --target dev` where a browser can open (the login is cached under "
        "~/.config/databricks-sdk-py/oauth); in CI use a service principal (DATABRICKS_CLIENT_ID and "
        "DATABRICKS_CLIENT_SECRET) instead."
    )
    assert opened
    assert opened[0].startswith(f"https://{endpoint.host}/oidc/v1/authorize?")
    assert "client_id=dbt-databricks" in opened[0]
    # End the abandoned login: the SDK's redirect listener (localhost:8020) takes one request, then gives up.
    with contextlib.suppress(requests.RequestException):
        requests.get("http://127.0.0.1:8020/?error=access_denied&error_description=test+over", timeout=2)
