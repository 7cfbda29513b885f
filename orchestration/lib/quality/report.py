"""The governance report: one static HTML page, `<home>/reports/index.html`.

Built from the governance tables (check_results, alerts, quarantine, dictionary_gaps,
file_manifest); shows the latest run, check results and quarantine over time as charts
(Plotly, plotly.js inlined), and links into the GX Data Docs (`validation/index.html`, rebuilt
here), the dictionary page and the quality dashboard (`dashboard.html`). No network: it opens
from disk.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.dashboard import plotly_script
from orchestration.lib.quality.advice import action_for, group_gaps, owner_of, owners_by_system
from orchestration.lib.quality.docs_offline import make_offline
from orchestration.lib.quality.model import ROW_KINDS
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

log = logging.getLogger("qualitrace.report")
TREND_RUNS = 20
DICTIONARY_PAGES = ("dictionary.html", "dictionary/index.html")  # `qualitrace dictionary`


def e(v) -> str:
    return html.escape("" if v is None else str(v))


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 else f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"
    return str(v)


def _table(headers: list[str], rows: list, cls: str = "", empty: str = "none") -> str:
    if not rows:
        return f'<p class="empty {cls}">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f"<td>{c if isinstance(c, Markup) else e(_fmt(c))}</td>" for c in r) + "</tr>"
        for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Markup(str):
    """Already-escaped HTML for a table cell."""


def _has(con, schema: str, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                       "AND table_name = ?", [schema, name]).fetchone()[0] > 0


def _cols(con, schema: str, name: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ?", [schema, name]).fetchall()}


def gather(con) -> dict:
    """Everything the page shows, as plain Python values."""
    d: dict = {"runs": [], "latest": [], "alerts": [], "quarantine": None, "gaps": None,
               "redelivered": None, "missing": [], "duplicates": []}
    if _has(con, "governance", "check_results"):
        d["runs"] = con.execute(f"""
            SELECT run_id, min(checked_at) AS started, count(*) AS checks,
                   count(*) FILTER (WHERE passed) AS passed,
                   count(*) FILTER (WHERE NOT passed AND severity = 'WARN') AS warn_failed,
                   count(*) FILTER (WHERE NOT passed AND severity = 'ERROR') AS error_failed
            FROM governance.check_results GROUP BY run_id ORDER BY started DESC
            LIMIT {TREND_RUNS}""").fetchall()
        if d["runs"]:
            latest = d["runs"][0][0]
            d["latest"] = con.execute("""
                SELECT asset, check_name, severity, passed, observed_value, threshold, message,
                       kind
                FROM governance.check_results WHERE run_id = ?
                ORDER BY passed, CASE severity WHEN 'ERROR' THEN 0 ELSE 1 END, asset,
                         check_name""", [latest]).fetchall()
            d["missing"] = [r for r in d["latest"] if r[7] == "missing_rate"]
            d["duplicates"] = [r for r in d["latest"]
                               if r[7] in ("duplicate_entries", "redelivered_files", "unique")]
    if _has(con, "governance", "alerts"):
        d["alerts"] = con.execute("""
            SELECT severity, check_name, asset, message, first_seen, last_seen, occurrences,
                   resolved_at
            FROM governance.alerts ORDER BY resolved_at IS NOT NULL,
                 CASE severity WHEN 'ERROR' THEN 0 ELSE 1 END, last_seen DESC
            LIMIT 200""").fetchall()
    if _has(con, "governance", "quarantine"):
        d["quarantine"] = con.execute("""
            SELECT system, entity, reason_code, count(*) AS rows_quarantined
            FROM governance.quarantine GROUP BY ALL ORDER BY rows_quarantined DESC, 1, 2, 3
            """).fetchall()
        if "quarantined_at" in _cols(con, "governance", "quarantine"):
            d["quarantine_days"] = con.execute("""
                SELECT cast(quarantined_at AS date) AS day, reason_code, count(*) AS rows
                FROM governance.quarantine WHERE quarantined_at IS NOT NULL
                GROUP BY ALL ORDER BY 1, 2""").fetchall()
    if _has(con, "governance", "dictionary_gaps"):
        d["gaps"] = con.execute("""
            SELECT field, value_seen, occurrences, first_seen, example_file
            FROM governance.dictionary_gaps ORDER BY occurrences DESC, field, value_seen
            LIMIT 200""").fetchall()
        gcols = _cols(con, "governance", "dictionary_gaps")
        system = "system" if "system" in gcols else "split_part(example_file, '/', 1)"
        entity = "entity" if "entity" in gcols else "NULL"
        kind = "gap_kind" if "gap_kind" in gcols else "'unknown_' || field"
        d["gap_rows"] = con.execute(f"""
            SELECT {system}, {entity}, field, {kind}, value_seen, occurrences, example_file
            FROM governance.dictionary_gaps""").fetchall()
    if _has(con, "governance", "file_manifest"):
        cols = _cols(con, "governance", "file_manifest")
        sys_col = "system" if "system" in cols else "split_part(path, '/', 1)"
        d["redelivered"] = con.execute(f"""
            SELECT {sys_col} AS system, entity, count(*) AS files,
                   count(*) FILTER (WHERE status = 'duplicate_delivery') AS redelivered,
                   coalesce(sum(rows_read), 0) AS rows_read,
                   coalesce(sum(rows_quarantined), 0) AS rows_quarantined
            FROM governance.file_manifest GROUP BY ALL ORDER BY 1, 2""").fetchall()
    return d


def _checks_chart(runs: list) -> str:
    """Stacked bars per run (oldest left): passed / WARN failed / ERROR failed."""
    if not runs:
        return ""
    from orchestration.lib.dashboard import Chart, figure_div, style

    runs = list(reversed(runs))
    x = [str(r[0]) for r in runs]
    fig = Chart()
    for i, name, colour in ((3, "passed", "#2e7d32"), (4, "WARN failed", "#f9a825"),
                            (5, "ERROR failed", "#c62828")):
        fig.add_bar(x=x, y=[r[i] for r in runs], name=name, marker_color=colour)
    style(fig, "Check results per run", barmode="stack", xaxis_title="run",
          yaxis_title="checks", height=320)
    return figure_div(fig, "chart-checks-trend")


def _quarantine_chart(days: list | None) -> str:
    """Rows quarantined per day, stacked by reason."""
    if not days:
        return ""
    from orchestration.lib.dashboard import Chart, figure_div, style

    fig = Chart()
    for reason in sorted({r[1] for r in days}):
        pts = [r for r in days if r[1] == reason]
        fig.add_bar(x=[str(r[0]) for r in pts], y=[r[2] for r in pts], name=str(reason))
    style(fig, "Rows quarantined over time, by reason", barmode="stack", xaxis_title="day",
          yaxis_title="rows", height=320)
    return figure_div(fig, "chart-quarantine-trend")


def _docs_link(asset: str, docs: Path | None, kind: str | None = None) -> Markup:
    """Link an asset to its validation page in the Data Docs (or the docs index): the `facts`
    page for set-level checks (counts, rates, gaps), the `rows` page for row-level ones."""
    model = asset.split("/", 1)[-1]
    if docs is None:
        return Markup(e(asset))
    root = docs.parent
    # GX turns the suite name "<model>.rows" into the folder path "<model>/rows/"; a build
    # keeps one page per suite (the model's latest results)
    order = ("rows", "facts") if kind in ROW_KINDS else ("facts", "rows")
    pages = sorted((root / "validations" / model / order[0]).glob("**/*.html")) or sorted(
        (root / "validations" / model / order[1]).glob("**/*.html"))
    href = ("validation/" + pages[-1].relative_to(root).as_posix()) if pages \
        else "validation/index.html"
    return Markup(f'<a href="{e(href)}">{e(asset)}</a>')


RATIONALE = {  # data_dictionary/README.md, "Gate semantics"
    ("dictionary_gap", "WARN"): "an unknown spelling is a dictionary gap: the row is kept with "
                                "the canonical value NULL; add the spelling to the overlay",
    ("conformance", "ERROR"): "a spelling the dictionary knows came out NULL: a conformance "
                              "fault would make marts wrong",
    ("not_null", "ERROR"): "staging should have quarantined rows missing a required field: a "
                           "pipeline fault",
    ("unique", "ERROR"): "a business key would count twice in the marts",
    ("missing_rate", "ERROR"): "a required field is blank in more rows than its error threshold "
                               "allows (judged on enough rows)",
    ("missing_rate", "WARN"): "blank share over the warn threshold (an optional field never "
                              "blocks; judged on at least min_rows rows)",
    ("referential", "ERROR"): "so many references name nothing upstream that traces and "
                              "supplier attribution would be wrong (judged on enough rows)",
    ("referential", "WARN"): "some references name nothing upstream (an export window or a "
                             "missing master record): those rows drop out of traces",
    ("delivery_shrank", "ERROR"): "a re-delivered file would take most of its earlier rows "
                                  "out of the marts: re-deliver it whole, or accept it",
}


def rationale(kind: str | None, severity: str) -> str:
    """Why a failing check blocks or only warns, in one line."""
    if (kind, severity) in RATIONALE:
        return RATIONALE[(kind, severity)]
    return ("marked ERROR: it would make a published mart wrong (overridable per plant)"
            if severity == "ERROR" else "reported only: the run publishes")


def _gap_groups_html(d: dict) -> str:
    groups = group_gaps(d.get("gap_rows") or [], d.get("owners") or {})
    rows = [[g.system, g.entity, g.field, g.gap_kind, g.values, g.rows,
             ", ".join(f"{v} ×{n}" for v, n in g.examples) + (" …" if g.values > len(g.examples)
                                                              else ""),
             g.example_file, g.owner, g.fix] for g in groups]
    return _table(["system", "entity", "field", "kind", "values", "rows", "most frequent",
                   "example file", "owner", "suggested fix"], rows, "gap-groups",
                  "the dictionary knows every value seen")


def render_html(d: dict, docs: Path | None, dictionary_href: str | None,
                generated_at: datetime) -> str:
    latest = d["latest"]
    owners = d.get("owners") or {}
    run = d["runs"][0] if d["runs"] else None
    n_err = sum(1 for r in latest if not r[3] and r[2] == "ERROR")
    n_warn = sum(1 for r in latest if not r[3] and r[2] == "WARN")
    n_ok = sum(1 for r in latest if r[3])
    if run is None:
        verdict, vcls = "No quality run recorded yet", "none"
    elif n_err:
        verdict, vcls = (f"BLOCKED: {n_err} ERROR check(s) failed; the new marts were built "
                         f"but not published: the previously published ones stay"), "error"
    elif n_warn:
        verdict, vcls = f"PASSED with {n_warn} warning(s)", "warn"
    else:
        verdict, vcls = "PASSED: every check passed", "ok"
    failing = [[Markup(f'<span class="sev {e(r[2])}">{e(r[2])}</span>'), _docs_link(r[0], docs, r[7]),
                r[1], r[4], r[5], r[6], rationale(r[7], r[2]), owner_of(r[0], r[7], r[6], owners),
                action_for(r[7], r[2], r[1], r[6])] for r in latest if not r[3]]
    by_status = {}
    for r in latest:
        key = (r[0], "passed" if r[3] else f"{r[2]} failed")
        by_status[key] = by_status.get(key, 0) + 1
    assets = sorted({r[0] for r in latest})
    status_rows = [[_docs_link(a, docs), by_status.get((a, "passed"), 0),
                    by_status.get((a, "WARN failed"), 0), by_status.get((a, "ERROR failed"), 0)]
                   for a in assets]
    trend_rows = [[r[0], r[1], r[2], r[3], r[4], r[5]] for r in d["runs"]]
    open_alerts = [[Markup(f'<span class="sev {e(a[0])}">{e(a[0])}</span>'), a[1], a[2], a[3],
                    a[4], a[5], a[6]] for a in d["alerts"] if a[7] is None]
    resolved = [[a[0], a[1], a[2], a[4], a[7], a[6]] for a in d["alerts"] if a[7] is not None]
    missing_rows = [[r[0], r[1].removeprefix("missing_rate__").removeprefix("missing_required__"),
                     f"{r[4]:.2%}" if r[4] is not None else "", r[5],
                     "ok" if r[3] else f"{r[2]} failed"] for r in d["missing"]]
    dup_rows = [[r[0], r[1], r[4], r[5], "ok" if r[3] else f"{r[2]} failed"]
                for r in d["duplicates"]]
    links = ['<a id="dashboard-link" href="dashboard.html">Quality dashboard 质量看板</a>',
             '<a id="dbt-docs-link" href="docs/index.html">Models and columns (dbt docs)</a>']
    if docs is not None:
        links.append('<a id="data-docs-link" href="validation/index.html">'
                     'Great Expectations Data Docs</a>')
    if dictionary_href:
        links.append(f'<a id="dictionary-link" href="{e(dictionary_href)}">Data dictionary</a>')
    q = d["quarantine"]
    quarantine = ('<p class="empty">governance.quarantine not built yet</p>' if q is None else
                  _table(["system", "entity", "reason", "rows quarantined"], q, "quarantine",
                         "no rows quarantined"))
    total_q = sum(r[3] for r in q) if q else 0
    gaps = ('<p class="empty">governance.dictionary_gaps not built yet</p>' if d["gaps"] is None
            else _gap_groups_html(d) + f'<details><summary>Every value ({len(d["gaps"])} most '
            'frequent)</summary>' + _table(["field", "value seen", "occurrences", "first seen",
                                            "example file"], d["gaps"], "gaps",
                                           "the dictionary knows every value seen")
            + '</details>')
    if d.get("suggestions"):
        gaps += (f'<p>Suggested additions, in the plant overlay format: <a href="'
                 f'{e(d["suggestions"])}">{e(d["suggestions"])}</a> (review, then copy to '
                 f'<code>&lt;home&gt;/dictionary/</code>; see <code>qualitrace dictionary '
                 f'suggest</code>).</p>')
    manifest = ("" if d["redelivered"] is None else _table(
        ["system", "entity", "files", "re-delivered", "rows read", "rows quarantined"],
        d["redelivered"], "manifest"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Qualitrace governance report</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 1.5em 2em; color: #222; }}
h1 {{ margin-bottom: .2em; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .5em 0; }}
th, td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }} td {{ max-width: 60em; overflow-wrap: anywhere; }}
.verdict {{ padding: .6em 1em; font-weight: 600; display: inline-block; }}
.verdict.ok {{ background: #e8f5e9; }} .verdict.warn {{ background: #fff8e1; }}
.verdict.error {{ background: #ffebee; }} .verdict.none {{ background: #eee; }}
.sev.ERROR {{ color: #c62828; font-weight: 600; }} .sev.WARN {{ color: #a66d00; }}
.empty {{ color: #666; font-style: italic; }} nav a {{ margin-right: 1.5em; }}
</style>{plotly_script() if (d["runs"] or d.get("quarantine_days")) else ""}</head><body>
<h1>Qualitrace governance report</h1>
<p>Generated {e(generated_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}.
Latest run: <code id="latest-run">{e(run[0] if run else 'none')}</code>
{f'at {e(_fmt(run[1]))} UTC' if run else ''}</p>
<nav>{' '.join(links)}</nav>
<p id="verdict" class="verdict {vcls}">{e(verdict)}</p>
<p id="summary">Latest run: <b>{n_ok}</b> passed, <b>{n_warn}</b> WARN failed,
<b>{n_err}</b> ERROR failed; <b>{len(open_alerts)}</b> open alerts;
<b>{total_q}</b> rows quarantined.</p>

<h2 id="failing">Failing checks (latest run)</h2>
{_table(["severity", "asset", "check", "observed", "threshold", "message", "why it blocks / warns",
         "owner", "what to do"], failing, "failing", "no failing checks")}

<h2 id="checks-by-status">Checks by status (latest run)</h2>
{_table(["asset", "passed", "WARN failed", "ERROR failed"], status_rows, "status")}

<h2 id="trend">Trend (last {TREND_RUNS} runs)</h2>
{_checks_chart(d["runs"])}
{_table(["run", "started (UTC)", "checks", "passed", "WARN failed", "ERROR failed"],
        trend_rows, "trend")}

<h2 id="alerts">Open alerts</h2>
{_table(["severity", "check", "asset", "message", "first seen", "last seen", "occurrences"],
        open_alerts, "alerts", "no open alerts")}
<details><summary>Resolved alerts ({len(resolved)})</summary>
{_table(["severity", "check", "asset", "first seen", "resolved", "occurrences"], resolved,
        "resolved")}</details>

<h2 id="quarantine">Rows quarantined by reason</h2>
{_quarantine_chart(d.get("quarantine_days"))}
{quarantine}

<h2 id="dictionary-gaps">Dictionary gaps: values the dictionary does not know yet</h2>
{gaps}

<h2 id="duplicates">Duplicates per source</h2>
{_table(["asset", "check", "observed", "threshold", "status"], dup_rows, "duplicates",
        "no duplicate checks in the latest run")}
{manifest}

<h2 id="missing">Missing-field rates per source</h2>
{_table(["asset", "field", "missing rate", "thresholds", "status"], missing_rows, "missing",
        "no missing-rate checks in the latest run")}
</body></html>
"""


