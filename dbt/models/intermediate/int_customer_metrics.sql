with payments as (
    select * from {{ ref('int_payment_events') }}
    where customer_id is not null
),

enrichments as (
    select * from {{ ref('int_enrichments_latest') }}
),

refunds as (
    select customer_id, count(*) as refunds
    from {{ ref('int_refunds') }}
    where customer_id is not null
    group by customer_id
),

disputes as (
    select customer_id, count(*) as disputes
    from {{ ref('int_disputes') }}
    where customer_id is not null
    group by customer_id
),

payment_metrics as (
    select
        payments.customer_id,
        count(*) as payments,
        count_if(payments.status = 'succeeded') as succeeded_payments,
        count_if(payments.status = 'failed') as failed_payments,
        count(distinct payments.merchant_id) as merchants,
        count(distinct payments.currency) as currencies,
        min(payments.created_at) as first_payment_at,
        max(payments.created_at) as last_payment_at,
        avg(enrichments.fraud_score) as avg_fraud_score
    from payments
    left join enrichments
        on payments.source_system = 'webhook'
        and payments.source_event_id = enrichments.event_id
    group by payments.customer_id
),

final as (
    select
        payment_metrics.*,
        coalesce(refunds.refunds, 0) as refunds,
        coalesce(disputes.disputes, 0) as disputes,
        cast(payment_metrics.failed_payments as double) / payment_metrics.payments
            as failure_rate,
        cast(coalesce(disputes.disputes, 0) as double) / payment_metrics.payments
            as dispute_rate
    from payment_metrics
    left join refunds on payment_metrics.customer_id = refunds.customer_id
    left join disputes on payment_metrics.customer_id = disputes.customer_id
)

select * from final
