{#- Events worth a human look, one row per (pattern, event):
    ZERO_AMOUNT_SUCCEEDED_CHARGE  a succeeded payment of 0
    REFUND_EXCEEDS_CHARGE         refunds (not failed/canceled) above the charge, same currency
    REFUND_CURRENCY_MISMATCH      a refund in another currency than its charge
    REFUND_ON_UNKNOWN_CHARGE      a refund of a charge the platform never saw
    DISPUTE_ON_UNKNOWN_CHARGE     a dispute of a charge the platform never saw
    HIGH_RISK_SUCCEEDED_PAYMENT   the fraud model said `high` and the payment went through
    RAPID_FAILED_PAYMENTS         a customer's 5th+ failed payment within one hour -#}
with payments as (
    select * from {{ ref('fct_payments') }}
),

refunds as (
    select * from {{ ref('int_refunds') }}
),

disputes as (
    select * from {{ ref('int_disputes') }}
),

zero_amount as (
    select
        'ZERO_AMOUNT_SUCCEEDED_CHARGE' as pattern,
        'payment' as event_kind,
        payment_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        'amount 0 ' || coalesce(currency, '?') as details
    from payments
    where status = 'succeeded' and amount_minor = 0
),

refund_totals as (
    select
        charge_id,
        max(merchant_id) as merchant_id,
        max(customer_id) as customer_id,
        max(created_at) as created_at,
        max(charge_amount_minor) as charge_amount_minor,
        max(charge_currency) as charge_currency,
        sum(amount_minor) as refunded_minor
    from refunds
    where charge_found
        and currency = charge_currency
        and status not in ('failed', 'canceled')
    group by charge_id
),

over_refunded as (
    select
        'REFUND_EXCEEDS_CHARGE' as pattern,
        'charge' as event_kind,
        charge_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        'refunded ' || cast(refunded_minor as varchar) || ' of '
            || cast(charge_amount_minor as varchar) || ' ' || charge_currency as details
    from refund_totals
    where refunded_minor > charge_amount_minor
),

currency_mismatch as (
    select
        'REFUND_CURRENCY_MISMATCH' as pattern,
        'refund' as event_kind,
        refund_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        'refund in ' || currency || ', charge in ' || charge_currency as details
    from refunds
    where charge_found and currency <> charge_currency
),

unknown_refunds as (
    select
        'REFUND_ON_UNKNOWN_CHARGE' as pattern,
        'refund' as event_kind,
        refund_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        'charge ' || charge_id || ' not found' as details
    from refunds
    where not charge_found
),

unknown_disputes as (
    select
        'DISPUTE_ON_UNKNOWN_CHARGE' as pattern,
        'dispute' as event_kind,
        dispute_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        'charge ' || charge_id || ' not found' as details
    from disputes
    where not charge_found
),

high_risk as (
    select
        'HIGH_RISK_SUCCEEDED_PAYMENT' as pattern,
        'payment' as event_kind,
        payment_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        'fraud score ' || cast(round(fraud_score, 3) as varchar) as details
    from payments
    where status = 'succeeded' and risk_level = 'high'
),

failures as (
    select
        *,
        count(*) over (
            partition by customer_id
            order by created_at
            range between interval '1' hour preceding and current row
        ) as failures_in_hour
    from payments
    where status = 'failed' and customer_id is not null and created_at is not null
),

rapid_failures as (
    select
        'RAPID_FAILED_PAYMENTS' as pattern,
        'payment' as event_kind,
        payment_id as event_id,
        merchant_id,
        customer_id,
        created_at,
        cast(failures_in_hour as varchar) || ' failed payments within an hour' as details
    from failures
    where failures_in_hour >= 5
),

final as (
    select * from zero_amount
    union all select * from over_refunded
    union all select * from currency_mismatch
    union all select * from unknown_refunds
    union all select * from unknown_disputes
    union all select * from high_risk
    union all select * from rapid_failures
)

select * from final
