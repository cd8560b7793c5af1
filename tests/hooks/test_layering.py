"""layering: staging reads sources, intermediate and marts read refs, marts stay in their domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import layering
from hooks import manifest as shared_manifest
from tests.hooks.project_files import DIMS_YML, FACTS_YML

STG_SHOP = "dbt/models/staging/shop/stg_shop__orders.sql"
INT = "dbt/models/intermediate/int_orders_enriched.sql"
FCT = "dbt/models/marts/facts/fct_orders.sql"
DIM = "dbt/models/marts/dims/dim_customers.sql"
# A FROM clause joining the staging models of both domains (shop's orders, crm's customers).
BOTH_DOMAINS_STAGING = (
    "from {{ ref('stg_shop__orders') }} as o\n"
    "join {{ ref('stg_crm__customers') }} as c on o.customer_id = c.customer_id\n"
)


def _layering(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = layering.main(["--no-manifest", *args])
    return code, [line for line in capsys.readouterr().out.splitlines() if not line.startswith("    fix:")]


def _write(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def test_the_clean_two_domain_project_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _layering(capsys, "--all") == (0, [])


def test_staging_model_reading_a_ref_fails(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        STG_SHOP, "select o.*\nfrom {{ source('shop', 'orders') }} as o\njoin {{ ref('stg_crm__customers') }} as c\n"
    )
    assert _layering(capsys, STG_SHOP) == (
        1,
        [
            f"{STG_SHOP}:3: staging model 'stg_shop__orders' reads ref('stg_crm__customers'): "
            "staging models read only sources"
        ],
    )


def test_intermediate_and_mart_reading_a_source_fail(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(INT, "select *\n{# not a dependency: ref('x') #}\nfrom {{ source('shop', 'orders') }}\n")
    _write(FCT, "select *\nfrom {{ source('crm', 'customers') }}\n")
    assert _layering(capsys, INT, FCT) == (
        1,
        [
            f"{INT}:3: intermediate model 'int_orders_enriched' reads source('shop', 'orders'): "
            "intermediate models read only refs",
            f"{FCT}:2: marts model 'fct_orders' reads source('crm', 'customers'): marts models read only refs",
        ],
    )


def test_mart_reading_staging_of_another_domain_fails(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(FCT, "select o.order_id, c.full_name\n" + BOTH_DOMAINS_STAGING)
    assert _layering(capsys, FCT) == (
        1,
        [f"{FCT}:3: mart 'fct_orders' (domain 'shop') reads staging model 'stg_crm__customers' of domain 'crm'"],
    )


def test_a_domain_change_in_yaml_is_checked_too(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write("dbt/models/marts/dims/_dims.yml", DIMS_YML.replace("domain: crm", "domain: shop"))
    assert _layering(capsys, "dbt/models/marts/dims/_dims.yml") == (
        1,
        [f"{DIM}:4: mart 'dim_customers' (domain 'shop') reads staging model 'stg_crm__customers' of domain 'crm'"],
    )


def test_mart_without_domain_may_read_staging_of_one_domain_only(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write("dbt/models/marts/facts/_facts.yml", FACTS_YML.replace("      meta:\n        domain: shop\n", ""))
    _write(FCT, "select order_id\nfrom {{ ref('stg_shop__orders') }}\n")
    assert _layering(capsys, FCT) == (0, [])
    _write(FCT, "select o.order_id\n" + BOTH_DOMAINS_STAGING)
    assert _layering(capsys, FCT) == (
        1,
        [f"{FCT}:3: mart 'fct_orders' has no domain and reads staging models of several domains (crm, shop)"],
    )


def test_manifest_mode_sees_refs_that_jinja_builds(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ref whose name Jinja computes is invisible to the regex reader, not to the manifest."""
    _write(
        STG_SHOP,
        "{% set other = 'stg_crm__' ~ 'customers' %}\nselect o.*\n"
        "from {{ source('shop', 'orders') }} as o\ncross join {{ ref(other) }} as c\n",
    )
    assert _layering(capsys, STG_SHOP) == (0, [])
    assert shared_manifest.main(["--project-dir", "dbt"]) == 0
    capsys.readouterr()
    assert layering.main([STG_SHOP]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{STG_SHOP}:1: staging model 'stg_shop__orders' reads ref('stg_crm__customers'): "
        "staging models read only sources"
    )


NO_REF_FIX = (
    "    fix: read its data with {{ ref('<model>') }} (a raw table needs a staging model first: "
    "models/staging/<domain>/stg_<domain>__<table>.sql); a mart that generates its rows (a calendar) "
    'says so in its YAML: config: meta: reads_no_ref: "<why>"'
)


def test_mart_reading_a_hard_coded_table_and_no_ref_fails(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(FCT, "select\n    order_id,\n    extract(year from ordered_at) as order_year\nfrom analytics.orders\n")
    assert layering.main(["--no-manifest", FCT]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{FCT}:4: mart 'fct_orders' reads no ref(): marts build only on models (staging, intermediate or marts)",
        NO_REF_FIX,
    ]


def test_mart_reading_only_a_source_gets_the_source_finding_alone(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(FCT, "select *\nfrom {{ source('shop', 'orders') }}\n")
    assert _layering(capsys, FCT) == (
        1,
        [f"{FCT}:2: marts model 'fct_orders' reads source('shop', 'orders'): marts models read only refs"],
    )


def test_a_generated_mart_says_why_it_reads_no_ref(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calendar = "select day as date_day\nfrom (select explode(sequence(date'2020-01-01', date'2020-12-31')) as day)\n"
    _write(FCT, calendar)
    assert _layering(capsys, FCT) == (
        1,
        [f"{FCT}:2: mart 'fct_orders' reads no ref(): marts build only on models (staging, intermediate or marts)"],
    )
    blank = FACTS_YML.replace("        domain: shop\n", '        domain: shop\n        reads_no_ref: " "\n')
    _write("dbt/models/marts/facts/_facts.yml", blank)
    assert _layering(capsys, FCT)[0] == 1, "a blank reason explains nothing"
    why = FACTS_YML.replace(
        "        domain: shop\n", '        domain: shop\n        reads_no_ref: "generated calendar"\n'
    )
    _write("dbt/models/marts/facts/_facts.yml", why)
    assert _layering(capsys, FCT) == (0, [])


def test_manifest_mode_counts_a_seed_as_a_ref_of_a_mart(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("dbt/seeds").mkdir()
    _write("dbt/seeds/country_codes.csv", "code,name\nFR,France\n")
    _write(FCT, "select code\nfrom {{ ref('country_codes') }}\n")
    assert shared_manifest.main(["--project-dir", "dbt"]) == 0
    assert shared_manifest.is_fresh(shared_manifest.ParseSettings(project_dir=Path("dbt")))
    capsys.readouterr()
    assert layering.main([FCT]) == 0
    assert capsys.readouterr().out == ""
