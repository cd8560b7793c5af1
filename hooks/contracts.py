"""Enforced model contracts as plain data, read from properties YAML or a manifest, and their breaking changes.

A contract is breaking-changed when a column is removed (or renamed), its `data_type` changes, a
constraint is removed or loosened (any change of an existing constraint counts), or enforcement is
switched off. Adding columns or constraints is not breaking.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hooks.dbt_layout import model_meta
from hooks.yaml_lines import line_of

APPROVAL_KEY = "contract_change_approved"


@dataclass(frozen=True)
class ColumnContract:
    name: str
    data_type: str
    constraints: frozenset[str]
    line: int = 1


@dataclass(frozen=True)
class Contract:
    """One model version's contract; `version` is None for an unversioned model."""

    model: str
    version: str | None
    enforced: bool
    columns: Mapping[str, ColumnContract]
    constraints: frozenset[str] = frozenset()
    line: int = 1


@dataclass(frozen=True)
class ModelSpec:
    """A model as its YAML (or manifest) declares it: versions, approval and one contract per version."""

    name: str
    path: str
    line: int
    latest_version: str | None
    approval: str
    contracts: Mapping[str | None, Contract] = field(default_factory=dict)


@dataclass(frozen=True)
class BreakingChange:
    model: str
    version: str | None
    column: str
    what: str
    line: int


def _normalize(text: Any) -> str:
    return " ".join(str(text).split()).lower() if text is not None else ""


def constraint_key(constraint: Mapping[str, Any]) -> str:
    """A comparable text for a constraint: its type plus what it applies (expression, columns, target)."""
    parts = [_normalize(constraint.get("type"))]
    if constraint.get("expression"):
        parts.append(f"expression={_normalize(constraint['expression'])}")
    if constraint.get("columns"):
        parts.append("columns=" + ",".join(_normalize(column) for column in constraint["columns"]))
    if constraint.get("to"):
        parts.append(f"to={_normalize(constraint['to'])}")
    if constraint.get("to_columns"):
        parts.append("to_columns=" + ",".join(_normalize(column) for column in constraint["to_columns"]))
    return " ".join(parts)


def _constraints(items: Any) -> frozenset[str]:
    return frozenset(constraint_key(item) for item in items or [] if isinstance(item, Mapping) and item.get("type"))


def _column(entry: Mapping[str, Any]) -> ColumnContract:
    return ColumnContract(
        name=str(entry["name"]),
        data_type=_normalize(entry.get("data_type")),
        constraints=_constraints(entry.get("constraints")),
        line=line_of(entry),
    )


def _columns(entries: Iterable[Any] | None) -> dict[str, ColumnContract]:
    return {
        str(entry["name"]): _column(entry)
        for entry in entries or []
        if isinstance(entry, Mapping) and entry.get("name")
    }


def _version_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def version_order(version: str | None) -> tuple[int, float, str]:
    """Sort key for versions: None first, numbers numerically, other labels alphabetically."""
    if version is None:
        return (0, 0.0, "")
    try:
        return (1, float(version), "")
    except ValueError:
        return (2, 0.0, version)


def _enforced(config: Any) -> bool | None:
    if not isinstance(config, Mapping):
        return None
    contract = config.get("contract")
    if isinstance(contract, Mapping) and "enforced" in contract:
        return bool(contract["enforced"])
    return None


def _version_columns(base: dict[str, ColumnContract], version_entry: Mapping[str, Any]) -> dict[str, ColumnContract]:
    """dbt's rule: a version includes the model's columns (`include`/`exclude`) plus its own ones."""
    entries = [item for item in version_entry.get("columns") or [] if isinstance(item, Mapping)]
    selector = next((item for item in entries if "include" in item), None)
    included = dict(base)
    if selector is not None:
        include = selector.get("include")
        if include not in ("all", "*"):
            included = {name: column for name, column in base.items() if name in set(include or [])}
        excluded = set(selector.get("exclude") or [])
        included = {name: column for name, column in included.items() if name not in excluded}
    own = _columns(item for item in entries if "name" in item)
    return {**included, **own}


