"""Run one model's checks against the warehouse: `validate_model(settings, model, specs)`.

How big tables are handled (process readings, serials): row-level expectations stream the
needed columns out of DuckDB as Arrow record batches, re-chunked to at most `chunk_rows` rows,
and GX validates each chunk; counts are summed. From EXACT_AGG_MIN_ROWS rows, when DuckDB's
verdict is provably GX's (types, printable-ASCII text, no NaN: `_exact_risk_sql`), and always
above FULL_GX_MAX_ROWS, DuckDB counts exactly in one scan and GX validates a bounded sample.
Set-level facts (compound-key duplicates, missing rates, row counts, duplicate entries,
re-delivered files) are computed by DuckDB aggregate queries and judged by GX
(`finish_models`: one validation for any number of models). Memory stays bounded by one
chunk. `collect_model` + `finish_models` let the gate share one connection, one GX context
and one facts validation across every model (`gate.run_checks`).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from orchestration.lib.quality import gx_engine
from orchestration.lib.quality.advice import limits
from orchestration.lib.quality.duplicate_store import duplicate_store
from orchestration.lib.quality.model import ERROR, WARN, CheckOutcome, ExpectationSpec
from orchestration.lib.quality.predicate_store import (
    PredicateCountStore,
    file_versions,
    predicate_store,
)
from orchestration.lib.quality.version_store import VersionStore, home_store, save_home_stores
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect, stored_relations

DEFAULT_CHUNK_ROWS = int(os.environ.get("QUALITRACE_GX_CHUNK_ROWS", "1000000"))
# Above this many rows, row-level expectations are counted exactly by one DuckDB aggregate
# query and GX validates a bounded random sample (for Data Docs and example values).
FULL_GX_MAX_ROWS = int(os.environ.get("QUALITRACE_GX_FULL_ROWS", "2000000"))
# From this many rows up to FULL_GX_MAX_ROWS, the same aggregate + sample is used when its
# counts and examples are provably GX's (see _exact_risk_sql), else GX reads every row.
EXACT_AGG_MIN_ROWS = int(os.environ.get("QUALITRACE_GX_EXACT_AGG_ROWS", "250000"))
SAMPLE_ROWS = 100_000
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")
SCHEMA_BY_PREFIX = (("stg_", "staging"), ("base_", "staging"), ("int_", "intermediate"))


def model_schema(model: str) -> tuple[str, str]:
    """'stg_crm__complaints' -> ('staging', 'stg_crm__complaints'); 'governance.x' splits."""
    if "." in model:
        schema, name = model.split(".", 1)
        return schema, name
    for prefix, schema in SCHEMA_BY_PREFIX:
        if model.startswith(prefix):
            return schema, model
    return "governance", model


def asset_path(model: str) -> str:
    schema, name = model_schema(model)
    return f"{schema}/{name}"


def q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


class Catalog:
    """Relations and their columns, read once per connection (information_schema queries
    cost ~10 ms each in DuckDB; the gate asks hundreds of them)."""

    def __init__(self, con):
        self._con = con
        self._cols: dict[tuple[str, str], list[str]] | None = None
        self._types: dict[tuple[str, str], str] = {}

    def _load(self) -> dict[tuple[str, str], list[str]]:
        if self._cols is None:
            cols: dict[tuple[str, str], list[str]] = {}
            for schema, name, col in self._con.execute(
                    "SELECT table_schema, table_name, column_name FROM information_schema.columns "
                    "ORDER BY table_schema, table_name, ordinal_position").fetchall():
                cols.setdefault((schema, name), []).append(col)
            self._types = {(s, n): t for s, n, t in self._con.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables"
            ).fetchall()}
            # a Spark table read in place (a view over Parquet files) reads like a table
            self._types.update({r: "BASE TABLE" for r in stored_relations(self._con)})
            self._cols = cols
        return self._cols

    def columns(self, schema: str, name: str) -> list[str] | None:
        return self._load().get((schema, name))

    def table_type(self, schema: str, name: str) -> str | None:
        self._load()
        return self._types.get((schema, name))


def _column_types(con, schema: str, name: str) -> dict[str, str]:
    return {c: t for c, t in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()}


def _catalog(con, catalog: Catalog | None = None) -> Catalog:
    return catalog if catalog is not None else Catalog(con)


def _table_columns(con, schema: str, name: str, catalog: Catalog | None = None
                   ) -> list[str] | None:
    if catalog is not None:
        return catalog.columns(schema, name)
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name]).fetchall()
    return [r[0] for r in rows] or None


def _chunks(con, sql: str, chunk_rows: int) -> Iterator:
    """Pandas frames of at most ~chunk_rows rows from a DuckDB query, never the whole result."""
    import pyarrow as pa

    reader = con.sql(sql).to_arrow_reader(min(chunk_rows, 1_000_000))
    pending, n = [], 0
    for batch in reader:
        pending.append(batch)
        n += batch.num_rows
        if n >= chunk_rows:
            yield pa.Table.from_batches(pending).to_pandas()
            pending, n = [], 0
    if pending or n == 0:
        yield pa.Table.from_batches(pending, schema=reader.schema).to_pandas()


def _lit(v) -> str:
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def unexpected_sql(spec: ExpectationSpec) -> str:
    """SQL predicate: this row is unexpected for `spec` (GX semantics: nulls only count for
    not_null). Regexes are searched (not anchored), as GX does."""
    c, p = q(spec.column), spec.params
    if spec.kind == "not_null":
        return f"{c} IS NULL"
    if spec.kind == "in_set":
        values = ", ".join(_lit(v) for v in p["value_set"]) or "NULL"
        return f"{c} IS NOT NULL AND CAST({c} AS VARCHAR) NOT IN ({values})"
    if spec.kind == "match_regex":
        return f"{c} IS NOT NULL AND NOT regexp_matches(CAST({c} AS VARCHAR), {_lit(p['regex'])})"
    if spec.kind == "between":
        conds = []
        if p.get("min_value") is not None:
            conds.append(f"{c} < {float(p['min_value'])!r}")
        if p.get("max_value") is not None:
            conds.append(f"{c} > {float(p['max_value'])!r}")
        return f"{c} IS NOT NULL AND ({' OR '.join(conds) or 'FALSE'})"
    raise ValueError(f"{spec.name}: {spec.kind} is not row-level")


def _exact_risk_sql(spec: ExpectationSpec, col_type: str | None) -> str | None:
    """SQL predicate for the rows where DuckDB's verdict could differ from GX's pandas one
    ('FALSE' when none can), or None when the spec/type pair is not covered.

    Covered: not_null on any type (a float NaN is null to pandas, not to DuckDB); match_regex
    on VARCHAR (RE2 and Python `re.search` agree on printable ASCII; any other character,
    newlines included, is a risk); in_set on VARCHAR with a set of strings; between on
    float types (NaN again). Example values are then the same Python values GX reports."""
    t = (col_type or "").upper()
    c = q(spec.column)
    nan = f"isnan({c})" if t in _FLOAT_TYPES else "FALSE"
    if spec.kind == "not_null":
        return nan
    if spec.kind == "match_regex" and t == "VARCHAR":
        return f"NOT regexp_full_match({c}, '[ -~]*')"
    if spec.kind == "in_set" and t == "VARCHAR" and all(
            isinstance(v, str) for v in spec.params.get("value_set", [])):
        return "FALSE"
    if spec.kind == "between" and t in _FLOAT_TYPES:  # ints with NULLs turn float in pandas
        return nan
    return None


def _validate_rows_by_aggregate(con, context, name: str, src: str,
                                specs: list[ExpectationSpec], needed: list[str], n_rows: int,
                                types: dict[str, str] | None = None,
                                store: PredicateCountStore | None = None,
                                versions: list[tuple] | None = None):
    """Exact counts for every row-level spec in one scan; GX validates a bounded sample whose
    result (for Data Docs) carries the exact counts.

    With `types` (column -> DuckDB type) the result must be exactly what GX would say over
    every row: None is returned (validate every row with GX instead) when a spec is not
    covered by _exact_risk_sql or a risky row exists; examples are then the first unexpected
    values in table order, as GX lists them.

    With a `store` and the relation's file `versions`, the counts are kept per file version
    (predicate_store.py): only versions not counted before are scanned, the sample is drawn
    from them (from every row when there are none), and examples are looked up only in the
    files holding unexpected rows. The counts, so the verdicts, are the same."""
    predicates = []
    risks = []
    if types is not None:
        for s in specs:
            risk = _exact_risk_sql(s, types.get(s.column))
            if risk is None:
                return None
            if risk != "FALSE":
                risks.append(f"({risk})")
    for s in specs:
        predicates.append(unexpected_sql(s))
        predicates.append(f"{q(s.column)} IS NULL")
    if risks:
        predicates.append(" OR ".join(risks))
    counted = store.counts(con, src, predicates, versions) if store is not None else None
    if counted is not None:
        row = (counted.rows, *counted.matches)
        within = {i: " AND _source_file IN (" + ", ".join(_lit(f) for f in files) + ")"
                  for i, files in enumerate(counted.files_matching) if files}
        new = counted.new_files
        sample_from = (f"(SELECT * FROM {src} WHERE _source_file IN "
                       f"({', '.join(_lit(f) for f in new)})) AS qt_new" if new else src)
        sampled = (f"the rows of the {len(new)} file(s) first counted in this run" if new
                   else "every row")
    else:
        parts = [f"count(*) FILTER (WHERE {p}) AS p{i}" for i, p in enumerate(predicates)]
        row = _count(con, f"SELECT count(*), {', '.join(parts)} FROM {src}")
        within, sample_from, sampled = {}, src, "every row"
    if risks and row[-1]:
        return None
    sample_sql = (f"SELECT {', '.join(q(c) for c in needed)} FROM {sample_from} "
                  f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)")
    sample_stats, doc, suite_doc = gx_engine.validate_row_chunks(
        context, f"{name}.rows", specs, _chunks(con, sample_sql, SAMPLE_ROWS))
    stats = {}
    for i, s in enumerate(specs):
        examples = sample_stats[s.name]["partial_unexpected_list"]
        where = f"{unexpected_sql(s)}{within.get(2 * i, '')}"
        if types is not None:  # GX lists the first unexpected values in table order
            examples = [gx_engine._jsonable(r[0]) for r in con.execute(
                f"SELECT {q(s.column)} FROM {src} WHERE {where} "
                f"LIMIT {gx_engine.PARTIAL_LIMIT}").fetchall()] if row[1 + 2 * i] else []
        elif row[1 + 2 * i] and not examples:
            examples = [gx_engine._jsonable(r[0]) for r in con.execute(
                f"SELECT {q(s.column)} FROM {src} WHERE {where} LIMIT 20"
            ).fetchall()]
        stats[s.name] = {"element_count": int(row[0]), "unexpected_count": int(row[1 + 2 * i]),
                         "missing_count": int(row[2 + 2 * i]),
                         "partial_unexpected_list": examples}
    if doc is not None:
        gx_engine._patch_counts(doc, stats, specs, chunks=0)
        doc["meta"]["qualitrace_evaluation"] = (
            f"exact counts over {n_rows} rows by a DuckDB aggregate"
            f"{' (kept per file version)' if counted is not None else ''}; "
            f"GX ran on a random sample of at most {SAMPLE_ROWS} rows of {sampled}")
    return stats, doc, suite_doc


def _threshold(spec: ExpectationSpec) -> str:
    p = spec.params
    if spec.kind == "not_null":
        return f"nulls <= {1 - float(p.get('mostly', 1.0)):.4g} of rows"
    if spec.kind == "in_set":
        vals = sorted(map(str, p["value_set"]))
        shown = ", ".join(vals[:12]) + (f", … ({len(vals)} values)" if len(vals) > 12 else "")
        return f"in {{{shown}}}"
    if spec.kind == "match_regex":
        return f"matches {p['regex']}"
    if spec.kind == "between":
        return f"between {p.get('min_value')} and {p.get('max_value')}"
    if spec.kind == "unique":
        return f"duplicate keys <= {p.get('max_allowed', 0)}"
    if spec.kind == "missing_rate":
        return limits(p.get("warn"), p.get("error"))
    if spec.kind == "row_count_vs_previous":
        return f"drop <= {float(p.get('max_drop', 0.5)):.0%} of previous run"
    if spec.kind == "row_count_min":
        return f"rows >= {p.get('min_rows', 1)}"
    if spec.kind == "dictionary_gap":
        return "every delivered spelling known to the dictionary (WARN: a gap to fill)"
    if spec.kind == "conformance":
        return "no spelling the dictionary knows comes out NULL"
    if spec.kind == "referential":
        return (f"references to {p['ref']}.{p.get('ref_column') or spec.column} found: dangling "
                f"share {limits(p.get('warn'), p.get('error'))} "
                f"(judged on >= {p.get('min_rows', 50)} rows)")
    if spec.kind == "delivery_shrank":
        return (f"no re-delivered file lands less than {1 - float(p.get('max_drop', 0.5)):.0%} of "
                f"the rows of the version it replaces (versions of >= {p.get('min_rows', 20)} rows)")
    return f"<= {p.get('max_allowed', 0)}"


def _sig(parts: list) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:16]


def validate_model(settings: Settings, model: str, specs: list[ExpectationSpec],
                   run_id: str | None = None, chunk_rows: int | None = None,
                   keep_docs: bool = True,
                   full_gx_max_rows: int | None = None, *, con=None, context=None,
                   catalog: Catalog | None = None) -> list[CheckOutcome]:
    """Validate `model` (e.g. 'stg_crm__complaints') against `specs`; one outcome per spec.

    Reads through a read-only warehouse connection, closed before returning, unless the
    caller passes its own `con` (and GX `context`, `catalog`) to share across models. A
    missing model or column fails its checks with a message naming them.
    """
    if con is None:
        with connect(settings, read_only=True) as own:
            return validate_model(settings, model, specs, run_id, chunk_rows, keep_docs,
                                  full_gx_max_rows, con=own, context=context)
    context = context if context is not None else gx_engine.new_context()
    pending = collect_model(settings, model, specs, run_id, chunk_rows, keep_docs,
                            full_gx_max_rows, con=con, context=context, catalog=catalog)
    return finish_models(settings, context, [pending])[model]


@dataclass
class PendingModel:
    """A model whose row-level checks are done and whose set-level facts are computed;
    `finish_models` has GX judge the facts of many models at once."""

    model: str
    asset: str
    name: str
    specs: list[ExpectationSpec]
    run_id: str | None
    keep_docs: bool
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    fact_info: dict[str, dict] = field(default_factory=dict)
    docs_pairs: list[tuple[dict, dict | None]] = field(default_factory=list)


def collect_model(settings: Settings, model: str, specs: list[ExpectationSpec],
                  run_id: str | None = None, chunk_rows: int | None = None,
                  keep_docs: bool = True, full_gx_max_rows: int | None = None, *, con,
                  context, catalog: Catalog | None = None) -> PendingModel:
    """validate_model up to the GX judgement of set-level facts (see finish_models)."""
    catalog = _catalog(con, catalog)
    try:
        return _validate_model(settings, model, specs, run_id, chunk_rows, keep_docs,
                               full_gx_max_rows, con, context, catalog)
    finally:
        con.execute("DROP TABLE IF EXISTS temp.qt_snapshot")


def finish_models(settings: Settings, context, pending: list[PendingModel]
                  ) -> dict[str, list[CheckOutcome]]:
    """GX judges every pending model's facts in one validation; outcomes per model, in
    spec order; each model's Data Docs pairs are saved."""
    rows = []
    for p in pending:
        for k, info in p.fact_info.items():
            lo, hi = gx_engine.fact_bounds(info.get("min"), info.get("max"))
            obs = info["observed"]
            rows.append({"model": p.asset, "check_name": k, "kind": info["spec"].kind,
                         "severity": info["spec"].severity,
                         "observed": None if obs is None else float(obs),
                         "min": None if lo is None else float(lo),
                         "max": None if hi is None else float(hi)})
    failed: set[tuple[str, str]] = set()
    doc = suite_doc = None
    if rows:
        failed, doc, suite_doc = gx_engine.validate_fact_table(context, "facts", rows)
    out = {}
    for p in pending:
        if p.fact_info:
            for k, info in p.fact_info.items():
                p.outcomes[k] = _fact_outcome(info, (p.asset, k) not in failed, p.asset)
            p.docs_pairs.append(gx_engine.fact_docs_for(p.asset, f"{p.name}.facts", rows,
                                                        doc, suite_doc))
        if p.keep_docs and p.docs_pairs:
            gx_engine.save_results(settings.home, p.name, p.run_id or "adhoc", p.docs_pairs)
        out[p.model] = [p.outcomes[s.name] for s in p.specs]
    return out


