with source as (
    select
        payment_id,
        order_id,
        payment_method,
        payment_status,
        amount,
        paid_at,
        updated_at,
        _loaded_at
    from {{ source('raw', 'payments') }}
),

renamed as (
    select
        cast(payment_id as bigint) as payment_id,
        cast(order_id as bigint) as order_id,
        lower(cast(payment_method as {{ dbt.type_string() }})) as payment_method_code,
        cast(payment_status as {{ dbt.type_string() }}) as payment_status,
        cast(amount as decimal(18, 2)) as amount,
        cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select
    payment_id,
    order_id,
    payment_method_code,
    payment_status,
    amount,
    paid_at,
    updated_at,
    loaded_at
from renamed
