with source as (
    select
        product_id,
        sku,
        product_name,
        category,
        unit_price,
        unit_cost,
        is_active,
        updated_at,
        _loaded_at
    from {{ source('raw', 'products') }}
),

renamed as (
    select
        cast(product_id as bigint) as product_id,
        cast(sku as {{ dbt.type_string() }}) as sku,
        cast(product_name as {{ dbt.type_string() }}) as product_name,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select
    product_id,
    sku,
    product_name,
    category,
    unit_price,
    unit_cost,
    is_active,
    updated_at,
    loaded_at
from renamed