def _validate_model(settings: Settings, model: str, specs: list[ExpectationSpec],
                    run_id: str | None, chunk_rows: int | None, keep_docs: bool,
                    full_gx_max_rows: int | None, con, context,
                    catalog: Catalog) -> PendingModel:
    schema, name = model_schema(model)
    asset = f"{schema}/{name}"
    chunk_rows = chunk_rows or DEFAULT_CHUNK_ROWS
    full_gx_max_rows = FULL_GX_MAX_ROWS if full_gx_max_rows is None else full_gx_max_rows
    pending = PendingModel(model=model, asset=asset, name=name, specs=specs, run_id=run_id,
                           keep_docs=keep_docs)
    outcomes = pending.outcomes
    row_specs = [s for s in specs if s.row_level]
    set_specs = [s for s in specs if not s.row_level]
    fact_info = pending.fact_info
    docs_pairs = pending.docs_pairs

    def fail(spec: ExpectationSpec, message: str) -> None:
        outcomes[spec.name] = CheckOutcome(
            check_name=spec.name, asset=asset, severity=spec.severity, passed=False,
            observed_value=None, threshold=_threshold(spec), message=message,
            signature="structure", kind=spec.kind)

    columns = _table_columns(con, schema, name, catalog)
    if columns is None:
        for s in specs:
            fail(s, f"{schema}.{name} does not exist in {settings.warehouse}")
        pending.keep_docs = False
        return pending
    colset = set(columns)
    try:
        src = _snapshot(con, schema, name, specs, colset, catalog)
    except duckdb.Error as exc:  # the model itself cannot be computed: every check fails
        for s in specs:
            fail(s, f"{schema}.{name} could not be read: {str(exc).splitlines()[0][:500]}")
        pending.keep_docs = False
        return pending
    usable_rows = []
    for s in row_specs:
        missing = [c for c in s.columns if c not in colset]
        if missing:
            fail(s, f"{schema}.{name}: column {', '.join(missing)} is missing "
                    f"(check {s.name}, from {s.source})")
        else:
            usable_rows.append(s)
    versions_seen: dict = {}  # the relation's file versions, listed once per model
    store = predicate_store(settings)
    if usable_rows:
        needed = list(dict.fromkeys(s.column for s in usable_rows))
        sql = f"SELECT {', '.join(q(c) for c in needed)} FROM {src}"
        try:
            versions = _versions(con, src, versions_seen)
            n_rows = _row_count(con, src, versions_seen)
            exact = None
            if EXACT_AGG_MIN_ROWS <= n_rows <= full_gx_max_rows:
                types = _column_types(con, schema, name)
                exact = _validate_rows_by_aggregate(con, context, name, src, usable_rows,
                                                    needed, n_rows, types, store, versions)
            if exact is not None:
                stats, doc, suite_doc = exact
            elif n_rows <= full_gx_max_rows:
                stats, doc, suite_doc = gx_engine.validate_row_chunks(
                    context, f"{name}.rows", usable_rows, _chunks(con, sql, chunk_rows))
            else:
                stats, doc, suite_doc = _validate_rows_by_aggregate(
                    con, context, name, src, usable_rows, needed, n_rows, None, store,
                    versions)
        except duckdb.Error as exc:  # the model itself cannot be read: every check fails
            for s in usable_rows:
                fail(s, f"{schema}.{name} could not be read for {s.name}: "
                        f"{str(exc).splitlines()[0][:500]}")
            usable_rows, stats = [], {}
        else:
            docs_pairs.append((suite_doc, doc))
        for s in usable_rows:
            st = stats[s.name]
            passed = gx_engine.row_passed(s, st)
            sample = st["partial_unexpected_list"][:5]
            outcomes[s.name] = CheckOutcome(
                check_name=s.name, asset=asset, severity=s.severity, passed=passed,
                observed_value=float(st["unexpected_count"]), threshold=_threshold(s),
                message=("ok" if passed else
                         f"{schema}.{name}.{s.column}: {st['unexpected_count']} of "
                         f"{st['element_count']} rows fail {s.kind} (e.g. {sample})"),
                signature="" if passed else "failed", kind=s.kind,
                details={"element_count": st["element_count"],
                         "unexpected_count": st["unexpected_count"],
                         "partial_unexpected_list": st["partial_unexpected_list"]})
    cache: dict = {"__wanted__": {c for s in set_specs if s.kind == "missing_rate"
                                  for c in s.columns}, "__catalog__": catalog,
                   "__store__": missing_store(settings),
                   "__predicates__": store, "__versions__": versions_seen,
                   "__dupes__": duplicate_store(settings),
                   "__markers__": {s.column: s.params["no_value_markers"] for s in set_specs
                                   if s.kind == "missing_rate" and s.params.get("no_value_markers")}}
    for s in set_specs:
        missing = [c for c in s.columns if c not in colset] if s.kind != "missing_rate" \
            else []
        if missing:
            fail(s, f"{schema}.{name}: column {', '.join(missing)} is missing "
                    f"(check {s.name}, from {s.source})")
            continue
        try:
            info = _fact(con, schema, name, s, asset, run_id, src, cache)
        except Exception as exc:  # noqa: BLE001 - reported as a failed check
            fail(s, f"{schema}.{name}: check {s.name} could not run: "
                    f"{str(exc).splitlines()[0][:500]}")
            continue
        fact_info[s.name] = info
    return pending


