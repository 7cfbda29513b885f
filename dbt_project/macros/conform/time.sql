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
  Fast path (byte-identical, tests/test_conform_fastpath.py): a value exactly in the ASCII form
  'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD' is its own normalised text (conform_time_text changes
  nothing), so it goes straight to try_strptime with that form's format and the same zone
  handling (from the plant zone's fixed-offset era, conform_fixed_offset_era, a plain shift of
  the offset instead of the time-zone conversion). conform_timestamp_fast_forms() enables a form only when the dictionary's first
  format matching it (in ordinal order, as the general CASE tries them) is that strptime format.
  Every other value takes conform_timestamp_general(expr, kind), which on DuckDB normalises
  the text once (a one-element list_transform) instead of once per WHEN branch.
-#}
{#- The text a form's regex must match: width folded, spaces collapsed and trimmed, then the
    rewrites below in order (mirrored by orchestration/lib/dictionary/normalize.py
    TIME_REWRITES; tests/test_conform.py holds them equal): a `T` between date and time,
    digits of a second's fraction past the microsecond (what a timestamp holds), a space
    after 日, a dotted date (2025.03.06), Chinese clock units (14时30分05秒, 14点30分),
    half-day markers after the time as AM / PM (下午 2:30, 2:30 p.m.), a UTC offset right
    after the time with a colon (14:30:00 +0800). -#}
{% macro conform_time_text(expr) -%}
    {%- set rewrites = [
        ('(\\d)T(\\d)', '\\1 \\2'),
        ('(:\\d{2}\\.\\d{6})\\d+', '\\1'),
        ('日 ?', '日 '),
        ('^(\\d{4})\\.(\\d{1,2})\\.(\\d{1,2})( |$)', '\\1-\\2-\\3\\4'),
        ('(\\d) ?[时点] ?(\\d)', '\\1:\\2'),
        ('(\\d) ?分 ?(\\d)', '\\1:\\2'),
        ('(\\d) ?[分秒]$', '\\1'),
        ('(上午|凌晨|早上) ?(\\d{1,2}:\\d{2}(:\\d{2})?)', '\\2 AM'),
        ('(下午|晚上|中午|傍晚) ?(\\d{1,2}:\\d{2}(:\\d{2})?)', '\\2 PM'),
        ('(\\d) ?[aA]\\.?[mM]\\.?$', '\\1 AM'),
        ('(\\d) ?[pP]\\.?[mM]\\.?$', '\\1 PM'),
        ('(:\\d{2}(\\.\\d+)?) ?([+-]\\d{2}):?(\\d{2})$', '\\1\\3:\\4'),
    ] -%}
    {%- set ns = namespace(t='trim(' ~ conform_re_replace(conform_width(expr), '[\\t\\n\\f\\r ]+', ' ') ~ ')') -%}
    {%- for rx, repl in rewrites -%}
        {%- set ns.t = conform_re_replace(ns.t, rx, repl) -%}
    {%- endfor -%}
    trim({{ ns.t }})
{%- endmacro %}

{#- kind: 'local' -> naive local timestamp, 'utc' -> naive UTC timestamp -#}
{% macro conform_timestamp_formats() -%}
    {{ return(conform_dictionary_rows("select kind, format, regex, local_time from " ~ dictionary_table('timestamp_formats') ~ " order by ordinal")) }}
{%- endmacro %}

{#- [(strict ASCII regex, strptime format)] of the fast forms this dictionary allows: a form is
    kept when, for every sample, the first dictionary format whose regex matches it is a
    strptime format with exactly that format string (so the general CASE would pick it too). -#}
{% macro conform_timestamp_fast_forms(formats) -%}
    {%- set candidates = [
        ('[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}', '%Y-%m-%d %H:%M:%S',
         ['2024-03-15 14:02:11', '1999-12-31 23:59:59', '0000-00-00 00:00:00', '9999-99-99 99:99:99', '2024-02-30 25:61:00']),
        ('[0-9]{4}-[0-9]{2}-[0-9]{2}', '%Y-%m-%d',
         ['2024-03-15', '1999-12-31', '0000-00-00', '9999-99-99', '2024-02-30', '2019-01-01', '2099-12-31']),
    ] -%}
    {%- set out = [] -%}
    {%- for fast_rx, fast_fmt, samples in candidates -%}
        {%- set ns = namespace(ok=true) -%}
        {%- for sample in samples -%}
            {%- set first = [] -%}
            {%- for f in formats if first | length == 0 -%}
                {%- if modules.re.fullmatch(f[2], sample) -%}{%- do first.append(f) -%}{%- endif -%}
            {%- endfor -%}
            {%- if first | length == 0 or first[0][0] != 'strptime' or first[0][1] != fast_fmt -%}
                {%- set ns.ok = false -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if ns.ok -%}{%- do out.append((fast_rx, fast_fmt)) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{% macro conform_timestamp_as(expr, kind) -%}
    {%- set formats = conform_timestamp_formats() -%}
    {%- if formats | length == 0 -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- else -%}
    {%- set fast = conform_timestamp_fast_forms(formats) -%}
    {%- if fast | length == 0 -%}
    {{ conform_timestamp_general(expr, kind) }}
    {%- else -%}
    {%- set era = conform_fixed_offset_era() %}
    case
        {%- for fast_rx, fast_fmt in fast %}
        {%- set local = conform_try_strptime(conform_as_text(expr), fast_fmt) %}
        when {{ conform_re_full_match(conform_as_text(expr), fast_rx) }} then
        {%- if kind == 'local' %}
            {{ local }}
        {%- elif era is not none %}
            {# the text is 'YYYY-...': it compares as the date it spells #}
            case when {{ conform_as_text(expr) }} >= '{{ era[0] }}' then {{ dbt.dateadd('hour', -era[1], local) }}
                 else {{ conform_local_to_utc(local) }} end
        {%- else %}
            {{ conform_local_to_utc(local) }}
        {%- endif %}
        {%- endfor %}
        else {{ conform_timestamp_general(expr, kind) }}
    end
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- (first local day, UTC offset hours) from which the plant time zone (var plant_timezone) has
    one fixed offset for good, so local -> UTC is a plain shift there (fast paths only; the same
    instant as the time-zone conversion, tests/test_conform_fastpath.py); none = always convert.
    IANA tzdata: Asia/Shanghai has had no transition since 1991-09-15 (UTC+8). -#}
{% macro conform_fixed_offset_era() -%}
    {%- set eras = {'Asia/Shanghai': ('1992-01-01', 8)} -%}
    {{ return(eras.get(var('plant_timezone', 'Asia/Shanghai'))) }}
{%- endmacro %}

{#- The general path: normalise the text, then the first format whose regex matches. -#}
{% macro conform_timestamp_general(expr, kind) -%}
    {{ return(adapter.dispatch('conform_timestamp_general', 'qualitrace')(expr, kind)) }}
{%- endmacro %}
{% macro default__conform_timestamp_general(expr, kind) -%}
    {{ conform_timestamp_cases(conform_time_text(expr), kind) }}
{%- endmacro %}
{#- DuckDB: the normalised text computed once per row, not once per WHEN branch -#}
{% macro duckdb__conform_timestamp_general(expr, kind) -%}
    list_transform([{{ conform_time_text(expr) }}], lambda _qt_time_text: {{ conform_timestamp_cases('_qt_time_text', kind) }})[1]
{%- endmacro %}

{#- CASE over the dictionary formats, t = the normalised text (an expression used many times) -#}
{% macro conform_timestamp_cases(t, kind) -%}
    {%- set formats = conform_timestamp_formats() -%}
    {%- if formats | length == 0 -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- else -%}
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
