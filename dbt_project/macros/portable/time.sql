{#-
  Time helpers.
    plant_local(ts_expr)      -> the UTC timestamp shifted to plant local time (var plant_utc_offset_hours,
                                 Asia/Shanghai = +8, no daylight saving)
    plant_local_date(ts_expr) -> the plant-local calendar day
    file_order_key(path_expr) -> sortable text 'YYYYMMDD-nnnnnn' from `<entity>_<YYYYMMDD>[_<n>].<ext>`,
                                 so later deliveries sort after earlier ones
-#}
{% macro plant_local(ts_expr) -%}
    {{ dbt.dateadd('hour', var('plant_utc_offset_hours', 8), ts_expr) }}
{%- endmacro %}

{% macro plant_local_date(ts_expr) -%}
    cast({{ plant_local(ts_expr) }} as date)
{%- endmacro %}

{% macro file_order_key(path_expr) -%}
    {{ dbt.concat([
        "coalesce(" ~ regex_extract(path_expr, '_([0-9]{8})(_[0-9]+)?[.][A-Za-z]+$', 1) ~ ", '00000000')",
        "'-'",
        "lpad(coalesce(" ~ regex_extract(path_expr, '_[0-9]{8}_([0-9]+)[.][A-Za-z]+$', 1) ~ ", '0'), 6, '0')",
    ]) }}
{%- endmacro %}
