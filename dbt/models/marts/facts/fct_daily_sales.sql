with orders as (
    select
        order_date,
        store_id,
        is_recognized,
        line_count,
        units,
        gross_amount,
        discount_amount,
        net_amount,
        margin_amount
    from {{ ref('fct_orders') }}
),

daily as (
    select
        order_date,
        store_id,
        count(*) as order_count,
        sum(line_count) as line_count,
        sum(units) as units_sold,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount,
        sum(case when is_recognized then net_amount else 0 end) as recognized_net_amount,
        sum(case when is_recognized then margin_amount else 0 end) as recognized_margin_amount
    from orders
    group by
        order_date,
        store_id
)

select
    cast(order_date as date) as order_date,
    cast(store_id as bigint) as store_id,
    cast(order_count as bigint) as order_count,
    cast(line_count as bigint) as line_count,
    cast(units_sold as bigint) as units_sold,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    cast(net_amount as decimal(18, 2)) as net_amount,
    cast(recognized_net_amount as decimal(18, 2)) as recognized_net_amount,
    cast(recognized_margin_amount as decimal(18, 2)) as recognized_margin_amount
from daily