def _count(con, sql: str, params: list | None = None):
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _row_count(con, rel: str, seen: dict | None) -> int:
    """Rows of `rel`: the sum of its file versions when `seen` (see _versions) lists them."""
    versions = (seen or {}).get(rel)
    if versions is not None:
        return sum(int(v[5]) for v in versions)
    return _count(con, f"SELECT count(*) FROM {rel}")[0]


# Relations whose rows per file version change only with the version or its conformance
# hash: the staging models (a base_ table built file by file, a stg_ view filtering it). A
# model that joins other tables can change a version's rows without either.
_VERSIONED_SCHEMA = '"staging".'


def _versions(con, rel: str, seen: dict | None) -> list[tuple] | None:
    """The file versions of a staging relation (predicate_store.file_versions), listed once
    per model through `seen`; None for any other relation (the gate's snapshot of a view, a
    model of another layer) or one without lineage: it is scanned whole."""
    if seen is None or not rel.startswith(_VERSIONED_SCHEMA):
        return None
    if rel not in seen:
        seen[rel] = file_versions(con, rel)
    return seen[rel]


def _exists(con, schema: str, name: str, catalog: Catalog | None = None) -> bool:
    return _table_columns(con, schema, name, catalog) is not None


def _snapshot(con, schema: str, name: str, specs: list[ExpectationSpec],
              colset: set[str], catalog: Catalog | None = None) -> str:
    """The relation to read: a view is evaluated once into a temporary table (DuckDB spills
    it to disk when large) so its SQL is not re-run for every check; a table is read as is,
    and so is `stg_<x>` over a materialised `base_<x>` table (a `_reject_reason is null`
    filter: as cheap to read as a copy, and copying 50M rows is not)."""
    catalog = _catalog(con, catalog)
    if catalog.table_type(schema, name) != "VIEW":
        return f"{q(schema)}.{q(name)}"
    if (name.startswith("stg_")
            and catalog.table_type(schema, "base_" + name[4:]) == "BASE TABLE"):
        return f"{q(schema)}.{q(name)}"
    cols: list[str] = []
    for s in specs:
        extra = [s.params.get("key"), s.params.get("path_column")]
        for c in [*s.columns, *extra]:
            if c and c in colset and c not in cols:
                cols.append(c)
    if cols:  # where a value was read (the example file and line of a dictionary gap)
        cols += [c for c in ("_source_file", "_source_row") if c in colset and c not in cols]
    select = ", ".join(q(c) for c in cols) if cols else "1 AS qt_row"
    con.execute(f"CREATE OR REPLACE TEMP TABLE qt_snapshot AS SELECT {select} "
                f"FROM {q(schema)}.{q(name)}")
    return "qt_snapshot"


