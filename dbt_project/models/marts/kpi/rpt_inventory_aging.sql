-- Age of the owned stock on hand at the last business date, per facility + SKU and age bucket
-- (days since the stock came in; buckets from var aging_bucket_days):
--   FIFO items: exact, from the open FIFO layers (fct_cost_layers) and their opening dates;
--   moving-average items: the stock on hand is taken to be the latest inflows (a FIFO flow
--   assumption): inflows newest first until they cover the quantity on hand, valued at the
--   current average cost (to the cent, the oldest bucket taking the rounding remainder).
{% set buckets = var('aging_bucket_days') %}
with

spans as (

    select * from {{ ref('int_facility_stock_spans') }}

),

card as (

    select * from {{ ref('fct_stock_card') }}

),

layers as (

    select * from {{ ref('fct_cost_layers') }}

),

variants as (

    select * from {{ ref('dim_variants') }}

),

as_of as (

    select max(valid_from_date) as as_of_date from spans

),

on_hand as (

    select spans.*
    from spans
    inner join variants on variants.variant_id = spans.variant_id
    where spans.valid_to_date is null
        and spans.owned_qty > 0
        and variants.costing_method = 'moving_average'

),

inflows as (

    select
        card.facility_id,
        card.variant_id,
        card.occurred_date,
        card.movement_qty,
        sum(card.movement_qty) over (
            partition by card.facility_id, card.variant_id
            order by card.occurred_at desc, card.event_id desc
            rows between unbounded preceding and 1 preceding
        ) as newer_qty,
    from card
    semi join on_hand
        on on_hand.facility_id = card.facility_id
        and on_hand.variant_id = card.variant_id
    where card.is_owned
        and card.movement_qty > 0
        and card.event_kind in ('adjustment', 'count_variance', 'customer_return', 'receipt', 'transfer_in')

),

moving_average_ages as (

    select
        on_hand.facility_id,
        on_hand.variant_id,
        on_hand.currency_code,
        on_hand.owned_qty,
        on_hand.owned_value_amount,
        inflows.occurred_date as received_date,
        least(inflows.movement_qty, on_hand.owned_qty - coalesce(inflows.newer_qty, 0)) as aged_qty,
    from on_hand
    inner join inflows
        on inflows.facility_id = on_hand.facility_id
        and inflows.variant_id = on_hand.variant_id
    where coalesce(inflows.newer_qty, 0) < on_hand.owned_qty

),

fifo_ages as (

    select
        facility_id,
        variant_id,
        currency_code,
        cast(opened_at as date) as received_date,
        remaining_qty as aged_qty,
        remaining_value_amount as aged_value_amount,
    from layers
    where remaining_qty > 0

),

aged as (

    select
        facility_id,
        variant_id,
        currency_code,
        received_date,
        aged_qty,
        {{ from_e6(share_e6(to_e6('owned_value_amount'), to_e6('aged_qty'), to_e6('owned_qty'))) }}
            as aged_value_amount,
        'latest_inflows' as aging_method,
    from moving_average_ages

    union all by name

    select
        *,
        'fifo_layers' as aging_method,
    from fifo_ages

),

bucketed as (

    select
        *,
        datediff('day', received_date, (select as_of_date from as_of)) as age_days,
        case
            {% for limit in buckets %}
            when datediff('day', received_date, (select as_of_date from as_of)) <= {{ limit }}
                then {{ loop.index }}
            {% endfor %}
            else {{ buckets | length + 1 }}
        end as age_bucket_number,
        case
            {% for limit in buckets %}
            when datediff('day', received_date, (select as_of_date from as_of)) <= {{ limit }}
                then '{{ (buckets[loop.index0 - 1] + 1) if not loop.first else 0 }}-{{ limit }} days'
            {% endfor %}
            else 'over {{ buckets[-1] }} days'
        end as age_bucket,
    from aged

),

final as (

    select
        (select as_of_date from as_of) as as_of_date,
        facility_id,
        variant_id,
        cast(age_bucket_number as integer) as age_bucket_number,
        age_bucket,
        any_value(aging_method) as aging_method,
        cast(sum(aged_qty) as decimal(18, 6)) as on_hand_qty,
        cast(sum(aged_value_amount) as decimal(18, 6)) as value_amount,
        cast(min(received_date) as date) as oldest_received_date,
        any_value(currency_code) as currency_code,
    from bucketed
    group by facility_id, variant_id, age_bucket_number, age_bucket

)

select * from final
