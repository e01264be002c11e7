with metrics as (
    select * from {{ ref('int_customer_metrics') }}
),

final as (
    select
        customer_id,
        payments,
        succeeded_payments,
        failed_payments,
        refunds,
        disputes,
        merchants,
        currencies,
        failure_rate,
        dispute_rate,
        avg_fraud_score,
        first_payment_at,
        last_payment_at,
        {{ customer_tier('succeeded_payments') }} as customer_tier,
        {{ risk_profile('dispute_rate', 'failure_rate', 'avg_fraud_score') }} as risk_profile
    from metrics
)

select * from final
