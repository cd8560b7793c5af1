with order_lines as (
    select
        order_line_id,
        order_id,
        line_number,
        customer_id,
        store_id,
        product_id,
        ordered_at,
        order_date,
        is_recognized,
        quantity,
        unit_price,
        gross_amount,
        discount_amount,
        net_amount,
        margin_amount,
        updated_at
    from {{ ref('int_order_lines_priced') }}
),

customer_versions as (
    select
        customer_key,
        customer_id,
        valid_from,
        valid_to
    from {{ ref('dim_customers') }}
),

with_customer_version as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.line_number,
        order_lines.order_date,
        customer_versions.customer_key,
        order_lines.store_id,
        order_lines.product_id,
        order_lines.is_recognized,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.gross_amount,
        order_lines.discount_amount,
        order_lines.net_amount,
        order_lines.margin_amount,
        order_lines.updated_at
    from order_lines
    left join customer_versions
        on
            order_lines.customer_id = customer_versions.customer_id
            and order_lines.ordered_at >= customer_versions.valid_from
            and (
                order_lines.ordered_at < customer_versions.valid_to
                or customer_versions.valid_to is null
            )
)

select
    cast(order_line_id as bigint) as order_line_id,
    cast(order_id as bigint) as order_id,
    cast(line_number as int) as line_number,
    cast(order_date as date) as order_date,
    cast(customer_key as bigint) as customer_key,
    cast(store_id as bigint) as store_id,
    cast(product_id as bigint) as product_id,
    cast(is_recognized as boolean) as is_recognized,
    cast(quantity as int) as quantity,
    cast(unit_price as decimal(18, 2)) as unit_price,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    cast(net_amount as decimal(18, 2)) as net_amount,
    cast(margin_amount as decimal(18, 2)) as margin_amount,
    cast(updated_at as timestamp) as updated_at
from with_customer_version
