"""The Python versions the harness runs on, checked where it starts (the CLI and the pytest plugin).

The package's `requires-python` has no upper bound on purpose: uv ignores upper bounds when it resolves
a user's project (for every Python the project allows, 3.14 included) and drops dependency markers that
the bound would imply. On Python 3.14 dbt-databricks and great-expectations 1.24 cannot be installed
together (GX needs pydantic>=2.13 there, dbt-databricks refuses it), so the dependencies give 3.14 an
older GX only to let `uv add dbt-quality-harness` resolve, and the harness refuses to start there.
"""

from __future__ import annotations

import sys

SUPPORTED = ((3, 11), (3, 13))  # first and last supported minor versions


def unsupported_python(version: tuple[int, int] | None = None) -> str | None:
    """A message naming the supported versions when `version` (default: this interpreter) is outside them."""
    major_minor = version or (sys.version_info.major, sys.version_info.minor)
    if SUPPORTED[0] <= major_minor <= SUPPORTED[1]:
        return None
    first, last = (f"{major}.{minor}" for major, minor in SUPPORTED)
    beyond = f"{SUPPORTED[1][0]}.{SUPPORTED[1][1] + 1}"
    return (
        f"dbt-quality-harness runs on Python {first} to {last}, not {major_minor[0]}.{major_minor[1]} "
        f"(dbt-databricks and great-expectations cannot be installed together there). Use a supported "
        f'interpreter, e.g. `uv python pin {last}` and `uv sync`, and set requires-python = ">={first},<{beyond}" '
        "in your pyproject.toml."
    )
