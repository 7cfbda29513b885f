"""Pure formatting helpers: how each system prints timestamps, dates, codes and units."""

from __future__ import annotations

import datetime as dt

TZ_OFFSET = dt.timedelta(hours=8)  # plant local time, Asia/Shanghai (no DST)
EXCEL_EPOCH = dt.datetime(1899, 12, 30)

TS_FORMS = ("iso_space", "slash", "cn", "iso_offset")  # text forms; excel (xlsx) and epoch_ms (jsonl)
DATE_FORMS = ("iso", "slash", "compact", "cn")


def local(ts_utc: dt.datetime) -> dt.datetime:
    """Naive plant local time from a naive UTC datetime."""
    return ts_utc + TZ_OFFSET


def fmt_ts(ts_utc: dt.datetime, form: str):
    """A UTC instant as the given system prints it (naive forms are plant local time)."""
    t = local(ts_utc)
    if form == "iso_space":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if form == "slash":
        return f"{t.year}/{t.month}/{t.day} {t.hour:02d}:{t.minute:02d}"
    if form == "cn":
        return f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"
    if form == "iso_offset":
        return t.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    if form == "excel":
        return excel_serial(t)
    if form == "epoch_ms":
        return int((ts_utc - dt.datetime(1970, 1, 1)).total_seconds() * 1000)
    raise ValueError(f"unknown timestamp form {form!r}")


def excel_serial(t: dt.datetime) -> float:
    """Excel 1900-system serial number of a naive datetime, rounded to the second."""
    d = t - EXCEL_EPOCH
    return round(d.days + d.seconds / 86400.0, 6)


def fmt_date(d: dt.date, form: str):
    if form == "iso":
        return d.strftime("%Y-%m-%d")
    if form == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if form == "compact":
        return d.strftime("%Y%m%d")
    if form == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if form == "excel":
        return float((dt.datetime(d.year, d.month, d.day) - EXCEL_EPOCH).days)
    raise ValueError(f"unknown date form {form!r}")


def canonical_batch(day: dt.date, line: int, seq: int) -> str:
    return f"{day:%Y%m%d}-L{line:02d}-{seq:03d}"


def batch_mes(day: dt.date, line: int, seq: int, variant: int) -> str:
    """MES: `20240315-L2-003`, `20240315-L02-3` or the canonical `20240315-L02-003`."""
    if variant == 0:
        return f"{day:%Y%m%d}-L{line}-{seq:03d}"
    if variant == 1:
        return f"{day:%Y%m%d}-L{line:02d}-{seq}"
    return canonical_batch(day, line, seq)


def batch_erp(day: dt.date, line: int, seq: int) -> str:
    return f"B{day:%y%m%d}{line:02d}{seq:03d}"


def batch_qms(day: dt.date, line: int, seq: int) -> str:
    return f"LOT#{day:%Y%m%d}/L{line}/{seq}"


def batch_label(day: dt.date, line: int, seq: int) -> str:
    """The product label as printed: `<YYMMDD>L<line><SSS>`."""
    return f"{day:%y%m%d}L{line}{seq:03d}"


def fullwidth(s: str) -> str:
    """ASCII letters and digits to their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if ("0" <= c <= "9" or "A" <= c <= "Z" or "a" <= c <= "z") else c
                   for c in s)


def crm_batch_typed(label: str, variant: int) -> str:
    """A label typed by a CRM agent, with the kinds of noise seen in CRM."""
    yymmdd, rest = label[:6], label[6:]
    line, seq = rest[1:-3], rest[-3:]
    forms = [
        label,
        f"{yymmdd}-l{line}-{seq}",
        "批号：" + fullwidth(label),
        f"Batch No. {label}",
        f" {yymmdd} L{line} {seq} ",
        "批号:" + label.lower(),
    ]
    return forms[variant % len(forms)]


def crm_batch_broken(label: str, variant: int) -> str:
    """A label mistyped beyond recovery (fits no pattern)."""
    forms = [label[:2] + "O" + label[3:], label[:-1], label.replace("L", "I", 1) + "X"]
    return forms[variant % len(forms)]


def serial_no(product_code: str, n: int) -> str:
    return f"SN{product_code}{n:08d}"


def serial_typed(serial: str, variant: int) -> str:
    forms = [serial, serial.lower(), serial[:-2] + " " + serial[-2:], fullwidth(serial), f" {serial}"]
    return forms[variant % len(forms)]


def serial_broken(serial: str) -> str:
    return serial[:-3] + serial[-2:]  # a digit dropped


SHIFT_FORMS = {"day": ("早", "A"), "swing": ("中", "B"), "night": ("夜", "C")}


def fmt_shift(shift: str, variant: int) -> str:
    return SHIFT_FORMS[shift][variant % 2]


def fmt_line(line: int, variant: int) -> str:
    return [f"L{line}", str(line), f"{line}号线", f"L{line:02d}"][variant % 4]


def fmt_province(prov: tuple, variant: int) -> str:
    return prov[variant % 4]  # full name, short, pinyin, abbreviation


PASS_FAIL = [("合格", "不合格"), ("PASS", "FAIL"), ("OK", "NG"), ("Y", "N"), ("1", "0")]


def fmt_bool(value: bool, variant: int) -> str:
    return PASS_FAIL[variant % len(PASS_FAIL)][0 if value else 1]


SEVERITY_WORDS = [("紧急", "高", "中", "低"), ("Critical", "High", "Medium", "Low")]


def fmt_severity(level: int, variant: int):
    """`level` 1-10; variant 0 integer, 1 Chinese word, 2 English word."""
    if variant == 0:
        return str(level)
    idx = 0 if level >= 10 else 1 if level >= 7 else 2 if level >= 4 else 3
    return SEVERITY_WORDS[variant - 1][idx]


QTY_UNITS = ["pcs", "PCS", "个", "件", "只", "台", "EA"]
MASS_UNITS = {"g": 1000.0, "克": 1000.0, "kg": 1.0, "千克": 1.0, "公斤": 1.0, "lb": 2.2046226218}
LENGTH_UNITS = {"mm": 1.0, "毫米": 1.0, "cm": 0.1, "in": 1 / 25.4, "inch": 1 / 25.4, '"': 1 / 25.4}
TEMP_UNITS = ["℃", "°C", "C", "摄氏度", "°F", "F", "K"]
PRESSURE_UNITS = {"kPa": 1.0, "MPa": 0.001, "bar": 0.01, "psi": 1 / 6.894757293, "Pa": 1000.0}
SPEED_UNITS = {"mm/s": 1.0, "m/min": 0.06, "cm/s": 0.1}
HUMIDITY_UNITS = ["%RH", "%", "RH%"]


def header_messy(name: str, variant: int) -> str:
    """A header as a careless export prints it: stray spaces, full-width, mixed case."""
    v = variant % 4
    if v == 0:
        return f" {name}"
    if v == 1:
        return fullwidth(name) if name.isascii() else name + " "
    if v == 2:
        return name.title() if name.isascii() else " " + name
    return name.upper() if name.isascii() else name


CHANNELS = [("400热线", "hotline"), ("微信", "WeChat"), ("邮件", "email"), ("门店", "store"),
            ("电商平台", "marketplace"), ("APP", "APP")]
STATUS_FORMS = {"open": ("新建", "open"), "in_progress": ("处理中", "in_progress"), "closed": ("已关闭", "closed")}
INSPECTION_TYPES = {"IQC": ("IQC", "来料"), "IPQC": ("IPQC", "过程"), "FQC": ("FQC", "成品"), "OQC": ("OQC", "出货")}
