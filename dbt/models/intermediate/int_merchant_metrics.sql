{#- Counts, not amounts: a merchant's volume spans currencies (fct_daily_payments keeps
    amounts per currency). Refunds and disputes count toward the merchant of their charge. -#}
with payments as (
    select * from {{ ref('int_payment_events') }}
    where merchant_id is not null
),

refunds as (
    select merchant_id, count(*) as refunds
    from {{ ref('int_refunds') }}
    where merchant_id is not null and status not in ('failed', 'canceled')
    group by merchant_id
),

disputes as (
    select merchant_id, count(*) as disputes
    from {{ ref('int_disputes') }}
    where merchant_id is not null
    group by merchant_id
),

payment_metrics as (
    select
        merchant_id,
        count(*) as payments,
        count_if(status = 'succeeded') as succeeded_payments,
        count_if(status = 'failed') as failed_payments,
        count(distinct customer_id) as customers,
        min(created_at) as first_payment_at,
        max(created_at) as last_payment_at
    from payments
    group by merchant_id
),

final as (
    select
        payment_metrics.*,
        coalesce(refunds.refunds, 0) as refunds,
        coalesce(disputes.disputes, 0) as disputes,
        cast(payment_metrics.failed_payments as double) / payment_metrics.payments
            as failure_rate,
        cast(coalesce(refunds.refunds, 0) as double)
            / nullif(payment_metrics.succeeded_payments, 0) as refund_rate,
        cast(coalesce(disputes.disputes, 0) as double)
            / nullif(payment_metrics.succeeded_payments, 0) as dispute_rate
    from payment_metrics
    left join refunds on payment_metrics.merchant_id = refunds.merchant_id
    left join disputes on payment_metrics.merchant_id = disputes.merchant_id
)

select * from final
