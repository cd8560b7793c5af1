"""pre-commit hook: no silent breaking change to an enforced model contract.

For every model declared in the changed properties files, the contract (columns, data types,
constraints, enforcement) is compared with the one in git (`--base`, default HEAD) and, with
`--prod-manifest`, with the one deployed to production. A breaking change (column removed or renamed,
data type changed, constraint removed or loosened, contract switched off) fails unless

- the model publishes it as a new version (its `latest_version` goes up; older versions must stay as
  they were), or
- the model's YAML approves it: `config: meta: contract_change_approved: "<reason>"`, with a reason that
  is new in this change (an approval left over from an earlier change does not approve the next one).

Contracts come from the model's YAML and from `+contract: {enforced: true}` in dbt_project.yml folders;
a `{{ config(contract={'enforced': false}) }}` in a model's SQL switches its contract off. So the hook also
runs on changed model SQL and on dbt_project.yml (which puts every model up for comparison).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hooks import git_files
from hooks.contracts import APPROVAL_KEY, BreakingChange, ModelSpec, spec_changes, spec_from_yaml, specs_from_manifest
from hooks.dbt_layout import Project, model_yaml_files, on_project, project_hook_parser, relative_to_model_path
from hooks.findings import Finding, report
from hooks.yaml_lines import InvalidYaml, load_text

YAML_SUFFIXES = (".yml", ".yaml")
SQL_CONTRACT_OFF = re.compile(r"""contract\s*=\s*\{[^}]*['"]enforced['"]\s*:\s*false""", re.IGNORECASE)


def folder_enforced(project_config: Mapping[str, Any], project_name: str, folders: Sequence[str]) -> bool:
    """Whether dbt_project.yml enforces contracts for models in `folders` (deepest setting wins)."""
    enforced = False

    def apply(level: Any) -> None:
        nonlocal enforced
        if not isinstance(level, Mapping):
            return
        for key in ("+contract", "contract"):
            setting = level.get(key)
            if isinstance(setting, Mapping) and "enforced" in setting:
                enforced = bool(setting["enforced"])

    models = project_config.get("models") or {}
    apply(models)
    level = models.get(project_name) if isinstance(models, Mapping) else None
    apply(level)
    for folder in folders:
        level = level.get(folder) if isinstance(level, Mapping) else None
        apply(level)
    return enforced


def _specs_from_text(project: Project, path: str, text: str, project_config: Mapping[str, Any]) -> list[ModelSpec]:
    document = load_text(text, path)
    models = document.get("models") if isinstance(document, Mapping) else None
    parts = relative_to_model_path(project, Path(path)) or ()
    enforced = folder_enforced(project_config, project.name, parts[:-1])
    return [
        spec_from_yaml(entry, path, enforced)
        for entry in models or []
        if isinstance(entry, Mapping) and entry.get("name")
    ]


def _collect(project: Project, texts: Mapping[str, str], project_config: Mapping[str, Any]) -> dict[str, ModelSpec]:
    specs: dict[str, ModelSpec] = {}
    for path, text in texts.items():
        try:
            specs.update({spec.name: spec for spec in _specs_from_text(project, path, text, project_config)})
        except InvalidYaml:
            continue  # a file that did not parse then cannot be compared; the new side reports its own
    return specs


def base_specs(project: Project, base: str) -> dict[str, ModelSpec]:
    """Every model spec of the project as committed in `base` (empty before the first commit)."""
    if not git_files.has_revision(base):
        return {}
    folders = [(project.root / model_path).as_posix() for model_path in project.model_paths]
    paths = git_files.list_files(base, folders, YAML_SUFFIXES)
    project_file = (project.root / "dbt_project.yml").as_posix()
    texts = git_files.read_files(base, [*paths, project_file])
    try:
        config = load_text(texts.pop(project_file, ""), project_file) or project.config
    except InvalidYaml:
        config = project.config
    return _collect(project, texts, config)


def working_specs(project: Project) -> dict[str, ModelSpec]:
    texts = {path.as_posix(): path.read_text(encoding="utf-8") for path in model_yaml_files(project)}
    return _collect(project, texts, project.config)


