{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='order_id',
        on_schema_change='fail',
    )
}}

with orders as (
    select
        order_id,
        customer_id,
        store_id,
        ordered_at,
        order_date,
        order_status,
        shipping_amount,
        updated_at
    from {{ ref('stg_orders') }}
),

order_lines as (
    select
        order_id,
        max(customer_key) as customer_key,
        count(*) as line_count,
        sum(quantity) as units,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount,
        sum(margin_amount) as margin_amount,
        max(updated_at) as updated_at
    from {{ ref('fct_order_lines') }}
    group by order_id
),

payments as (
    select
        order_id,
        payment_count,
        amount_paid,
        card_amount_paid,
        amount_refunded,
        updated_at
    from {{ ref('int_order_payments') }}
),

joined as (
    select
        orders.order_id,
        orders.customer_id,
        order_lines.customer_key,
        orders.store_id,
        orders.order_date,
        orders.ordered_at,
        orders.order_status,
        orders.shipping_amount,
        coalesce(order_lines.line_count, 0) as line_count,
        coalesce(order_lines.units, 0) as units,
        coalesce(order_lines.gross_amount, 0) as gross_amount,
        coalesce(order_lines.discount_amount, 0) as discount_amount,
        coalesce(order_lines.net_amount, 0) as net_amount,
        coalesce(order_lines.net_amount, 0) + orders.shipping_amount as order_total,
        coalesce(order_lines.margin_amount, 0) as margin_amount,
        coalesce(payments.payment_count, 0) as payment_count,
        coalesce(payments.amount_paid, 0) as amount_paid,
        coalesce(payments.card_amount_paid, 0) as card_amount_paid,
        coalesce(payments.amount_refunded, 0) as amount_refunded,
        -- An order changes when its header, any of its lines or any of its payments changes.
        greatest(
            orders.updated_at,
            coalesce(order_lines.updated_at, orders.updated_at),
            coalesce(payments.updated_at, orders.updated_at)
        ) as updated_at
    from orders
    left join order_lines
        on orders.order_id = order_lines.order_id
    left join payments
        on orders.order_id = payments.order_id
),

order_facts as (
    select
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        cast(customer_key as bigint) as customer_key,
        cast(store_id as bigint) as store_id,
        cast(order_date as date) as order_date,
        cast(ordered_at as timestamp) as ordered_at,
        cast(order_status as {{ dbt.type_string() }}) as order_status,
        cast(line_count as int) as line_count,
        cast(units as int) as units,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(shipping_amount as decimal(18, 2)) as shipping_amount,
        cast(order_total as decimal(18, 2)) as order_total,
        cast(margin_amount as decimal(18, 2)) as margin_amount,
        cast(payment_count as int) as payment_count,
        cast(amount_paid as decimal(18, 2)) as amount_paid,
        cast(card_amount_paid as decimal(18, 2)) as card_amount_paid,
        cast(amount_refunded as decimal(18, 2)) as amount_refunded,
        cast(order_status not in ('cancelled', 'returned') as boolean) as is_recognized,
        cast(updated_at as timestamp) as updated_at
    from joined
)

select
    order_id,
    customer_id,
    customer_key,
    store_id,
    order_date,
    ordered_at,
    order_status,
    line_count,
    units,
    gross_amount,
    discount_amount,
    net_amount,
    shipping_amount,
    order_total,
    margin_amount,
    payment_count,
    amount_paid,
    card_amount_paid,
    amount_refunded,
    is_recognized,
    updated_at
from order_facts
{% if is_incremental() %}
    -- Late changes: re-read every order changed since the newest one already merged, minus a
    -- lookback for changes that reach the replica out of order.
    where updated_at > (
        select
            {{ dbt.dateadd(
                'hour',
                -1 * var('fct_orders_lookback_hours', 3),
                'max(merged_orders.updated_at)'
            ) }}
        from {{ this }} as merged_orders
    )
{% endif %}
