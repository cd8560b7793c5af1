-- fct_daily_sales (built from fct_orders) holds exactly the order lines: per day and store, its
-- line count, units and net amount equal those summed from fct_order_lines. Returns the days and
-- stores that disagree.
with from_lines as (
    select
        order_date,
        store_id,
        count(*) as line_count,
        sum(quantity) as units_sold,
        sum(net_amount) as net_amount
    from {{ ref('fct_order_lines') }}
    group by
        order_date,
        store_id
)

select
    coalesce(daily.order_date, from_lines.order_date) as order_date,
    coalesce(daily.store_id, from_lines.store_id) as store_id
from {{ ref('fct_daily_sales') }} as daily
full outer join from_lines
    on
        daily.order_date = from_lines.order_date
        and daily.store_id = from_lines.store_id
where
    daily.order_date is null
    or from_lines.order_date is null
    or daily.line_count <> from_lines.line_count
    or daily.units_sold <> from_lines.units_sold
    or daily.net_amount <> from_lines.net_amount
