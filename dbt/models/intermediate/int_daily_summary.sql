{#- Per UTC day, merchant, currency and source system: payment counts, succeeded volume and
    refunded volume (refunds by the day they were made, on the merchant of their charge). -#}
with payments as (
    select
        cast(created_at at time zone 'UTC' as date) as payment_date,
        coalesce(merchant_id, 'unknown') as merchant_id,
        currency,
        source_system,
        status,
        amount,
        amount_minor
    from {{ ref('int_payment_events') }}
    where created_at is not null and currency is not null
),

refunds as (
    select
        cast(created_at at time zone 'UTC' as date) as payment_date,
        coalesce(merchant_id, 'unknown') as merchant_id,
        currency,
        'jr' as source_system,
        count(*) as refunds,
        sum(amount) as refunded_amount,
        sum(amount_minor) as refunded_amount_minor
    from {{ ref('int_refunds') }}
    where status = 'succeeded' and created_at is not null
    group by 1, 2, 3, 4
),

payment_totals as (
    select
        payment_date,
        merchant_id,
        currency,
        source_system,
        count(*) as payments,
        count_if(status = 'succeeded') as succeeded_payments,
        count_if(status = 'failed') as failed_payments,
        coalesce(sum(amount) filter (where status = 'succeeded'), 0) as succeeded_amount,
        coalesce(sum(amount_minor) filter (where status = 'succeeded'), 0)
            as succeeded_amount_minor
    from payments
    group by 1, 2, 3, 4
),

final as (
    select
        coalesce(p.payment_date, r.payment_date) as payment_date,
        coalesce(p.merchant_id, r.merchant_id) as merchant_id,
        coalesce(p.currency, r.currency) as currency,
        coalesce(p.source_system, r.source_system) as source_system,
        coalesce(p.payments, 0) as payments,
        coalesce(p.succeeded_payments, 0) as succeeded_payments,
        coalesce(p.failed_payments, 0) as failed_payments,
        coalesce(p.succeeded_amount, 0) as succeeded_amount,
        coalesce(p.succeeded_amount_minor, 0) as succeeded_amount_minor,
        coalesce(r.refunds, 0) as refunds,
        coalesce(r.refunded_amount, 0) as refunded_amount,
        coalesce(r.refunded_amount_minor, 0) as refunded_amount_minor
    from payment_totals as p
    full outer join refunds as r
        on p.payment_date = r.payment_date
        and p.merchant_id = r.merchant_id
        and p.currency = r.currency
        and p.source_system = r.source_system
)

select * from final
