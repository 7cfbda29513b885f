"""`dbt` for the Spark target, with Python models run in dbt's own Spark session.

dbt-spark submits Python models only to Databricks clusters (`cluster_id is required`). With
the `session` connection method the Spark session already lives in the dbt process, so this
entry point adds a `session` submission method that executes the compiled model there, and
makes it the default when the profile's method is `session`. Everything else is dbt's own
CLI:  python -m orchestration.lib.spark_dbt build --target spark ...
"""

from __future__ import annotations

import os
import sys
from typing import Any


class SessionPythonJobHelper:
    """Runs a compiled dbt Python model in this process's Spark session (the one dbt-spark's
    session connections use). The compiled code ends with dbt-spark's writer
    (`df.write...saveAsTable`), so running it materialises the table."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.model = parsed_model.get("unique_id", parsed_model.get("name", "python model"))

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        scope: dict[str, Any] = {"spark": spark, "__name__": "__dbt_python_model__"}
        exec(compile(compiled_code, f"<{self.model}>", "exec"), scope)  # noqa: S102


def install_session_submission() -> None:
    """Register the `session` submission method on dbt-spark's adapter."""
    from dbt.adapters.spark.impl import SparkAdapter

    helpers = SparkAdapter.python_submission_helpers.fget
    default = SparkAdapter.default_python_submission_method.fget

    def python_submission_helpers(self):
        return {**helpers(self), "session": SessionPythonJobHelper}

    def default_python_submission_method(self):
        method = getattr(self.connections.profile.credentials, "method", None)
        return "session" if str(getattr(method, "value", method)) == "session" else default(self)

    SparkAdapter.python_submission_helpers = property(python_submission_helpers)
    SparkAdapter.default_python_submission_method = property(default_python_submission_method)


def install_dictionary_cache(directory: str | None = None) -> None:
    """Answer repeated compile-time reads of the dictionary tables from memory.

    The conformance macros read the dictionary's Parquet files while rendering SQL, hundreds
    of times in one build (the timestamp formats once per timestamp field of every entity).
    On DuckDB each read costs about a millisecond; on Spark each is a job of 0.2-0.4 s (about
    a third of a small build). The files do not change during an invocation (the orchestration
    writes them before dbt starts), so a query that reads only them has one answer per run."""
    import threading

    from dbt.adapters.spark.connections import SparkConnectionManager

    root = directory or os.environ.get("QUALITRACE_DICTIONARY_TABLES")
    if not root:
        return
    marker = f"parquet.`{root.rstrip('/')}/"
    execute = SparkConnectionManager.execute
    cache: dict[tuple[str, int | None], Any] = {}
    lock = threading.Lock()

    def cached_execute(self, sql, auto_begin=False, fetch=False, limit=None):
        if not fetch or marker not in sql or " from " not in sql.lower():
            return execute(self, sql, auto_begin=auto_begin, fetch=fetch, limit=limit)
        key = (sql, limit)
        with lock:
            hit = cache.get(key)
        if hit is None:
            hit = execute(self, sql, auto_begin=auto_begin, fetch=fetch, limit=limit)
            with lock:
                cache[key] = hit
        return hit

    SparkConnectionManager.execute = cached_execute


def main(argv: list[str] | None = None) -> int:
    """dbt's CLI (same arguments, same exit codes: 0 success, 1 failures, 2 an error)."""
    install_session_submission()
    install_dictionary_cache()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(list(sys.argv[1:] if argv is None else argv))
    if result.exception is not None:
        print(f"dbt failed: {result.exception}", file=sys.stderr)
        return 2
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
