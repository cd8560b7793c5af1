"""`quality emulator -- COMMAND...`: run a command against the local Databricks SQL endpoint.

The endpoint starts on a free loopback address, the command runs with its DATABRICKS_* variables (and
the CA bundle that makes clients trust it, and HTTPS_PROXY naming its tunnel when it has one: routing.py),
and the endpoint stops when the command ends, also when this process gets SIGTERM or SIGINT: the command's
whole process group is stopped first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from quality.commands.common import console
from quality.emulator.endpoint import DEFAULT_CATALOG, DEFAULT_STATE_DIR, LocalEndpoint, signal_group, stop_group
from quality.errors import UsageError

STOP_GRACE_S = 10.0
_POLL_S = 0.2


def emulator(
    command: Annotated[list[str] | None, typer.Argument(help="the command to run, after --")] = None,
    state_dir: Annotated[
        Path, typer.Option(help="where the warehouse (Delta tables and catalog) is kept between runs")
    ] = DEFAULT_STATE_DIR,
    ephemeral: Annotated[bool, typer.Option(help="a throwaway warehouse instead of --state-dir")] = False,
    catalog: Annotated[str, typer.Option(help="the Unity Catalog catalog name it serves")] = DEFAULT_CATALOG,
    address: Annotated[str | None, typer.Option(help="loopback address to listen on (default: a free one)")] = None,
) -> int:
    """Start the local Databricks SQL endpoint (Spark SQL through Sail), run COMMAND against it, stop it."""
    if not command:
        raise UsageError(
            "name the command to run after `--`, e.g. `quality emulator -- dbt debug --target local_databricks`."
        )
    with LocalEndpoint(catalog=catalog, state_dir=None if ephemeral else state_dir, address=address) as endpoint:
        tunnel = f", reached through its tunnel {endpoint.proxy_url} (HTTPS_PROXY)" if endpoint.proxy_url else ""
        console.print(
            f"local Databricks SQL endpoint at https://{endpoint.host} (catalog {catalog}), "
            f"started in {endpoint.started_in_s:.1f} s{tunnel}",
            highlight=False,
        )
        environment = {**os.environ, **endpoint.environment()}
        return _run(command, environment)


def _run(command: list[str], environment: dict[str, str]) -> int:
    try:
        child = subprocess.Popen(command, env=environment, start_new_session=True)
    except FileNotFoundError:
        raise UsageError(f"command not found: {command[0]}; check its name and your PATH.") from None
    forwarded: list[float] = []  # when the first SIGTERM/SIGINT was passed on

    def forward(signum: int, frame: object) -> None:
        # Only signal here: the main thread is inside child.wait(), and a second wait from the handler could
        # never take Popen's wait lock (it would always sit out its whole timeout).
        forwarded.append(time.monotonic())
        signal_group(child, signal.Signals(signum))

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = _wait(child, forwarded)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_group(child, STOP_GRACE_S)  # whatever the command left in its group
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell reports it


def _wait(child: subprocess.Popen[bytes], forwarded: list[float]) -> int:
    """The child's exit code; once a signal was passed on, its group is killed if it is not gone within the grace."""
    while True:
        try:
            return child.wait(timeout=_POLL_S)
        except subprocess.TimeoutExpired:
            if forwarded and time.monotonic() - forwarded[0] > STOP_GRACE_S:
                signal_group(child, signal.SIGKILL)


def register(app: typer.Typer) -> None:
    app.command(
        "emulator",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(emulator)
