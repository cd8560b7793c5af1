-- Captured payments never exceed the order total by more than one cent (rounding of split
-- payments); refunds never exceed what was charged. Returns the offending orders.
select
    order_id,
    order_total,
    amount_paid,
    amount_refunded
from {{ ref('fct_orders') }}
where
    amount_paid > order_total + 0.01
    or amount_refunded > order_total + 0.01
