with source as (
    select * from {{ source('payments', 'payment_disputes') }}
),

renamed as (
    select
        dispute_id,
        charge_id,
        customer_id,
        cast(amount as decimal(18, 4)) as amount,
        cast(amount_minor as bigint) as amount_minor,
        currency,
        reason as dispute_reason,
        status,
        evidence_due_by,
        provider,
        created_at,
        ingested_at,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
