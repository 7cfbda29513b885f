{#-
  Apache Spark implementations (`spark__*`) of the project's dispatched macros, in one place
  (issue 17). The generic macros and their `default__` / `duckdb__` twins live beside their
  callers (macros/conform, macros/portable, macros/staging); a model never names an engine.

  What differs on Spark, and how it is met here:
    - String literals: Spark reads backslash escapes in '…' ('\d' is 'd'), DuckDB does not;
      spark__conform_sql_string doubles every backslash, so a regex or a format stored in the
      dictionary reaches Spark's regex engine as written (parity-tested against DuckDB).
    - Regexes: Java's engine, not RE2. Replacement back-references are `$1`, not `\1`
      (spark_regex_replacement); a whole-value match anchors with `\z` (Java's `$` also
      matches before a final line break).
    - strptime formats stored in the dictionary (`%Y-%m-%d`) become Java datetime patterns
      (spark_datetime_pattern); a value that does not parse is NULL (try_to_timestamp).
    - Lists: Spark arrays are 0-based behind `[]`; element_at / slice / transform / filter /
      array_sort replace DuckDB's list_* functions and lambdas.
    - Time zones: to_utc_timestamp / from_utc_timestamp with the session time zone UTC
      (profiles.yml), so a `timestamp` holds the same naive wall time as DuckDB's TIMESTAMP.
-#}

{% macro spark__conform_sql_string(text) -%}
    '{{ text | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- a regex stored for RE2 (DuckDB) as Java reads it the same way: RE2's `\b` is an ASCII word
    boundary, Java's also sees one between two CJK characters or none between '外' and 'a', so
    it becomes the ASCII boundary spelled out -#}
{% macro spark_regex(pattern) -%}
    {%- set word = '[A-Za-z0-9_]' -%}
    {{ return((pattern | string).replace('\\b', '(?:(?<!' ~ word ~ ')(?=' ~ word ~ ')|(?<=' ~ word ~ ')(?!' ~ word ~ '))')) }}
{%- endmacro %}

{#- a DuckDB/RE2 replacement ('\1-L\2') as a Java one ('$1-L$2'); a literal '$' escaped -#}
{% macro spark_regex_replacement(replacement) -%}
    {{ return(modules.re.sub('\\\\([0-9])', '$\\1', (replacement | string) | replace('$', '\\$'))) }}
{%- endmacro %}

{% macro spark__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ conform_sql_string(spark_regex(pattern)) }}, {{ conform_sql_string(spark_regex_replacement(replacement)) }})
{%- endmacro %}
{% macro spark__regex_matches(expr, pattern) -%}
    regexp_like({{ expr }}, {{ conform_sql_string(spark_regex(pattern)) }})
{%- endmacro %}
{% macro spark__regex_extract(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, {{ conform_sql_string(spark_regex(pattern)) }}, {{ group }}), '')
{%- endmacro %}

{% macro spark__conform_re_full_match(expr, pattern) -%}
    regexp_like({{ expr }}, {{ conform_sql_string('^(?:' ~ spark_regex(pattern) ~ ')\\z') }})
{%- endmacro %}
{% macro spark__conform_re_replace(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ conform_sql_string(spark_regex(pattern)) }}, {{ conform_sql_string(spark_regex_replacement(replacement)) }})
{%- endmacro %}
{% macro spark__conform_re_extract_all(expr, pattern) -%}
    regexp_extract_all({{ expr }}, {{ conform_sql_string(spark_regex(pattern)) }}, 0)
{%- endmacro %}

