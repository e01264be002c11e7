{#- JR disputes (latest version per dispute_id) with the disputed charge, when it is known. -#}
with disputes as (
    select
        *,
        row_number() over (
            partition by dispute_id
            order by created_at desc, ingested_at desc, kafka_partition, kafka_offset desc
        ) as version_rank
    from {{ ref('stg_disputes') }}
),

charges as (
    select * from {{ ref('int_payment_events') }}
    where source_system = 'jr'
),

final as (
    select
        disputes.dispute_id,
        disputes.charge_id,
        coalesce(disputes.customer_id, charges.customer_id) as customer_id,
        charges.merchant_id,
        disputes.amount,
        disputes.amount_minor,
        disputes.currency,
        disputes.dispute_reason,
        disputes.status,
        disputes.evidence_due_by,
        disputes.provider,
        disputes.created_at,
        disputes.ingested_at,
        charges.payment_id is not null as charge_found,
        charges.amount_minor as charge_amount_minor,
        charges.currency as charge_currency
    from disputes
    left join charges on disputes.charge_id = charges.charge_id
    where disputes.version_rank = 1
)

select * from final
