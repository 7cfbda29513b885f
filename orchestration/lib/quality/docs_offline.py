"""GX Data Docs that open without a network, and say in plain words what each check found.

GX 1.x renders its pages with Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from
CDNs; offline the index is empty (its table is filled by JavaScript) and pass/fail icons are
blank. After `build_data_docs` this module
- removes every remote stylesheet, script and image from every page and links one local
  stylesheet (`static/styles/qualitrace-offline.css`, written here; icons become ✔ / ✖),
- writes a static `index.html` (one row per validation page, failed ones first) in place of the
  JavaScript one (GX's own is kept as `index_gx.html`),
- puts a table of the Qualitrace checks behind each page (severity, observed value, threshold
  and the message of the governance report) at the top of the page, so the page a report link
  lands on explains the failure, not only GX's generic "Values in observed must ...".
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

CSS_NAME = "qualitrace-offline.css"
REMOTE = re.compile(
    r"""<link\b[^>]*href=["']https?://[^"']*["'][^>]*>"""
    r"""|<script\b[^>]*src=["']https?://[^"']*["'][^>]*>\s*</script>"""
    r"""|<img\b[^>]*src=["']https?://[^"']*["'][^>]*>""", re.IGNORECASE)
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; }
.container, .container-fluid { padding: 0 1.5em; }
nav, .navbar { background: #f4f4f4; padding: .4em 1.5em; }
a { color: #0b57a4; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.card { border: 1px solid #ddd; margin: .8em 0; }
.card-header { background: #f4f4f4; padding: .4em .8em; font-weight: 600; }
.card-body { padding: .6em .8em; }
.text-success, .ge-success-icon { color: #2e7d32; } .text-danger, .ge-failed-icon { color: #c62828; }
.badge { border-radius: 3px; padding: 0 .4em; background: #eee; }
.tab-content > .tab-pane:not(.active) { display: none; }
.cooltip .top { display: none; }
.fas, .fa, .far { font-style: normal; }
.fa-check-circle::before, .fa-check::before { content: "✔"; }
.fa-times::before, .fa-times-circle::before { content: "✖"; }
.fa-exclamation-triangle::before { content: "⚠"; }
.fa-external-link-alt::before { content: "↗"; }
.qt-checks { margin: 1em 1.5em; } .qt-checks caption { text-align: left; font-weight: 600; }
.qt-fail { color: #c62828; font-weight: 600; } .qt-warn { color: #a66d00; font-weight: 600; }
"""


@dataclass(frozen=True)
class Page:
    path: Path  # under docs_dir/validations
    model: str
    suite: str  # rows | facts
    failed: bool


def _rel_static(page: Path, docs_dir: Path) -> str:
    return os.path.relpath(docs_dir / "static" / "styles" / CSS_NAME, page.parent).replace(
        os.sep, "/")


def offline_page(text: str, css_href: str) -> str:
    """One page without remote resources, with the local stylesheet linked."""
    text = REMOTE.sub("", text)
    link = f'<link rel="stylesheet" href="{html.escape(css_href)}">'
    return text.replace("</head>", link + "\n</head>", 1) if "</head>" in text else link + text


def validation_pages(docs_dir: Path) -> list[Page]:
    """validations/<model>/<rows|facts>/<run>/<time>/<file>.html (one per suite after a build)."""
    out = []
    for p in sorted((docs_dir / "validations").glob("*/*/*/*/*.html")):
        model, suite = p.relative_to(docs_dir / "validations").parts[:2]
        text = p.read_text(encoding="utf-8", errors="replace")
        out.append(Page(p, model, suite, "ge-failed-icon" in text or "fa-times" in text))
    return out


def checks_table(rows: list[tuple]) -> str:
    """rows: (severity, check, passed, observed, threshold, message)."""
    def row(r: tuple) -> str:
        sev, check, passed, observed, threshold, message = r
        cls = "" if passed else ("qt-fail" if sev == "ERROR" else "qt-warn")
        cells = [check, observed, threshold, message, "passed" if passed else f"{sev} failed"]
        return "<tr>" + "".join(
            f'<td class="{cls if i in (0, 4) else ""}">{html.escape("" if c is None else str(c))}'
            "</td>" for i, c in enumerate(cells)) + "</tr>"

    body = "".join(row(r) for r in sorted(rows, key=lambda r: (bool(r[2]), r[0] != "ERROR",
                                                               str(r[1]))))
    return ('<table class="qt-checks"><caption>Qualitrace checks on this model, latest run (as in '
            'the governance report)</caption><thead><tr><th>check</th><th>observed</th>'
            '<th>threshold</th><th>message</th><th>status</th></tr></thead><tbody>'
            f"{body}</tbody></table>")


def index_html(pages: list[Page], docs_dir: Path) -> str:
    rows = "".join(
        f'<tr><td class="{"text-danger" if p.failed else "text-success"}">'
        f'{"✖ failed" if p.failed else "✔ passed"}</td><td>{html.escape(p.model)}</td>'
        f"<td>{html.escape(p.suite)}</td><td><a href=\"{html.escape(p.path.relative_to(docs_dir).as_posix())}\">"
        f"{html.escape(p.path.parent.parent.name)}</a></td></tr>"
        for p in sorted(pages, key=lambda p: (not p.failed, p.model, p.suite)))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Data Docs: '
            f'validations</title><link rel="stylesheet" href="static/styles/{CSS_NAME}"></head>'
            '<body><div class="container-fluid"><h1>Great Expectations Data Docs</h1><p>One '
            'validation page per model and suite (<code>rows</code>: row-level checks, '
            '<code>facts</code>: counts, rates and other set-level checks), failed first. '
            'Built offline by Qualitrace; <a href="index_gx.html">GX\'s own index</a> needs '
            'a network.</p><table id="validations"><thead><tr><th>status</th><th>model</th>'
            f"<th>suite</th><th>run</th></tr></thead><tbody>{rows}</tbody></table></div>"
            "</body></html>")


def make_offline(docs_dir: Path, checks: dict[str, list[tuple]] | None = None) -> list[Page]:
    """Rewrite every page of the built site; `checks` maps a model name to its check rows
    (see checks_table) for the explanation table. Returns the validation pages."""
    styles = docs_dir / "static" / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    (styles / CSS_NAME).write_text(CSS, encoding="utf-8")
    pages = validation_pages(docs_dir)
    by_path = {p.path: p for p in pages}
    gx_index = docs_dir / "index.html"
    for f in sorted(docs_dir.rglob("*.html")):
        if f == gx_index or f.name == "index_gx.html":
            continue
        text = offline_page(f.read_text(encoding="utf-8", errors="replace"),
                            _rel_static(f, docs_dir))
        page = by_path.get(f)
        if page is not None and checks and checks.get(page.model):
            table = checks_table(checks[page.model])
            text = re.sub(r"(<body[^>]*>)", lambda m, t=table: m.group(1) + t, text, count=1)
        f.write_text(text, encoding="utf-8")
    if gx_index.exists():
        (docs_dir / "index_gx.html").write_text(
            offline_page(gx_index.read_text(encoding="utf-8", errors="replace"),
                         f"static/styles/{CSS_NAME}"), encoding="utf-8")
    gx_index.write_text(index_html(pages, docs_dir), encoding="utf-8")
    return pages
