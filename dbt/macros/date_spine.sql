{#-
    One row per day from start_date to end_date (both inclusive, ISO dates), column `date_day` (date).
    Numbers come from cross-joined digit rows, so the SQL is plain and runs on every adapter.
-#}
{% macro date_spine(start_date, end_date) -%}
    {%- set first_day = modules.datetime.date.fromisoformat(start_date) -%}
    {%- set last_day = modules.datetime.date.fromisoformat(end_date) -%}
    {%- set day_count = (last_day - first_day).days + 1 -%}
    {%- if day_count < 1 -%}
        {{ exceptions.raise_compiler_error(
            "date_spine: end_date " ~ end_date ~ " is before start_date " ~ start_date
        ) }}
    {%- endif -%}
    {%- set digit_count = (day_count - 1) | string | length -%}
    with digits as (
        select 0 as digit
        {%- for digit in range(1, 10) %}
        union all
        select {{ digit }} as digit
        {%- endfor %}
    ),

    day_offsets as (
        select
            {% for position in range(digit_count) -%}
            d{{ position }}.digit * {{ 10 ** position }}{{ " +" if not loop.last }}
            {% endfor -%}
            as day_offset
        from digits as d0
        {%- for position in range(1, digit_count) %}
        cross join digits as d{{ position }}
        {%- endfor %}
    )

    select
        cast(
            {{ dbt.dateadd('day', 'day_offset', "cast('" ~ start_date ~ "' as date)") }} as date
        ) as date_day
    from day_offsets
    where day_offset < {{ day_count }}
{%- endmacro %}
