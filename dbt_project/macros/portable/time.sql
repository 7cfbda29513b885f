{#-
  Time helpers.
    plant_local(ts_expr)      -> the UTC timestamp in plant local time (var plant_timezone, the one
                                 place the plant's time zone is set; daylight saving included)
    plant_local_date(ts_expr) -> the plant-local calendar day
    file_order_key(path_expr) -> sortable text 'YYYYMMDD-nnnnnn' from `<entity>_<YYYYMMDD>[_<n>].<ext>`,
                                 so later deliveries sort after earlier ones
-#}
{% macro plant_local(ts_expr) -%}
    {{ conform_utc_to_local(ts_expr) }}
{%- endmacro %}

{% macro plant_local_date(ts_expr) -%}
    cast({{ plant_local(ts_expr) }} as date)
{%- endmacro %}

{#- file_order_key mirrors orchestration/lib/ingest/discover.py `order_key` (parity-tested):
    full-width folded; the date after the entity name; then `_<n>`, else a copy mark after the
    date (` (2)` -> 2, `_副本` / `copy` -> 1), else 0. -#}
{% macro file_order_key(path_expr) -%}
    {%- set w = 'lower(' ~ conform_width(path_expr) ~ ')' -%}
    {%- set tail = '[^./]*[.][a-z0-9]+$' -%}
    {{ dbt.concat([
        "coalesce(" ~ regex_extract(w, '_([0-9]{8})(_[0-9]+)?' ~ tail, 1) ~ ", '00000000')",
        "'-'",
        "lpad(coalesce(" ~ regex_extract(w, '_[0-9]{8}_([0-9]+)' ~ tail, 1) ~ ", "
            ~ regex_extract(w, '_[0-9]{8}[^./(]*[(]([0-9]+)[)][^./]*[.][a-z0-9]+$', 1) ~ ", "
            ~ "case when " ~ w ~ " like '%副本%' or " ~ w ~ " like '%copy%' then '1' end, '0'), 6, '0')",
    ]) }}
{%- endmacro %}
