with source as (
    select
        store_id,
        store_name,
        store_type,
        city,
        country_code,
        opened_on,
        updated_at,
        _loaded_at
    from {{ source('raw', 'stores') }}
),

renamed as (
    select
        cast(store_id as bigint) as store_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(store_type as {{ dbt.type_string() }}) as store_type,
        cast(city as {{ dbt.type_string() }}) as city,
        upper(cast(country_code as {{ dbt.type_string() }})) as country_code,
        cast(opened_on as date) as opened_on,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select
    store_id,
    store_name,
    store_type,
    city,
    country_code,
    opened_on,
    updated_at,
    loaded_at
from renamed
