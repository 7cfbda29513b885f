"""Render the dictionary for governance owners: dictionary.md and dictionary.html (bilingual)."""

from __future__ import annotations

import html
from pathlib import Path

from orchestration.lib.dictionary.loader import province_aliases
from orchestration.lib.dictionary.model import Dictionary


def _table(header: list[str], rows: list[list]) -> list[str]:
    """One Markdown table; cells escaped for `|`."""
    def cell(v) -> str:
        s = "" if v is None else (", ".join(map(str, v)) if isinstance(v, list) else str(v))
        return s.replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def to_blocks(d: Dictionary) -> list[tuple[str, object]]:
    """The document as a list of ('h1'|'h2'|'h3'|'p', text) and ('table', (header, rows))."""
    b: list[tuple[str, object]] = [
        ("h1", "Qualitrace data dictionary / 数据字典"),
        ("p", ("Generated from data_dictionary/*.yml, the single source of truth. "
               "由 data_dictionary/*.yml 生成，为唯一权威来源。")),
        ("h2", "Entities and fields / 实体与字段"),
    ]
    for e in d.entities:
        b.append(("h3", f"{e.system}/{e.name} — {e.description_zh}"))
        b.append(("p", (f"{e.description_en} Business key / 业务主键: {', '.join(e.business_key)}. "
                        f"Owner / 负责人: {e.owner}.")))
        b.append(("table", (
            ["field 字段", "aliases 别名", "type 类型", "required 必填", "PII 个人信息",
             "unit kind 单位类别", "vocabulary 词表", "description", "说明"],
            [[f.name, f.aliases, f.type, "yes 是" if f.required else "", "yes 是" if f.pii else "",
              f.unit_kind, f.vocabulary, f.description_en, f.description_zh] for f in e.fields],
        )))
    b.append(("h2", "Vocabularies / 词表"))
    for v in d.vocabularies:
        b.append(("h3", f"{v.domain} — {v.description_zh}"))
        b.append(("p", v.description_en))
        b.append(("table", (["canonical 规范值", "中文", "English", "spellings 写法"],
                            [[x.canonical, x.label_zh, x.label_en, x.spellings] for x in v.values])))
    b.append(("h2", "Units / 单位 (canonical = value × factor + offset)"))
    for k in d.unit_kinds:
        b.append(("h3", f"{k.kind} — {k.description_zh} / {k.description_en}: {k.canonical_unit}"))
        b.append(("table", (["unit 单位", "factor 系数", "offset 偏移", "spellings 写法"],
                            [[u.unit, u.factor, u.offset, u.spellings] for u in k.units])))
    b.append(("h2", "Batch codes and serials / 批次号与序列号"))
    b.append(("p", "Canonical batch code 规范批次号: YYYYMMDD-Lnn-sss. Label prefixes removed "
                   "去除的标签前缀: " + ", ".join(d.batch_label_prefixes) + ". A code that fits no "
                   "pattern is kept as typed and flagged, never guessed. 不符合任何格式的批号原样保留并标记，绝不猜测。"))
    b.append(("table", (["system 系统", "pattern 正则", "example 示例", "description", "说明"],
                        [[p.system, p.regex, p.example, p.description_en, p.description_zh]
                         for p in d.batch_patterns])))
    b.append(("table", (["serial 序列号", "pattern 正则", "example 示例", "description", "说明"],
                        [[s.name, s.regex, s.example, s.description_en, s.description_zh]
                         for s in d.serial_patterns])))
    b.append(("h2", "Timestamp and date forms / 时间与日期格式"))
    b.append(("table", (["name", "kind", "format", "example 示例", "applies to", "plant local time 本地时间"],
                        [[f.name, f.kind, f.format, f.example, f.applies_to,
                          "yes 是" if f.local_time else "no 否"] for f in d.timestamp_formats])))
    b.append(("p", "No-value markers 空值占位符 (read as blank in a typed field, in any letter case "
                   "按空值处理，不分大小写): " + ", ".join(
                       m.marker + ("" if m.types is None else f" ({', '.join(m.types)})")
                       for m in d.no_value_markers)))
    b.append(("h2", "Provinces / 省级行政区 (GB/T 2260)"))
    b.append(("table", (["code 代码", "name 全称", "short 简称", "pinyin 拼音", "English", "abbr 缩写",
                         "region 大区", "aliases 别名"],
                        [[p.code, p.name, p.short_name, p.pinyin, p.name_en, p.abbr,
                          f"{p.region} {p.region_en}", province_aliases(p)] for p in d.provinces])))
    if d.problems:
        b.append(("h2", "Problem taxonomy / 问题分类"))
        b.append(("p", "Precedence rules 优先级规则: " + " ".join(d.problems.precedence_rules_en)
                  + " " + "".join(d.problems.precedence_rules_zh)))
        b.append(("p", "Negation prefixes 否定前缀: " + ", ".join(repr(n) for n in d.problems.negation_prefixes)))
        b.append(("p", "Ignore phrases 忽略短语 (a keyword inside them does not count): "
                  + ", ".join(repr(n) for n in d.problems.ignore_phrases)))
        if d.problems.word_classes:
            b.append(("table", (["word class 词类 ({name} in a keyword)", "words 词"],
                                [[name, words] for name, words in d.problems.word_classes.items()])))
        rows = [[t.code, f"{c.prefix} {c.name_zh} {c.name_en}", c.precedence, t.name_zh, t.name_en,
                 t.keywords_zh, t.keywords_en] for c, t in d.problem_types()]
        b.append(("table", (["code 编码", "category 类别", "precedence 优先级", "中文", "English",
                             "keywords 关键词 (zh)", "keywords (en)"], rows)))
    b.append(("h2", "Quarantine reason codes / 隔离原因代码"))
    b.append(("table", (["code", "scope", "description", "说明"],
                        [[r.code, r.scope, r.description_en, r.description_zh] for r in d.reason_codes])))
    b.append(("h2", "Missing-value thresholds / 缺失率阈值"))
    b.append(("p", "Required fields not listed: warn above 0, error above 0.1%. 未列出的必填字段：超过 0 告警，超过 0.1% 报错。"))
    b.append(("table", (["system", "entity", "field", "warn 告警", "error 报错"],
                        [[t.system, t.entity, t.field, t.warn_rate, t.error_rate]
                         for t in d.missing_thresholds])))
    return b


