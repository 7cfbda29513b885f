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