{#- spark_datetime_pattern('%Y/%m/%d %H:%M') -> 'yyyy/M/d H:m': a field between separators
    takes one or two digits (as DuckDB's strptime does), a field next to another field
    ('%Y%m%d' -> 'yyyyMMdd') its fixed width; %I -> h (clock hour), %p -> a (AM/PM),
    %f -> SSSSSS (1 to 6 digits of a second's fraction). ASCII letters outside fields are
    quoted. -#}
{% macro spark_datetime_pattern(format) -%}
    {%- set letters = {'Y': 'yyyy', 'm': 'M', 'd': 'd', 'H': 'H', 'M': 'm', 'S': 's', 'I': 'h', 'p': 'a', 'f': 'SSSSSS'} -%}
    {%- set ns = namespace(out='', i=0) -%}
    {%- set f = format | string -%}
    {%- for _ in range(f | length) if ns.i < f | length -%}
        {%- set ch = f[ns.i] -%}
        {%- if ch == '%' and ns.i + 1 < f | length -%}
            {%- set d = f[ns.i + 1] -%}
            {%- if d not in letters -%}
                {{ exceptions.raise_compiler_error("spark_datetime_pattern: no Spark pattern for %" ~ d ~ " in " ~ f) }}
            {%- endif -%}
            {%- set letter = letters[d] -%}
            {%- set fixed = (ns.i + 2 < f | length and f[ns.i + 2] == '%') or (ns.i >= 2 and f[ns.i - 2] == '%') -%}
            {%- set ns.out = ns.out ~ (letter if letter | length > 1 or not fixed else letter ~ letter) -%}
            {%- set ns.i = ns.i + 2 -%}
        {%- else -%}
            {%- set ns.out = ns.out ~ (("'" ~ ch ~ "'") if ch in 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' else ch) -%}
            {%- set ns.i = ns.i + 1 -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ns.out) }}
{%- endmacro %}
{% macro spark__conform_try_strptime(expr, format) -%}
    try_to_timestamp({{ expr }}, {{ conform_sql_string(spark_datetime_pattern(format)) }})
{%- endmacro %}

{#- The normalised time text computed once per row (a lambda over a one-element array, as
    DuckDB's list_transform), not once per form of the CASE: the rewrites are a dozen nested
    regexp_replace calls, and repeating them in every branch made each timestamp column an
    expression Spark spends seconds compiling. -#}
{% macro spark__conform_timestamp_general(expr, kind) -%}
    transform(array({{ conform_time_text(expr) }}), _qt_time_text -> {{ conform_timestamp_cases('_qt_time_text', kind) }})[0]
{%- endmacro %}

{% macro spark__conform_local_to_utc(ts_expr) -%}
    to_utc_timestamp(cast({{ ts_expr }} as timestamp), '{{ var("plant_timezone", "Asia/Shanghai") }}')
{%- endmacro %}
{% macro spark__conform_utc_to_local(ts_expr) -%}
    from_utc_timestamp(cast({{ ts_expr }} as timestamp), '{{ var("plant_timezone", "Asia/Shanghai") }}')
{%- endmacro %}
{% macro spark__conform_tz_to_utc(text_expr) -%}
    cast({{ text_expr }} as timestamp)
{%- endmacro %}
{% macro spark__conform_add_ms(ts_expr, ms_expr) -%}
    timestamp_millis(unix_millis(cast({{ ts_expr }} as timestamp)) + cast({{ ms_expr }} as bigint))
{%- endmacro %}

{% macro spark__conform_width(expr) -%}
    {{ conform_width_translate(expr) }}
{%- endmacro %}

{% macro spark__row_as_json(pairs) -%}
    to_json(named_struct(
    {%- for k, e in pairs %}'{{ k }}', {{ e }}{{ ', ' if not loop.last }}{% endfor -%}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}

{% macro spark__id_list(expr) -%}
    case when nullif(trim({{ expr }}), '') is not null
         then transform(split({{ expr }}, ','), _id -> trim(_id)) end
{%- endmacro %}

{#- lists: first element / the rest joined (NULL when empty) -#}
{% macro spark__list_first(list_expr) -%}
    element_at({{ list_expr }}, 1)
{%- endmacro %}
{% macro spark__list_rest_joined(list_expr, delimiter) -%}
    nullif(array_join(slice({{ list_expr }}, 2, greatest(size({{ list_expr }}) - 1, 1)), {{ conform_sql_string(delimiter) }}), '')
{%- endmacro %}

{% macro spark__problem_matches(description_expr) -%}
    {%- set r = problem_regexes() -%}
    {%- if r['codes'] | length == 0 -%}
        cast(array() as array<string>)
    {%- else -%}
    filter(
        transform({{ conform_re_extract_all(problem_text(description_expr), r['scan']) }},
                  _tok -> {{ problem_token_case('_tok', r) }}),
        _code -> _code is not null
    )
    {%- endif -%}
{%- endmacro %}

{% macro spark__problem_evidence(description_expr) -%}
    {%- set r = problem_regexes() -%}
    {%- if r['codes'] | length == 0 -%}
        cast(null as string)
    {%- else -%}
    nullif(array_join(filter(
        transform({{ conform_re_extract_all(problem_text(description_expr), r['scan']) }},
                  _tok -> {{ problem_token_case('_tok', r, with_token=true) }}),
        _e -> _e is not null
    ), '; '), '')
    {%- endif -%}
{%- endmacro %}

{#- codes by precedence then first mention, duplicates removed (as duckdb__problem_ranked) -#}
{% macro spark__problem_ranked(matches_expr) -%}
    transform(
        array_sort(transform(
            filter({{ matches_expr }}, (_c, _i) -> array_position({{ matches_expr }}, _c) = _i + 1),
            (_c, _i) -> {{ problem_precedence_case('_c') }} || lpad(cast(_i + 1 as string), 4, '0') || _c
        )),
        _k -> substr(_k, 6)
    )
{%- endmacro %}

{#- dbt-spark's listagg ignores the order: collect_list has none. Every listagg of this project
    orders by the aggregated value itself, so the sorted list is the ordered one. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause and (order_by_clause | trim | lower) != ('order by ' ~ (measure | trim | lower)) -%}
        {{ exceptions.raise_compiler_error("listagg on Spark orders only by the aggregated value, not: " ~ order_by_clause) }}
    {%- endif -%}
    {%- set collected = 'array_sort(collect_list(' ~ measure ~ '))' if order_by_clause else 'collect_list(' ~ measure ~ ')' -%}
    array_join({{ ('slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')') if limit_num else collected }}, {{ delimiter_text }})
{%- endmacro %}

{#- The `by_file` incremental strategy (macros/staging/incremental_by_file.sql) on Spark: the
    name is accepted here, dbt-spark's own strategies are checked by dbt-spark. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'by_file' -%}{{ return('by_file') }}{%- endif -%}
    {#- dbt-spark's own macro cannot be called from here (its package is not in the project's
        Jinja context): the project's Spark models use `by_file` only -#}
    {{ exceptions.raise_compiler_error("incremental strategy '" ~ raw_strategy ~ "' on Spark: the "
       ~ "project overrides dbt-spark's strategy check and accepts only 'by_file'") }}
{%- endmacro %}

{#- the generic lookup (CASE), its value type named in Spark's words -#}
{% macro spark__conform_lookup(key_expr, pairs, value_type) -%}
    {{ default__conform_lookup(key_expr, pairs, {'varchar': 'string', 'text': 'string'}.get(value_type | lower, value_type)) }}
{%- endmacro %}

{#- `by_file` on Spark: Parquet tables cannot delete rows, so the model selects every file
    (spark__by_file_selects_changes) and the run overwrites the table with it. Partitioning by
    `_source_file` (INSERT OVERWRITE of the changed files' partitions, DROP PARTITION for removed
    files) is what would make it incremental. -#}
{% macro spark__by_file_selects_changes() -%}
    {{ return(false) }}
{%- endmacro %}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy == 'by_file' -%}
        {%- set cols = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    insert overwrite table {{ target }}
    select {% for c in cols %}{{ adapter.quote(c) }}{{ ', ' if not loop.last }}{% endfor %} from {{ source }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("incremental strategy '" ~ strategy ~ "' on Spark: only 'by_file' is implemented") }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__star_except(alias, columns, relation) -%}
    {{ alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__conform_re_matches(expr, pattern) -%}
    regexp_like({{ expr }}, {{ conform_sql_string(spark_regex(pattern)) }})
{%- endmacro %}
