-- Materialised as a table, incremental by delivered file version
-- (macros/staging/incremental_by_file.sql), so the stg_ view, the int models, the governance
-- models and the quality gate read conformed rows instead of re-running the conformance: a run
-- conforms only new or replaced files, drops the rows of files no longer in raw, and
-- re-conforms everything when the conformance (dictionary, macros, salt) changes. Same rows as
-- a full rebuild.
{{ config(materialized='incremental', incremental_strategy='by_file',
          pre_hook="{{ incremental_by_file_prune('erp', 'shipments') }}") }}
-- Typed and conformed ERP shipments, every raw row, with `_reject_reason` (NULL = good).
-- Columns, types, required-ness and units come from the published dictionary.
{{ incremental_by_file('erp', 'shipments') }}
