-- Sales channels: the ledger's closed list (ledger.vocabulary.Channel) with the reservation
-- defaults of SPEC L3.2; kept as a seed because the ledger has no channel table.
with

channels as (

    select * from {{ ref('channels') }}

),

final as (

    select
        cast(channel_id as varchar) as channel_id,
        cast(channel_name as varchar) as channel_name,
        cast(is_b2c as boolean) as is_b2c,
        cast(default_reserve_ttl_minutes as integer) as default_reserve_ttl_minutes,
    from channels

)

select * from final
