{#- A fixed calendar wide enough for the platform's data; facts are tested against it. -#}
with days as (
    select date_day
    from unnest(sequence(date '2020-01-01', date '2035-12-31', interval '1' day)) as t (date_day)
),

final as (
    select
        date_day,
        year(date_day) as year,
        quarter(date_day) as quarter,
        month(date_day) as month,
        format_datetime(date_day, 'MMMM') as month_name,
        day(date_day) as day_of_month,
        day_of_week(date_day) as iso_day_of_week,
        format_datetime(date_day, 'EEEE') as day_name,
        week(date_day) as iso_week,
        day_of_week(date_day) in (6, 7) as is_weekend,
        date_trunc('week', date_day) as week_start,
        date_trunc('month', date_day) as month_start
    from days
)

select * from final
