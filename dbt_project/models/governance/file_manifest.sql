-- governance.file_manifest: one row per file version. rows_quarantined counts ingest rejects
-- plus staging rejects, so rows_read = rows_staged + rows_quarantined for every loaded file.
-- previous_rows_landed: the landed rows of the version of the same path that this one replaced
-- (NULL for a first delivery); the ERROR check delivery_shrank compares the two.
with staging_rejects as (
    select source_file, file_sha256, count(*) as rows_rejected
    from {{ ref('staging_rejects') }}
    group by source_file, file_sha256
)

select
    m.path,
    m.sha256,
    m.size_bytes,
    m.system,
    m.entity,
    m.rows_read,
    m.rows_landed,
    lag(m.rows_landed) over (
        partition by m.system, m.entity, m.path order by m.first_seen, m.sha256
    ) as previous_rows_landed,
    coalesce(m.rows_quarantined, 0) + coalesce(r.rows_rejected, 0) as rows_quarantined,
    coalesce(m.rows_quarantined, 0) as rows_quarantined_ingest,
    coalesce(r.rows_rejected, 0) as rows_quarantined_staging,
    case when m.status = 'loaded' then m.rows_landed - coalesce(r.rows_rejected, 0) else 0 end as rows_staged,
    m.status,
    m.duplicate_of,
    m.first_seen,
    m.detail,
    m.missing_since,
    case when m.missing_since is not null then 'deleted' else 'present' end as delivery_state
from {{ ref('stg_ingest__file_manifest') }} as m
left join staging_rejects as r
    on r.source_file = m.path and r.file_sha256 = m.sha256
