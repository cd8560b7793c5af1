with order_lines as (
    select
        order_line_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        updated_at
    from {{ ref('stg_order_lines') }}
),

orders as (
    select
        order_id,
        customer_id,
        store_id,
        ordered_at,
        order_date,
        order_status
    from {{ ref('stg_orders') }}
),

products as (
    select
        product_id,
        unit_cost
    from {{ ref('stg_products') }}
),

priced as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.line_number,
        orders.customer_id,
        orders.store_id,
        order_lines.product_id,
        orders.ordered_at,
        orders.order_date,
        orders.order_status,
        order_lines.quantity,
        order_lines.unit_price,
        cast(order_lines.quantity * order_lines.unit_price as decimal(18, 2)) as gross_amount,
        order_lines.discount_amount,
        cast(
            order_lines.quantity * order_lines.unit_price - order_lines.discount_amount
            as decimal(18, 2)
        ) as net_amount,
        cast(order_lines.quantity * products.unit_cost as decimal(18, 2)) as cost_amount,
        order_lines.updated_at
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join products
        on order_lines.product_id = products.product_id
)

select
    order_line_id,
    order_id,
    line_number,
    customer_id,
    store_id,
    product_id,
    ordered_at,
    order_date,
    order_status,
    quantity,
    unit_price,
    gross_amount,
    discount_amount,
    net_amount,
    cost_amount,
    updated_at,
    cast(net_amount - cost_amount as decimal(18, 2)) as margin_amount,
    order_status not in ('cancelled', 'returned') as is_recognized
from priced
