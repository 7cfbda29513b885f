"""`dbt` for the Spark target, with Python models run in dbt's own Spark session.

dbt-spark submits Python models only to Databricks clusters (`cluster_id is required`). With
the `session` connection method the Spark session already lives in the dbt process, so this
entry point adds a `session` submission method that executes the compiled model there, and
makes it the default when the profile's method is `session`. Everything else is dbt's own
CLI:  python -m orchestration.lib.spark_dbt build --target spark ...
"""

from __future__ import annotations

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


def main(argv: list[str] | None = None) -> int:
    """dbt's CLI (same arguments, same exit codes: 0 success, 1 failures, 2 an error)."""
    install_session_submission()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(list(sys.argv[1:] if argv is None else argv))
    if result.exception is not None:
        print(f"dbt failed: {result.exception}", file=sys.stderr)
        return 2
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