def _missing_counts(con, rel: str, cols: list[str], cache: dict) -> dict:
    """{column: (rows, blank or null)} for every column of `rel`, in one scan (cached); a
    column with no-value markers (cache["__markers__"], from the specs) counts them as blank.

    A column `rel` does not have never arrived in any file: every row misses it.

    A landed table (`raw.*`) with a `MissingCountStore` in cache["__store__"] is counted per
    delivered file version, and only the versions the store does not hold yet are scanned:
    the same counts, at the cost of the day's new files. So is a conformed relation with
    lineage columns (a `stg_` view over its `base_` table) with a `PredicateCountStore` in
    cache["__predicates__"]."""
    if rel not in cache:
        markers = cache.get("__markers__") or {}

        def blank(c: str) -> str:
            text = f"trim(CAST({q(c)} AS VARCHAR))"
            listed = ", ".join(_lit(m) for m in markers.get(c, []))
            return f"{q(c)} IS NULL OR {text} = ''" + (f" OR {text} IN ({listed})" if listed else "")

        store = cache.get("__store__")
        counted = None
        if store is not None and rel.startswith(f"{q('raw')}."):
            counted = store.counts(con, rel, cols, {c: blank(c) for c in cols},
                                   {c: sorted(markers.get(c, [])) for c in cols})
        elif cache.get("__predicates__") is not None and cols:
            found = cache["__predicates__"].counts(
                con, rel, [blank(c) for c in cols], _versions(con, rel, cache.get("__versions__")))
            if found is not None:
                counted = (found.rows, dict(zip(cols, found.matches)))
        if counted is None:
            parts = [f"count(*) FILTER (WHERE {blank(c)})" for c in cols]
            row = _count(con, f"SELECT count(*){''.join(', ' + x for x in parts)} FROM {rel}")
            counted = (row[0], {c: row[1 + i] for i, c in enumerate(cols)})
        total, missing = counted
        cache[rel] = _MissingCounts({c: (total, missing[c]) for c in cols}, total)
    return cache[rel]


