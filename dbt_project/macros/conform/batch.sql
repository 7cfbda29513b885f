{#-
  Batch codes and serials (patterns from dictionary.batch_code_patterns, .batch_label_prefixes,
  .serial_patterns, read at compile time):
    conform_batch_key(expr)   -> lookup key with any label prefix (批号: / Batch No. / LOT# ...) removed
    conform_batch_code(expr)  -> canonical 'YYYYMMDD-Lnn-sss' from any system's form, or NULL when
                                 nothing matches or the date is not a real date (never guessed);
                                 a code fitting a pattern without groups (a plant's own code with
                                 no date or line in it) is kept as its key, as written
    batch_code_flag(expr)     -> NULL when blank, 'ok' when it conforms, else 'unmatched'
    batch_code_system(expr)   -> name of the first pattern that matches ('mes','erp','qms','crm_label') or NULL
    conform_serial(expr)      -> serial upper case without spaces/dashes/dots when it fits a serial
                                 pattern, else NULL
  On DuckDB the batch candidate and the serial key are computed once per row (a one-element
  list_transform) instead of once per use; default__* keep the plain expressions (same result).
    serial_flag(expr)         -> NULL when blank, 'ok' or 'unmatched'
-#}
{% macro conform_batch_key(expr) -%}
    {%- set prefixes = conform_dictionary_rows("select prefix_regex from " ~ dictionary_table('batch_label_prefixes') ~ " order by length(prefix_normalized) desc") -%}
    {%- if prefixes | length > 0 -%}
        {%- set alts = [] -%}
        {%- for p in prefixes -%}{%- do alts.append(p[0]) -%}{%- endfor -%}
        {{ conform_re_replace(conform_lookup_key(expr), '^(?:' ~ (alts | join('|')) ~ ')[:#.\\-_]*', '') }}
    {%- else -%}
        {{ conform_lookup_key(expr) }}
    {%- endif -%}
{%- endmacro %}

{#- Candidate 'YYYYMMDD-Lnn-sss' (not yet date-checked) or the unmatched key: every pattern is
    applied in turn as a regexp_replace; '|' is removed from the key first, so only a pattern
    can produce the 'YYYYMMDD|00L|000S' intermediate. -#}
{% macro conform_batch_candidate(key_expr) -%}
    {%- set patterns = conform_dictionary_rows("select regex, year_group, year_digits, month_group, day_group, line_group, seq_group from " ~ dictionary_table('batch_code_patterns') ~ " order by ordinal") -%}
    {%- set ns = namespace(sql=conform_re_replace(key_expr, '[|]', '/')) -%}
    {%- for p in patterns -%}
        {%- if p[1] is none -%}
            {#- a plant's own code (no date, line or sequence groups): '=' + the key, kept as
                written by conform_batch_from_candidate -#}
            {%- set ns.sql = conform_re_replace(ns.sql, '^(?:' ~ p[0] ~ ')$', '=\\0') -%}
        {%- else -%}
        {%- set year = ('20' if p[2] == 2 else '') ~ '\\' ~ p[1] -%}
        {%- set ns.sql = conform_re_replace(ns.sql, p[0], year ~ '\\' ~ p[3] ~ '\\' ~ p[4] ~ '|00\\' ~ p[5] ~ '|000\\' ~ p[6]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ conform_re_replace(ns.sql, '^([0-9]{8})[|]0*([0-9]{2})[|]0*([0-9]{3})$', '\\1-L\\2-\\3') }}
{%- endmacro %}

{% macro conform_batch_from_candidate(c) -%}
    {%- set years = conform_dictionary_rows("select year_min, year_max, canonical_regex from " ~ dictionary_table('batch_code_settings')) -%}
    {%- set ymin = years[0][0] if years | length > 0 else 2000 -%}
    {%- set ymax = years[0][1] if years | length > 0 else 2099 -%}
    {#- the canonical form is codes.yml's canonical_batch_regex (anchors dropped: full match) -#}
    {%- set canonical = (years[0][2] if years | length > 0 else '^[0-9]{8}-L[0-9]{2}-[0-9]{3}$') | replace('^', '') | replace('$', '') -%}
    {#- the kept-as-written branch only where a pattern without groups exists: the candidate
        expression is repeated in every branch (Spark inlines it), so no cost without one -#}
    {%- set kept = conform_dictionary_rows("select count(*) from " ~ dictionary_table('batch_code_patterns') ~ " where year_group is null") -%}
    case
        {%- if kept | length > 0 and kept[0][0] > 0 %}
        when substr({{ c }}, 1, 1) = '=' then substr({{ c }}, 2)
        {%- endif %}
        when {{ conform_re_full_match(c, canonical) }}
         and {{ conform_try_strptime('substr(' ~ c ~ ', 1, 8)', '%Y%m%d') }} is not null
         and cast(substr({{ c }}, 1, 4) as integer) between {{ ymin }} and {{ ymax }}
         and substr({{ c }}, 11, 2) <> '00' and substr({{ c }}, 14, 3) <> '000'
        then {{ c }}
    end
{%- endmacro %}

{% macro conform_batch_code(expr) -%}
    {{ return(adapter.dispatch('conform_batch_code', 'qualitrace')(expr)) }}
{%- endmacro %}
{% macro default__conform_batch_code(expr) -%}
    {{ conform_batch_from_candidate('(' ~ conform_batch_candidate(conform_batch_key(expr)) ~ ')') }}
{%- endmacro %}
{#- DuckDB: the candidate (a chain of regexes) computed once per row, not once per use in
    conform_batch_from_candidate (five uses); same result as the default. -#}
{% macro duckdb__conform_batch_code(expr) -%}
    list_transform([{{ conform_batch_candidate(conform_batch_key(expr)) }}], lambda _qt_batch_candidate: {{ conform_batch_from_candidate('_qt_batch_candidate') }})[1]
{%- endmacro %}

{% macro batch_code_flag(expr) -%}
    case
        when {{ conform_lookup_key(expr) }} is null then null
        when {{ conform_batch_code(expr) }} is not null then 'ok'
        else 'unmatched'
    end
{%- endmacro %}

{% macro batch_code_system(expr) -%}
    {%- set patterns = conform_dictionary_rows("select regex, name from " ~ dictionary_table('batch_code_patterns') ~ " order by ordinal") -%}
    case
        {%- for p in patterns %}
        when {{ conform_re_matches(conform_batch_key(expr), p[0]) }} then '{{ p[1] }}'
        {%- endfor %}
        else cast(null as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro conform_serial_key(expr) -%}
    {%- set prefixes = conform_dictionary_rows("select prefix_regex from " ~ dictionary_table('serial_label_prefixes') ~ " order by length(prefix_normalized) desc") -%}
    {%- set key = conform_lookup_key(expr) -%}
    {%- if prefixes | length > 0 -%}
        {%- set alts = [] -%}
        {%- for p in prefixes -%}{%- do alts.append(p[0]) -%}{%- endfor -%}
        {%- set key = conform_re_replace(key, '^(?:' ~ (alts | join('|')) ~ ')[:#.\\-_]*', '') -%}
    {%- endif -%}
    nullif({{ conform_re_replace(key, '[-_./:#]', '') }}, '')
{%- endmacro %}

{% macro conform_serial(expr) -%}
    {{ return(adapter.dispatch('conform_serial', 'qualitrace')(expr)) }}
{%- endmacro %}
{% macro default__conform_serial(expr) -%}
    {{ conform_serial_cases(conform_serial_key(expr)) }}
{%- endmacro %}
{#- DuckDB: the serial key computed once per row, not once per pattern and use; fast path: a
    value of upper-case ASCII letters and digits only that starts with no label prefix is its
    own serial key (the width fold, upper(), the prefix and separator removals change nothing). -#}
{% macro duckdb__conform_serial(expr) -%}
    {%- set prefixes = conform_dictionary_rows("select prefix_regex from " ~ dictionary_table('serial_label_prefixes') ~ " order by length(prefix_normalized) desc") -%}
    {%- set alts = [] -%}
    {%- for p in prefixes -%}{%- do alts.append(p[0]) -%}{%- endfor -%}
    case when {{ conform_re_full_match(conform_as_text(expr), '[A-Z0-9]+') }}
        {%- if alts | length > 0 %}
              and not {{ conform_re_matches(conform_as_text(expr), '^(?:' ~ (alts | join('|')) ~ ')') }}
        {%- endif %}
         then {{ conform_serial_cases(conform_as_text(expr)) }}
         else list_transform([{{ conform_serial_key(expr) }}], lambda _qt_serial_key: {{ conform_serial_cases('_qt_serial_key') }})[1]
    end
{%- endmacro %}
{% macro conform_serial_cases(key) -%}
    {%- set patterns = conform_dictionary_rows("select regex from " ~ dictionary_table('serial_patterns') ~ " order by ordinal") -%}
    case
        {%- for p in patterns %}
        when {{ conform_re_full_match(key, p[0]) }} then {{ key }}
        {%- endfor %}
        else cast(null as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro serial_flag(expr) -%}
    case
        when {{ conform_lookup_key(expr) }} is null then null
        when {{ conform_serial(expr) }} is not null then 'ok'
        else 'unmatched'
    end
{%- endmacro %}
