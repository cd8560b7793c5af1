from pathlib import Path

import pytest

from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.errors import QualityError, TargetError

PROFILES = """
shop:
  target: local
  outputs:
    local:
      type: duckdb
      path: "{{ env_var('SHOP_DB', '/tmp/shop.duckdb') }}"
      schema: main
    prod:
      type: databricks
      host: "{{ env_var('DATABRICKS_HOST') }}"
      http_path: "{{ env_var('DATABRICKS_HTTP_PATH') }}"
      token: "{{ env_var('DATABRICKS_TOKEN') }}"
      catalog: "{{ env_var('DBT_CATALOG', 'main') }}"
      schema: analytics
"""


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "profiles.yml").write_text(PROFILES)
    return tmp_path


def test_local_duckdb_target_renders_env_var_defaults(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_DB", raising=False)
    monkeypatch.delenv("DBT_TARGET", raising=False)
    target = resolve_target(load_project(project_dir))
    assert (target.name, target.engine, target.duckdb_path) == ("local", "duckdb", Path("/tmp/shop.duckdb"))


def test_databricks_target_missing_env_var_is_named_with_the_fix(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-1.cloud.databricks.com")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-secret-value")
    monkeypatch.delenv("DATABRICKS_HTTP_PATH", raising=False)
    with pytest.raises(TargetError) as error:
        resolve_target(load_project(project_dir), "prod")
    message = str(error.value)
    assert "DATABRICKS_HTTP_PATH is not set" in message
    assert "shop.outputs.prod.http_path" in message
    assert "dapi-secret-value" not in message


def test_databricks_target_never_shows_its_token(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-1.cloud.databricks.com/")
    monkeypatch.setenv("DATABRICKS_HTTP_PATH", "/sql/1.0/warehouses/abc")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-secret-value")
    target = resolve_target(load_project(project_dir), "prod")
    assert target.databricks is not None
    assert target.databricks.host == "dbc-1.cloud.databricks.com"
    assert target.databricks.token == "dapi-secret-value"
    assert "dapi-secret-value" not in repr(target)
    assert target.is_prod


def test_unknown_target_lists_the_known_ones(project_dir: Path) -> None:
    with pytest.raises(TargetError, match=r"target 'qa' is not in profile 'shop'.*known targets: local, prod"):
        resolve_target(load_project(project_dir), "qa")


def test_invalid_profiles_yaml_names_file_and_line(project_dir: Path) -> None:
    (project_dir / "profiles.yml").write_text("shop:\n  target: local\n  outputs: [\n")
    with pytest.raises(Exception, match=r"profiles.yml:\d+: invalid YAML"):
        resolve_target(load_project(project_dir))


def test_a_missing_profiles_file_says_how_to_point_at_one_not_at_the_project(project_dir: Path) -> None:
    (project_dir / "profiles.yml").unlink()
    with pytest.raises(QualityError) as error:
        resolve_target(load_project(project_dir, project_dir / "elsewhere"))
    assert str(error.value) == (
        f"no dbt profiles file at {project_dir / 'elsewhere' / 'profiles.yml'}; put profiles.yml in the project "
        "folder, or point at its folder with --profiles-dir (pytest: --dbt-profiles-dir) or DBT_PROFILES_DIR."
    )


@pytest.mark.parametrize(
    ("extra", "way_out"),
    [
        ("", "run `quality init`, which adds a `local` DuckDB target to the profile."),
        (
            "    local:\n      type: duckdb\n      path: x.duckdb\n",
            "pick its DuckDB target: --target local (pytest: --dbt-target local; or DBT_TARGET=local).",
        ),
    ],
    ids=["no-duckdb-target", "a-duckdb-target-exists"],
)
def test_an_unsupported_adapter_names_the_way_out(tmp_path: Path, extra: str, way_out: str) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: localhost\n" + extra
    )
    with pytest.raises(TargetError) as error:
        resolve_target(load_project(tmp_path), "dev")
    assert str(error.value) == (
        f"target 'dev' in {tmp_path / 'profiles.yml'} has type 'postgres'; the harness supports duckdb and "
        f"databricks: {way_out}"
    )
