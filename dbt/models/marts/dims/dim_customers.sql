with snapshot as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        segment,
        city,
        created_at,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('snap_customers') }}
),

versioned as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        segment,
        city,
        created_at,
        dbt_valid_from,
        dbt_valid_to,
        row_number() over (
            partition by customer_id
            order by dbt_valid_from
        ) as version_number
    from snapshot
),

validity as (
    select
        customer_id,
        version_number,
        first_name,
        last_name,
        email,
        segment,
        city,
        created_at,
        dbt_valid_from,
        dbt_valid_to as valid_to,
        -- The first known version also covers the time between sign-up and the first snapshot.
        case
            when version_number = 1 and created_at < dbt_valid_from then created_at
            else dbt_valid_from
        end as valid_from
    from versioned
)

select
    cast({{ surrogate_key(['customer_id', 'dbt_valid_from']) }} as bigint) as customer_key,
    cast(customer_id as bigint) as customer_id,
    cast(version_number as int) as version_number,
    cast(first_name as {{ dbt.type_string() }}) as first_name,
    cast(last_name as {{ dbt.type_string() }}) as last_name,
    cast(email as {{ dbt.type_string() }}) as email,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(city as {{ dbt.type_string() }}) as city,
    cast(created_at as timestamp) as created_at,
    cast(valid_from as timestamp) as valid_from,
    cast(valid_to as timestamp) as valid_to,
    valid_to is null as is_current
from validity
