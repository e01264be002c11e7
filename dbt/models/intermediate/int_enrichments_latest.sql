{#- One enrichment per payments.event_id (the contract promises it; a retried workflow that
    wrote twice must still not duplicate a payment): the newest wins. -#}
with ranked as (
    select
        *,
        row_number() over (partition by event_id order by enriched_at desc) as version_rank
    from {{ ref('stg_payment_enrichments') }}
),

final as (
    select
        event_id,
        fraud_score,
        risk_level,
        churn_score,
        retry_strategy,
        model_version,
        score_source,
        enriched_at
    from ranked
    where version_rank = 1
)

select * from final
