{#- Every payment event, from both ways payments reach the platform:
    - source_system 'jr': the JR charge stream (bronze payment_charges), one event per charge;
    - source_system 'webhook': Stripe/Square webhooks normalised into `payments` (payment.*).
    A redelivered event keeps only its newest version (latest state wins), so payment_id is
    unique. Refunds, disputes and subscriptions have their own models. -#}
with jr_charges as (
    select
        *,
        row_number() over (
            partition by charge_id
            order by created_at desc, ingested_at desc, kafka_partition, kafka_offset desc
        ) as version_rank
    from {{ ref('stg_charges') }}
),

webhook_payments as (
    select
        *,
        row_number() over (
            partition by event_id
            order by processed_at desc, kafka_partition, kafka_offset desc
        ) as version_rank
    from {{ ref('stg_payments') }}
    where event_type like 'payment.%'
),

jr as (
    select
        'jr:' || charge_id as payment_id,
        'jr' as source_system,
        charge_id as source_event_id,
        charge_id,
        provider,
        merchant_id,
        customer_id,
        amount,
        amount_minor,
        currency,
        status,
        payment_method,
        card_brand,
        card_last4,
        failure_code,
        risk_score,
        created_at,
        ingested_at
    from jr_charges
    where version_rank = 1
),

webhook as (
    select
        'webhook:' || event_id as payment_id,
        'webhook' as source_system,
        event_id as source_event_id,
        object_id as charge_id,
        provider,
        merchant_id,
        customer_id,
        amount,
        amount_minor,
        currency,
        -- The unified event type names the outcome (payment.succeeded -> succeeded).
        substr(event_type, length('payment.') + 1) as status,
        payment_method_type as payment_method,
        card_brand,
        card_last_four as card_last4,
        failure_code,
        cast(null as double) as risk_score,
        provider_created_at as created_at,
        processed_at as ingested_at
    from webhook_payments
    where version_rank = 1
),

final as (
    select * from jr
    union all
    select * from webhook
)

select * from final
