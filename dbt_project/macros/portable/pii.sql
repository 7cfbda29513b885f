{#-
  Personal data (issue 8.6): names and phones never leave staging in clear.
    sha256_hex(expr)                      -> lowercase hex SHA-256 of a text expression
    customer_key(name_expr, phone_expr)   -> salted SHA-256 of the normalised customer identity
                                             (salt: env QUALITRACE_PII_SALT, else var pii_salt); NULL when both are blank
    mask_phone(phone_expr)                -> '138****1234' (first 3 + last 4 digits), NULL if blank
    phone_digits(phone_expr)              -> digits only, without a leading 86 / +86 country code
-#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'qualitrace')(expr)) }}
{%- endmacro %}
{% macro default__sha256_hex(expr) -%}
    lower(sha2(cast({{ expr }} as {{ dbt.type_string() }}), 256))
{%- endmacro %}
{% macro duckdb__sha256_hex(expr) -%}
    sha256(cast({{ expr }} as varchar))
{%- endmacro %}
{% macro postgres__sha256_hex(expr) -%}
    encode(sha256(convert_to(cast({{ expr }} as text), 'UTF8')), 'hex')
{%- endmacro %}

{% macro phone_digits(phone_expr) -%}
    nullif(
        {{ regex_replace_all(regex_replace_all(phone_expr, '[^0-9]', ''), '^(00)?86(1[0-9]{10})$', '\\2') }},
        ''
    )
{%- endmacro %}

{% macro customer_name_norm(name_expr) -%}
    nullif(upper(trim({{ regex_replace_all(name_expr, '\\s+', '') }})), '')
{%- endmacro %}

{% macro customer_key(name_expr, phone_expr) -%}
    case
        when {{ customer_name_norm(name_expr) }} is null and {{ phone_digits(phone_expr) }} is null then null
        else {{ sha256_hex(
            "'" ~ (env_var('QUALITRACE_PII_SALT', var('pii_salt')) | string | replace("'", "''")) ~ "' || '|' || coalesce(" ~ phone_digits(phone_expr) ~ ", '') || '|' || coalesce(" ~ customer_name_norm(name_expr) ~ ", '')"
        ) }}
    end
{%- endmacro %}

{% macro mask_phone(phone_expr) -%}
    case
        when {{ phone_digits(phone_expr) }} is null then null
        when {{ dbt.length(phone_digits(phone_expr)) }} < 7 then '****'
        else {{ dbt.concat([
            "substr(" ~ phone_digits(phone_expr) ~ ", 1, 3)",
            "'****'",
            dbt.right(phone_digits(phone_expr), "4")
        ]) }}
    end
{%- endmacro %}

{#- mask_pii_text(expr): free text (a complaint description) with phone numbers, ID-card
    numbers and e-mail addresses masked, as orchestration/lib/pii.py `mask_text` does:
    138****1234, 110101************, ***@example.com. For text that may reach governance
    tables and reports (dictionary_gaps). -#}
{% macro mask_pii_text(expr) -%}
    {%- set t = regex_replace_all(expr, '(^|[^0-9A-Za-z])([0-9]{6})[0-9]{11}[0-9Xx]($|[^0-9A-Za-z])', '\\1\\2************\\3') -%}
    {%- set t = regex_replace_all(t, '(^|[^0-9])((\\+?86[ -]?)?1[3-9][0-9])[ -]?[0-9]{4}[ -]?([0-9]{4})($|[^0-9])', '\\1\\2****\\4\\5') -%}
    {%- set t = regex_replace_all(t, '(^|[^0-9A-Za-z+])(0[0-9]{2,3})[ -]?[0-9]{3,4}[ -]?([0-9]{4})($|[^0-9A-Za-z])', '\\1\\2-****\\3\\4') -%}
    {%- set t = regex_replace_all(t, '(\\+[0-9]{1,3})[ -]?[0-9]{2,4}[ -]?[0-9]{2,4}[ -]?([0-9]{4})', '\\1 **** \\2') -%}
    {%- set t = regex_replace_all(t, '[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+([.][A-Za-z0-9-]+)+)', '***@\\1') -%}
    {{ t }}
{%- endmacro %}
