{#-
    Written by `quality init` (dbt-quality-harness); keep it, or merge its first branch into your own.
    Routes every node to its schema:
    - var `quality_schema_base` set (the harness's ephemeral builds: pytest, `quality gate`'s audit):
      `<base>_<custom schema>`, or `<base>_main` for a node without a custom schema, so a test run
      never writes outside its throwaway schemas (the harness refuses to build otherwise);
    - otherwise dbt's default, `<target.schema>_<custom schema>`: your targets build where they did.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set base = var('quality_schema_base', none) -%}
    {%- if base -%}
        {{ base | trim }}_{{ (custom_schema_name or 'main') | trim }}
    {%- else -%}
        {{ default__generate_schema_name(custom_schema_name, node) }}
    {%- endif -%}
{%- endmacro %}
