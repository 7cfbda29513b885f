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
