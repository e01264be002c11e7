{#- One staging model per quarantine table, all with the same shape so they union cleanly:
    which table the message was meant for, its id when it could be read, and why it failed. -#}
{% macro quarantine_staging(quarantine_table, target_table, id_column) %}
with source as (
    select * from {{ source('payments', quarantine_table) }}
),

renamed as (
    select
        '{{ target_table }}' as target_table,
        {{ id_column }} as record_id,
        rejection_reason,
        rejection_reasons,
        raw_payload,
        quarantine_timestamp as quarantined_at,
        kafka_topic,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
{% endmacro %}
