with source as (
    select
        order_line_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        updated_at,
        _loaded_at
    from {{ source('raw', 'order_lines') }}
),

renamed as (
    select
        cast(order_line_id as bigint) as order_line_id,
        cast(order_id as bigint) as order_id,
        cast(line_number as int) as line_number,
        cast(product_id as bigint) as product_id,
        cast(quantity as int) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select
    order_line_id,
    order_id,
    line_number,
    product_id,
    quantity,
    unit_price,
    discount_amount,
    updated_at,
    loaded_at
from renamed
