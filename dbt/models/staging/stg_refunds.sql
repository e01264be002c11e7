with source as (
    select * from {{ source('payments', 'payment_refunds') }}
),

renamed as (
    select
        refund_id,
        charge_id,
        customer_id,
        cast(amount as decimal(18, 4)) as amount,
        cast(amount_minor as bigint) as amount_minor,
        currency,
        reason as refund_reason,
        status,
        provider,
        support_ticket_id,
        created_at,
        ingested_at,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
