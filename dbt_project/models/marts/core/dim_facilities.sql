with

facilities as (

    select * from {{ ref('stg_ledger__facilities') }}

),

bins as (

    select * from {{ ref('stg_ledger__bins') }}

),

bin_counts as (

    select
        facility_id,
        count(*) as bin_count,
    from bins
    group by all

),

final as (

    select
        facilities.facility_id,
        facilities.facility_name,
        facilities.facility_type,
        facilities.org_id,
        facilities.currency_code,
        facilities.default_bin_id,
        cast(coalesce(bin_counts.bin_count, 0) as bigint) as bin_count,
        facilities.facility_type = 'in_transit' as is_in_transit,
    from facilities
    left join bin_counts on bin_counts.facility_id = facilities.facility_id

)

select * from final
