from __future__ import annotations

from quality.invariants.model import Check
from quality.invariants.planner import Project


def plan(project: Project) -> list[Check]:
    return []
