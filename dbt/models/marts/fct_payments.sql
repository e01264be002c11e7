{#- One row per payment event (payment_id = source system + event id), from JR charges and
    provider webhooks, with the side stream's scores. Incremental (merge on payment_id): a
    run re-merges payments ingested, or enriched, since the newest row it already has minus
    a lookback (var fct_payments_lookback_hours, default 3), so a late enrichment updates
    its payment, and the two sources' different lags do not hide each other's rows. A full
    refresh (`dbt build --full-refresh`) recomputes everything. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='payment_id',
        on_schema_change='append_new_columns'
    )
}}

with payments as (
    select * from {{ ref('int_payment_events') }}
),

enrichments as (
    select * from {{ ref('int_enrichments_latest') }}
),

joined as (
    select
        payments.payment_id,
        payments.source_system,
        payments.source_event_id,
        payments.charge_id,
        payments.provider,
        payments.merchant_id,
        payments.customer_id,
        payments.amount,
        payments.amount_minor,
        payments.currency,
        payments.status,
        payments.payment_method,
        payments.card_brand,
        payments.card_last4,
        payments.failure_code,
        -- The provider's own score (JR/Stripe: 0..99) is not the model's 0..1 fraud score.
        payments.risk_score as provider_risk_score,
        enrichments.fraud_score,
        enrichments.risk_level,
        enrichments.churn_score,
        enrichments.retry_strategy,
        enrichments.model_version,
        enrichments.score_source,
        enrichments.enriched_at,
        payments.created_at,
        cast(payments.created_at at time zone 'UTC' as date) as payment_date,
        payments.ingested_at,
        greatest(payments.ingested_at, coalesce(enrichments.enriched_at, payments.ingested_at))
            as updated_at
    from payments
    left join enrichments
        on payments.source_system = 'webhook'
        and payments.source_event_id = enrichments.event_id
),

final as (
    select * from joined
    {% if is_incremental() %}
    where updated_at > (
        select coalesce(max(updated_at), timestamp '1970-01-01 00:00:00 UTC') from {{ this }}
    ) - interval '{{ var("fct_payments_lookback_hours", 3) | int }}' hour
    {% endif %}
)

select * from final
