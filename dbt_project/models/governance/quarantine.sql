-- governance.quarantine: one row per rejected row or file, from ingest (whole files, unreadable
-- rows) and from staging (rows failing a dictionary rule). raw_record is the raw row (JSON for
-- staging rejects; personal data masked).
select
    system,
    entity,
    source_file,
    source_row,
    reason_code,
    detail,
    raw_record,
    file_sha256,
    'ingest' as stage,
    quarantined_at
from {{ ref('stg_ingest__quarantine') }}
union all
select
    system,
    entity,
    source_file,
    source_row,
    reason_code,
    detail,
    raw_record,
    file_sha256,
    'staging' as stage,
    loaded_at as quarantined_at
from {{ ref('staging_rejects') }}
