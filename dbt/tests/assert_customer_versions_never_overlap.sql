-- SCD2: two versions of the same customer never cover the same instant, and each customer has
-- exactly one current version. Returns the offending versions.
with versions as (
    select
        customer_key,
        customer_id,
        valid_from,
        valid_to,
        is_current
    from {{ ref('dim_customers') }}
),

overlapping as (
    select earlier.customer_key
    from versions as earlier
    inner join versions as later
        on
            earlier.customer_id = later.customer_id
            and earlier.customer_key <> later.customer_key
            and earlier.valid_from <= later.valid_from
            and (earlier.valid_to > later.valid_from or earlier.valid_to is null)
),

current_counts as (
    select
        customer_id,
        sum(case when is_current then 1 else 0 end) as current_versions
    from versions
    group by customer_id
)

select customer_key as offending_key
from overlapping
union all
select cast(customer_id as {{ dbt.type_string() }}) as offending_key
from current_counts
where current_versions <> 1
