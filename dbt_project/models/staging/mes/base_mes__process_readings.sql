-- The largest export: materialised as a table so the views and tests downstream do not
-- re-run the conformance on every read; incremental by delivered file version
-- (macros/staging/incremental_by_file.sql): a run conforms only new or replaced files,
-- drops the rows of files no longer in raw, and re-conforms everything when the
-- conformance (dictionary, macros) changes. Same rows as a full rebuild.
{{ config(materialized='incremental', incremental_strategy='by_file',
          pre_hook="{{ incremental_by_file_prune('mes', 'process_readings') }}") }}
-- Typed and conformed MES process_readings, every raw row, with `_reject_reason` (NULL = good).
-- Columns, types, required-ness and units come from the published dictionary.
{{ incremental_by_file('mes', 'process_readings') }}
