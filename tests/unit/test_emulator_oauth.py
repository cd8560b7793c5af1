"""The local endpoint's OAuth server without a network: grants, refusals in Databricks' error shape, the JWT
access tokens it issues and checks, and its counters."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from quality.emulator.oauth import OAuthServer

HOST = "127.10.20.30"
CLIENT_ID = "6f1c1a3e-0000-4000-8000-000000000001"
SECRET = "dose" + "cd34" * 16  # pragma: allowlist secret


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.fixture
def server() -> OAuthServer:
    return OAuthServer(client_id=CLIENT_ID, client_secret=SECRET, token_ttl_s=120)


def test_client_credentials_by_basic_auth_as_databricks_sdk_sends_them(server: OAuthServer) -> None:
    body = urlencode({"grant_type": "client_credentials", "scope": "all-apis"}).encode()

    answer = server.token(HOST, basic(CLIENT_ID, SECRET), body)

    assert answer.status == 200
    assert answer.body["token_type"] == "Bearer"
    assert answer.body["expires_in"] == 120
    token = answer.body["access_token"]
    assert claims(token)["iss"] == f"https://{HOST}/oidc"
    assert claims(token)["sub"] == CLIENT_ID
    assert claims(token)["exp"] - claims(token)["iat"] == 120
    assert server.accepts(token)
    assert server.stats()["tokens_issued"] == {"client_credentials": 1}


def test_client_credentials_in_the_body_too(server: OAuthServer) -> None:
    body = urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}).encode()

    assert server.token(HOST, "", body).status == 200


@pytest.mark.parametrize(
    ("authorization", "form"),
    [
        (basic(CLIENT_ID, "dose-wrong"), {}),
        (basic("someone-else", SECRET), {}),
        ("Basic not-base64!", {}),
        ("", {"client_id": CLIENT_ID}),
    ],
)
def test_a_wrong_client_is_invalid_client_401(server: OAuthServer, authorization: str, form: dict[str, str]) -> None:
    body = urlencode({"grant_type": "client_credentials", **form}).encode()

    answer = server.token(HOST, authorization, body)

    assert (answer.status, answer.body) == (
        401,
        {"error": "invalid_client", "error_description": "Client authentication failed"},
    )
    assert server.stats()["tokens_refused"] == {"client_credentials": 1}
    assert server.stats()["tokens_issued"] == {}


def test_a_cached_user_login_is_refreshed_for_a_public_client(server: OAuthServer) -> None:
    body = urlencode(
        {"grant_type": "refresh_token", "refresh_token": server.refresh_token, "client_id": "dbt-databricks"}
    ).encode()

    answer = server.token(HOST, "", body)
    stale = server.token(
        HOST,
        "",
        urlencode({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "dbt-databricks"}).encode(),
    )

    assert answer.status == 200
    assert answer.body["refresh_token"] == server.refresh_token
    assert claims(answer.body["access_token"])["client_id"] == "dbt-databricks"
    assert (stale.status, stale.body["error"]) == (400, "invalid_grant")


def test_an_unknown_grant_is_unsupported(server: OAuthServer) -> None:
    answer = server.token(HOST, "", b"grant_type=password&username=a&password=b")

    assert (answer.status, answer.body["error"]) == (400, "unsupported_grant_type")


def test_forged_expired_and_foreign_tokens_are_not_accepted(server: OAuthServer) -> None:
    token = server.token(HOST, basic(CLIENT_ID, SECRET), b"grant_type=client_credentials").body["access_token"]
    header, _payload, signature = token.split(".")
    tampered = dict(claims(token), sub="admin")
    forged_payload = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    other = OAuthServer(client_id=CLIENT_ID, client_secret=SECRET)

    assert server.accepts(token)
    assert not server.accepts(f"{header}.{forged_payload}.{signature}")
    assert not other.accepts(token), "another endpoint's key signed it"
    assert not server.accepts("dapi0123")
    assert not server.accepts("a.b.c")
    short = OAuthServer(client_id=CLIENT_ID, client_secret=SECRET, token_ttl_s=1)
    expiring = short.token(HOST, basic(CLIENT_ID, SECRET), b"grant_type=client_credentials").body["access_token"]
    time.sleep(1.1)
    assert not short.accepts(expiring)


def test_requests_are_counted_by_auth_kind_and_the_secret_is_never_in_repr(server: OAuthServer) -> None:
    server.authenticated("oauth")
    server.authenticated("oauth")
    server.authenticated("pat")

    assert server.stats()["requests_by_auth"] == {"oauth": 2, "pat": 1}
    assert SECRET not in repr(server) + json.dumps(server.stats())
    assert server.refresh_token not in repr(server)


def test_discovery_names_the_token_endpoint_on_the_host(server: OAuthServer) -> None:
    metadata = server.metadata(HOST)

    assert metadata["token_endpoint"] == f"https://{HOST}/oidc/v1/token"
    assert metadata["issuer"] == f"https://{HOST}/oidc"


@pytest.mark.parametrize("auth", ["pat", "oauth-m2m"])
def test_the_endpoint_exports_either_its_token_or_its_client_never_both(auth: str) -> None:
    from quality.emulator.endpoint import LocalEndpoint

    endpoint = LocalEndpoint(auth=auth)  # type: ignore[arg-type]
    endpoint.ready = {
        "host": HOST,
        "http_path": "/sql/1.0/warehouses/abc",
        "token": "local-token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "catalog": "main",
        "ca_bundle": "/tmp/ca.pem",
    }

    env = endpoint.environment()

    if auth == "pat":
        assert (env["DATABRICKS_TOKEN"], env["DATABRICKS_AUTH_TYPE"]) == ("local-token", "pat")
        assert "DATABRICKS_CLIENT_SECRET" not in env
    else:
        assert (env["DATABRICKS_CLIENT_ID"], env["DATABRICKS_CLIENT_SECRET"]) == (CLIENT_ID, SECRET)
        assert env["DATABRICKS_AUTH_TYPE"] == "oauth-m2m"
        assert "DATABRICKS_TOKEN" not in env
    assert SECRET not in repr(endpoint)
    assert "local-token" not in repr(endpoint)
