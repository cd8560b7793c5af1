"""The `local_databricks` and `local_databricks_oauth` targets start their endpoint themselves.

`activate_for(target_name)` is called before a target is resolved (the CLI and the pytest plugin do): for
`local_databricks` it starts the local endpoint, sets the `DATABRICKS_*` variables of this process to
it (for `local_databricks_oauth` the service principal's DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET
instead of a token: OAuth M2M), and stops it when the process exits. Under `quality emulator -- ...` the endpoint that command
started is used (recognised by QUALITY_LOCAL_ENDPOINT), never a real workspace that DATABRICKS_HOST names.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from quality.emulator.endpoint import DEFAULT_STATE_DIR, LocalEndpoint

LOCAL_TARGET = "local_databricks"
LOCAL_OAUTH_TARGET = "local_databricks_oauth"
LOCAL_TARGETS = frozenset({LOCAL_TARGET, LOCAL_OAUTH_TARGET})  # the targets that start a local endpoint
MARKER = "QUALITY_LOCAL_ENDPOINT"  # the host of the endpoint this process' DATABRICKS_* variables point at

_started: list[LocalEndpoint] = []


def activate_for(target_name: str | None, *, state_dir: Path | None = DEFAULT_STATE_DIR) -> LocalEndpoint | None:
    """Start the endpoint for the local target (once per process); None for any other target."""
    if target_name not in LOCAL_TARGETS:
        return None
    if os.environ.get(MARKER) and os.environ.get(MARKER) == os.environ.get("DATABRICKS_HOST"):
        return _started[0] if _started else None  # already pointing at a local endpoint
    endpoint = LocalEndpoint(state_dir=state_dir, auth="oauth-m2m" if target_name == LOCAL_OAUTH_TARGET else "pat")
    endpoint.start()
    _started.append(endpoint)
    atexit.register(endpoint.stop)
    os.environ.update(endpoint.environment())
    return endpoint
