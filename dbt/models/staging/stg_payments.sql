{#- Unified provider events carry minor units only; the major amount uses the currency's
    ISO 4217 minor units (seed `currencies`, rendered from contracts.currencies). -#}
with source as (
    select * from {{ source('payments', 'payments') }}
),

currencies as (
    select * from {{ ref('currencies') }}
),

renamed as (
    select
        source.event_id,
        source.provider,
        source.provider_event_id,
        source.provider_event_type,
        source.event_type,
        source.object_id,
        source.merchant_id,
        source.customer_id,
        cast(source.amount_minor as bigint) as amount_minor,
        upper(source.currency) as currency,
        {{ to_major_units('source.amount_minor', 'currencies.minor_units') }} as amount,
        source.payment_method_type,
        lower(source.card_brand) as card_brand,
        source.card_last_four,
        lower(source.status) as status,
        source.failure_code,
        source.failure_message,
        source.metadata,
        source.provider_created_at,
        source.received_at,
        source.processed_at,
        source.schema_version,
        source.kafka_topic,
        source.kafka_partition,
        source.kafka_offset
    from source
    left join currencies on upper(source.currency) = currencies.currency
)

select * from renamed
