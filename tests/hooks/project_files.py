"""A small two-domain dbt project (shop, crm) that passes every hook; tests seed one violation at a time.

Layout (under the project folder, `dbt/` in the test repositories):
    models/staging/shop/  stg_shop__orders (source shop.orders)
    models/staging/crm/   stg_crm__customers (source crm.customers)
    models/intermediate/  int_orders_enriched (refs both staging models)
    models/marts/facts/   fct_orders (meta.domain shop, enforced contract)
    models/marts/dims/    dim_customers (meta.domain crm, enforced contract)
    macros/               cents_to_dollars (described in _macros.yml)
"""

from __future__ import annotations

from pathlib import Path

DBT_PROJECT_YML = """\
name: shop_test
version: "1.0.0"
profile: shop_test
model-paths: ["models"]
macro-paths: ["macros"]
flags:
  send_anonymous_usage_stats: false
  partial_parse: true
models:
  shop_test:
    staging:
      +materialized: view
    intermediate:
      +materialized: view
    marts:
      +materialized: table
"""

PROFILES_YML = """\
shop_test:
  target: local
  outputs:
    local:
      type: duckdb
      path: "{{ env_var('QUALITY_DUCKDB_PATH', '.quality/warehouse.duckdb') }}"
      threads: 1
    dev:
      type: databricks
      host: "{{ env_var('DATABRICKS_HOST') }}"
      http_path: "{{ env_var('DATABRICKS_HTTP_PATH') }}"
      token: "{{ env_var('DATABRICKS_TOKEN') }}"
      catalog: main
      schema: dev
"""


def sources_yml(source: str, description: str, table: str, table_description: str) -> str:
    """A properties file declaring one source in schema `raw` with one table, its freshness set on `_loaded_at`."""
    return f"""\
version: 2
sources:
  - name: {source}
    description: {description}
    schema: raw
    config:
      loaded_at_field: _loaded_at
      freshness:
        warn_after: {{count: 12, period: hour}}
        error_after: {{count: 24, period: hour}}
    tables:
      - name: {table}
        description: {table_description}
"""


SHOP_SOURCES_YML = sources_yml("shop", "Web shop operational database.", "orders", "One row per order.")

STG_SHOP_ORDERS_SQL = """\
select
    id as order_id,
    customer_id,
    amount_cents,
    ordered_at
from {{ source('shop', 'orders') }}
"""

SHOP_MODELS_YML = """\
version: 2
models:
  - name: stg_shop__orders
    description: Orders, renamed and typed.
    columns:
      - name: order_id
        description: Order key.
        data_tests: [unique, not_null]
      - name: customer_id
        description: Customer key.
      - name: amount_cents
        description: Order amount in cents.
      - name: ordered_at
        description: When the order was placed.
"""

CRM_SOURCES_YML = sources_yml("crm", "Customer relationship system.", "customers", "One row per customer.")

STG_CRM_CUSTOMERS_SQL = """\
select
    id as customer_id,
    full_name
from {{ source('crm', 'customers') }}
"""

CRM_MODELS_YML = """\
version: 2
models:
  - name: stg_crm__customers
    description: Customers, renamed.
    columns:
      - name: customer_id
        description: Customer key.
        data_tests: [unique, not_null]
      - name: full_name
        description: Customer name.
"""

INT_ORDERS_ENRICHED_SQL = """\
select
    orders.order_id,
    orders.customer_id,
    customers.full_name,
    {{ cents_to_dollars('orders.amount_cents') }} as amount
from {{ ref('stg_shop__orders') }} as orders
left join {{ ref('stg_crm__customers') }} as customers
    on orders.customer_id = customers.customer_id
"""

INTERMEDIATE_YML = """\
version: 2
models:
  - name: int_orders_enriched
    description: Orders with their customer.
    columns:
      - name: order_id
        description: Order key.
        data_tests: [unique]
      - name: customer_id
        description: Customer key.
      - name: full_name
        description: Customer name.
      - name: amount
        description: Order amount.
"""

FCT_ORDERS_SQL = """\
select
    order_id,
    customer_id,
    amount
from {{ ref('int_orders_enriched') }}
"""

DIM_CUSTOMERS_SQL = """\
select
    customer_id,
    full_name
from {{ ref('stg_crm__customers') }}
"""

FACTS_YML = """\
version: 2
models:
  - name: fct_orders
    description: One row per order.
    config:
      meta:
        domain: shop
      contract:
        enforced: true
    columns:
      - name: order_id
        description: Order key.
        data_type: integer
        constraints:
          - type: not_null
        data_tests: [unique]
      - name: customer_id
        description: Customer key.
        data_type: integer
      - name: amount
        description: Order amount.
        data_type: double
"""

DIMS_YML = """\
version: 2
models:
  - name: dim_customers
    description: One row per customer.
    config:
      meta:
        domain: crm
      contract:
        enforced: true
    columns:
      - name: customer_id
        description: Customer key.
        data_type: integer
        constraints:
          - type: not_null
        data_tests: [unique]
      - name: full_name
        description: Customer name.
        data_type: varchar
"""

CENTS_TO_DOLLARS_SQL = """\
{% macro cents_to_dollars(column) -%}
    ({{ column }} / 100.0)
{%- endmacro %}
"""

MACROS_YML = """\
version: 2
macros:
  - name: cents_to_dollars
    description: Converts an amount in cents to dollars.
    arguments:
      - name: column
        type: string
        description: Column or expression holding cents.
"""

FILES: dict[str, str] = {
    "dbt_project.yml": DBT_PROJECT_YML,
    "profiles.yml": PROFILES_YML,
    "models/staging/shop/_shop__sources.yml": SHOP_SOURCES_YML,
    "models/staging/shop/_shop__models.yml": SHOP_MODELS_YML,
    "models/staging/shop/stg_shop__orders.sql": STG_SHOP_ORDERS_SQL,
    "models/staging/crm/_crm__sources.yml": CRM_SOURCES_YML,
    "models/staging/crm/_crm__models.yml": CRM_MODELS_YML,
    "models/staging/crm/stg_crm__customers.sql": STG_CRM_CUSTOMERS_SQL,
    "models/intermediate/_intermediate.yml": INTERMEDIATE_YML,
    "models/intermediate/int_orders_enriched.sql": INT_ORDERS_ENRICHED_SQL,
    "models/marts/facts/_facts.yml": FACTS_YML,
    "models/marts/facts/fct_orders.sql": FCT_ORDERS_SQL,
    "models/marts/dims/_dims.yml": DIMS_YML,
    "models/marts/dims/dim_customers.sql": DIM_CUSTOMERS_SQL,
    "macros/cents_to_dollars.sql": CENTS_TO_DOLLARS_SQL,
    "macros/_macros.yml": MACROS_YML,
}


def write_project(folder: Path, overrides: dict[str, str] | None = None) -> Path:
    """Write the project into `folder` (created), with some files replaced; returns `folder`."""
    for relative, text in {**FILES, **(overrides or {})}.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
