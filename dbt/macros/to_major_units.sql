{#- Minor units (1250) to major units (12.50 USD; 500 JPY stays 500; 1234 BHD is 1.234).
    DECIMAL(18, 4) like the bronze `amount`: no active ISO 4217 currency has more than four
    minor units. NULL when the currency is unknown (no minor units), never a guess. -#}
{% macro to_major_units(amount_minor, minor_units) -%}
    cast(
        cast({{ amount_minor }} as decimal(38, 4))
        / cast(power(10, {{ minor_units }}) as decimal(38, 0))
        as decimal(18, 4)
    )
{%- endmacro %}