def to_markdown(d: Dictionary) -> str:
    out: list[str] = []
    for kind, content in to_blocks(d):
        if kind == "table":
            out += _table(*content)
        elif kind == "p":
            out += [str(content), ""]
        else:
            out += ["#" * int(kind[1]) + " " + str(content), ""]
    return "\n".join(out)


def to_html(d: Dictionary) -> str:
    esc = html.escape
    parts = ["<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
             "<title>Qualitrace data dictionary / 数据字典</title><style>",
             "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:2em;}",
             "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}",
             "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}",
             "th{background:#f0f0f0}</style></head><body>"]
    for kind, content in to_blocks(d):
        if kind == "table":
            header, rows = content
            parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
            for r in rows:
                cells = [", ".join(map(str, c)) if isinstance(c, list) else ("" if c is None else str(c))
                         for c in r]
                parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
            parts.append("</table>")
        elif kind == "p":
            parts.append(f"<p>{esc(str(content))}</p>")
        else:
            parts.append(f"<{kind}>{esc(str(content))}</{kind}>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render(d: Dictionary, out_dir: str | Path) -> tuple[Path, Path]:
    """Write dictionary.html and dictionary.md into out_dir; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    h, m = out / "dictionary.html", out / "dictionary.md"
    h.write_text(to_html(d), encoding="utf-8")
    m.write_text(to_markdown(d), encoding="utf-8")
    return h, m