class MissingCountStore(VersionStore):
    """Blank or null counts of landed tables per delivered file version, kept between runs
    in `<home>/state/missing_counts.json`.

    A landed file version's rows do not change after landing, so its counts are computed once.
    A version is identified by its file, content hash, landing time and row count (a re-landed
    or trimmed version is counted again), a column's count by the column and its no-value
    markers. `counts` scans only the versions (or columns) not held yet; versions no longer
    in the table are forgotten when the store is saved."""

    LOGIC = "missing_counts.v1"  # bump when the blank test changes

    def counts(self, con, rel: str, cols: list[str], blank: dict[str, str],
               markers: dict[str, list]) -> tuple[int, dict[str, int]] | None:
        names = {r[0] for r in con.execute(
            f"SELECT * FROM {rel} LIMIT 0").description}
        if not {"_source_file", "_file_sha256", "_loaded_at"} <= names:
            return None
        versions = con.execute(
            f"SELECT _source_file, _file_sha256, CAST(max(_loaded_at) AS VARCHAR), count(*) "
            f"FROM {rel} GROUP BY _source_file, _file_sha256").fetchall()
        if any(v[0] is None or v[1] is None for v in versions):
            return None  # rows of no file: count the table as a whole
        keys = {"|".join(map(str, v)): v for v in versions}
        sig = {c: hashlib.sha256(repr((c, markers.get(c, []))).encode()).hexdigest()[:16]
               for c in cols}
        held = self.tables.setdefault(rel, {})

        def counted(k: str) -> bool:
            return k in held and all(sig[c] in held[k]["missing"] for c in cols)

        need = [k for k in keys if not counted(k)]
        if need:
            values = ", ".join(f"({_lit(keys[k][0])}, {_lit(keys[k][1])})" for k in need)
            parts = "".join(f", count(*) FILTER (WHERE {blank[c]})" for c in cols)
            rows = con.execute(
                f"SELECT _source_file, _file_sha256, CAST(max(_loaded_at) AS VARCHAR), "
                f"count(*){parts} FROM {rel} "
                f"JOIN (VALUES {values}) AS qt_v(qt_file, qt_sha) "
                f"ON qt_v.qt_file = _source_file AND qt_v.qt_sha = _file_sha256 "
                f"GROUP BY _source_file, _file_sha256").fetchall()
            for r in rows:
                entry = held.setdefault("|".join(map(str, r[:4])), {"missing": {}})
                entry["missing"].update({sig[c]: int(r[4 + i]) for i, c in enumerate(cols)})
        if not all(counted(k) for k in keys):
            return None  # a version not counted (never expected): count the whole table
        self._remember(rel, keys)
        total = sum(int(v[3]) for v in versions)
        return total, {c: sum(held[k]["missing"][sig[c]] for k in keys) for c in cols}


