-- Rows and whole files rejected at ingest (raw._quarantine).
select * from {{ source('raw', '_quarantine') }}
