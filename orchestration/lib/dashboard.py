"""The quality dashboard: `<home>/reports/dashboard.html`, rebuilt after every publish.

One static page from the published marts: Pareto of problem types (current and previous
period), weekly trend with spikes marked, complaint rate by region, top suspects per problem
type (lift and confidence), SPC charts of the machines with violations, the open escalations and
the hold list. Every chart has its table under it and a link to the mart it comes from (the
Parquet copy beside the warehouse). Charts are Plotly figures (`Chart`: plain data, drawn by
plotly.js); plotly.js is inlined once, so
the page opens from disk with no network; labels are Chinese and English, drawn with the Noto
CJK fonts.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

if TYPE_CHECKING:  # pandas is imported when the dashboard is drawn (the code location loads
    import pandas as pd  # this module long before: see _pd)


def _pd():
    import pandas as pd

    return pd

log = logging.getLogger("qualitrace.dashboard")

FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
TOP_SUSPECTS = 3          # per problem type
MAX_PROBLEM_TYPES = 8     # problem types shown in the suspects chart (most complaints first)
MAX_SPC_CHARTS = 4
TABLE_ROWS = 50


@dataclass
class Panel:
    """One chart of the page: an element id, a title, the figure, the table under it and the
    mart it comes from."""
    panel_id: str
    title: str
    figure: Chart | None        # None when there is nothing to draw
    table: pd.DataFrame
    mart: str
    note: str = ""


def _read(con, schema: str, name: str, sql: str) -> pd.DataFrame | None:
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = ? and table_name = ?", [schema, name]).fetchone()[0]
    return con.execute(sql).df() if exists else None


def _mart(con, panel_id: str, title: str, mart: str, sql: str, note: str = ""
          ) -> tuple[pd.DataFrame | None, Panel | None]:
    """(rows of marts.<mart>, None), or (None, an empty panel) when it is missing or empty."""
    df = _read(con, "marts", mart, sql)
    if df is None or df.empty:
        return None, Panel(panel_id, title, None, _pd().DataFrame(), mart, note)
    return df, None


class Chart:
    """A Plotly figure as plain data (traces and layout), drawn by plotly.js like the
    `plotly.graph_objects.Figure` it replaces: building those validates every property
    against plotly's schema, about 40 ms a chart and 0.4 s for the charts of one run.
    Properties use plotly's names; `a_b=v` means `a: {b: v}` as in plotly.py, and a title
    given as a string is `{text: ...}`."""

    def __init__(self, *traces: dict):
        self.data = list(traces)
        self.layout: dict = {}

    def add_bar(self, **props) -> Chart:
        self.data.append(trace("bar", **props))
        return self

    def add_scatter(self, **props) -> Chart:
        self.data.append(trace("scatter", **props))
        return self

    def update_layout(self, **props) -> Chart:
        _merge(self.layout, _expand(props))
        return self

    def to_dict(self) -> dict:
        return {"data": self.data, "layout": self.layout}


def trace(kind: str, **props) -> dict:
    """One trace of a Chart: `trace("bar", x=..., y=..., marker_color="#1565c0")`."""
    return {"type": kind, **_expand(props)}


def _expand(props: dict) -> dict:
    out: dict = {}
    for key, value in props.items():
        path = key.split("_")
        if len(path) > 1 and path[0] in _COMPOUND:
            _merge(out, _nest(path, value))
        else:
            _merge(out, {key: _titled(key, value)})
    return out


_COMPOUND = {"xaxis", "yaxis", "marker", "line", "legend", "font", "margin"}


def _nest(path: list[str], value) -> dict:
    inner = {path[-1]: _titled(path[-1], value)}
    for part in reversed(path[:-1]):
        inner = {part: inner}
    return inner


def _titled(key: str, value):
    if key == "title" and isinstance(value, str):
        return {"text": value}
    if isinstance(value, dict):
        return {k: _titled(k, v) for k, v in value.items()}
    return value


def _merge(into: dict, more: dict) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


_TEMPLATE: dict = {}


def _template() -> dict:
    """plotly's `plotly_white` template as data (read once per process)."""
    if not _TEMPLATE:
        import plotly.io as pio

        _TEMPLATE.update(pio.templates["plotly_white"].to_plotly_json())
    return _TEMPLATE


