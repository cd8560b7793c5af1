with payments as (
    select
        order_id,
        payment_method_code,
        payment_status,
        amount,
        updated_at
    from {{ ref('stg_payments') }}
),

payment_methods as (
    select
        payment_method_code,
        is_card
    from {{ ref('payment_methods') }}
),

classified as (
    select
        payments.order_id,
        payments.updated_at,
        case when payments.payment_status = 'captured' then payments.amount else 0 end
            as captured_amount,
        case
            when payments.payment_status = 'captured' and coalesce(payment_methods.is_card, false)
                then payments.amount
            else 0
        end as card_captured_amount,
        case when payments.payment_status = 'refunded' then payments.amount else 0 end
            as refunded_amount
    from payments
    left join payment_methods
        on payments.payment_method_code = payment_methods.payment_method_code
)

select
    order_id,
    cast(sum(captured_amount) as decimal(18, 2)) as amount_paid,
    cast(sum(card_captured_amount) as decimal(18, 2)) as card_amount_paid,
    cast(sum(refunded_amount) as decimal(18, 2)) as amount_refunded,
    count(*) as payment_count,
    max(updated_at) as updated_at
from classified
group by order_id
