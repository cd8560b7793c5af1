"""YAML loading that remembers line numbers, so a hook can say `file:line` for any mapping or key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from hooks.findings import Finding


class LineDict(dict[Any, Any]):
    """A YAML mapping that knows its own line and the line of each of its keys (1-based)."""

    line: int = 1
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence that knows its own line and the line of each of its items (1-based)."""

    line: int = 1
    item_lines: list[int]

    def line_of_item(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if 0 <= index < len(lines) else self.line


# libyaml's parser when present (several times faster); the constructor below stays in Python.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            self.construct_object(key_node, deep=True): key_node.start_mark.line + 1
            for key_node, _ in node.value
            if not isinstance(key_node, MappingNode | SequenceNode)
        }
        return mapping

    def construct_sequence(self, node: SequenceNode, deep: bool = False) -> LineList:
        sequence = LineList(super().construct_sequence(node, deep=True))
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
        return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


class InvalidYaml(Exception):
    """A YAML document that does not parse; carries the finding to report."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.render())
        self.finding = finding


def load_text(text: str, path: str) -> Any:
    """Parse YAML text; mappings come back as `LineDict`, sequences as `LineList`. Raise `InvalidYaml`."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or error.context or "syntax error"
        raise InvalidYaml(
            Finding(path, line, f"invalid YAML: {problem}", "fix the YAML syntax at this line")
        ) from error
    except yaml.YAMLError as error:
        raise InvalidYaml(Finding(path, 1, f"invalid YAML: {error}", "fix the YAML syntax")) from error


def load_file(path: Path | str) -> Any:
    return load_text(Path(path).read_text(encoding="utf-8"), str(path))


def line_of(container: Any, key: Any = None) -> int:
    """The line of `key` inside a mapping, or of the container itself; 1 when unknown."""
    if isinstance(container, LineDict):
        return container.line_of(key) if key is not None else container.line
    if isinstance(container, LineList):
        return container.line
    return 1
