-- Sales channels: the ledger's closed list (ledger.vocabulary.Channel) with the reservation
-- defaults of SPEC L3.2 (the ledger keeps no channel table; a test holds the two lists together).
with

channels as (

    select * from (
        values
            ('pos', 'Point of sale', true, 5),
            ('ecommerce', 'E-commerce', true, 15),
            ('wholesale', 'Wholesale', false, 60),
            ('marketplace', 'Marketplace', true, 15)
    ) as channels (channel_id, channel_name, is_b2c, default_reserve_ttl_minutes)

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