def _dictionary_href(reports: Path) -> str | None:
    for rel in DICTIONARY_PAGES:
        if (reports / rel).exists():
            return rel
    return DICTIONARY_PAGES[0]


def render_report(settings: Settings, build_docs: bool = True) -> Path:
    """Rebuild Data Docs and write `<home>/reports/index.html`; returns its path."""
    from orchestration.lib.quality import gx_engine

    reports = settings.reports
    reports.mkdir(parents=True, exist_ok=True)
    if settings.warehouse.exists():
        with connect(settings, read_only=True) as con:
            data = gather(con)
    else:
        data = gather_empty()
    docs_index = None
    if build_docs:
        try:
            docs_index = gx_engine.build_data_docs(settings.home, reports / "validation")
            if docs_index is not None:
                make_offline(docs_index.parent, _checks_by_model(data["latest"]))
        except Exception:
            log.exception("could not build GX Data Docs into %s", reports / "validation")
    if docs_index is None and (reports / "validation" / "index.html").exists():
        docs_index = reports / "validation" / "index.html"
    data["suggestions"] = _write_suggestions(settings) if settings.warehouse.exists() else None
    data["owners"] = _owners()
    page = render_html(data, docs_index, _dictionary_href(reports),
                       datetime.now(UTC))
    out = reports / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


