with source as (
    select * from {{ source('payments', 'payment_subscriptions') }}
),

renamed as (
    select
        subscription_id,
        customer_id,
        plan_id,
        status,
        cast(amount as decimal(18, 4)) as amount,
        cast(amount_minor as bigint) as amount_minor,
        currency,
        billing_interval,
        trial_start,
        trial_end,
        promo_code,
        cast(discount_pct as double) as discount_pct,
        provider,
        created_at,
        ingested_at,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