MISSING_STORE_FILE = "missing_counts.json"


def missing_store(settings: Settings) -> MissingCountStore:
    """This home's MissingCountStore (read once per process; saved by `save_missing_stores`)."""
    return home_store(MissingCountStore, settings.home, MISSING_STORE_FILE)


def save_missing_stores() -> None:
    """Save this process's per-file-version stores: missing counts, duplicate keys and
    predicate counts."""
    save_home_stores()


class _MissingCounts(dict):
    def __init__(self, counts: dict, total: int):
        super().__init__(counts)
        self.total = total

    def __missing__(self, col: str):
        return (self.total, self.total)


def _fact(con, schema: str, name: str, spec: ExpectationSpec, asset: str,
          run_id: str | None, src: str | None = None, cache: dict | None = None) -> dict:
    """Compute one set-level fact: {'observed', 'min', 'max', 'spec', ...}."""
    p, t = spec.params, src or f"{q(schema)}.{q(name)}"
    cache = {} if cache is None else cache
    catalog = cache.get("__catalog__")
    info: dict = {"spec": spec}
    if spec.kind == "unique":
        cols = ", ".join(q(c) for c in spec.columns)
        nn = " AND ".join(f"{q(c)} IS NOT NULL" for c in spec.columns)
        store = cache.get("__dupes__")
        found = (store.duplicates(con, t, list(spec.columns),
                                  _versions(con, t, cache.get("__versions__")))
                 if store is not None and t.startswith('"') else None)
        if found is not None:  # unique per file: counted per file version (duplicate_store)
            n, groups, files = found
            within = " AND _source_file IN (" + ", ".join(_lit(f) for f in files) + ")"
            sample = con.execute(
                f"SELECT {cols}, count(*) AS qt_n FROM {t} WHERE {nn}{within} GROUP BY {cols} "
                f"HAVING count(*) > 1 ORDER BY qt_n DESC, {cols} LIMIT 5").fetchall() \
                if files else []
        else:
            # one aggregation over the table; the (few) duplicated keys are kept for the sample
            con.execute(f"CREATE OR REPLACE TEMP TABLE qt_dup_keys AS SELECT {cols}, count(*) "
                        f"AS qt_n FROM {t} WHERE {nn} GROUP BY {cols} HAVING count(*) > 1")
            try:
                n, groups = _count(con, "SELECT coalesce(sum(qt_n - 1), 0), count(*) "
                                        "FROM qt_dup_keys")
                sample = con.execute(f"SELECT {cols}, qt_n FROM qt_dup_keys "
                                     f"ORDER BY qt_n DESC, {cols} LIMIT 5").fetchall()
            finally:
                con.execute("DROP TABLE IF EXISTS temp.qt_dup_keys")
        info.update(observed=float(n), max=float(p.get("max_allowed", 0)),
                    details={"duplicate_groups": int(groups),
                             "sample": [list(map(str, r)) for r in sample]},
                    message=f"{schema}.{name}: {int(n)} extra rows share a key "
                            f"({', '.join(spec.columns)}) in {int(groups)} groups; e.g. "
                            f"{[list(map(str, r)) for r in sample[:3]]}")
    elif spec.kind == "missing_rate":
        label, rel, cols = f"{schema}.{name}", t, None
        if p.get("source"):
            s_schema, s_name = p["source"].split(".", 1)
            cols = _table_columns(con, s_schema, s_name, catalog)
            if cols is not None:
                label, rel = p["source"], f"{q(s_schema)}.{q(s_name)}"
        if cols is None:
            cols = _table_columns(con, schema, name, catalog) or []
        col = spec.column
        wanted = cache.get("__wanted__")
        cols = [c for c in cols if wanted is None or c in wanted]
        total, missing = _missing_counts(con, rel, cols, cache)[col]
        rate = (missing / total) if total else 0.0
        warn, error = p.get("warn"), p.get("error")
        min_rows = int(p.get("min_rows", 1))
        judged = rate_judged(missing, total, min_rows)
        basis = (f"not judged: {total} rows < {min_rows}" if total < min_rows else
                 f"95% lower bound {judged:.2%}")
        info.update(observed=judged, max=float(warn if warn is not None else error),
                    details={"rows": int(total), "missing": int(missing), "source": label,
                             "rate": rate, "min_rows": min_rows, "judged_rate": judged},
                    message=f"{label}.{col}: {missing} of {total} rows missing "
                            f"({rate:.2%}, {basis}; {limits(warn, error)})")
    elif spec.kind in ("dictionary_gap", "conformance"):
        info.update(_coded_fact(con, schema, name, spec, t))
    elif spec.kind == "row_count_vs_previous":
        n = _row_count(con, t, cache.get("__versions__"))
        prev = None
        if _exists(con, "governance", "check_results", catalog):
            row = _count(
                con, "SELECT observed_value FROM governance.check_results WHERE check_name = ? "
                "AND asset = ? AND run_id <> ? AND observed_value IS NOT NULL "
                "ORDER BY checked_at DESC LIMIT 1", [spec.name, asset, run_id or ""])
            prev = row[0] if row else None
        drop = float(p.get("max_drop", 0.5))
        info.update(observed=float(n), min=(prev * (1 - drop) if prev else None),
                    details={"previous": prev},
                    message=f"{schema}.{name}: {n} rows, previous run {prev}")
    elif spec.kind == "row_count_min":
        n = _row_count(con, t, cache.get("__versions__"))
        info.update(observed=float(n), min=float(p.get("min_rows", 1)),
                    message=f"{schema}.{name}: {n} rows")
    elif spec.kind == "duplicate_entries":
        col = spec.column
        key = p.get("key")
        keysel = f"CAST({q(key)} AS VARCHAR)" if key else "''"
        rows = con.execute(f"SELECT {keysel}, CAST({q(col)} AS VARCHAR) FROM {t} "
                           f"WHERE {q(col)} IS NOT NULL AND trim(CAST({q(col)} AS VARCHAR)) "
                           f"<> '' ORDER BY 1, 2").fetchall()
        extra = sum(len([x for x in r[1].split(",") if x.strip()]) for r in rows)
        info.update(observed=float(len(rows)), max=float(p.get("max_allowed", 0)),
                    signature=_sig(rows) if rows else "",
                    details={"entities_with_duplicates": len(rows), "duplicate_entries": extra,
                             "sample": [list(r) for r in rows[:5]]},
                    message=f"{schema}.{name}: {len(rows)} {key or 'rows'} were entered more "
                            f"than once ({extra} duplicate entries), e.g. "
                            f"{[list(r) for r in rows[:3]]}")
    elif spec.kind == "referential":
        info.update(_dangling_references(con, t, spec, f"{schema}.{name}", catalog))
    elif spec.kind == "delivery_shrank":
        info.update(_shrunk_deliveries(con, t, float(p.get("max_drop", 0.5)),
                                       int(p.get("min_rows", 20)), f"{schema}.{name}"))
    elif spec.kind in ("redelivered_files", "file_status"):
        col = spec.column or "status"
        value = p.get("value", "duplicate_delivery")
        path_col = p.get("path_column", "path")
        why = "detail" if "detail" in (_table_columns(con, schema, name, catalog) or []) \
            else "NULL"
        rows = con.execute(f"SELECT CAST({q(path_col)} AS VARCHAR), {why} FROM {t} "
                           f"WHERE {q(col)} = ? ORDER BY 1", [value]).fetchall()
        paths = [r[0] for r in rows]
        reasons = {r[0]: r[1] for r in rows if r[1]}
        info.update(observed=float(len(paths)), max=float(p.get("max_allowed", 0)),
                    signature=_sig(paths) if paths else "", details={"files": paths[:50]},
                    message=(f"{schema}.{name}: {len(paths)} files were delivered again "
                             f"({value}): {paths[:5]}" if value == "duplicate_delivery" else
                             f"{schema}.{name}: {len(paths)} files have status {value}: "
                             + "; ".join(f"'{p_}'" + (f" ({reasons[p_]})" if p_ in reasons
                                                     and value == "quarantined" else "")
                                         for p_ in paths[:5])))
    else:  # pragma: no cover - ExpectationSpec validates kinds
        raise ValueError(spec.kind)
    return info


