with daily as (
    select * from {{ ref('int_daily_summary') }}
),

final as (
    select
        payment_date,
        merchant_id,
        currency,
        source_system,
        payments,
        succeeded_payments,
        failed_payments,
        succeeded_amount,
        succeeded_amount_minor,
        refunds,
        refunded_amount,
        refunded_amount_minor,
        succeeded_amount - refunded_amount as net_amount,
        cast(succeeded_payments as double) / nullif(payments, 0) as success_rate
    from daily
)

select * from final
