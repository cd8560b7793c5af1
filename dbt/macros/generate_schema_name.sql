{#-
    Routes every node to its schema (docs/architecture.md, "Schemas"):
    - var `quality_schema_base` set (ephemeral runs of the quality harness): `<base>_<custom schema>`,
      or `<base>_main` for a node without a custom schema;
    - targets `local` and `prod`: the custom schema itself (`staging`, `marts`, `snapshots`, ...);
    - any other target (`dev`, `ci`): dbt's default, `<target.schema>_<custom schema>`.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set base = var('quality_schema_base', none) -%}
    {%- if base -%}
        {{ base | trim }}_{{ (custom_schema_name or 'main') | trim }}
    {%- elif target.name in ('local', 'prod') and custom_schema_name is not none -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ default__generate_schema_name(custom_schema_name, node) }}
    {%- endif -%}
{%- endmacro %}
