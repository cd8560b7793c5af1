"""How clients reach the local endpoint on port 443: the port itself, or a CONNECT tunnel (`tunnel.py`).

QUALITY_ENDPOINT_ROUTE picks the route:

- `port443`: the endpoint listens on port 443 of its loopback address (root, CAP_NET_BIND_SERVICE, or
  `sysctl net.ipv4.ip_unprivileged_port_start=443`). Its host is appended to NO_PROXY / no_proxy, so a proxy
  the user set stays in use for everything else and is never asked for the endpoint.
- `proxy`: the endpoint's TLS server listens on a free port and a CONNECT proxy on an unprivileged port of the
  same address (QUALITY_ENDPOINT_PROXY_PORT, default a free one) tunnels `<host>:443` to it. HTTPS_PROXY /
  https_proxy name that proxy; the NO_PROXY entries that would send the endpoint's host around it are dropped,
  every other entry is kept (those hosts still bypass the proxy). A proxy the user already set
  (HTTPS_PROXY, https_proxy, ALL_PROXY, all_proxy) is refused, not overridden: the endpoint's proxy lets
  nothing but loopback through, so it would silently cut every other HTTPS call of the command.
- `auto` (the default): `port443` when this user may bind port 443, else `proxy`.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import random
import socket
import urllib.request
from collections.abc import Mapping

from quality.emulator.spark import EmulatorError

PORT = 443
ROUTES = ("auto", "proxy", "port443")
ROUTE_VARIABLE = "QUALITY_ENDPOINT_ROUTE"
PROXY_PORT_VARIABLE = "QUALITY_ENDPOINT_PROXY_PORT"
PROXY_MARKER = "QUALITY_ENDPOINT_PROXY"  # the proxy URL of a local endpoint: HTTPS_PROXY equal to it is ours
USER_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")
ROUTE_VARIABLES = ("HTTPS_PROXY", "https_proxy", *NO_PROXY_VARIABLES, PROXY_MARKER)  # what `route_environment` sets
_FIX_PORT = (
    "let this user bind port 443 (root, CAP_NET_BIND_SERVICE, or `sysctl net.ipv4.ip_unprivileged_port_start=443`)"
)


def chosen_route(environ: Mapping[str, str]) -> str:
    """QUALITY_ENDPOINT_ROUTE (default auto), checked."""
    route = environ.get(ROUTE_VARIABLE, "").strip() or "auto"
    if route not in ROUTES:
        raise EmulatorError(f"{ROUTE_VARIABLE} must be one of {', '.join(ROUTES)}, not {route!r}.")
    return route


def proxy_port(environ: Mapping[str, str]) -> int:
    """QUALITY_ENDPOINT_PROXY_PORT (default 0: a free port), checked."""
    text = environ.get(PROXY_PORT_VARIABLE, "").strip() or "0"
    if not text.isdigit() or not (int(text) == 0 or 1024 <= int(text) < 65536):
        raise EmulatorError(
            f"{PROXY_PORT_VARIABLE} must be a port from 1024 to 65535 (or 0 for a free one), not {text!r}."
        )
    return int(text)


def user_proxy(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The first proxy variable set by the user (not by a local endpoint of ours), as (name, value)."""
    ours = environ.get(PROXY_MARKER)
    for name in USER_PROXY_VARIABLES:
        value = environ.get(name, "").strip()
        if value and value != ours:
            return name, value
    return None


def may_bind_port_443() -> bool:
    """Whether this process may bind port 443 (tried on a random loopback address; a taken port also says yes)."""
    rng = random.SystemRandom()
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((f"127.{rng.randint(1, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}", PORT))
    except OSError as error:
        return error.errno != errno.EACCES
    finally:
        probe.close()
    return True


def resolve_route(environ: Mapping[str, str]) -> str:
    """`port443` or `proxy` for this process and environment; EmulatorError (one paragraph) when neither works."""
    route = chosen_route(environ)
    if route == "auto":
        route = "port443" if may_bind_port_443() else "proxy"
    elif route == "port443" and not may_bind_port_443():
        raise EmulatorError(
            f"{ROUTE_VARIABLE}=port443, and this user may not bind port 443: {_FIX_PORT}, or set "
            f"{ROUTE_VARIABLE}=auto (or proxy) to reach the endpoint through a CONNECT tunnel on a free port."
        )
    found = user_proxy(environ) if route == "proxy" else None
    if found:
        name, value = found
        why = f"{ROUTE_VARIABLE}=proxy" if chosen_route(environ) == "proxy" else "this user may not bind port 443"
        raise EmulatorError(
            f"{name} is set ({value}), and {why}, so the local Databricks endpoint would be reached through a "
            "proxy of its own that replaces yours for every HTTPS call of the command and lets nothing but "
            f"loopback through. Unset {', '.join(USER_PROXY_VARIABLES)} for this command (e.g. `env -u {name} "
            f"...`), or {_FIX_PORT}: the endpoint then listens there and your proxy stays for everything else."
        )
    return route


def route_environment(host: str, proxy_url: str | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The proxy variables a client of the endpoint at `host` needs (proxy_url None: the port-443 route)."""
    environ = os.environ if environ is None else environ
    entries = [e.strip() for e in (environ.get("no_proxy") or environ.get("NO_PROXY") or "").split(",") if e.strip()]
    if proxy_url is None:
        no_proxy = ",".join([*entries, host] if host not in entries else entries)
        return dict.fromkeys(NO_PROXY_VARIABLES, no_proxy)
    kept = ",".join(entry for entry in entries if not bypasses(entry, host))
    return {
        "HTTPS_PROXY": proxy_url,
        "https_proxy": proxy_url,
        **dict.fromkeys(NO_PROXY_VARIABLES, kept),
        PROXY_MARKER: proxy_url,
    }


def bypasses(entry: str, host: str) -> bool:
    """Whether one NO_PROXY entry sends `host` around the proxy, for urllib (the connector) or requests (CIDR)."""
    if urllib.request.proxy_bypass_environment(host, {"no": entry}):  # type: ignore[attr-defined]
        return True
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
