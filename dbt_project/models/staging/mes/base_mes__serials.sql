-- Large (one row per unit made): materialised once as a table so the views and tests
-- downstream do not re-run the conformance on every read.
{{ config(materialized='table') }}
-- Typed and conformed MES serials, every raw row, with `_reject_reason` (NULL = good).
-- Columns, types, required-ness and units come from the published dictionary.
{{ staging_base('mes', 'serials') }}
