-- Typed and conformed ERP products, every raw row, with `_reject_reason` (NULL = good).
-- Columns, types, required-ness and units come from the published dictionary.
{{ staging_base('erp', 'products') }}
