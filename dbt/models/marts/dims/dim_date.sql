with date_spine as (
    {{ date_spine(var('dim_date_start'), var('dim_date_end')) }}
),

calendar as (
    select
        date_day,
        extract(year from date_day) as calendar_year,
        extract(quarter from date_day) as calendar_quarter,
        extract(month from date_day) as calendar_month,
        extract(day from date_day) as day_of_month,
        {{ day_of_week_iso('date_day') }} as day_of_week_iso,
        {{ month_name('date_day') }} as month_name,
        {{ dbt.date_trunc('week', 'date_day') }} as week_start_date,
        {{ dbt.date_trunc('month', 'date_day') }} as month_start_date
    from date_spine
)

select
    cast(date_day as date) as date_day,
    cast(calendar_year * 10000 + calendar_month * 100 + day_of_month as int) as date_key,
    cast(calendar_year as int) as calendar_year,
    cast(calendar_quarter as int) as calendar_quarter,
    cast(calendar_month as int) as calendar_month,
    cast(month_name as {{ dbt.type_string() }}) as month_name,
    cast(day_of_month as int) as day_of_month,
    cast(day_of_week_iso as int) as day_of_week_iso,
    cast(day_of_week_iso >= 6 as boolean) as is_weekend,
    cast(week_start_date as date) as week_start_date,
    cast(month_start_date as date) as month_start_date
from calendar