def spec_from_yaml(entry: Mapping[str, Any], path: str, folder_enforced: bool) -> ModelSpec:
    """Read one `models:` entry of a properties file. `folder_enforced` comes from dbt_project.yml."""
    name = str(entry["name"])
    model_enforced = _enforced(entry.get("config"))
    enforced = folder_enforced if model_enforced is None else model_enforced
    base_columns = _columns(entry.get("columns"))
    base_constraints = _constraints(entry.get("constraints"))
    versions = [item for item in entry.get("versions") or [] if isinstance(item, Mapping) and "v" in item]
    contracts: dict[str | None, Contract] = {}
    if not versions:
        contracts[None] = Contract(name, None, enforced, base_columns, base_constraints, line_of(entry))
    for item in versions:
        version = _version_text(item["v"])
        version_enforced = _enforced(item.get("config"))
        contracts[version] = Contract(
            name,
            version,
            enforced if version_enforced is None else version_enforced,
            _version_columns(base_columns, item),
            _constraints(item.get("constraints")) or base_constraints,
            line_of(item),
        )
    latest = _version_text(entry.get("latest_version"))
    if latest is None and versions:
        latest = max((_version_text(item["v"]) for item in versions), key=version_order)
    approval = model_meta(entry).get(APPROVAL_KEY)
    return ModelSpec(name, path, line_of(entry), latest, str(approval).strip() if approval else "", contracts)


def specs_from_manifest(manifest: Mapping[str, Any]) -> dict[str, ModelSpec]:
    """Every model of a (prod) manifest, versions grouped under one spec per model name."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model":
            grouped.setdefault(str(node["name"]), []).append(node)
    specs: dict[str, ModelSpec] = {}
    for name, nodes in grouped.items():
        contracts: dict[str | None, Contract] = {}
        for node in nodes:
            version = _version_text(node.get("version"))
            columns = {
                str(column_name): ColumnContract(
                    str(column_name), _normalize(column.get("data_type")), _constraints(column.get("constraints"))
                )
                for column_name, column in (node.get("columns") or {}).items()
            }
            enforced = bool(_enforced(node.get("config")))
            contracts[version] = Contract(name, version, enforced, columns, _constraints(node.get("constraints")))
        latest = _version_text(nodes[0].get("latest_version"))
        approval = model_meta(nodes[0]).get(APPROVAL_KEY)
        path = str(nodes[0].get("patch_path") or nodes[0].get("original_file_path") or "")
        specs[name] = ModelSpec(name, path, 1, latest, str(approval or "").strip(), contracts)
    return specs


def _column_changes(old: Contract, new: Contract) -> Iterator[BreakingChange]:
    for name, before in old.columns.items():
        after = new.columns.get(name)
        if after is None:
            yield BreakingChange(old.model, old.version, name, "removed or renamed", new.line)
            continue
        if before.data_type and after.data_type != before.data_type:
            what = f"data_type changed from '{before.data_type}' to '{after.data_type or '(none)'}'"
            yield BreakingChange(old.model, old.version, name, what, after.line)
        for constraint in sorted(before.constraints - after.constraints):
            yield BreakingChange(
                old.model, old.version, name, f"constraint '{constraint}' removed or loosened", after.line
            )


def breaking_changes(old: Contract, new: Contract) -> list[BreakingChange]:
    """What `new` breaks of `old`'s enforced contract (nothing when `old` was not enforced)."""
    if not old.enforced:
        return []
    if not new.enforced:
        return [BreakingChange(old.model, old.version, "", "contract no longer enforced", new.line)]
    changes = list(_column_changes(old, new))
    for constraint in sorted(old.constraints - new.constraints):
        changes.append(
            BreakingChange(old.model, old.version, "", f"model constraint '{constraint}' removed or loosened", new.line)
        )
    return changes


def is_bumped(old: ModelSpec, new: ModelSpec) -> bool:
    return version_order(new.latest_version) > version_order(old.latest_version)


def spec_changes(old: ModelSpec, new: ModelSpec) -> list[BreakingChange]:
    """Breaking changes of every version both specs have. A new latest version may differ freely."""
    bumped = is_bumped(old, new)
    changes: list[BreakingChange] = []
    for version, before in old.contracts.items():
        after = new.contracts.get(version)
        if after is None or (bumped and version == new.latest_version):
            continue
        if bumped and version is None:
            continue  # an unversioned model that gained versions: the old contract lives on as a version
        changes.extend(breaking_changes(before, after))
    return changes