def _checks_by_model(latest: list) -> dict[str, list[tuple]]:
    """model -> (severity, check, passed, observed, threshold, message) of the latest run."""
    out: dict[str, list[tuple]] = {}
    for asset, check, severity, passed, observed, threshold, message, _kind in latest:
        out.setdefault(asset.split("/", 1)[-1], []).append(
            (severity, check, passed, _fmt(observed), threshold, message))
    return out


def _owners() -> dict[str, str]:
    from orchestration.lib.dictionary.loader import current_dictionary

    try:
        return owners_by_system(current_dictionary())
    except Exception:
        log.exception("could not load the dictionary for owners")
        return {}


SUGGESTIONS = "dictionary_suggestions.yml"


def _write_suggestions(settings: Settings) -> str | None:
    """The `qualitrace dictionary suggest` patch for what this run found (from
    governance.dictionary_gaps), beside the report; its file name, or None."""
    from orchestration.lib.dictionary.loader import current_dictionary
    from orchestration.lib.dictionary.suggest import build_patch, profile_from_gaps, write_patch

    try:
        with connect(settings, read_only=True) as con:
            if not _has(con, "governance", "dictionary_gaps"):
                return None
            cols = _cols(con, "governance", "dictionary_gaps")
            row = "example_row" if "example_row" in cols else "NULL"
            gaps = con.execute(f"""
                SELECT system, entity, field, gap_kind, value_seen, occurrences, example_file,
                       {row} FROM governance.dictionary_gaps
                ORDER BY occurrences DESC, field, value_seen""").fetchall()
        d = current_dictionary()
        prof = profile_from_gaps(gaps, d)
        write_patch(build_patch(prof, d, settings.exports), prof, settings.exports,
                    settings.reports / SUGGESTIONS)
        return SUGGESTIONS
    except Exception:
        log.exception("could not write %s", SUGGESTIONS)
        return None


def gather_empty() -> dict:
    return {"runs": [], "latest": [], "alerts": [], "quarantine": None, "gaps": None,
            "redelivered": None, "missing": [], "duplicates": []}
