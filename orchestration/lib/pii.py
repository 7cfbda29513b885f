"""The salt for hashing personal data (customer_key), passed to dbt as var `pii_salt`.

QUALITRACE_PII_SALT wins; otherwise a random salt is created once per home in
`<home>/pii_salt` (mode 0600) and reused, so customer keys are stable across runs of
one plant but never equal across plants.
"""

from __future__ import annotations

import os
import secrets

from orchestration.lib.settings import Settings

ENV_VAR = "QUALITRACE_PII_SALT"


def salt_path(settings: Settings):
    return settings.home / "pii_salt"


def pii_salt(settings: Settings) -> str:
    """The salt for this home: env var, else the home's salt file (created if absent)."""
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    path = salt_path(settings)
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            raise ValueError(f"{path}: the PII salt file is empty; delete it to make a new one")
        return value
    settings.home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # Write a private temp file, then link it into place: atomic, and if two processes
    # race the loser finds the winner's complete salt.
    tmp = path.with_name(f".pii_salt.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        return pii_salt(settings)
    finally:
        tmp.unlink(missing_ok=True)
    return value


# --------------------------------------------------------------------------- masking text
# Personal data written where it does not belong (a malformed row kept for the quarantine, a
# phone number typed into a description) is masked before it is stored: mobile and landline
# numbers keep their first 3 and last 4 digits, ID-card numbers their first 6, e-mail
# addresses their domain. The same patterns are used by the dbt macro `mask_pii_text`.
import hashlib
import re

PII_PATTERNS = (
    # mainland ID card (18 characters, the last may be X)
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{11}[\dXx](?![0-9A-Za-z])"), r"\1************"),
    # mainland mobile, optionally +86 / 86-
    (re.compile(r"(?<!\d)((?:\+?86[\s-]?)?1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)"), r"\1****\2"),
    # landline with area code, or an international number (+1 555 0100)
    (re.compile(r"(?<![\dA-Za-z+])(0\d{2,3})[ -]?\d{3,4}[ -]?(\d{4})(?![\dA-Za-z])"), r"\1-****\2"),
    (re.compile(r"(\+\d{1,3})[\s-]?\d{2,4}[\s-]?\d{2,4}[\s-]?(\d{4})(?!\d)"), r"\1 **** \2"),
    # e-mail; the look-behind starts a match only where a run of name characters starts:
    # without it every position of a long run without '@' (a Chinese description, a 10 MB
    # malformed line) scanned the rest of the run, quadratic in its length (a 200,000-
    # character line took 140 s); same matches
    (re.compile(r"(?<![\w.+-])[\w.+-]+@([\w-]+(?:\.[\w-]+)+)"), r"***@\1"),
)


def mask_text(text: str | None) -> str | None:
    """`text` with phone, ID-card and e-mail patterns masked (None stays None)."""
    if not text:
        return text
    for rx, repl in PII_PATTERNS:
        text = rx.sub(repl, text)
    return text


def mask_value(field: str, value: str | None) -> str | None:
    """A personal field's value as it may be stored: phones masked, anything else `***`."""
    if value is None or not str(value).strip():
        return value
    if is_phone_field(field):
        digits = re.sub(r"\D", "", str(value))
        return (digits[:3] + "****" + digits[-4:]) if len(digits) >= 7 else "***"
    return "***"


# --------------------------------------------------------------------------- at landing
# Fields the dictionary marks `pii` never reach the warehouse in clear: as a file lands, a
# phone field keeps only its masked form (138****1234) and every other personal field (the
# name) is replaced by one identity token: a salted SHA-256 of the normalised phone digits
# and name together, so one customer keeps one token across files, channels and spellings
# ("138 0013 8000", "+86-13800138000") while the clear values are never stored. dbt's
# customer_key is computed from these stored forms. Fields marked `free_text` (the complaint
# description) and unknown columns get mask_text.
TOKEN_PREFIX = "ID-"


def phone_digits(value: str | None) -> str | None:
    """Digits only, without a leading 86 / 0086 country code of a mainland mobile."""
    if value is None:
        return None
    digits = re.sub(r"\D", "", str(value))
    m = re.fullmatch(r"(?:00)?86(1\d{10})", digits)
    return (m.group(1) if m else digits) or None


def name_norm(value: str | None) -> str | None:
    if value is None:
        return None
    return re.sub(r"\s+", "", str(value)).upper() or None


def is_phone_field(field: str) -> bool:
    return "phone" in field or "mobile" in field or "tel" == field


def mask_phone(value: str | None) -> str | None:
    """138****1234 (first 3 and last 4 digits); `****` for fewer than 7 digits."""
    digits = phone_digits(value)
    if digits is None:
        return None
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"


def identity_token(values: dict[str, str | None], salt: str) -> str | None:
    """One token for the personal fields of a row (None when all are blank)."""
    phones = [phone_digits(v) for f, v in sorted(values.items()) if is_phone_field(f)]
    names = [name_norm(v) for f, v in sorted(values.items()) if not is_phone_field(f)]
    parts = [p or "" for p in phones] + [n or "" for n in names]
    if not any(parts):
        return None
    digest = hashlib.sha256("|".join([salt, *parts]).encode("utf-8")).hexdigest()
    return TOKEN_PREFIX + digest[:32]


def pseudonymise(values: dict[str, str | None], salt: str) -> dict[str, str | None]:
    """The stored form of a row's personal fields (see above)."""
    token = identity_token(values, salt)  # kept even when the name is blank: the phone's
    return {f: mask_phone(v) if is_phone_field(f) else token for f, v in values.items()}