def wilson_lower(k: int, n: int, z: float = 1.96) -> float:
    """Wilson score lower bound of a proportion k/n (0 when n is 0)."""
    if n <= 0:
        return 0.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))


def rate_judged(k: int, n: int, min_rows: int) -> float:
    """The rate a threshold is compared with: the Wilson 95% lower bound of k/n, and 0 (not
    judged) below `min_rows` rows, so a handful of rows never trips a rate check."""
    if n < max(min_rows, 1):
        return 0.0
    return wilson_lower(k, n) if min_rows > 1 else k / n


def _dangling_references(con, t: str, spec: ExpectationSpec, label: str, catalog) -> dict:
    """Share of non-blank `column` values naming no row of `ref` (a batch shipped that MES never
    made, a lot consumed that ERP never received): such rows drop out of traces and supplier
    attribution. Judged like a missing rate: Wilson lower bound, only on >= min_rows rows."""
    p, col = spec.params, spec.column
    ref_schema, ref_name = p["ref"].split(".", 1)
    ref_col = p.get("ref_column") or col
    min_rows = int(p.get("min_rows", 50))
    warn, error = p.get("warn"), p.get("error")
    if _table_columns(con, ref_schema, ref_name, catalog) is None:
        total = dangling = 0
        sample: list = []
    else:
        ref = f"{q(ref_schema)}.{q(ref_name)}"
        total, dangling = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {ref} AS r "
            f"WHERE r.{q(ref_col)} = t.{q(col)})) FROM {t} AS t WHERE t.{q(col)} IS NOT NULL"
        ).fetchone()
        sample = [r[0] for r in con.execute(
            f"SELECT DISTINCT CAST(t.{q(col)} AS VARCHAR) FROM {t} AS t WHERE t.{q(col)} IS NOT "
            f"NULL AND NOT EXISTS (SELECT 1 FROM {ref} AS r WHERE r.{q(ref_col)} = t.{q(col)}) "
            "ORDER BY 1 LIMIT 5").fetchall()]
    total, dangling = int(total or 0), int(dangling or 0)
    judged = rate_judged(dangling, total, min_rows)
    rate = dangling / total if total else 0.0
    basis = (f"not judged: {total} rows < {min_rows}" if total < min_rows else
             f"95% lower bound {judged:.2%}")
    return {"observed": judged, "max": float(warn if warn is not None else error),
            "signature": _sig(sample) if dangling else "",
            "details": {"rows": total, "dangling": dangling, "rate": rate, "judged_rate": judged,
                        "min_rows": min_rows, "ref": f"{p['ref']}.{ref_col}", "sample": sample},
            "message": (f"{label}.{col}: {dangling} of {total} rows name no {p['ref']}.{ref_col} "
                        f"({rate:.2%}, {basis}; {limits(warn, error)}); e.g. {sample}")}


