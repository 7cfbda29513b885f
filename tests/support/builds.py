"""Building a warehouse without the orchestration: land a plant with the dictionary and
ingest libraries, then run real dbt on a selection (for tests of the SQL layers)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from orchestration.lib.settings import DBT_PROJECT_DIR, Settings, get_settings


def land_plant(exports: Path, home: Path) -> Settings:
    """A home whose warehouse holds the published dictionary and every landed export."""
    from orchestration.lib.dictionary import load_dictionary, publish
    from orchestration.lib.ingest import ensure_raw_tables, ingest_entity
    from orchestration.lib.warehouse import connect

    settings = get_settings(home, exports).ensure()
    dictionary = load_dictionary()
    with connect(settings) as con:
        publish(dictionary, con)
    ensure_raw_tables(settings, dictionary)
    for e in dictionary.entities:
        ingest_entity(settings, dictionary, e.system, e.name)
    return settings


def dbt_run(settings: Settings, *args: str) -> None:
    """`dbt run <args>` on the home's warehouse (compile-time lookups read its dictionary.*);
    fails with dbt's error lines."""
    env = {k: v for k, v in os.environ.items() if k != "QUALITRACE_DICTIONARY_TABLES"}
    env.update(QUALITRACE_WAREHOUSE=str(settings.warehouse),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
         str(settings.home / "dbt" / "target"), "--log-path", str(settings.home / "dbt" / "logs"),
         "--no-use-colors", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        errors = "\n".join(line for line in proc.stdout.splitlines()
                           if re.search(r"ERROR|FAIL|Error|error", line))
        raise AssertionError(f"dbt run failed ({proc.returncode}):\n"
                             f"{(errors or proc.stdout)[-5000:]}")
