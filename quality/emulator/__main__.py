"""`python -m quality.emulator`: the endpoint's process (started by `LocalEndpoint`, not by hand)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from quality.emulator.service import serve
from quality.emulator.spark import EmulatorError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quality.emulator")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--catalog", default="main")
    parser.add_argument("--address", default=None)
    parser.add_argument("--persistent", action="store_true")
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--oauth-token-ttl", type=int, default=3600, help="seconds an OAuth access token lives")
    parser.add_argument("--route", choices=("port443", "proxy"), default="port443", help="see routing.py")
    parser.add_argument("--proxy-port", type=int, default=0, help="the CONNECT proxy's port (0: a free one)")
    args = parser.parse_args(argv)
    try:
        return serve(
            args.state_dir.resolve(),
            args.catalog,
            args.ready_file.resolve(),
            address=args.address,
            persistent=args.persistent,
            parent_pid=args.parent_pid,
            token_ttl_s=args.oauth_token_ttl,
            route=args.route,
            proxy_port=args.proxy_port,
        )
    except EmulatorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
