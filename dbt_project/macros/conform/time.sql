{#-
  Timestamps and dates (forms from dictionary.timestamp_formats, tried in order):
    conform_timestamp(expr) -> naive TIMESTAMP in UTC. Naive inputs are plant local time
                               (var plant_timezone, default Asia/Shanghai); ISO with offset and
                               epoch values are absolute. Forms: '2024-03-15 14:02:11',
                               '2024/3/15 14:02', '2024年3月15日 14:02', '2024-03-15T14:02:11+08:00',
                               Excel serial '45366.58', epoch ms '1710482531000'. NULL if none fits.
    conform_local_timestamp(expr) -> the same instant as naive plant-local TIMESTAMP
    conform_date(expr)      -> DATE from '2024-03-15', '2024/3/15', '20240315', '2024年3月15日',
                               Excel serial, or any timestamp form (its plant-local date)
-#}
{% macro conform_time_text(expr) -%}
    trim({{ conform_re_replace(conform_re_replace(conform_re_replace(conform_width(expr), '[\\t\\n\\f\\r ]+', ' '), '(\\d)T(\\d)', '\\1 \\2'), '日 ?', '日 ') }})
{%- endmacro %}

{#- kind: 'local' -> naive local timestamp, 'utc' -> naive UTC timestamp -#}
{% macro conform_timestamp_as(expr, kind) -%}
    {%- set formats = conform_dictionary_rows("select kind, format, regex, local_time from " ~ conform_dictionary_table('timestamp_formats') ~ " order by ordinal") -%}
    {%- if formats | length == 0 -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- else -%}
    {%- set t = conform_time_text(expr) -%}
    case
        {%- for f in formats %}
        {%- set fkind, fmt, rx, is_local = f[0], f[1], f[2], f[3] %}
        {%- if fkind == 'strptime' %}
            {%- set local = conform_try_strptime(t, fmt) %}
        {%- elif fkind == 'excel_serial' %}
            {%- set local = conform_add_ms("cast('1899-12-30' as " ~ dbt.type_timestamp() ~ ")", 'round(cast(' ~ t ~ ' as double) * 86400000)') %}
        {%- elif fkind == 'epoch_ms' %}
            {%- set utc = conform_add_ms("cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")", t) %}
        {%- elif fkind == 'epoch_s' %}
            {%- set utc = conform_add_ms("cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")", 'cast(' ~ t ~ ' as bigint) * 1000') %}
        {%- elif fkind == 'iso_offset' %}
            {%- set utc = conform_tz_to_utc(t) %}
        {%- endif %}
        when {{ conform_re_full_match(t, rx) }} then
        {%- if fkind in ('strptime', 'excel_serial') %}
            {{ local if kind == 'local' else conform_local_to_utc(local) }}
        {%- else %}
            {{ utc if kind == 'utc' else conform_utc_to_local(utc) }}
        {%- endif %}
        {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}

{% macro conform_tz_to_utc(text_expr) -%}
    {{ return(adapter.dispatch('conform_tz_to_utc', 'qualitrace')(text_expr)) }}
{%- endmacro %}
{% macro default__conform_tz_to_utc(text_expr) -%}
    (cast({{ text_expr }} as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}
{% macro duckdb__conform_tz_to_utc(text_expr) -%}
    timezone('UTC', try_cast({{ text_expr }} as timestamptz))
{%- endmacro %}

{% macro conform_timestamp(expr) -%}
    {{ conform_timestamp_as(expr, 'utc') }}
{%- endmacro %}

{% macro conform_local_timestamp(expr) -%}
    {{ conform_timestamp_as(expr, 'local') }}
{%- endmacro %}

{% macro conform_date(expr) -%}
    cast({{ conform_timestamp_as(expr, 'local') }} as date)
{%- endmacro %}