def _names_in(project: Project, path: str, texts: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for text in texts:
        try:
            names.update(spec.name for spec in _specs_from_text(project, path, text, project.config))
        except InvalidYaml:
            continue
    return names


def _finding(change: BreakingChange, new: ModelSpec, against: str) -> Finding:
    version = f" v{change.version}" if change.version is not None else ""
    subject = f"column '{change.column}' {change.what}" if change.column else change.what
    return Finding(
        new.path,
        change.line,
        f"model '{change.model}'{version}: {subject} - a breaking change to its enforced contract ({against})",
        f"keep the contract; or publish the change as a new version (add it under `versions:` and raise "
        f"`latest_version`); or approve it in model '{change.model}' YAML: "
        f'config: meta: {APPROVAL_KEY}: "<why this break is safe>"',
    )


def _switch_off_in_sql(specs: dict[str, ModelSpec], sql_texts: Mapping[str, str]) -> dict[str, ModelSpec]:
    """Specs as dbt sees them once a model's SQL `config(contract={'enforced': false})` is applied."""
    result = dict(specs)
    for path, text in sql_texts.items():
        spec = result.get(Path(path).stem)
        if spec is not None and SQL_CONTRACT_OFF.search(text):
            contracts = {v: dataclasses.replace(c, enforced=False) for v, c in spec.contracts.items()}
            result[spec.name] = dataclasses.replace(spec, contracts=contracts)
    return result


def _approved(new: ModelSpec, previous_approval: str) -> bool:
    """An approval counts for the change it was written for: its reason must differ from the base's."""
    return bool(new.approval) and new.approval != previous_approval


@dataclasses.dataclass(frozen=True)
class _ChangedFiles:
    """The hook's file names by kind: properties YAML, model SQL, and whether dbt_project.yml changed."""

    yaml: list[str]
    sql: list[str]
    project: bool

    @classmethod
    def of(cls, filenames: Sequence[str]) -> _ChangedFiles:
        return cls(
            yaml=[name for name in filenames if name.endswith(YAML_SUFFIXES) and Path(name).name != "dbt_project.yml"],
            sql=[name for name in filenames if name.endswith(".sql")],
            project=any(Path(name).name == "dbt_project.yml" for name in filenames),
        )


def _invalid_yaml(paths: Iterable[str]) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        try:
            load_text(Path(path).read_text(encoding="utf-8"), path)
        except InvalidYaml as invalid:
            findings.append(invalid.finding)
    return findings


def _working_sql(paths: Iterable[str]) -> dict[str, str]:
    return {path: Path(path).read_text(encoding="utf-8") for path in paths if Path(path).is_file()}


def _names_to_compare(
    project: Project,
    changed: _ChangedFiles,
    old_specs: Mapping[str, ModelSpec],
    new_specs: Mapping[str, ModelSpec],
    old_texts: Mapping[str, str],
) -> set[str]:
    """The models a change can touch: changed SQL, models in changed YAML (either side), all on dbt_project.yml."""
    names = {Path(path).stem for path in changed.sql}
    if changed.project:
        names |= set(old_specs) | set(new_specs)
    for path in changed.yaml:
        names |= _names_in(project, path, [Path(path).read_text(encoding="utf-8"), old_texts.get(path, "")])
    return names


def _model_findings(new: ModelSpec, old: ModelSpec | None, prod: ModelSpec | None, base: str) -> list[Finding]:
    findings: list[Finding] = []
    if old is not None and not _approved(new, old.approval):
        findings.extend(_finding(change, new, f"vs {base}") for change in spec_changes(old, new))
    if prod is not None and not new.approval:
        # A change may reach prod over several commits: any approval in the YAML covers the prod diff,
        # while each new break in git still needs a new reason (checked above).
        findings.extend(_finding(change, new, "vs the prod manifest") for change in spec_changes(prod, new))
    return findings


def check(
    project: Project,
    filenames: Sequence[str],
    *,
    base: str = "HEAD",
    prod_manifest: Mapping[str, Any] | None = None,
) -> list[Finding]:
    changed = _ChangedFiles.of(filenames)
    findings = _invalid_yaml(changed.yaml)
    has_base = git_files.has_revision(base)
    old_specs = _switch_off_in_sql(
        base_specs(project, base), git_files.read_files(base, changed.sql) if has_base else {}
    )
    new_specs = _switch_off_in_sql(working_specs(project), _working_sql(changed.sql))
    old_texts = git_files.read_files(base, changed.yaml) if has_base else {}
    names = _names_to_compare(project, changed, old_specs, new_specs, old_texts)
    prod_specs = specs_from_manifest(prod_manifest) if prod_manifest is not None else {}
    for name in sorted(names):
        new = new_specs.get(name)
        if new is None:
            continue  # deleted or moved out of the project: not a contract comparison
        findings.extend(_model_findings(new, old_specs.get(name), prod_specs.get(name), base))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = project_hook_parser(
        "contract-guard", __doc__.splitlines()[0], "changed properties (YAML), model SQL and dbt_project.yml files"
    )
    parser.add_argument("--base", default="HEAD", help="git revision to compare with (default: HEAD)")
    parser.add_argument("--prod-manifest", default=None, help="manifest.json of production to compare with")
    args = parser.parse_args(argv)

    def guard(project: Project) -> int:
        prod = json.loads(Path(args.prod_manifest).read_text(encoding="utf-8")) if args.prod_manifest else None
        return report(check(project, args.filenames, base=args.base, prod_manifest=prod))

    return on_project(args.project_dir, guard)


if __name__ == "__main__":
    raise SystemExit(main())
