{#- Quarantined messages per target table, reason and UTC day. `quarantined_messages`
    counts each message once, under its first failing check (rejection_reason);
    `failing_messages` counts every message that failed the check, first or not. -#}
with quarantined as (
    {% for model in [
        'stg_quarantine_charges', 'stg_quarantine_refunds', 'stg_quarantine_disputes',
        'stg_quarantine_subscriptions', 'stg_quarantine_payments'
    ] %}
    select target_table, rejection_reason, rejection_reasons, quarantined_at
    from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

by_check as (
    select
        quarantined.target_table,
        reason,
        cast(quarantined.quarantined_at at time zone 'UTC' as date) as quarantine_date,
        reason = quarantined.rejection_reason as is_first_reason
    from quarantined
    cross join unnest(
        coalesce(quarantined.rejection_reasons, array[quarantined.rejection_reason])
    ) as t (reason)
),

final as (
    select
        target_table,
        reason as rejection_reason,
        quarantine_date,
        count_if(is_first_reason) as quarantined_messages,
        count(*) as failing_messages
    from by_check
    group by 1, 2, 3
)

select * from final