def _colorscale(name: str) -> list:
    """A named plotly.py colour scale as [[position, colour], ...] (plotly.js's own scale of
    the same name differs)."""
    from plotly.colors import get_colorscale

    return get_colorscale(name)


def style(fig: Chart, title: str, **kw) -> Chart:
    """The one look of every chart (the governance report's too): CJK fonts, white theme."""
    kw.setdefault("height", 380)
    fig.update_layout(title=title, font={"family": FONT, "size": 13},
                      margin={"l": 60, "r": 30, "t": 60, "b": 100}, template=_template(),
                      legend={"orientation": "h", "y": -0.3}, **kw)
    return fig


def figure_div(fig: Chart, div_id: str) -> str:
    """A figure as a <div id=div_id> and its script; plotly.js comes from plotly_script()."""
    import plotly.io as pio

    return pio.to_html(fig.to_dict(), full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True}, validate=False)


def plotly_script() -> str:
    """plotly.js inlined (no CDN: the pages open offline)."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def pareto_panel(con) -> Panel:
    title = "问题类型帕累托 Pareto of problem types"
    df, empty = _mart(con, "chart-pareto", title, "problem_pareto",
                      "select period, problem_type_code, complaints, share, cumulative_share "
                      "from marts.problem_pareto order by period desc, complaints desc, "
                      "problem_type_code")
    if empty:
        return empty
    # the two latest months (period 'all' is every complaint; used only when no month is)
    months = sorted((p for p in df["period"].astype(str).unique() if p != "all"), reverse=True)
    periods = months[:2] or ["all"]
    current = df[df["period"].astype(str) == periods[0]]
    fig = Chart()
    fig.add_bar(x=current["problem_type_code"], y=current["complaints"],
                name=f"本期 current {periods[0]}", marker_color="#1565c0")
    if len(periods) > 1:
        prev = df[df["period"].astype(str) == periods[1]].set_index("problem_type_code")
        fig.add_bar(x=current["problem_type_code"],
                    y=prev["complaints"].reindex(current["problem_type_code"]).fillna(0),
                    name=f"上期 previous {periods[1]}", marker_color="#90caf9")
    fig.add_scatter(x=current["problem_type_code"], y=current["cumulative_share"] * 100,
                    name="累计占比 cumulative %", yaxis="y2", mode="lines+markers",
                    line={"color": "#c62828"})
    style(fig, title, barmode="group", xaxis_title="问题类型 problem type",
            yaxis_title="投诉数 complaints",
            yaxis2={"overlaying": "y", "side": "right", "range": [0, 105],
                    "title": "累计 % cumulative"})
    return Panel("chart-pareto", title, fig,
                 df[df["period"].astype(str).isin(periods)], "problem_pareto")


def trend_panel(con) -> Panel:
    title = "每周投诉趋势 Weekly complaint trend"
    df, empty = _mart(con, "chart-trend", title, "complaint_trend",
                      "select week, complaints, units_shipped, rate, is_spike from marts.complaint_trend "
                      "where dimension = 'all' order by week")
    if empty:
        return empty
    spikes = df[df["is_spike"].fillna(False).astype(bool)]
    fig = Chart()
    fig.add_scatter(x=df["week"], y=df["complaints"], mode="lines+markers",
                    name="投诉数 complaints", line={"color": "#1565c0"})
    fig.add_scatter(x=spikes["week"], y=spikes["complaints"], mode="markers",
                    name="异常峰值 spike", marker={"color": "#c62828", "size": 14,
                                                   "symbol": "star"})
    style(fig, title, xaxis_title="周 week", yaxis_title="投诉数 complaints")
    spike_rows = _read(con, "marts", "complaint_trend",
                       "select week, dimension, value, complaints, units_shipped, rate "
                       "from marts.complaint_trend where is_spike order by week desc, "
                       "complaints desc")
    note = "" if spike_rows is None or spike_rows.empty else (
        f"{len(spike_rows)} spikes in any dimension (product model, region, problem type).")
    return Panel("chart-trend", title, fig,
                 spike_rows if spike_rows is not None and len(spike_rows) else df.tail(12),
                 "complaint_trend", note)


def region_panel(con) -> Panel:
    title = "各地区投诉率 Complaint rate by region (ppm of units shipped)"
    df, empty = _mart(con, "chart-region", title, "complaint_trend",
                      "select value as region, sum(complaints) as complaints, "
                      "sum(units_shipped) as units_shipped, "
                      "1e6 * sum(complaints) / nullif(sum(units_shipped), 0) as complaint_ppm, "
                      "count(*) filter (where is_spike) as spike_weeks "
                      "from marts.complaint_trend where dimension = 'region' and value is not null "
                      "group by value order by complaint_ppm desc nulls last, region")
    if empty:
        return empty
    shown = df.dropna(subset=["complaint_ppm"]).iloc[::-1]
    fig = Chart(trace("bar", x=shown["complaint_ppm"], y=shown["region"], orientation="h",
                           marker_color="#00897b", name="ppm"))
    style(fig, title, xaxis_title="投诉 ppm complaints per million units",
            yaxis_title="地区 region")
    return Panel("chart-region", title, fig, df, "complaint_trend")


def suspects_panel(con) -> Panel:
    title = "各问题类型首要嫌疑 Top suspects per problem type (lift; confidence = 1 - q)"
    df, empty = _mart(con, "chart-suspects", title, "suspect_ranking",
                      "select problem_type_code, rank, suspect_kind, suspect_id, complaints_exposed, "
                      "units_exposed, lift, p_value, q_value from marts.suspect_ranking "
                      f"where rank is not null and rank <= {TOP_SUSPECTS} "
                      "order by problem_type_code, rank, suspect_kind, suspect_id")
    if empty:
        return empty
    busiest = (df.groupby("problem_type_code")["complaints_exposed"].max()
               .sort_values(ascending=False).head(MAX_PROBLEM_TYPES).index)
    df = df[df["problem_type_code"].isin(busiest)].copy()
    df["confidence"] = 1.0 - df["q_value"].fillna(df["p_value"]).clip(0, 1)
    df["label"] = (df["problem_type_code"] + " · " + df["suspect_kind"] + " "
                   + df["suspect_id"].astype(str))
    shown = df.iloc[::-1]
    fig = Chart(trace(
        "bar", x=shown["lift"], y=shown["label"], orientation="h", name="lift",
        marker={"color": shown["confidence"], "colorscale": _colorscale("Reds"),
                "cmin": 0, "cmax": 1,
                "colorbar": {"title": "置信度 confidence"}},
        customdata=shown[["complaints_exposed", "p_value", "confidence"]].to_numpy(),
        hovertemplate="%{y}<br>lift %{x:.2f}<br>complaints %{customdata[0]}"
                      "<br>p %{customdata[1]:.2g}<br>confidence %{customdata[2]:.3f}"
                      "<extra></extra>"))
    style(fig, title, xaxis_title="提升度 lift (exposed rate / unexposed rate)",
            height=max(380, 28 * len(df) + 120))
    return Panel("chart-suspects", title, fig,
                 df.drop(columns=["label"]), "suspect_ranking")


def spc_panels(con) -> list[Panel]:
    violations = _read(con, "marts", "spc_violations",
                       "select equipment_id, parameter, rule, window_start, window_end, "
                       "batch_codes from marts.spc_violations order by equipment_id, parameter, "
                       "window_start")
    title = "SPC 控制图 SPC chart"
    empty = Panel("chart-spc", title, None, _pd().DataFrame(), "spc_violations",
                  "No SPC violation in the published marts.")
    if violations is None or violations.empty:
        return [empty]
    pairs = (violations.groupby(["equipment_id", "parameter"]).size()
             .sort_values(ascending=False).head(MAX_SPC_CHARTS).index)
    series = _spc_series(con, list(pairs))
    panels = []
    for i, (equipment, parameter) in enumerate(pairs):
        sub = series.get((equipment, parameter))
        v = violations[(violations["equipment_id"] == equipment)
                       & (violations["parameter"] == parameter)]
        t = f"SPC 控制图 {equipment} · {parameter}"
        if sub is None or sub.empty:
            panels.append(Panel(f"chart-spc-{i}", t, None, v, "spc_violations"))
            continue
        cl, sigma = float(sub["center_line"].iloc[0]), float(sub["sigma"].iloc[0] or 0)
        flagged = in_any_window(sub["subgroup_start"], v["window_start"], v["window_end"])
        fig = Chart()
        fig.add_scatter(x=sub["subgroup_start"], y=sub["subgroup_mean"], mode="lines",
                        name="小时均值 hourly mean", line={"color": "#455a64", "width": 1})
        for y, name, dash in ((cl, "中心线 centre", "solid"), (cl + 3 * sigma, "UCL +3σ", "dash"),
                              (cl - 3 * sigma, "LCL -3σ", "dash")):
            fig.add_scatter(x=[sub["subgroup_start"].iloc[0], sub["subgroup_start"].iloc[-1]],
                            y=[y, y], mode="lines", name=name,
                            line={"color": "#2e7d32" if dash == "solid" else "#ef6c00",
                                  "dash": dash})
        fig.add_scatter(x=sub.loc[flagged, "subgroup_start"],
                        y=sub.loc[flagged, "subgroup_mean"], mode="markers",
                        name="违规 violation", marker={"color": "#c62828", "size": 8})
        style(fig, t, xaxis_title="时间 time", yaxis_title=str(parameter))
        panels.append(Panel(f"chart-spc-{i}", t, fig, v, "spc_violations"))
    return panels


def _spc_series(con, pairs: list[tuple]) -> dict[tuple, pd.DataFrame]:
    """The hourly subgroups of each charted (equipment, parameter), read in one query."""
    if not pairs:
        return {}
    wanted = " or ".join(f"(equipment_id = '{_sql(e)}' and parameter = '{_sql(p)}')"
                         for e, p in pairs)
    rows = _read(con, "intermediate", "int_spc_subgroups",
                 "select equipment_id, parameter, subgroup_start, subgroup_mean, center_line, "
                 f"sigma from intermediate.int_spc_subgroups where {wanted} "
                 "order by equipment_id, parameter, subgroup_start")
    if rows is None:
        return {}
    return {key: part.drop(columns=["equipment_id", "parameter"]).reset_index(drop=True)
            for key, part in rows.groupby(["equipment_id", "parameter"], sort=False)}


def in_any_window(times: pd.Series, starts: pd.Series, ends: pd.Series) -> pd.Series:
    """For each time, whether some window [start, end] (both ends included) holds it.
    Sorted by start, the windows opened at or before a time reach as far as the largest end
    among them: one search per time instead of one comparison per window and time."""
    import numpy as np

    pd = _pd()
    known = starts.notna() & ends.notna()  # a window without both ends holds nothing
    starts, ends = starts[known], ends[known]
    order = np.argsort(starts.to_numpy(), kind="stable")
    sorted_starts = starts.to_numpy()[order]
    if len(sorted_starts) == 0:
        return pd.Series(False, index=times.index)
    reach = np.maximum.accumulate(ends.to_numpy()[order])
    opened = np.searchsorted(sorted_starts, times.to_numpy(), side="right")
    covered = np.zeros(len(times), dtype=bool)
    some = opened > 0
    covered[some] = reach[opened[some] - 1] >= times.to_numpy()[some]
    return pd.Series(covered, index=times.index)


def escalations_panel(con) -> Panel:
    title = "未关闭升级 Open escalations"
    df, empty = _mart(con, "chart-escalations", title, "escalations",
                      "select rule, escalation_key, severity, complaints, window_start, window_end, "
                      "first_seen, last_seen, summary from marts.escalations where status = 'open' "
                      "order by severity, last_seen desc", "No open escalation.")
    if empty:
        return empty
    per_rule = df.groupby(["rule", "severity"], as_index=False)["complaints"].sum()
    fig = Chart(trace("bar", x=per_rule["rule"], y=per_rule["complaints"],
                           text=per_rule["severity"], marker_color="#6a1b9a", name="complaints"))
    style(fig, title, xaxis_title="规则 rule", yaxis_title="涉及投诉 complaints")
    return Panel("chart-escalations", title, fig, df, "escalations")


def holds_panel(con) -> Panel:
    title = "待扣留清单 Hold list (units in stock, in transit, in the field)"
    df, empty = _mart(con, "chart-holds", title, "hold_list",
                      "select suspect_kind, suspect_id, batch_code, material_lot, units_in_stock, "
                      "units_in_transit, units_in_field, reason, first_seen from marts.hold_list "
                      "order by suspect_kind, suspect_id, batch_code", "Nothing to hold.")
    if empty:
        return empty
    per = (df.assign(suspect=df["suspect_kind"] + " " + df["suspect_id"].astype(str))
           .groupby("suspect", as_index=False)[["units_in_stock", "units_in_transit",
                                                 "units_in_field"]].sum())
    fig = Chart()
    for col, name, colour in (("units_in_stock", "在库 in stock", "#2e7d32"),
                              ("units_in_transit", "在途 in transit", "#f9a825"),
                              ("units_in_field", "已交付 in the field", "#c62828")):
        fig.add_bar(x=per["suspect"], y=per[col], name=name, marker_color=colour)
    style(fig, title, barmode="stack", xaxis_title="嫌疑 suspect", yaxis_title="件数 units")
    return Panel("chart-holds", title, fig, df, "hold_list")


def _sql(v) -> str:
    return str(v).replace("'", "''")


def panels(con) -> list[Panel]:
    return [pareto_panel(con), trend_panel(con), region_panel(con), suspects_panel(con),
            *spc_panels(con), escalations_panel(con), holds_panel(con)]


def _table_html(df: pd.DataFrame) -> str:
    if df is None or df.empty:
        return '<p class="empty">无数据 no rows</p>'
    shown = df.head(TABLE_ROWS)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False))
    more = (f'<p class="more">{len(df) - TABLE_ROWS} more rows in the mart</p>'
            if len(df) > TABLE_ROWS else "")
    return (f'<div class="rows"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            f"</table></div>{more}")


def _cell(v) -> str:
    pd = _pd()
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render_page(all_panels: list[Panel], marts_href: str, generated: datetime) -> str:
    sections = []
    nav = []
    for p in all_panels:
        nav.append(f'<a href="#{p.panel_id}">{html.escape(p.title)}</a>')
        chart = (figure_div(p.figure, p.panel_id) if p.figure is not None else
                 f'<div id="{p.panel_id}" class="nochart">无图 nothing to draw</div>')
        link = f"{marts_href}/{p.mart}.parquet"
        note = f'<p class="note">{html.escape(p.note)}</p>' if p.note else ""
        sections.append(
            f'<section class="panel" data-mart="{p.mart}"><h2>{html.escape(p.title)}</h2>'
            f'{chart}{note}<p class="source">来源 source: <a href="{html.escape(link)}">'
            f'marts.{p.mart}</a></p>{_table_html(p.table)}</section>')
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>质量看板 Qualitrace quality dashboard</title>
<style>
body {{ font-family: {FONT}; margin: 1.5rem; color: #222; }}
nav a {{ margin-right: 1rem; font-size: .9rem; }}
.panel {{ margin: 2rem 0; border-top: 1px solid #ddd; padding-top: 1rem; }}
table {{ border-collapse: collapse; font-size: .8rem; margin-top: .5rem; }}
th, td {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; }}
th {{ background: #f5f5f5; position: sticky; top: 0; }}
.rows {{ max-height: 22rem; overflow: auto; display: inline-block; }}
.empty, .note, .more, .nochart {{ color: #666; font-size: .85rem; }}
</style>
{plotly_script()}
</head><body>
<h1>质量看板 Quality dashboard</h1>
<p>Generated {generated:%Y-%m-%d %H:%M} UTC from the published marts.
<a href="index.html">治理报告 Governance report</a></p>
<nav>{"".join(nav)}</nav>
{"".join(sections)}
</body></html>
"""


def render_dashboard(settings: Settings) -> Path:
    """Write `<home>/reports/dashboard.html` from the published marts; returns its path."""
    reports = settings.reports
    reports.mkdir(parents=True, exist_ok=True)
    if settings.warehouse.exists():
        with connect(settings, read_only=True) as con:
            all_panels = panels(con)
    else:
        all_panels = []
    marts_href = Path(_relative(settings.parquet_dir, reports)).as_posix()
    page = render_page(all_panels, marts_href, datetime.now(UTC))
    out = reports / "dashboard.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    log.info("dashboard written: %s (%d charts)", out, len(all_panels))
    return out


def _relative(target: Path, start: Path) -> str:
    import os

    try:
        return os.path.relpath(target, start)
    except ValueError:  # another drive
        return target.resolve().as_uri()
