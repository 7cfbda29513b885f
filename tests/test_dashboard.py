"""The quality dashboard (`<home>/reports/dashboard.html`) opened in headless Chromium.

A hand-made warehouse holds the published marts the page reads; the page must open offline
(no request outside file://, no console error), draw every chart (asserted by element id), show
Chinese labels, put each chart's table under it and link the mart it comes from. The pipeline
test at the end checks that a real run rebuilds it after publishing.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.lib.dashboard import in_any_window, render_dashboard
from orchestration.lib.quality.report import render_report
from orchestration.lib.settings import get_settings
from tests.support.browser import browser, visit

CHARTS = ("chart-pareto", "chart-trend", "chart-region", "chart-suspects", "chart-spc-0",
          "chart-escalations", "chart-holds")
T0 = dt.datetime(2024, 6, 3, 8, 0)
# Two different Chinese characters drawn in the page's font: with no CJK font both come out as
# the same empty box, so their pixels are identical.
GLYPHS_DIFFER = """(() => {
  const font = '32px ' + getComputedStyle(document.body).fontFamily;
  const draw = (ch) => { const c = document.createElement('canvas'); c.width = c.height = 40;
    const x = c.getContext('2d'); x.font = font; x.fillText(ch, 2, 32);
    return Array.from(x.getImageData(0, 0, 40, 40).data).join(','); };
  return draw('质') !== draw('量');
})()"""


def write_marts(con) -> None:
    con.execute("create schema marts; create schema intermediate")
    con.execute("""create table marts.problem_pareto as select * from (values
        ('2024-06', 'QD05', 40, 0.5, 0.5), ('2024-06', 'QD04', 30, 0.375, 0.875),
        ('2024-06', 'SF01', 10, 0.125, 1.0), ('2024-05', 'QD05', 12, 0.4, 0.4),
        ('2024-05', 'QD04', 18, 0.6, 1.0), ('all', 'QD05', 52, 0.47, 0.47))
        t(period, problem_type_code, complaints, share, cumulative_share)""")
    con.execute("""create table marts.complaint_trend as
        select week, 'all' as dimension, 'all' as value, complaints, 10000 as units_shipped,
               complaints / 10000.0 as rate, complaints > 30 as is_spike
        from (select date '2024-04-01' + cast(7 * i as integer) as week,
                     cast(5 + (i = 6)::int * 40 as integer) as complaints
              from range(10) t(i))
        union all
        select date '2024-05-06', 'region', r, c, 5000, c / 5000.0, false
        from (values ('华南', 30), ('华北', 8), ('西南', 3)) v(r, c)""")
    con.execute("""create table marts.suspect_ranking as select * from (values
        ('QD05', 1, 'line+shift', 'L03+night', 96, 24000, 5.1, 1e-30, 1e-28),
        ('QD05', 2, 'line', 'L03', 110, 72000, 2.9, 1e-20, 1e-18),
        ('QD04', 1, 'supplier_lot', 'ML-BAD', 23, 5000, 11.5, 1e-12, 1e-10))
        t(problem_type_code, rank, suspect_kind, suspect_id, complaints_exposed, units_exposed,
          lift, p_value, q_value)""")
    con.execute("""create table marts.spc_violations as select * from (values
        ('E3', 'temperature', 'WE1', timestamp '2024-06-03 14:00', timestamp '2024-06-03 15:00',
         '20240603-L02-001')) t(equipment_id, parameter, rule, window_start, window_end,
         batch_codes)""")
    con.execute(f"""create table intermediate.int_spc_subgroups as
        select 'E3' as equipment_id, 'temperature' as parameter,
               timestamp '{T0:%Y-%m-%d %H:%M}' + to_hours(i) as subgroup_start,
               case when i = 6 then 262.0 else 245.0 + (i % 3) end as subgroup_mean,
               246.0 as center_line, 4.0 as sigma from range(24) t(i)""")
    con.execute("""create table marts.escalations as select * from (values
        ('safety_immediate', 'SF01|M1', 'critical', 3, timestamp '2024-06-01',
         timestamp '2024-06-03', timestamp '2024-06-03', timestamp '2024-06-03',
         '3 safety complaints on M1 (冒烟)', 'open')) t(rule, escalation_key, severity, complaints,
         window_start, window_end, first_seen, last_seen, summary, status)""")
    con.execute("""create table marts.hold_list as select * from (values
        ('line+shift', 'L03+night', '20240603-L03-009', null, 200, 300, 500,
         'ranked first for QD05', timestamp '2024-06-03'))
        t(suspect_kind, suspect_id, batch_code, material_lot, units_in_stock, units_in_transit,
          units_in_field, reason, first_seen)""")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard")
    s = get_settings(tmp / "home", tmp / "exports").ensure()
    con = duckdb.connect(str(s.warehouse))
    write_marts(con)
    con.close()
    return s


def test_every_chart_renders_offline_with_chinese_labels(home, tmp_path):
    page = render_dashboard(home)
    assert page == home.reports / "dashboard.html"
    with browser() as b:
        v = visit(b, page, screenshot=tmp_path / "dashboard.png", settle_ms=1500,
                  evaluate=GLYPHS_DIFFER)
    assert v.console_errors == [] and v.page_errors == [], v.console_errors + v.page_errors
    assert v.external_requests == [], v.external_requests
    for chart in CHARTS:
        # a drawn Plotly chart: the div carries the rendered SVG of the plot
        assert f'id="{chart}"' in v.html, chart
    assert v.html.count('class="main-svg"') >= len(CHARTS)  # Plotly drew each one
    for label in ("问题类型帕累托", "每周投诉趋势", "各地区投诉率", "SPC 控制图 E3", "未关闭升级",
                  "待扣留清单", "华南"):
        assert label in v.html, label
    assert v.evaluated is True, "Chinese renders as empty boxes: run `make browser` (CJK fonts)"
    # each chart: its table and a link to the mart it comes from
    for mart in ("problem_pareto", "complaint_trend", "suspect_ranking", "spc_violations",
                 "escalations", "hold_list"):
        assert f'href="../marts/{mart}.parquet"' in v.html, mart
    # Pareto: the latest month against the one before, never the all-time period
    assert "本期 current 2024-06" in v.html and "上期 previous 2024-05" in v.html
    assert "L03+night" in v.html and "ML-BAD" in v.html and "20240603-L03-009" in v.html
    assert (tmp_path / "dashboard.png").stat().st_size > 20_000


def test_an_empty_warehouse_still_gives_a_page(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    duckdb.connect(str(s.warehouse)).close()
    page = render_dashboard(s)
    text = page.read_text(encoding="utf-8")
    assert 'id="chart-pareto"' in text and "nothing to draw" in text


def test_the_governance_report_links_the_dashboard_and_charts_history(home, tmp_path):
    con = duckdb.connect(str(home.warehouse))
    con.execute("create schema governance")
    con.execute("""create table governance.check_results as select * from (values
        ('run-1', timestamp '2024-06-02 08:00', 'not_null__id', 'staging/x', 'ERROR', true, 0.0,
         '0', null, 'not_null'),
        ('run-2', timestamp '2024-06-03 08:00', 'not_null__id', 'staging/x', 'ERROR', false,
         2.0, '0', 'two blank ids', 'not_null'))
        t(run_id, checked_at, check_name, asset, severity, passed, observed_value, threshold,
          message, kind)""")
    con.execute("""create table governance.quarantine as select * from (values
        ('crm', 'complaints', 'crm/complaints_20240602.csv', 4, 'missing_required_field', 'no id',
         '{}', timestamp '2024-06-02 08:00'),
        ('crm', 'complaints', 'crm/complaints_20240603.csv', 7, 'malformed_row', 'x', '{}',
         timestamp '2024-06-03 08:00'))
        t(system, entity, source_file, source_row, reason_code, detail, raw_record,
          quarantined_at)""")
    con.close()
    report = render_report(home, build_docs=False)
    with browser() as b:
        v = visit(b, report, settle_ms=1000)
    assert v.console_errors == [] and v.page_errors == [] and v.external_requests == []
    assert 'id="dashboard-link" href="dashboard.html"' in v.html
    for chart in ("chart-checks-trend", "chart-quarantine-trend"):
        assert f'id="{chart}"' in v.html, chart
    assert v.html.count('class="main-svg"') >= 2


def test_a_chart_holds_what_plotly_py_would_validate_it_to():
    """Chart (plain data) against plotly.py's validated Figure built with the same calls:
    same layout (`a_b=` names nested, string titles as {text}, the white template), same
    trace properties, arrays aside (plotly.py encodes them as typed arrays)."""
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    from orchestration.lib.dashboard import Chart, style, trace

    def build(new_figure, bar):
        fig = new_figure(bar(x=["QD05", "QD04"], y=[3, 1], name="本期 current",
                             marker_color="#1565c0", orientation="v"))
        fig.add_scatter(x=["QD05", "QD04"], y=[75.0, 100.0], name="累计 cumulative",
                        yaxis="y2", mode="lines+markers", line={"color": "#c62828"})
        style(fig, "帕累托 Pareto", barmode="group", xaxis_title="问题 problem",
              yaxis2={"overlaying": "y", "side": "right", "title": "累计 %"})
        return json.loads(pio.to_json(fig if isinstance(fig, go.Figure) else fig.to_dict(),
                                      validate=False))

    ours = build(Chart, lambda **kw: trace("bar", **kw))
    plotly = build(go.Figure, go.Bar)
    assert ours["layout"] == plotly["layout"]
    for mine, theirs in zip(ours["data"], plotly["data"], strict=True):
        assert {k: v for k, v in mine.items() if k not in ("x", "y")} == \
               {k: v for k, v in theirs.items() if k not in ("x", "y")}


@settings(deadline=None)  # the first example imports pandas
@given(st.lists(st.integers(0, 60), max_size=30),
       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20),
                          st.booleans()), max_size=12))
def test_a_subgroup_is_flagged_when_some_violation_window_holds_it(hours, windows):
    """The SPC chart's red points: a subgroup inside any window (both ends included),
    as one `between` per window would mark it; a window missing an end holds nothing."""
    import pandas as pd

    times = pd.Series([T0 + dt.timedelta(hours=h) for h in hours], dtype="datetime64[us]")
    starts = pd.Series([T0 + dt.timedelta(hours=s) for s, _, _ in windows],
                       dtype="datetime64[us]")
    ends = pd.Series([None if missing else T0 + dt.timedelta(hours=s + n)
                      for s, n, missing in windows], dtype="datetime64[us]")
    expected = pd.Series(False, index=times.index)
    for s, e in zip(starts, ends, strict=True):
        expected |= times.between(s, e)
    assert in_any_window(times, starts, ends).tolist() == expected.tolist()
