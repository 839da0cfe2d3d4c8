with

source as (

    select * from {{ source('ledger', 'ledger_goods_receipt') }}

),

renamed as (

    select
        goods_receipt_id,
        receipt_id,
        idempotency_key,
        document_id as goods_receipt_document_id,
        occurred_at as received_at,
        posted_at,
        actor,
        role as actor_role,
        comment,

    from source

)

select * from renamed
