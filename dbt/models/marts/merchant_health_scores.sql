with metrics as (
    select * from {{ ref('int_merchant_metrics') }}
),

scored as (
    select
        merchant_id,
        payments,
        succeeded_payments,
        failed_payments,
        refunds,
        disputes,
        failure_rate,
        refund_rate,
        dispute_rate,
        {{ merchant_health_score('failure_rate', 'refund_rate', 'dispute_rate') }}
            as health_score
    from metrics
),

final as (
    select
        *,
        {{ merchant_health_band('health_score') }} as health_band
    from scored
)

select * from final
