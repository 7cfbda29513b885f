-- Typed and conformed QMS inspections, every raw row, with `_reject_reason` (NULL = good).
-- Columns, types, required-ness and units come from the published dictionary.
{{ staging_base('qms', 'inspections',
    extra_columns={
        'lot_batch_code': "case when " ~ conform_vocab('src.inspection_type', 'inspection_type') ~ " <> 'IQC' then " ~ conform_batch_code('src.lot_ref') ~ " end",
        'lot_batch_code_flag': "case when " ~ conform_vocab('src.inspection_type', 'inspection_type') ~ " <> 'IQC' then " ~ batch_code_flag('src.lot_ref') ~ " end",
    }) }}
