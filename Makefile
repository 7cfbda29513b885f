# Qualitrace: every target installs into .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Apache Spark client (dbt-spark, pyspark) in its own environment: pyspark installed beside
# Great Expectations breaks GX imports (orchestration/lib/spark.py, spark_python)
SPARK_VENV  := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed
# pyspark >= 4.3: the version tested here (spark__star_except relies on SELECT * EXCEPT)
SPARK_PACKAGES := "dbt-core>=1.11,<1.12" "dbt-spark[session]>=1.11,<1.12" "pyspark>=4.3,<5" \
                  "pandas>=2.2" numpy scipy pyarrow
QUALITRACE_HOME    ?= $(CURDIR)/.qualitrace
QUALITRACE_EXPORTS ?= $(QUALITRACE_HOME)/exports
DEMO_SCALE ?= 0.1
SCALE ?= 0.1
export QUALITRACE_HOME QUALITRACE_EXPORTS

.PHONY: install bytecode spark-env browser demo demo-spark test test-fast dev bench lint clean

install: $(STAMP)

# Our modules' bytecode, written ahead: a process that may not write it (PYTHONDONTWRITEBYTECODE,
# set on the machines here) otherwise compiles every orchestration module at each start, about
# 0.3 s of every `qualitrace` command and of each run a test starts. Up-to-date files are
# skipped; a file edited later is compiled in memory as usual until the next `make`.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 orchestration benchmarks tests/support >/dev/null

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

spark-env: $(SPARK_STAMP)

$(SPARK_STAMP): Makefile
	@test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip
	$(SPARK_VENV)/bin/python -m pip install -q --disable-pip-version-check $(SPARK_PACKAGES)
	@touch $(SPARK_STAMP)

demo: install bytecode
	$(BIN)/qualitrace generate --out "$(QUALITRACE_EXPORTS)" --scale $(DEMO_SCALE) --seed 7
	$(BIN)/qualitrace run --home "$(QUALITRACE_HOME)" --exports "$(QUALITRACE_EXPORTS)"

# The demo plant's whole pipeline with dbt on a Spark standalone cluster (a master and two
# workers started on 127.0.0.1 from the pyspark package, Spark UI address printed), in its own
# home beside the DuckDB demo's.
SPARK_DEMO_HOME ?= $(CURDIR)/.qualitrace-spark
demo-spark: install bytecode spark-env
	$(BIN)/qualitrace generate --out "$(QUALITRACE_EXPORTS)" --scale $(DEMO_SCALE) --seed 7
	$(BIN)/qualitrace run --home "$(SPARK_DEMO_HOME)" --exports "$(QUALITRACE_EXPORTS)" --engine spark --local-cluster 2

# Headless Chromium and CJK fonts (Debian packages) for the browser tests of the reports.
browser:
	@if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and fonts-noto-cjk (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "need chromium and fonts-noto-cjk: sudo apt-get install chromium fonts-noto-cjk" >&2; exit 1; fi

# Two workers (CI has 2 cores); tests sharing a generated plant run stay on one worker
# (groups: tests/conftest.py). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15

# the two environments and the browser check are independent: prepared side by side
test:
	@$(MAKE) --no-print-directory -j3 install spark-env browser
	@$(MAKE) --no-print-directory bytecode
	$(PYTEST)

# The edit loop: no generated plant, no pipeline run.
test-fast:
	@$(MAKE) --no-print-directory -j2 install spark-env
	@$(MAKE) --no-print-directory bytecode
	$(PYTEST) -m "not integration"

dev: install bytecode
	$(BIN)/qualitrace dev --home "$(QUALITRACE_HOME)" --exports "$(QUALITRACE_EXPORTS)"

bench: install bytecode
	$(BIN)/python benchmarks/run.py --scale $(SCALE)

lint: install
	$(BIN)/ruff check orchestration tests benchmarks

clean:
	rm -rf $(VENV) $(SPARK_VENV) .qualitrace dbt_project/target dbt_project/logs
