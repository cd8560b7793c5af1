"""The renderings `sqlfluff-lint` hands to `spark-functions` (hooks.render_cache, hooks.sqlfluff_lint).

A stored rendering is used only when it is exactly what rendering the file now would give: the same SQL,
the same line for every offset, and never a rendering from before a change of the file, of a macro, of
the sqlfluff config or of the templater's library.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from hooks import dist_version, render_cache, sqlfluff_lint
from hooks.dbt_render import render_file
from tests.hooks.conftest import PROJECT_ROOT, PreCommit, output_of, run_hook, write
from tests.hooks.project_files import FILES

CACHE = "dbt/target/pre-commit/renders"
SMALL_FCT = "dbt/models/marts/facts/fct_orders.sql"
SMALL_INT = "dbt/models/intermediate/int_orders_enriched.sql"
MART = "dbt/models/marts/facts/fct_orders.sql"
NODE_FOLDERS = ("models", "snapshots", "tests", "analyses")


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of this repository's dbt project with `.sqlfluff` and its library; the working directory."""
    shutil.copytree(
        PROJECT_ROOT / "dbt", tmp_path / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    shutil.copy2(PROJECT_ROOT / ".sqlfluff", tmp_path / ".sqlfluff")
    shutil.copytree(
        PROJECT_ROOT / "hooks" / "sqlfluff_library",
        tmp_path / "hooks" / "sqlfluff_library",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _node_files(root: Path) -> list[str]:
    return sorted(
        path.relative_to(root).as_posix() for folder in NODE_FOLDERS for path in (root / "dbt" / folder).rglob("*.sql")
    )


def _lint(capsys: pytest.CaptureFixture[str], *files: str) -> int:
    code = sqlfluff_lint.main(["--render-cache", CACHE, "lint", "--disable-progress-bar", *files])
    capsys.readouterr()
    return code


def test_every_stored_rendering_of_the_project_is_the_live_one_offset_for_offset(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(  # Jinja branches: sqlfluff renders more than one variant
        project_copy,
        "dbt/models/marts/facts/fct_branches.sql",
        "select\n    order_id,\n    {{ month_name('order_date') }} as order_month\nfrom {{ ref('fct_orders') }}\n"
        "{% if is_incremental() %}\nwhere order_id > 0\n{% else %}\nwhere order_id < 0\n{% endif %}\n"
        "{% for n in [1, 2] %}\n-- {{ n }}\n{% endfor %}\n",
    )
    files = _node_files(project_copy)
    assert len(files) >= 15
    _lint(capsys, *files)  # findings or not (the added model breaks style rules), each file is rendered
    variants = 0
    for name in files:
        path = Path(name)
        stored = render_cache.load(Path(CACHE), path, name, path.read_text(encoding="utf-8"))
        assert stored is not None, f"{name}: sqlfluff rendered it, so its rendering must be stored"
        live = render_file(path)
        assert [rendering.sql for rendering in stored] == [rendering.sql for rendering in live], name
        for cached, rendered in zip(stored, live, strict=True):
            lines = [cached.line_of(offset) for offset in range(len(cached.sql) + 1)]
            assert lines == [rendered.line_of(offset) for offset in range(len(rendered.sql) + 1)], name
        variants += len(stored)
    assert variants > len(files), "some file has a Jinja branch, so more than one variant"


def test_the_check_reads_the_stored_rendering_without_sqlfluff_and_finds_the_same_lines(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mart = project_copy / MART
    anchor = "    updated_at\nfrom order_facts\n"
    text = mart.read_text(encoding="utf-8")
    mart.write_text(text.replace(anchor, "    epoch_ms(order_id) as at_ms,\n" + anchor), encoding="utf-8")
    dim_date = "dbt/models/marts/dims/dim_date.sql"
    calendar = project_copy / "dbt" / "macros" / "calendar.sql"
    body = "date_format({{ date_expression }}, 'MMMM')"
    calendar_text = calendar.read_text(encoding="utf-8").replace(body, "strftime({{ date_expression }}, '%B')")
    calendar.write_text(calendar_text, encoding="utf-8")
    _lint(capsys, MART, dim_date)
    check = [sys.executable, "-m", "hooks.spark_functions", "--project-dir", "dbt", MART, dim_date]
    live = subprocess.run(check, capture_output=True, text=True, check=False)
    # sqlfluff made unimportable: the check can only have read the stored renderings
    without_sqlfluff = (
        "import sys; sys.modules['sqlfluff'] = None; from hooks import spark_functions; "
        f"raise SystemExit(spark_functions.main({[*check[3:], '--render-cache', CACHE]!r}))"
    )
    cached = subprocess.run([sys.executable, "-c", without_sqlfluff], capture_output=True, text=True, check=False)
    assert (cached.returncode, cached.stdout) == (live.returncode, live.stdout), cached.stderr
    assert live.returncode == 1
    assert f"{MART}:" in live.stdout
    assert "'epoch_ms'" in live.stdout
    assert f"{dim_date}:" in live.stdout
    assert "'strftime'" in live.stdout


def test_only_a_plain_lint_stores_renderings() -> None:
    assert sqlfluff_lint.storable(["lint", "--disable-progress-bar", "a.sql"])
    assert not sqlfluff_lint.storable(["fix", "a.sql"])
    for option in ("--templater", "--config", "--library-path", "--ignore-local-config", "--dialect"):
        assert not sqlfluff_lint.storable(["lint", option, "x", "a.sql"])


def test_a_stored_rendering_never_hides_a_violation_a_later_change_brings(
    pre_commit: PreCommit, gate_repo: Path
) -> None:
    """Each change is seen by `spark-functions` alone, after `sqlfluff-lint` stored the older rendering."""
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [SMALL_INT, SMALL_FCT]).returncode == 0
    for name in (SMALL_INT, SMALL_FCT):
        assert render_cache.entry_path(gate_repo / CACHE, gate_repo / name).is_file()
    assert run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_INT, SMALL_FCT]).returncode == 0

    # a macro the model calls changes (only the model is checked: its own text did not change)
    macro = FILES["macros/cents_to_dollars.sql"]
    write(
        gate_repo, "dbt/macros/cents_to_dollars.sql", macro.replace("({{ column }} / 100.0)", "epoch_ms({{ column }})")
    )
    result = run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_INT])
    assert result.returncode == 1, output_of(result)
    assert f"{SMALL_INT}:5: function 'epoch_ms' is not a Spark / Databricks SQL built-in" in result.stdout
    write(gate_repo, "dbt/macros/cents_to_dollars.sql", macro)

    # the sqlfluff config changes what a model renders to
    sqlfluff_config = (gate_repo / ".sqlfluff").read_text(encoding="utf-8")
    context = "\n[sqlfluff:templater:jinja:context]\nmillis = timestamp_millis\n"
    write(gate_repo, ".sqlfluff", sqlfluff_config + context)
    model = FILES["models/marts/facts/fct_orders.sql"]
    write(gate_repo, SMALL_FCT, model.replace("    amount\n", "    amount,\n    {{ millis }}(order_id) as at_ms\n"))
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [SMALL_FCT]).returncode == 0
    assert run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT]).returncode == 0
    write(gate_repo, ".sqlfluff", sqlfluff_config + context.replace("timestamp_millis", "epoch_ms"))
    result = run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT])
    assert result.returncode == 1, output_of(result)
    assert f"{SMALL_FCT}:5: function 'epoch_ms' is not a Spark / Databricks SQL built-in" in result.stdout
    write(gate_repo, ".sqlfluff", sqlfluff_config)

    # the templater's library changes what `dbt.<macro>()` renders to
    write(
        gate_repo,
        SMALL_FCT,
        model.replace("    amount\n", "    amount,\n    {{ dbt.current_timestamp() }} as loaded_at\n"),
    )
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [SMALL_FCT]).returncode == 0
    library = gate_repo / "hooks" / "sqlfluff_library" / "dbt.py"
    library.write_text(
        library.read_text(encoding="utf-8") + "\n\ndef current_timestamp() -> str:\n    return 'epoch_ms(0)'\n"
    )
    result = run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT])
    assert result.returncode == 1, output_of(result)
    assert f"{SMALL_FCT}:5: function 'epoch_ms' is not a Spark / Databricks SQL built-in" in result.stdout

    # the model itself changes
    write(gate_repo, SMALL_FCT, model.replace("    amount\n", "    amount,\n    list_value(1, 2) as pair\n"))
    result = run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT])
    assert result.returncode == 1, output_of(result)
    assert f"{SMALL_FCT}:5: function 'list_value' is not a Spark / Databricks SQL built-in" in result.stdout


def test_a_file_sqlfluff_cannot_render_is_reported_by_the_check_itself(pre_commit: PreCommit, gate_repo: Path) -> None:
    write(gate_repo, SMALL_FCT, "select\n    order_id\nfrom {{ ref('int_orders_enriched' }}\n")
    assert run_hook(pre_commit, gate_repo, "sqlfluff-lint", [SMALL_FCT]).returncode == 1
    assert not render_cache.entry_path(gate_repo / CACHE, gate_repo / SMALL_FCT).is_file()
    result = run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT])
    assert result.returncode == 1, output_of(result)
    assert f"{SMALL_FCT}:3: the Jinja does not render, so its SQL cannot be checked" in result.stdout


def test_versions_read_from_dist_info_folder_names_are_the_ones_importlib_metadata_gives() -> None:
    names = sorted({str(distribution.metadata["Name"]) for distribution in metadata.distributions()})
    assert len(names) > 100
    assert {name: dist_version.version(name) for name in names} == {name: metadata.version(name) for name in names}
    assert dist_version.version("no-such-distribution-here") is None
