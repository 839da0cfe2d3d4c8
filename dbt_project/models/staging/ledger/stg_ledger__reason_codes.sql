with

source as (

    select * from {{ source('ledger', 'reason_codes') }}

),

renamed as (

    select
        cast(reason_code as varchar) as reason_code,
        cast(description as varchar) as reason_description,
        -- the ledger keeps the kinds a code may be used for as comma-separated text
        case when coalesce(kinds, '') = '' then cast([] as varchar[])
            else string_split(kinds, ',') end as allowed_event_kinds,
        cast(is_active as boolean) as is_active,

    from source

)

select * from renamed
