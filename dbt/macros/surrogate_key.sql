{#-
    A bigint surrogate key: the first 15 hex digits (60 bits) of the md5 of the listed columns, each
    cast to string, nulls as a fixed marker, joined by '-'. The same value on every adapter; bigint
    keys keep facts small and joins fast (an md5 string key made the 10 M order build 2x slower).
-#}
{% macro surrogate_key(field_list) -%}
    {{ return(adapter.dispatch('surrogate_key', 'retail')(field_list)) }}
{%- endmacro %}

{#- Spark SQL (Databricks, Spark): conv() reads the hex digits. -#}
{% macro default__surrogate_key(field_list) -%}
    cast(conv(substr({{ surrogate_key_digest(field_list) }}, 1, 15), 16, 10) as bigint)
{%- endmacro %}

{#- DuckDB has no conv(); it casts a '0x' hex literal. `quality fidelity` proves both give the same keys. -#}
{% macro duckdb__surrogate_key(field_list) -%}
    cast(('0x' || substr({{ surrogate_key_digest(field_list) }}, 1, 15)) as bigint)
{%- endmacro %}

{#- The md5 hex digest that surrogate_key is cut from. -#}
{% macro surrogate_key_digest(field_list) -%}
    {%- set parts = [] -%}
    {%- for field in field_list -%}
        {%- do parts.append(
            "coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_null_')"
        ) -%}
        {%- if not loop.last -%}{%- do parts.append("'-'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
