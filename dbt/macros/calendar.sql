{#- ISO day of the week of a date expression: 1 = Monday ... 7 = Sunday. -#}
{% macro day_of_week_iso(date_expression) -%}
    {{ return(adapter.dispatch('day_of_week_iso', 'retail')(date_expression)) }}
{%- endmacro %}

{#- Spark SQL (Databricks, Spark). -#}
{% macro default__day_of_week_iso(date_expression) -%}
    extract(dayofweek_iso from {{ date_expression }})
{%- endmacro %}

{#- DuckDB: the same values, proven equal by `quality fidelity`. -#}
{% macro duckdb__day_of_week_iso(date_expression) -%}
    isodow({{ date_expression }})
{%- endmacro %}

{#- English month name of a date expression, e.g. 'January'. -#}
{% macro month_name(date_expression) -%}
    {{ return(adapter.dispatch('month_name', 'retail')(date_expression)) }}
{%- endmacro %}

{#- Spark SQL (Databricks, Spark): 'MMMM' is the full name; Spark's monthname() gives 'Mar', not 'March'. -#}
{% macro default__month_name(date_expression) -%}
    date_format({{ date_expression }}, 'MMMM')
{%- endmacro %}

{% macro duckdb__month_name(date_expression) -%}
    monthname({{ date_expression }})
{%- endmacro %}
