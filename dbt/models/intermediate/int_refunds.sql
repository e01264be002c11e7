{#- JR refunds (latest version per refund_id) with the charge they refund, when it is known. -#}
with refunds as (
    select
        *,
        row_number() over (
            partition by refund_id
            order by created_at desc, ingested_at desc, kafka_partition, kafka_offset desc
        ) as version_rank
    from {{ ref('stg_refunds') }}
),

charges as (
    select * from {{ ref('int_payment_events') }}
    where source_system = 'jr'
),

final as (
    select
        refunds.refund_id,
        refunds.charge_id,
        coalesce(refunds.customer_id, charges.customer_id) as customer_id,
        charges.merchant_id,
        refunds.amount,
        refunds.amount_minor,
        refunds.currency,
        refunds.refund_reason,
        refunds.status,
        refunds.provider,
        refunds.created_at,
        refunds.ingested_at,
        charges.payment_id is not null as charge_found,
        charges.amount_minor as charge_amount_minor,
        charges.currency as charge_currency
    from refunds
    left join charges on refunds.charge_id = charges.charge_id
    where refunds.version_rank = 1
)

select * from final
