"""pre-commit hook and PR check: no data test, unit test or expectation removed, weakened or edited without a waiver.

The project's YAML (with singular tests and unit-test fixture files) in the working tree is compared with
a git revision: in pre-commit `HEAD` (what the commit changes), in CI `--base origin/main` (compared with
the merge base, so a commit made with `--no-verify` is still seen). Fails on

- a removed or disabled (`enabled: false`) data test, unit test, singular test or GX expectation of a
  resource that is still in the project (deleting a model with its tests is not a weakening);
- severity lowered from error to warn (a test's or dbt_project.yml's `+severity`, an expectation's);
- wider bounds: `min_value` lowered or removed, `max_value` raised or removed, `strict_min`/`strict_max`
  switched off, a `value_set`/`values` grown, `mostly` lowered, a reconcile `tolerance` raised, a
  `where`/`row_condition` filter added or changed, an `error_if` threshold raised;
- an edit of what a check expects (`hooks.check_values`), in any direction:
  - a unit test's `given` or `expect` rows: inline rows, `format: csv` text, `format: sql`, a `fixture:`
    file under `<test path>/fixtures/`. Compared as what the rows say: reordered keys or rows, other YAML
    quoting (`30.00`, `"30.0"`), dict rows rewritten as CSV are not edits;
  - a singular test's SQL, compared as tokens: whitespace, comments (`--`, `/* */`, `{# #}`) and the
    case of SQL words are not edits; a literal, a condition, a join are; in its `config()`, only the
    arguments that decide what fails (`where`, `error_if`, `warn_if`, `fail_calc`, `limit`) count;
  - an expectation's expected value: `value`, `value_set`, `sum_total`, any argument but the bounds, and
    the SQL of an `unexpected_rows` query, a `row_condition`'s `condition`, a reconcile's `against`,
    `group_by` and `measures`. Bounds are free to narrow: `min_value` raised, `max_value` lowered,
    `mostly` raised, `tolerance` lowered, a value set of `..._be_in_set` grown is a weakening, not an edit
    (its shrinking is an edit, as the set is what is expected). Data tests' arguments are compared for
    weakening only;

unless the same change records a waiver with a reason in the YAML of the check's owner (the model, seed,
snapshot or source table; the model a unit test tests; dbt_project.yml `vars:` for singular tests):

    config:
      meta:
        quality:
          waivers:
            - check: "unique(order_id)"
              reason: "order_id is no longer unique after the split into order lines; see PR 123"
            - check: "unit_test(fct_orders_totals_add_up)"       # a changed check names its new value
              new_value: {expect: "sha256:3f1c0a9b2d4e"}
              reason: "shipping is now part of order_total; finance agreed in PR 124"

A changed check (an edit, or a wider bound) is waived only by a waiver whose `new_value:` names what the
change makes of it, as the failure prints it: short values as they are (`{value: 120}`,
`{min_value: -10}`), rows and SQL by a digest of their canonical form (`sha256:` and 12 hex). A waiver
naming another value does not waive: the next edit needs its own. A waiver counts for the change it is
written with: one already in the base revision does not waive the next removal or edit. Waived changes
are listed (and written to `--summary`, e.g. $GITHUB_STEP_SUMMARY). Contracts are left to
`dbt-contract-guard` (with its own approval, `contract_change_approved`), which the PR workflow also runs
against the merge base: they are not reported twice.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TextIO

from hooks import git_files
from hooks.check_values import NewValue, edits, flow_yaml, new_value, waiver_matches
from hooks.dbt_layout import Project, as_mapping, on_project, project_hook_parser
from hooks.declared_checks import (
    PROJECT_OWNER,
    Check,
    Declared,
    Owner,
    Waiver,
    default_severity,
    is_ignored,
    read_document,
    singular_test,
    singular_test_configs,
    waivers_of,
)
from hooks.findings import Finding, report
from hooks.widening import weakenings
from hooks.yaml_lines import InvalidYaml, line_of, load_text

YAML_SUFFIXES = (".yml", ".yaml")
RESOURCE_SUFFIXES = (".sql", ".py", ".csv")
REASON_PLACEHOLDER = "<why this check may go or be weaker>"
EDIT_REASON_PLACEHOLDER = "<why the new value is right>"
FIXTURE_SUFFIXES = (".csv", ".sql")


@dataclass(frozen=True)
class Weakening:
    """One removed or weakened check, where it is (or was), and the waiver that covers it, if any."""

    owner: str
    kind: str
    name: str
    names: frozenset[str]  # what a waiver may quote: the name, and the labelled name
    what: str
    path: str
    line: int
    waiver: Waiver | None = None
    waiver_problem: str = ""
    new_values: tuple[NewValue, ...] = ()  # what an edit made of the check: a waiver must name it

    @property
    def headline(self) -> str:
        return f"{_title(self.owner)}: {self.kind} '{self.name}' {self.what}"


def _title(owner: str) -> str:
    return Owner(owner, "", 1).title


# --- reading one side ---------------------------------------------------------------------------------


def _paths(project: Project, key: str, default: str) -> tuple[str, ...]:
    return tuple(str(path) for path in project.config.get(key) or [default])


def _folders(project: Project, path: str) -> tuple[str, ...]:
    """The folders of a file below its resource path (`models/marts/facts/_f.yml` -> marts, facts)."""
    parts = PurePosixPath(path).relative_to(project.root.as_posix()).parts[:-1]
    roots = {*_paths(project, "model-paths", "models"), *_paths(project, "seed-paths", "seeds")}
    roots |= {*_paths(project, "snapshot-paths", "snapshots"), *_paths(project, "test-paths", "tests")}
    return parts[1:] if parts and parts[0] in roots else parts


def _under(project: Project, path: str, folders: Sequence[str]) -> bool:
    return any(PurePosixPath(path).is_relative_to((project.root / folder).as_posix()) for folder in folders)


def _is_fixture(project: Project, path: str) -> bool:
    """A unit-test fixture file: `<test path>/fixtures/**/<name>.csv` or `.sql`, as dbt looks them up."""
    fixtures = [f"{folder}/fixtures" for folder in _paths(project, "test-paths", "tests")]
    return path.endswith(FIXTURE_SUFFIXES) and _under(project, path, fixtures)


def _is_singular_test(project: Project, path: str) -> bool:
    tests = _paths(project, "test-paths", "tests")
    return (
        path.endswith(".sql")
        and _under(project, path, tests)
        and "generic" not in PurePosixPath(path).parts
        and not _is_fixture(project, path)
    )


def _fixtures(project: Project, texts: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """The unit-test fixture files by (name, format), e.g. `("stg_orders_rows", "csv")`."""
    return {
        (PurePosixPath(path).stem, PurePosixPath(path).suffix[1:]): text
        for path, text in sorted(texts.items())
        if _is_fixture(project, path)
    }


def _project_file(project: Project) -> str:
    return (project.root / "dbt_project.yml").as_posix()


def read_side(project: Project, texts: Mapping[str, str], project_config: Mapping[str, object]) -> Declared:
    """Owners and checks of one side, from the text of its files (YAML, singular test SQL) by path."""
    resources = (*_paths(project, "model-paths", "models"), *_paths(project, "seed-paths", "seeds"))
    resources += _paths(project, "snapshot-paths", "snapshots")
    declared = Declared(
        resource_files=frozenset(
            PurePosixPath(path).stem
            for path in texts
            if path.endswith(RESOURCE_SUFFIXES) and _under(project, path, resources)
        )
    )
    vars_ = as_mapping(project_config.get("vars"))
    declared.owners[PROJECT_OWNER] = Owner(
        PROJECT_OWNER, _project_file(project), line_of(project_config, "vars"), waivers_of(vars_)
    )
    singular_configs: dict[str, Mapping[str, object]] = {}
    fixtures = _fixtures(project, texts)
    for path, text in sorted(texts.items()):
        if not path.endswith(YAML_SUFFIXES) or path == _project_file(project):
            continue
        try:
            document = load_text(text, path)
        except InvalidYaml:
            continue  # the working tree's side reports it; a base that did not parse compares as empty
        severity = default_severity(project_config, project.name, _folders(project, path))
        read_document(declared, document, path, severity, fixtures)
        singular_configs.update(singular_test_configs(document))
    for path, text in sorted(texts.items()):
        if _is_singular_test(project, path):
            severity = default_severity(project_config, project.name, _folders(project, path))
            name = PurePosixPath(path).stem
            declared.add(singular_test(path, text, singular_configs.get(name, {}), severity))
    return declared


def _wanted(path: str) -> bool:
    if is_ignored(path):
        return False
    return path.endswith(YAML_SUFFIXES) or path.endswith(RESOURCE_SUFFIXES)


def _config(project: Project, text: str | None) -> Mapping[str, object]:
    if text is None:
        return project.config
    try:
        config = load_text(text, _project_file(project))
    except InvalidYaml:
        return project.config
    return config if isinstance(config, Mapping) else project.config


def base_side(project: Project, base: str) -> Declared:
    paths = git_files.list_files(base, [project.root.as_posix()], (*YAML_SUFFIXES, *RESOURCE_SUFFIXES))
    texts = git_files.read_files(base, [path for path in paths if _wanted(path)])
    return read_side(project, texts, _config(project, texts.get(_project_file(project))))


def working_side(project: Project) -> tuple[Declared, list[Finding]]:
    texts: dict[str, str] = {}
    findings: list[Finding] = []
    for path in git_files.tracked_files([project.root.as_posix()]):
        if _wanted(path) and Path(path).is_file():
            texts[path] = Path(path).read_text(encoding="utf-8", errors="replace")
            if path.endswith(YAML_SUFFIXES):
                try:
                    load_text(texts[path], path)
                except InvalidYaml as invalid:
                    findings.append(invalid.finding)
    return read_side(project, texts, _config(project, texts.get(_project_file(project)))), findings


# --- comparing ----------------------------------------------------------------------------------------


def _pairs(old: list[Check], new: list[Check]) -> tuple[list[tuple[Check, Check]], list[Check]]:
    """Match the checks of one owner and name: one each, else identical ones, same label, or the last two left."""
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])], []
    left = list(new)
    pairs: list[tuple[Check, Check]] = []
    unmatched: list[Check] = []
    for matcher in (lambda a, b: a.content == b.content, lambda a, b: bool(a.label) and a.label == b.label):
        unmatched = []
        for check in old:
            match = next((candidate for candidate in left if matcher(check, candidate)), None)
            if match is None:
                unmatched.append(check)
            else:
                left.remove(match)
                pairs.append((check, match))
        old = unmatched
    if len(unmatched) == 1 and len(left) == 1:
        return [*pairs, (unmatched[0], left[0])], []
    return pairs, unmatched


def _grouped(checks: list[Check]) -> dict[str, list[Check]]:
    groups: dict[str, list[Check]] = {}
    for check in checks:
        groups.setdefault(check.group, []).append(check)
    return groups


def _weakenings_of_owner(owner: str, old: list[Check], new: list[Check]) -> list[Weakening]:
    found: list[Weakening] = []
    new_groups = _grouped(new)
    for group, old_checks in _grouped(old).items():
        new_checks = new_groups.get(group, [])
        labelled = len(old_checks) > 1 or len(new_checks) > 1
        pairs, removed = _pairs(old_checks, new_checks)
        for check in removed:
            name = check.qualified if labelled else check.group
            names = frozenset({check.group, check.qualified} if not labelled else {check.qualified})
            found.append(Weakening(owner, check.kind, name, names, "removed", check.path, check.line))
        for before, after in pairs:
            what, new_values = _changes(before, after)
            if what:
                name = after.qualified if labelled else after.group
                names = frozenset({after.group, after.qualified, before.qualified} if not labelled else {name})
                found.append(
                    Weakening(owner, after.kind, name, names, what, after.path, after.line, new_values=new_values)
                )
    return found


def _changes(before: Check, after: Check) -> tuple[str, tuple[NewValue, ...]]:
    """What got weaker or changed in a kept check ("" when nothing did), and the new values to waive it by.

    A weakening of an argument (`min_value lowered ...`) names its new value too; an edit of what the
    check expects (rows, SQL, an expected value) is reported once, by the weakening when there is one.
    """
    weaker = weakenings(before, after)
    if weaker and weaker[0].startswith("disabled"):
        return weaker[0], ()
    reported = list(dict.fromkeys(message.split(" ", 1)[0] for message in weaker))
    arguments = [key for key in reported if key in before.params or key in after.params]
    changed = [edit for edit in edits(before.values, after.values) if edit.key not in reported]
    new_values = (*(new_value(key, after.params.get(key)) for key in arguments), *(edit.new for edit in changed))
    if weaker:
        return "weakened: " + "; ".join([*weaker, *(edit.what for edit in changed)]), new_values
    if changed:
        return "changed: " + "; ".join(edit.what for edit in changed), new_values
    return "", ()


def _waiver_problem(weakening: Weakening, waiver: Waiver, old: set[tuple[str, str]]) -> str:
    """Why a waiver that names the check does not cover this change ("" when it does)."""
    if not waiver.reason:
        return "has no reason"
    if (waiver.check, waiver.reason) in old:
        return "was already in the base revision: a waiver covers the change it comes with, write this change's reason"
    if not weakening.new_values:
        return ""  # removed, disabled or less severe: the reason is enough
    expected = flow_yaml(weakening.new_values)
    if waiver.new_value is None:
        return f"has no new_value: a changed check's waiver names what it changes to, new_value: {expected}"
    if not waiver_matches(waiver.written_value, weakening.new_values):
        written = json.dumps(waiver.written_value, ensure_ascii=False)
        return f"names new_value {written}, but this change makes it {expected}"
    return ""


def _waive(weakening: Weakening, owner: Owner | None, base_owner: Owner | None) -> Weakening:
    """The weakening with the waiver that covers it: one of its names, a reason (and for an edit the new
    value), new in this change."""
    if owner is None:
        return weakening
    candidates = [waiver for waiver in owner.waivers if waiver.check in weakening.names]
    old = {(waiver.check, waiver.reason) for waiver in (base_owner.waivers if base_owner else ())}
    problems = [_waiver_problem(weakening, waiver, old) for waiver in candidates]
    for waiver, problem in zip(candidates, problems, strict=True):
        if not problem:
            return dataclasses.replace(weakening, waiver=waiver)
    if not candidates:
        return weakening
    return dataclasses.replace(
        weakening, waiver_problem=f"the waiver at {owner.path}:{candidates[0].line} {problems[0]}"
    )


def compare(old: Declared, new: Declared) -> list[Weakening]:
    """Every check of `old` removed or weakened in `new`, each with its waiver (if one covers it)."""
    found: list[Weakening] = []
    for owner in sorted(old.checks):
        if not new.exists(owner):
            continue  # the resource itself is gone: its checks went with it
        for weakening in _weakenings_of_owner(owner, old.checks[owner], new.checks.get(owner, [])):
            found.append(_waive(weakening, new.owners.get(owner), old.owners.get(owner)))
    return found


# --- reporting ----------------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def snippet(name: str, new_values: tuple[NewValue, ...] = ()) -> str:
    """The waiver to paste: `check:` and `reason:`, and for a changed check `new_value:` between them."""
    if not new_values:
        return f'- check: {_quoted(name)}\n  reason: "{REASON_PLACEHOLDER}"'
    return f'- check: {_quoted(name)}\n  new_value: {flow_yaml(new_values)}\n  reason: "{EDIT_REASON_PLACEHOLDER}"'


def _place(weakening: Weakening, owner: Owner | None) -> str:
    if weakening.owner == PROJECT_OWNER and owner is not None:
        return f"dbt_project.yml ({owner.path}:{owner.line}), under `vars: quality: waivers:`"
    title = _title(weakening.owner)
    if owner is None:
        name = weakening.owner.partition(" ")[2]
        return f"{title}: add a properties entry `- name: {name}` and, under its `config: meta: quality: waivers:`"
    return f"{title} ({owner.path}:{owner.line}), under `config: meta: quality: waivers:`"


def to_finding(weakening: Weakening, owner: Owner | None) -> Finding:
    verb = "restore it" if weakening.what == "removed" else "undo it"
    lines = snippet(weakening.name, weakening.new_values).replace("\n", "\n          ")
    problem = f" ({weakening.waiver_problem})" if weakening.waiver_problem else ""
    fix = f"{verb}, or record why in {_place(weakening, owner)}{problem}:\n          {lines}"
    return Finding(weakening.path, weakening.line, weakening.headline, fix)


def _waived_line(weakening: Weakening) -> str:
    reason = weakening.waiver.reason if weakening.waiver else ""
    return f"{weakening.path}:{weakening.line}: {weakening.headline} - waived: {reason}"


def write_summary(stream: TextIO, base: str, failing: list[Weakening], waived: list[Weakening]) -> None:
    """Markdown for a PR summary: what fails, what is waived, with the reasons."""
    print(f"### Weakening guard (vs {base[:12]})\n", file=stream)
    if not failing and not waived:
        print("No data test, unit test or expectation was removed or weakened.\n", file=stream)
        return
    print("| status | where | check | change | reason |\n| --- | --- | --- | --- | --- |", file=stream)
    for status, items in (("fails", failing), ("waived", waived)):
        for item in items:
            reason = item.waiver.reason if item.waiver else item.waiver_problem or "no waiver"
            cells = [status, f"`{item.path}:{item.line}`", f"{_title(item.owner)} {item.kind} `{item.name}`"]
            cells += [item.what, reason]
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |", file=stream)
    print(file=stream)


def _relevant(project: Project, paths: Sequence[str]) -> bool:
    """Whether a changed path can change a check: YAML, a singular test, a unit-test fixture file."""
    return any(
        not is_ignored(path)
        and (path.endswith(YAML_SUFFIXES) or _is_singular_test(project, path) or _is_fixture(project, path))
        for path in paths
    )


def run(project: Project, base: str, summary: TextIO | None = None) -> int:
    if not git_files.has_revision(base):
        return 0  # nothing committed yet: nothing to weaken
    merge_base = git_files.merge_base(base)
    if not _relevant(project, git_files.changed_files(merge_base, [project.root.as_posix()])):
        if summary is not None:
            write_summary(summary, merge_base, [], [])
        return 0
    new, invalid = working_side(project)
    found = compare(base_side(project, merge_base), new)
    failing = [item for item in found if item.waiver is None]
    waived = [item for item in found if item.waiver is not None]
    code = report([*invalid, *(to_finding(item, new.owners.get(item.owner)) for item in failing)])
    if waived:
        print("waived (listed, not failing):")
        for item in sorted(waived, key=lambda w: (w.path, w.line)):
            print(_waived_line(item))
    if summary is not None:
        write_summary(summary, merge_base, failing, waived)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = project_hook_parser("weakening-guard", __doc__.splitlines()[0], "ignored: the whole project is compared")
    parser.add_argument(
        "--base", default="HEAD", help="git revision; compared with its merge base with HEAD (default: HEAD)"
    )
    parser.add_argument("--summary", default=None, help="append a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)

    def guard(project: Project) -> int:
        if args.summary is None:
            return run(project, args.base)
        with open(args.summary, "a", encoding="utf-8") as summary:
            return run(project, args.base, summary)

    return on_project(args.project_dir, guard)


if __name__ == "__main__":
    raise SystemExit(main())
