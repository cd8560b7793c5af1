-- fct_orders agrees with fct_order_lines: per order day, line counts, units and net amounts
-- summed over the orders equal those summed over the lines (so no line lacks its order, no order
-- its lines, and no merged order is stale), and every order's total is its net amount plus
-- shipping.
-- Day grain keeps the test to one pass over each table; the harness's fct_orders suite checks the
-- same per order. Returns the days and orders that disagree.
with order_days as (
    select
        order_date,
        sum(line_count) as line_count,
        sum(units) as units,
        sum(net_amount) as net_amount
    from {{ ref('fct_orders') }}
    group by order_date
),

line_days as (
    select
        order_date,
        count(*) as line_count,
        sum(quantity) as units,
        sum(net_amount) as net_amount
    from {{ ref('fct_order_lines') }}
    group by order_date
),

day_mismatches as (
    select coalesce(order_days.order_date, line_days.order_date) as order_date
    from order_days
    full outer join line_days
        on order_days.order_date = line_days.order_date
    where
        order_days.order_date is null
        or line_days.order_date is null
        or order_days.line_count <> line_days.line_count
        or order_days.units <> line_days.units
        or order_days.net_amount <> line_days.net_amount
),

total_mismatches as (
    select
        order_date,
        order_id
    from {{ ref('fct_orders') }}
    where order_total <> net_amount + shipping_amount
)

select
    order_date,
    cast(null as bigint) as order_id
from day_mismatches
union all
select
    order_date,
    order_id
from total_mismatches