def _shrunk_deliveries(con, t: str, max_drop: float, min_rows: int, label: str) -> dict:
    """Files whose current version lands far fewer rows than the version it replaced.

    A new version of a known path replaces the old one's rows (landing.py), so a truncated or
    empty re-export would silently take records out of the marts: a fact on the manifest's
    `previous_rows_landed` (the replaced version's landed rows)."""
    rows = con.execute(
        f"SELECT path, previous_rows_landed, coalesce(rows_landed, 0) FROM {t} "
        "WHERE status <> 'superseded' AND status <> 'duplicate_delivery' "
        "AND previous_rows_landed >= ? AND coalesce(rows_landed, 0) < previous_rows_landed * ? "
        "ORDER BY path", [min_rows, 1 - max_drop]).fetchall()
    shown = [f"{path} {int(prev)} -> {int(now)} rows" for path, prev, now in rows]
    return {"observed": float(len(rows)), "max": 0.0,
            "signature": _sig([list(map(str, r)) for r in rows]) if rows else "",
            "details": {"files": [{"path": path, "previous_rows_landed": int(prev),
                                   "rows_landed": int(now)} for path, prev, now in rows[:50]]},
            "message": (f"{label}: {len(rows)} re-delivered files land less than "
                        f"{1 - max_drop:.0%} of the rows of the version they replace "
                        f"(their other rows would leave the marts): {shown[:5]}. Re-deliver the "
                        "complete file, or accept the smaller one with a check override.")}


def _coded_fact(con, schema: str, name: str, spec: ExpectationSpec, t: str) -> dict:
    """Spellings of one coded field the conformance left NULL, with counts and an example
    file and line: a dictionary gap (unknown spelling) or a conformance fault (a spelling
    the dictionary knows, per `known_keys`)."""
    from orchestration.lib.dictionary.normalize import lookup_key

    col, aux = spec.columns[0], spec.columns[1]
    if spec.params.get("flag") == "is_known":  # a unit field: the spelling is the column
        where, shown = f"{q(col)} IS NOT NULL AND NOT coalesce({q(aux)}, false)", q(col)
    else:
        where, shown = f"{q(col)} IS NULL AND {q(aux)} IS NOT NULL", q(aux)
    cols = _table_columns(con, schema, name) or []
    lineage = ("min(_source_file), min(_source_row)" if "_source_row" in cols
               and "_source_file" in cols else "NULL, NULL")
    rows = con.execute(f"SELECT CAST({shown} AS VARCHAR), count(*), {lineage} FROM {t} "
                       f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    if spec.kind == "conformance":
        known = set(spec.params.get("known_keys") or [])
        rows = [r for r in rows if lookup_key(r[0]) in known]
    n = sum(r[1] for r in rows)
    sample = [{"value": r[0], "rows": int(r[1]), "example_file": r[2],
               "example_row": r[3]} for r in rows[:10]]
    shown_vals = ", ".join(f"{r[0]!r} x{r[1]}" for r in rows[:5])
    if spec.kind == "dictionary_gap":
        message = (f"{schema}.{name}.{col}: {len(rows)} spelling(s) the dictionary does not know "
                   f"yet, in {n} rows (kept, {col} NULL until the spelling is added): "
                   f"{shown_vals}")
    else:
        message = (f"{schema}.{name}.{col}: {n} rows have a spelling the dictionary knows but "
                   f"{col} came out NULL (a conformance fault): {shown_vals}")
    # one alert per field while the gap lasts (not one per new spelling or count)
    return {"observed": float(n), "max": 0.0, "details": {"values": sample,
            "distinct_values": len(rows), "rows": int(n)}, "message": message,
            "signature": "gap" if rows and spec.kind == "dictionary_gap" else ""}


def _fact_outcome(info: dict, gx_passed: bool, asset: str) -> CheckOutcome:
    spec: ExpectationSpec = info["spec"]
    severity, signature = spec.severity, info.get("signature") or ("" if gx_passed else "failed")
    if spec.kind in ("missing_rate", "referential"):
        err = spec.params.get("error")
        over_error = err is not None and info["observed"] > float(err)
        severity = (ERROR if over_error else WARN) if not gx_passed else spec.severity
        signature = "" if gx_passed else ("error" if over_error else "warn")
    if gx_passed:
        signature = ""
    return CheckOutcome(
        check_name=spec.name, asset=asset, severity=severity, passed=gx_passed,
        observed_value=info["observed"], threshold=_threshold(spec),
        message="ok" if gx_passed else info.get("message", ""), signature=signature,
        kind=spec.kind, details=info.get("details", {}) | {"checked_at": datetime.now(
            UTC).isoformat()})
