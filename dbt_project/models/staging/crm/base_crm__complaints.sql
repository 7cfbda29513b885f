-- Typed and conformed CRM complaints, every raw row, with `_reject_reason` (NULL = good).
-- Columns, types, required-ness and units come from the published dictionary.
{{ staging_base('crm', 'complaints',
    extra_columns={
        'customer_key': customer_key('src.customer_name', 'src.customer_phone'),
        'customer_phone_masked': mask_phone('src.customer_phone'),
    }) }}
