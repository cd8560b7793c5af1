with products as (
    select
        product_id,
        sku,
        product_name,
        category,
        unit_price,
        unit_cost,
        is_active,
        updated_at
    from {{ ref('stg_products') }}
)

select
    cast(product_id as bigint) as product_id,
    cast(sku as {{ dbt.type_string() }}) as sku,
    cast(product_name as {{ dbt.type_string() }}) as product_name,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(unit_price as decimal(18, 2)) as unit_price,
    cast(unit_cost as decimal(18, 2)) as unit_cost,
    cast(
        case
            when unit_price > 0 then (unit_price - unit_cost) / unit_price
        end as decimal(9, 4)
    ) as margin_rate,
    cast(is_active as boolean) as is_active,
    cast(updated_at as timestamp) as updated_at
from products
