{#- Every merchant seen on a payment; `unknown` stands for payments without a merchant so
    the daily facts always find their merchant. -#}
with metrics as (
    select * from {{ ref('int_merchant_metrics') }}
),

unknown as (
    select
        'unknown' as merchant_id,
        cast(null as varchar) as provider,
        cast(null as timestamp(6) with time zone) as first_payment_at,
        cast(null as timestamp(6) with time zone) as last_payment_at,
        0 as customers
),

providers as (
    select
        merchant_id,
        array_join(array_sort(array_distinct(array_agg(provider))), ',') as provider
    from {{ ref('int_payment_events') }}
    where merchant_id is not null and provider is not null
    group by merchant_id
),

final as (
    select
        metrics.merchant_id,
        providers.provider,
        metrics.first_payment_at,
        metrics.last_payment_at,
        metrics.customers
    from metrics
    left join providers on metrics.merchant_id = providers.merchant_id
    union all
    select * from unknown
    where 'unknown' not in (select merchant_id from metrics)
)

select * from final
