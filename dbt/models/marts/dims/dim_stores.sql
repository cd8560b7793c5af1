with stores as (
    select
        store_id,
        store_name,
        store_type,
        city,
        country_code,
        opened_on,
        updated_at
    from {{ ref('stg_stores') }}
)

select
    cast(store_id as bigint) as store_id,
    cast(store_name as {{ dbt.type_string() }}) as store_name,
    cast(store_type as {{ dbt.type_string() }}) as store_type,
    cast(city as {{ dbt.type_string() }}) as city,
    cast(country_code as {{ dbt.type_string() }}) as country_code,
    cast(opened_on as date) as opened_on,
    cast(store_type = 'online' as boolean) as is_online,
    cast(updated_at as timestamp) as updated_at
from stores
