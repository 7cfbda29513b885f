-- Every raw row rejected by staging (first failing rule), across the 16 entities.
-- A table: small (rejected rows only), read by quarantine and file_manifest.
{% for system, entity in source_entities() %}
select
    '{{ system }}' as system,
    '{{ entity }}' as entity,
    _source_file as source_file,
    _source_row as source_row,
    _file_sha256 as file_sha256,
    {{ dbt.split_part('_reject_reason', "':'", 1) }} as reason_code,
    {{ dbt.split_part('_reject_reason', "':'", 2) }} as field,
    {{ dbt.concat(['_reject_reason', "coalesce(' ' || _reject_detail, '')"]) }} as detail,
    _raw_record as raw_record,
    _loaded_at as loaded_at
from {{ ref('base_' ~ system ~ '__' ~ entity) }}
where _reject_reason is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
