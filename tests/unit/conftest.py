"""Fixtures shared by the unit tests that talk to a local fake Databricks workspace."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.emulator.routing import PROXY_MARKER, ROUTE_VARIABLES
from tests.fakes import FakeWorkspace

# databricks-sdk and our deploy code read these from the environment (and ~/.databrickscfg from HOME).
AMBIENT_PREFIXES = ("DATABRICKS_", "ARM_", "GOOGLE_", "GITHUB_", "QUALITY_GIT")


@pytest.fixture
def hermetic_databricks_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient Databricks, cloud or CI settings and an empty HOME: only what the test sets is seen."""
    for name in list(os.environ):
        if name.startswith(AMBIENT_PREFIXES):
            monkeypatch.delenv(name)
    if os.environ.get(PROXY_MARKER):  # a local endpoint's tunnel, left by an activation earlier in this process
        for name in ROUTE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def fake_workspace() -> Iterator[FakeWorkspace]:
    with FakeWorkspace() as workspace:
        yield workspace
