"""The data change review as a PR summary (markdown) and as review.json."""

from __future__ import annotations

from typing import Any

from quality.wap.diff import to_markdown as diff_markdown
from quality.wap.review.findings import Finding
from quality.wap.review.run import Review

UNSEEN_HINT = (
    "A macro only Databricks runs changed: its data cannot be compared on this engine. Review it on Spark SQL "
    "with `uv run quality pr --target local_databricks` (the local Databricks endpoint), or declare it under "
    "the model's meta.quality.changes: `- {macros: [<macro>], reason: ...}`."
)


def to_markdown(review: Review) -> str:
    verdict = (
        f"**FAILED: {len(review.undeclared)} data change(s) not declared**"
        if not review.ok
        else "**PASSED: every data change is declared**"
    )
    lines = [
        f"## Data change review: working tree against {review.base.ref} (`{review.base.sha[:12]}`)",
        "",
        verdict,
        "",
        f"Raw data: {', '.join(f'`{b}`' for b in review.batches) or 'the project seeds'}; base build "
        f"{'reused from the cache' if review.base_cached else 'built'}; {len(review.comparisons)} relation(s) compared.",
    ]
    lines += _findings_table(
        "Undeclared changes (declare them under the model's meta.quality.changes)", review.undeclared
    )
    declared = [f for f in review.findings if f.declared]
    lines += _findings_table("Declared changes", declared, reasons=True)
    if unmatched := review.declarations.unmatched():
        lines += ["", "### Declarations that match no change", ""]
        lines += [f"- {d.describe()} ({d.file})" for d in unmatched]
    lines += _volatile_section(review)
    lines += _relations_table(review)
    lines += _prod_section(review)
    return "\n".join(lines) + "\n"


def _prod_section(review: Review) -> list[str]:
    title = "### Against prod (a report, not a verdict)"
    if review.prod is None:
        return ["", title, "", review.prod_note or "not compared (--no-against-prod)"]
    intro = (
        f"The changed models and their children built on prod's raw data, unchanged parents read from prod, "
        f"compared on a sample of at most {review.prod.sample} keys per relation."
    )
    table = diff_markdown(review.prod.diffs, review.prod.skipped).splitlines()[1:]  # without its own title
    return ["", title, "", intro, *table]


def _findings_table(title: str, findings: list[Finding], *, reasons: bool = False) -> list[str]:
    if not findings:
        return []
    last = "declared because" if reasons else "examples (key: before -> after)"
    lines = ["", f"### {title}", "", f"| model | change | rows | {last} |", "| --- | --- | ---: | --- |"]
    for finding in findings:
        detail = finding.declared_by.reason if reasons and finding.declared_by else "<br>".join(finding.examples) or "-"
        lines.append(f"| `{finding.model}` | {finding.what} | {finding.rows or ''} | {_cell(detail)} |")
    return lines


def _volatile_section(review: Review) -> list[str]:
    names = {c.relation.unique_id: c.relation.name for c in review.comparisons}
    rows = [
        f"| `{names.get(uid, uid)}` | {', '.join(sorted(v.columns)) or '-'} | {'yes' if v.key_differs else 'no'} |"
        for uid, v in sorted(review.volatile.items())
    ]
    if not rows:
        return []
    return [
        "",
        "### Ignored: values that differ between two builds of the same base code",
        "",
        "| relation | columns | rows differ too |",
        "| --- | --- | --- |",
        *rows,
    ]


def _relations_table(review: Review) -> list[str]:
    lines = [
        "",
        "### Relations compared",
        "",
        "| relation | compared by | added | removed | changed | unchanged |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for comparison in review.comparisons:
        diff = comparison.diff
        if diff is None:
            lines.append(f"| `{comparison.relation.name}` | new relation | | | | |")
            continue
        how = ", ".join(diff.key) if diff.key else "whole rows"
        if comparison.note:
            how += f" ({comparison.note})"
        lines.append(
            f"| `{diff.model}` | {_cell(how)} | {diff.added} | {diff.removed} | {diff.changed} | {diff.unchanged} |"
        )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_json(review: Review) -> dict[str, Any]:
    return {
        "ok": review.ok,
        "base": {"ref": review.base.ref, "sha": review.base.sha, "project_tree": review.base.project_tree},
        "batches": [str(batch) for batch in review.batches],
        "base_cached": review.base_cached,
        "timings": review.timings,
        "findings": [
            {
                "model": f.model,
                "change": f.what,
                "rows": f.rows,
                "examples": list(f.examples),
                "declared": f.declared,
                "reason": f.declared_by.reason if f.declared_by else None,
            }
            for f in review.findings
        ],
        "unmatched_declarations": [d.describe() for d in review.declarations.unmatched()],
        "against_prod": _prod_json(review),
        "volatile": {uid: v.as_dict() for uid, v in review.volatile.items()},
        "relations": [
            {
                "relation": c.relation.name,
                "key": c.diff.key if c.diff else None,
                "note": c.note,
                "added": c.diff.added if c.diff else None,
                "removed": c.diff.removed if c.diff else None,
                "changed": c.diff.changed if c.diff else None,
                "columns_changed": c.diff.column_changes if c.diff else None,
                "ignored_columns": c.diff.ignored_columns if c.diff else None,
            }
            for c in review.comparisons
        ],
    }


def to_console(review: Review) -> list[str]:
    """The verdict and every finding, one line each (the tables are in review.md)."""
    lines = [
        f"data change review against {review.base.ref} ({review.base.sha[:12]}): "
        + ("PASSED, every data change is declared" if review.ok else f"FAILED, {len(review.undeclared)} undeclared")
    ]
    lines += [f"undeclared: {finding.describe()}" for finding in review.undeclared]
    if any(finding.what.startswith("macro ") for finding in review.undeclared):
        lines.append(UNSEEN_HINT)
    lines += [
        f"declared: {finding.describe()} ({finding.declared_by.reason})"
        for finding in review.findings
        if finding.declared_by is not None
    ]
    lines += [f"declared but not found: {d.describe()} ({d.file})" for d in review.declarations.unmatched()]
    if review.prod is not None:
        changed = [d.model for d in review.prod.diffs if d.added or d.removed or d.changed]
        lines.append(
            f"against prod (report, sample of {review.prod.sample} keys): {len(review.prod.diffs)} relation(s) "
            f"compared, {len(changed)} differ{': ' + ', '.join(changed) if changed else ''}"
        )
    elif review.prod_note:
        lines.append(f"against prod: {review.prod_note}")
    names = {c.relation.unique_id: c.relation.name for c in review.comparisons}
    lines += [
        f"ignored (differs between two builds of the same code): {names.get(uid, uid)} {', '.join(sorted(v.columns))}"
        for uid, v in sorted(review.volatile.items())
    ]
    return lines


def _prod_json(review: Review) -> dict[str, Any]:
    if review.prod is None:
        return {"compared": False, "note": review.prod_note}
    return {
        "compared": True,
        "sample": review.prod.sample,
        "relations": [
            {
                "relation": d.model,
                "key": d.key,
                "added": d.added,
                "removed": d.removed,
                "changed": d.changed,
                "columns_changed": d.column_changes,
            }
            for d in review.prod.diffs
        ],
        "skipped": review.prod.skipped,
    }
