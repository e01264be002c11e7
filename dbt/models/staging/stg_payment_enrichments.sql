with source as (
    select * from {{ source('payments', 'payment_enrichments') }}
),

renamed as (
    select
        event_id,
        fraud_score,
        risk_level,
        churn_score,
        retry_strategy,
        model_version,
        score_source,
        workflow_id,
        enriched_at
    from source
)

select * from renamed
