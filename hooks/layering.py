"""pre-commit hook: models read only from the layer below them.

- `staging` models read only sources (no `ref()`);
- `intermediate` and `marts` models read only refs (no `source()`);
- a mart reads at least one `ref()`: one that reads only a hard-coded table (or data a macro hides)
  fails. A mart that generates its rows (a calendar) says so in its YAML: `meta: {reads_no_ref: "<why>"}`;
- a mart reads no staging model of another domain. A model's domain is `meta.domain` in its YAML, else
  its folder (`models/staging/<domain>/`, `models/marts/<domain>/`). A mart without a domain may read
  staging models of one domain only.

Dependencies come from the shared manifest (`target/pre-commit/manifest.json`) when it is fresh (see
`hooks.manifest`), which also sees refs built by Jinja logic; otherwise from the `ref()`/`source()`
calls in the SQL, found by regex.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks import manifest as shared_manifest
from hooks.dbt_layout import (
    Project,
    classify,
    declared_domains,
    declared_meta,
    model_sql_files,
    on_project,
    project_hook_parser,
    yaml_models,
)
from hooks.findings import Finding, report
from hooks.jinja_calls import Call, blank_jinja_comments, find_calls

NO_REF_KEY = "reads_no_ref"
FROM_KEYWORD = re.compile(r"\bfrom\b", re.IGNORECASE)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    layer: str
    domain: str


@dataclass(frozen=True)
class Dependency:
    """What a model reads: kind "ref" (a model, `info` known when it is in this project), "source", or
    (from the manifest, which tells them apart) "seed" and "snapshot"."""

    kind: str
    name: str
    line: int
    info: ModelInfo | None = None


def _domain(model: ModelInfo | None) -> str:
    return model.domain if model is not None else ""


def build_index(project: Project, domains: dict[str, str]) -> dict[str, ModelInfo]:
    """Every model of the project by name, with layer and domain (YAML `meta.domain` first)."""
    files = [model for path in model_sql_files(project) if (model := classify(project, path)) is not None]
    staging_domains = {model.folder_domain for model in files if model.layer == "staging" and model.folder_domain}
    index: dict[str, ModelInfo] = {}
    for model in files:
        folder_domain = model.folder_domain
        if model.layer != "staging" and folder_domain not in staging_domains:
            folder_domain = ""
        domain = domains.get(model.name, folder_domain)
        index[model.name] = ModelInfo(model.name, model.path, model.layer, domain)
    return index


def _regex_dependencies(model: ModelInfo, index: dict[str, ModelInfo]) -> list[Dependency]:
    calls = find_calls(model.path.read_text(encoding="utf-8"))
    return [Dependency(call.kind, call.name, call.line, index.get(call.name)) for call in calls]


def _call_line(calls: Iterable[Call], kind: str, name: str) -> int:
    return next((call.line for call in calls if call.kind == kind and call.name == name), 1)


def _manifest_dependencies(
    model: ModelInfo, node: dict[str, Any], nodes: dict[str, Any], sources: dict[str, Any], index: dict[str, ModelInfo]
) -> list[Dependency]:
    calls = find_calls(model.path.read_text(encoding="utf-8"))
    dependencies: list[Dependency] = []
    for unique_id in node.get("depends_on", {}).get("nodes", []):
        if unique_id.startswith("source."):
            source = sources.get(unique_id, {})
            name = f"{source.get('source_name', '')}.{source.get('name', '')}"
            dependencies.append(Dependency("source", name, _call_line(calls, "source", name)))
        elif unique_id.startswith("model."):
            name = str(nodes.get(unique_id, {}).get("name", unique_id.split(".")[-1]))
            dependencies.append(Dependency("ref", name, _call_line(calls, "ref", name), index.get(name)))
        elif unique_id.startswith(("seed.", "snapshot.")):
            name = str(nodes.get(unique_id, {}).get("name", unique_id.split(".")[-1]))
            dependencies.append(Dependency(unique_id.split(".")[0], name, _call_line(calls, "ref", name)))
    return dependencies


def _rule_findings(model: ModelInfo, dependencies: Sequence[Dependency]) -> Iterator[Finding]:
    path = model.path.as_posix()
    for dependency in dependencies:
        if model.layer == "staging" and dependency.kind == "ref":
            yield Finding(
                path,
                dependency.line,
                f"staging model '{model.name}' reads ref('{dependency.name}'): staging models read only sources",
                "select from source('<source>', '<table>') here, and move logic that combines models "
                "into an intermediate model (models/intermediate/)",
            )
        elif model.layer in ("intermediate", "marts") and dependency.kind == "source":
            source, _, table = dependency.name.partition(".")
            yield Finding(
                path,
                dependency.line,
                f"{model.layer} model '{model.name}' reads source('{source}', '{table}'): "
                f"{model.layer} models read only refs",
                f"add a staging model for {dependency.name} (models/staging/<domain>/stg_<domain>__{table}.sql) "
                "and ref() it here",
            )
    if model.layer == "marts":
        yield from _domain_findings(model, dependencies)


def _first_from_line(sql: str) -> int:
    """The line of the first `from` clause (what the model reads), outside comments; 1 if there is none.

    A `from` inside parentheses opened on its own line is a function's (`extract(year from d)`).
    """
    for number, line in enumerate(blank_jinja_comments(sql).splitlines(), start=1):
        code = line.split("--", 1)[0]
        for match in FROM_KEYWORD.finditer(code):
            before = code[: match.start()]
            if before.count("(") <= before.count(")"):
                return number
    return 1


def _no_ref_findings(model: ModelInfo, dependencies: Sequence[Dependency], reason: str) -> Iterator[Finding]:
    """A mart that reads no ref() reads a hard-coded table or hidden data (a source() is reported apart)."""
    if model.layer != "marts" or reason.strip() or dependencies:
        return
    yield Finding(
        model.path.as_posix(),
        _first_from_line(model.path.read_text(encoding="utf-8")),
        f"mart '{model.name}' reads no ref(): marts build only on models (staging, intermediate or marts)",
        "read its data with {{ ref('<model>') }} (a raw table needs a staging model first: "
        "models/staging/<domain>/stg_<domain>__<table>.sql); a mart that generates its rows (a calendar) "
        f'says so in its YAML: config: meta: {NO_REF_KEY}: "<why>"',
    )


def _domain_findings(model: ModelInfo, dependencies: Sequence[Dependency]) -> Iterator[Finding]:
    path = model.path.as_posix()
    staging = [dep for dep in dependencies if dep.info is not None and dep.info.layer == "staging"]
    if model.domain:
        for dep in staging:
            if _domain(dep.info) and _domain(dep.info) != model.domain:
                yield Finding(
                    path,
                    dep.line,
                    f"mart '{model.name}' (domain '{model.domain}') reads staging model '{dep.name}' "
                    f"of domain '{_domain(dep.info)}'",
                    f"read domain '{_domain(dep.info)}' through its intermediate or mart models, "
                    "or set the right meta.domain on this mart",
                )
        return
    with_domain = [dep for dep in staging if _domain(dep.info)]
    read_domains = sorted({_domain(dep.info) for dep in with_domain})
    if len(read_domains) > 1:
        first_foreign = next(dep for dep in with_domain if _domain(dep.info) != _domain(with_domain[0].info))
        yield Finding(
            path,
            first_foreign.line,
            f"mart '{model.name}' has no domain and reads staging models of several domains "
            f"({', '.join(read_domains)})",
            "give the mart a domain (config: meta: domain: <name>) and read the other domains "
            "through their intermediate or mart models",
        )


def _models_to_check(project: Project, filenames: Sequence[str], index: dict[str, ModelInfo]) -> list[ModelInfo]:
    by_path = {model.path.resolve(): model for model in index.values()}
    chosen: dict[str, ModelInfo] = {}
    for filename in filenames:
        path = Path(filename)
        if path.suffix == ".sql" and path.resolve() in by_path:
            model = by_path[path.resolve()]
            chosen[model.name] = model
        elif path.suffix in (".yml", ".yaml"):
            for entry in yaml_models(path):
                if str(entry["name"]) in index:
                    chosen[str(entry["name"])] = index[str(entry["name"])]
    return sorted(chosen.values(), key=lambda model: model.name)


def _load_fresh_manifest(project: Project) -> dict[str, Any] | None:
    settings = shared_manifest.ParseSettings(project_dir=project.root)
    if not shared_manifest.is_fresh(settings):
        return None
    manifest: dict[str, Any] = json.loads(settings.manifest_path.read_text(encoding="utf-8"))
    return manifest


def _manifest_meta(manifest: dict[str, Any], key: str) -> dict[str, str]:
    """`meta.<key>` of every model that sets a non-empty one (YAML, SQL config() or dbt_project.yml)."""
    values: dict[str, str] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        if meta.get(key):
            values[str(node["name"])] = str(meta[key])
    return values


def check(project: Project, filenames: Sequence[str], *, use_manifest: bool = True) -> list[Finding]:
    manifest = _load_fresh_manifest(project) if use_manifest else None
    domains = _manifest_meta(manifest, "domain") if manifest is not None else declared_domains(project)
    no_ref = _manifest_meta(manifest, NO_REF_KEY) if manifest is not None else declared_meta(project, NO_REF_KEY)
    index = build_index(project, domains)
    nodes_by_path: dict[str, dict[str, Any]] = {}
    if manifest is not None:
        nodes_by_path = {
            str(node.get("original_file_path")): node
            for node in manifest.get("nodes", {}).values()
            if node.get("resource_type") == "model"
        }
    findings: list[Finding] = []
    for model in _models_to_check(project, filenames, index):
        relative = model.path.resolve().relative_to(project.root.resolve()).as_posix()
        node = nodes_by_path.get(relative)
        if manifest is not None and node is not None:
            dependencies = _manifest_dependencies(
                model, node, manifest.get("nodes", {}), manifest.get("sources", {}), index
            )
        else:
            dependencies = _regex_dependencies(model, index)
        findings.extend(_rule_findings(model, dependencies))
        findings.extend(_no_ref_findings(model, dependencies, no_ref.get(model.name, "")))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = project_hook_parser("layering", __doc__.splitlines()[0], "changed model SQL or YAML files")
    parser.add_argument("--all", action="store_true", help="check every model of the project")
    parser.add_argument("--no-manifest", action="store_true", help="use the regex reader even if fresh")
    args = parser.parse_args(argv)

    def check_layers(project: Project) -> int:
        filenames = [path.as_posix() for path in model_sql_files(project)] if args.all else args.filenames
        return report(check(project, filenames, use_manifest=not args.no_manifest))

    return on_project(args.project_dir, check_layers)


if __name__ == "__main__":
    raise SystemExit(main())
