with source as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        segment,
        city,
        created_at,
        updated_at,
        _loaded_at
    from {{ source('raw', 'customers') }}
),

renamed as (
    select
        cast(customer_id as bigint) as customer_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        lower(cast(email as {{ dbt.type_string() }})) as email,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select
    customer_id,
    first_name,
    last_name,
    email,
    segment,
    city,
    created_at,
    updated_at,
    loaded_at
from renamed
