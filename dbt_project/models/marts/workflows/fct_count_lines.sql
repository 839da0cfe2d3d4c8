-- One row per cycle-count line (a counted position) with the system and counted quantities:
--   system_qty     = the position's system quantity when the final count was recorded (the
--                    snapshot plus movements during the count);
--   counted_qty    = the final count (the recount when there was one);
--   variance_qty   = counted − system of the final count (what finalising posts), once the
--                    line is counted or recounted; variance_value_amount = the value of the
--                    count_variance event finalising posted (null before finalising);
--   is_within_tolerance = the final count was within the facility's tolerance;
--   is_recount_required = the first count was beyond it.
-- Count times are system times (when the counts were recorded).
with

count_lines as (

    select * from {{ ref('stg_ledger__count_lines') }}

),

entries as (

    select * from {{ ref('stg_ledger__count_entries') }}

),

sessions as (

    select * from {{ ref('stg_ledger__count_sessions') }}

),

locations as (

    select * from {{ ref('stg_ledger__location_keys') }}

),

variants as (

    select * from {{ ref('dim_variants') }}

),

variant_keys as (

    select * from {{ ref('stg_ledger__variant_keys') }}

),

lot_keys as (

    select * from {{ ref('stg_ledger__lot_keys') }}

),

parties as (

    select * from {{ ref('stg_ledger__party_keys') }}

),

card as (

    select * from {{ ref('fct_stock_card') }}

),

attempts as (

    select
        session_id,
        line_no,
        count(*) as count_attempts,
        min_by(counted_qty, attempt_no) as first_counted_qty,
        min_by(counter, attempt_no) as first_counter,
        min_by(is_within_tolerance, attempt_no) as is_first_count_within_tolerance,
        min(counted_at) as first_counted_at,
        max_by(counted_qty, attempt_no) as counted_qty,
        max_by(system_qty, attempt_no) as system_qty,
        max_by(counter, attempt_no) as counter,
        max_by(is_within_tolerance, attempt_no) as is_within_tolerance,
        max(counted_at) as counted_at,
        max_by(counter, attempt_no) filter (where attempt_no > 1) as recount_counter,
    from entries
    group by all

),

variance_events as (

    select
        card.event_id,
        card.cost_delta_amount,
        card.currency_code,
    from card
    semi join count_lines on count_lines.variance_event_id = card.event_id

),

joined as (

    select
        count_lines.*,
        locations.facility_id,
        locations.bin_id,
        variant_keys.variant_id,
        variants.category_name,
        lot_keys.lot_id,
        owners.party_id as owner_id,
        sessions.session_status,
        sessions.started_at,
        sessions.finalised_at,
        sessions.finalised_by,
        attempts.count_attempts,
        attempts.first_counted_qty,
        attempts.first_counter,
        attempts.is_first_count_within_tolerance,
        attempts.first_counted_at,
        attempts.counted_qty,
        attempts.system_qty,
        attempts.counter,
        attempts.is_within_tolerance,
        attempts.counted_at,
        attempts.recount_counter,
        count_lines.line_status in ('counted', 'recounted') as is_counted,
        variance_events.cost_delta_amount as variance_value_amount,
        variance_events.currency_code,
    from count_lines
    inner join sessions on sessions.session_id = count_lines.session_id
    inner join locations on locations.location_key = count_lines.location_key
    inner join variant_keys on variant_keys.variant_key = count_lines.variant_key
    left join variants on variants.variant_id = variant_keys.variant_id
    left join lot_keys on lot_keys.lot_key = count_lines.lot_key
    left join parties as owners on owners.party_key = count_lines.owner_key
    left join attempts
        on attempts.session_id = count_lines.session_id
        and attempts.line_no = count_lines.line_no
    left join variance_events on variance_events.event_id = count_lines.variance_event_id

),

final as (

    select
        session_id,
        cast(line_no as integer) as line_no,
        facility_id,
        bin_id,
        variant_id,
        category_name,
        lot_id,
        bucket,
        owner_id,
        session_status,
        line_status,
        is_in_snapshot,
        cast(snapshot_qty as decimal(18, 6)) as snapshot_qty,
        cast(system_qty as decimal(18, 6)) as system_qty,
        cast(first_counted_qty as decimal(18, 6)) as first_counted_qty,
        cast(counted_qty as decimal(18, 6)) as counted_qty,
        case
            when is_counted
                then cast(coalesce(variance_qty, counted_qty - system_qty) as decimal(18, 6))
        end as variance_qty,
        case
            when is_counted
                then cast(abs(coalesce(variance_qty, counted_qty - system_qty)) as decimal(18, 6))
        end as absolute_variance_qty,
        case
            when session_status = 'finalised' then coalesce(variance_value_amount, 0)
        end as variance_value_amount,
        currency_code,
        cast(coalesce(count_attempts, 0) as integer) as count_attempts,
        first_counter,
        counter,
        recount_counter,
        is_first_count_within_tolerance,
        case when is_counted then is_within_tolerance end as is_within_tolerance,
        coalesce(not is_first_count_within_tolerance, false) as is_recount_required,
        line_status = 'recounted' as is_recount_done,
        is_counted,
        session_status = 'finalised' as is_final,
        started_at,
        first_counted_at,
        counted_at,
        finalised_at,
        finalised_by,
        variance_event_id,
    from joined

)

select * from final
