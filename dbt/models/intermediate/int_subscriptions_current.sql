{#- The current state of each subscription: its newest event. The snapshot
    `subscription_status_snapshot` keeps the history of this state (SCD type 2). -#}
with events as (
    select
        *,
        row_number() over (
            partition by subscription_id
            order by created_at desc, ingested_at desc, kafka_partition, kafka_offset desc
        ) as version_rank
    from {{ ref('stg_subscriptions') }}
),

final as (
    select
        subscription_id,
        customer_id,
        plan_id,
        status,
        amount,
        amount_minor,
        currency,
        billing_interval,
        trial_start,
        trial_end,
        provider,
        created_at as status_changed_at
    from events
    where version_rank = 1
)

select * from final
