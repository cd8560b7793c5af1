with source as (
    select
        order_id,
        customer_id,
        store_id,
        ordered_at,
        status,
        shipping_amount,
        updated_at,
        _loaded_at
    from {{ source('raw', 'orders') }}
),

renamed as (
    select
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        cast(store_id as bigint) as store_id,
        cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at,
        cast(ordered_at as date) as order_date,
        cast(status as {{ dbt.type_string() }}) as order_status,
        cast(shipping_amount as decimal(18, 2)) as shipping_amount,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select
    order_id,
    customer_id,
    store_id,
    ordered_at,
    order_date,
    order_status,
    shipping_amount,
    updated_at,
    loaded_at
from renamed
