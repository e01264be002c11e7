{#- <target schema>_<layer> (payments_db_silver, payments_db_gold): each layer in its own
    Iceberg namespace next to the sources, never inside the source namespace. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
