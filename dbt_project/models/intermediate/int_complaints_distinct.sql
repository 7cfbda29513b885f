-- One row per distinct complaint (before problem classification; see int_complaints_deduplicated).
-- 1. Latest version of each complaint_id wins (updated_at, then later file, then later row);
--    fields the winner's file had no column for keep the latest value delivered.
-- 2. The same customer (customer_key) about the same product model on the same plant-local
--    day is one distinct complaint: complaint_id = the first id entered, the others in
--    duplicate_ids; serial / typed batch are taken from the first entry that has them.
with latest as (
    -- macros/staging/latest_version.sql: a field whose column a later export lacks (a
    -- status-only re-export) keeps the value delivered before
    select
        l.*,
        {{ file_order_key('l._source_file') }} as _file_order
    from {{ latest_version(ref('stg_crm__complaints')) }} as l
),

keyed as (
    select
        l.*,
        {{ plant_local_date('l.received_at') }} as received_local_date,
        case
            when l.customer_key is null then {{ dbt.concat(["'id:'", 'l.complaint_id']) }}
            else {{ dbt.concat([
                'l.customer_key', "'|'", "coalesce(l.product_model, '')", "'|'",
                dbt.safe_cast(plant_local_date('l.received_at'), dbt.type_string())
            ]) }}
        end as distinct_key
    from latest as l
),

entries as (
    select
        k.*,
        row_number() over (
            partition by k.distinct_key order by k.received_at, k.complaint_id
        ) as entry_order,
        row_number() over (
            partition by k.distinct_key
            order by k.updated_at desc nulls last, k._file_order desc, k._source_row desc
        ) as recency_order,
        count(*) over (partition by k.distinct_key) as entries
    from keyed as k
),

duplicate_ids as (
    select
        distinct_key,
        {{ dbt.listagg('complaint_id', "','", 'order by complaint_id') }} as duplicate_ids,
        {{ dbt.listagg('channel', "','", 'order by channel') }} as duplicate_channels
    from entries
    where entry_order > 1
    group by distinct_key
),

first_serial as (
    select distinct_key, serial_no
    from (
        select distinct_key, serial_no,
               row_number() over (partition by distinct_key order by entry_order) as r
        from entries
        where serial_no is not null
    ) as s
    where r = 1
),

first_batch as (
    -- prefer an entry whose typed batch conforms; else the first unmatched one (kept, flagged)
    select distinct_key, batch_no, batch_no_as_typed, batch_no_flag
    from (
        select distinct_key, batch_no, batch_no_as_typed, batch_no_flag,
               row_number() over (
                   partition by distinct_key
                   order by case when batch_no is not null then 0 else 1 end, entry_order
               ) as r
        from entries
        where batch_no_as_typed is not null
    ) as b
    where r = 1
),

latest_state as (
    select distinct_key, status, status_as_typed, closed_at, updated_at
    from entries
    where recency_order = 1
),

first_entry as (
    select * from entries where entry_order = 1
)

select
    f.complaint_id,
    d.duplicate_ids,
    f.entries as entry_count,
    f.channel,
    f.channel_as_typed as channel_raw,
    {{ dbt.concat(['f.channel', "coalesce(',' || d.duplicate_channels, '')"]) }} as channels,
    f.received_at,
    f.received_local_date,
    f.province as province_code,
    f.province_region as region,
    f.product_model,
    f.description,
    f.severity,
    s.status,
    s.status_as_typed as status_raw,
    s.closed_at,
    s.updated_at,
    f.customer_key,
    f.customer_phone_masked,
    fs.serial_no,
    fb.batch_no as batch_code_typed,
    fb.batch_no_as_typed as batch_code_as_typed,
    fb.batch_no_flag as batch_code_flag,
    f.distinct_key,
    f._source_file,
    f._source_row,
    f._file_sha256
from first_entry as f
left join duplicate_ids as d on d.distinct_key = f.distinct_key
left join latest_state as s on s.distinct_key = f.distinct_key
left join first_serial as fs on fs.distinct_key = f.distinct_key
left join first_batch as fb on fb.distinct_key = f.distinct_key
