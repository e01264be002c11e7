with source as (
    select * from {{ source('payments', 'payment_charges') }}
),

renamed as (
    select
        charge_id,
        customer_id,
        merchant_id,
        cast(amount as decimal(18, 4)) as amount,
        cast(amount_minor as bigint) as amount_minor,
        currency,
        status,
        provider,
        payment_method,
        card_brand,
        card_last4,
        country,
        failure_code,
        failure_message,
        cast(risk_score as double) as risk_score,
        created_at,
        ingested_at,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
