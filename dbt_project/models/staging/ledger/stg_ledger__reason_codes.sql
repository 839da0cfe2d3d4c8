with

source as (

    select * from {{ source('ledger', 'reason_codes') }}

),

renamed as (

    select
        reason_code,
        description as reason_description,
        -- the ledger keeps the kinds a code may be used for as comma-separated text
        case when kinds = '' then [] else string_split(kinds, ',') end as allowed_event_kinds,
        is_active,

    from source

)

select * from renamed
