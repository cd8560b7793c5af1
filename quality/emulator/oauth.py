"""The local endpoint's OAuth server: what a Databricks workspace answers under `/oidc`, for one service principal.

The wire, as databricks-sdk 0.117 (`oauth-m2m`, `external-browser`), dbt-databricks and
databricks-sql-connector use it:

  GET  /.well-known/databricks-config                -> {"oidc_endpoint": "https://<host>/oidc", ...}
  GET  /oidc/.well-known/oauth-authorization-server  -> issuer, authorization_endpoint, token_endpoint, ...
  POST /oidc/v1/token  (application/x-www-form-urlencoded)
       grant_type=client_credentials&scope=all-apis, client authenticated by HTTP Basic (client_secret_basic,
       what the SDK sends) or client_id/client_secret in the body (client_secret_post)
           -> 200 {"access_token": <JWT>, "token_type": "Bearer", "expires_in": <ttl>, "scope": "all-apis"}
           -> 401 {"error": "invalid_client", "error_description": "Client authentication failed"}
       grant_type=refresh_token&refresh_token=...&client_id=<public client> (U2M: a login cached by the SDK)
           -> 200 a new access token and the same refresh token; 400 {"error": "invalid_grant", ...}

Access tokens are JWTs (HS256, a key made at start) with `iss` = `https://<host>/oidc`, `sub`/`client_id`,
`scope`, `iat` and `exp`, as Databricks issues them: databricks-sql-connector reads `iss` (same host: no token
exchange) and `exp` (when to ask again). An expired, forged or unknown token is refused like a bad PAT.

`stats()` counts the tokens issued per grant and the API requests authenticated per kind (PAT or OAuth), so a
test can prove that a client logged in by OAuth and never sent the PAT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

DEFAULT_TOKEN_TTL_S = 3600  # Databricks' OAuth access tokens live one hour
SCOPE = "all-apis"
# Public clients that may redeem the cached U2M login without a secret (the SDK's and dbt-databricks' ids).
PUBLIC_CLIENTS = frozenset({"databricks-cli", "dbt-databricks", "databricks-sql-python"})


@dataclass(frozen=True)
class TokenAnswer:
    status: int
    body: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_client_secret() -> str:
    """A secret shaped like a Databricks OAuth secret (`dose` + hex; dbt-databricks tries M2M first for those)."""
    return "dose" + secrets.token_hex(32)


@dataclass
class OAuthServer:
    """Issues and checks OAuth access tokens for one service principal (`client_id`/`client_secret`)."""

    client_id: str
    client_secret: str = field(repr=False)
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S
    refresh_token: str = field(default_factory=lambda: "doru" + secrets.token_hex(24), repr=False)
    issuer: str = ""  # https://<host>/oidc, set once the address is known
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _issued: Counter[str] = field(default_factory=Counter)
    _authenticated: Counter[str] = field(default_factory=Counter)
    _refused: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- discovery ----------------------------------------------------------------------------------
    def metadata(self, host: str) -> dict[str, Any]:
        """The OIDC discovery document at /oidc/.well-known/oauth-authorization-server."""
        oidc = f"https://{host}/oidc"
        return {
            "issuer": oidc,
            "authorization_endpoint": f"{oidc}/v1/authorize",
            "token_endpoint": f"{oidc}/v1/token",
            "jwks_uri": f"{oidc}/jwks.json",
            "scopes_supported": [SCOPE, "sql", "offline_access", "openid", "profile", "email"],
            "response_types_supported": ["code"],
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        }

    # --- token endpoint -----------------------------------------------------------------------------
    def token(self, host: str, authorization: str, body: bytes) -> TokenAnswer:
        """Answer POST /oidc/v1/token."""
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items() if values}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, client_secret = _client_credentials(authorization, form)
            if not (
                client_id
                and client_secret
                and hmac.compare_digest(client_id, self.client_id)
                and hmac.compare_digest(client_secret, self.client_secret)
            ):
                self._count(self._refused, grant)
                return TokenAnswer(
                    401, {"error": "invalid_client", "error_description": "Client authentication failed"}
                )
            return self._issue(host, grant, self.client_id, form.get("scope") or SCOPE)
        if grant == "refresh_token":
            client_id = form.get("client_id", "")
            if client_id not in PUBLIC_CLIENTS or not hmac.compare_digest(
                form.get("refresh_token", ""), self.refresh_token
            ):
                self._count(self._refused, grant)
                return TokenAnswer(400, {"error": "invalid_grant", "error_description": "Refresh token is invalid"})
            answer = self._issue(host, grant, client_id, f"{SCOPE} offline_access", subject="local@localhost")
            return TokenAnswer(answer.status, {**answer.body, "refresh_token": self.refresh_token})
        return TokenAnswer(
            400,
            {"error": "unsupported_grant_type", "error_description": f"Grant type {grant!r} is not supported"},
        )

    def _issue(self, host: str, grant: str, client_id: str, scope: str, subject: str | None = None) -> TokenAnswer:
        now = int(time.time())
        claims = {
            "iss": f"https://{host}/oidc",
            "aud": client_id,
            "sub": subject or client_id,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + self.token_ttl_s,
            "jti": str(uuid.uuid4()),
        }
        self._count(self._issued, grant)
        return TokenAnswer(
            200,
            {
                "access_token": self._sign(claims),
                "token_type": "Bearer",
                "expires_in": self.token_ttl_s,
                "scope": scope,
            },
        )

    def _sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "local"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    # --- bearer check -------------------------------------------------------------------------------
    def accepts(self, token: str) -> bool:
        """Whether `token` is an unexpired access token this server signed."""
        parts = token.split(".")
        if len(parts) != 3:
            return False
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(parts[2]), expected):
                return False
            claims = json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError):
            return False
        return isinstance(claims, dict) and float(claims.get("exp", 0)) > time.time()

    def authenticated(self, kind: str) -> None:
        """Count one API request authenticated by `kind` (pat | oauth)."""
        self._count(self._authenticated, kind)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "client_id": self.client_id,
                "tokens_issued": dict(self._issued),
                "tokens_refused": dict(self._refused),
                "requests_by_auth": dict(self._authenticated),
            }

    def _count(self, counter: Counter[str], key: str) -> None:
        with self._lock:
            counter[key] += 1


def _client_credentials(authorization: str, form: dict[str, str]) -> tuple[str, str]:
    """The client id and secret from HTTP Basic (client_secret_basic) or the form (client_secret_post)."""
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization.removeprefix("Basic ").strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return form.get("client_id", ""), form.get("client_secret", "")
