"""The view of a project every invariant kind plans from (`planner` builds it, each kind module reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quality.invariants.lineage import ProjectLineage
from quality.invariants.model import ColumnLookup, Node


@dataclass
class Project:
    """The manifest's relations, their columns (read from the warehouse) and their column lineage."""

    nodes: dict[str, Node]
    lookup: ColumnLookup
    dialect: str
    vars: dict[str, Any] = field(default_factory=dict)
    _columns: dict[str, dict[str, str]] = field(default_factory=dict)
    _lineage: ProjectLineage | None = None

    def columns(self, unique_id: str) -> dict[str, str]:
        """name -> type of the node's relation ({} when it is not built)."""
        if unique_id not in self._columns:
            node = self.nodes.get(unique_id)
            self._columns[unique_id] = self.lookup(node.relation) if node else {}
        return self._columns[unique_id]

    @property
    def lineage(self) -> ProjectLineage:
        if self._lineage is None:
            self._lineage = ProjectLineage(self.nodes, self.dialect)
        return self._lineage

    def of_type(self, resource_type: str) -> list[Node]:
        return [node for node in self.nodes.values() if node.resource_type == resource_type]
