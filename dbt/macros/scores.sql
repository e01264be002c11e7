{#- Business classifications, defined once and used by the marts (and their unit tests). -#}

{#- Customer tier by lifetime succeeded payments. -#}
{% macro customer_tier(succeeded_payments) -%}
    case
        when {{ succeeded_payments }} >= 50 then 'platinum'
        when {{ succeeded_payments }} >= 20 then 'gold'
        when {{ succeeded_payments }} >= 5 then 'silver'
        else 'bronze'
    end
{%- endmacro %}

{#- Risk profile: disputes weigh most, then model fraud scores, then failed payments
    (card testing shows up as many failures). -#}
{% macro risk_profile(dispute_rate, failure_rate, avg_fraud_score) -%}
    case
        when {{ dispute_rate }} >= 0.05 or coalesce({{ avg_fraud_score }}, 0) >= 0.7 then 'high'
        when {{ dispute_rate }} > 0
            or {{ failure_rate }} >= 0.3
            or coalesce({{ avg_fraud_score }}, 0) >= 0.4 then 'medium'
        else 'low'
    end
{%- endmacro %}

{#- Merchant health, 0..100: starts at 100 and loses points per failure, refund and dispute
    rate (a dispute costs the merchant far more than a refund, a refund more than a decline). -#}
{% macro merchant_health_score(failure_rate, refund_rate, dispute_rate) -%}
    round(
        100 * greatest(
            0.0,
            1.0
            - 0.5 * coalesce({{ failure_rate }}, 0)
            - 1.0 * coalesce({{ refund_rate }}, 0)
            - 10.0 * coalesce({{ dispute_rate }}, 0)
        ),
        1
    )
{%- endmacro %}

{% macro merchant_health_band(score) -%}
    case
        when {{ score }} >= 80 then 'healthy'
        when {{ score }} >= 60 then 'watch'
        else 'at_risk'
    end
{%- endmacro %}
