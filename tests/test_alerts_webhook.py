"""Alerts: de-duplication in governance.alerts, alerts.jsonl, and a real webhook server."""

from __future__ import annotations

import http.server
import json
import threading
import time

import duckdb
import pytest

from orchestration.lib.quality import ERROR, WARN, CheckOutcome, raise_alerts
from orchestration.lib.quality.alerts import post_json
from orchestration.lib.settings import get_settings


class Hook:
    """A real HTTP server on 127.0.0.1 recording POSTed JSON; can fail the first N calls."""

    def __init__(self, fail_first: int = 0):
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_first = fail_first
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.attempts <= hook.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALITRACE_ALERT_BACKOFF", "0.01")
    monkeypatch.delenv("QUALITRACE_ALERT_WEBHOOK", raising=False)
    s = get_settings(tmp_path / "home", tmp_path / "exports")
    s.home.mkdir(parents=True)
    return s


def outcome(name="duplicate_complaints", passed=False, signature="abc", severity=WARN,
            asset="intermediate/int_complaints_deduplicated"):
    return CheckOutcome(check_name=name, asset=asset, severity=severity, passed=passed,
                        observed_value=0.0 if passed else 2.0, threshold="<= 0",
                        message="ok" if passed else f"{name} failed", signature=signature)


def alerts_table(settings):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("SELECT dedup_key, severity, occurrences, resolved_at IS NOT NULL "
                           "FROM governance.alerts ORDER BY dedup_key").fetchall()
    finally:
        con.close()


def test_one_delivery_per_new_alert_none_for_repeats(settings, monkeypatch):
    with Hook() as hook:
        monkeypatch.setenv("QUALITRACE_ALERT_WEBHOOK", hook.url)
        first = [outcome(), outcome("not_null__batch", severity=ERROR, signature="failed",
                                    asset="staging/stg_mes__serials"), outcome("x", passed=True)]
        assert len(raise_alerts(settings, first, run_id="r1")) == 2
        assert len(raise_alerts(settings, first, run_id="r2")) == 0  # repeats
        assert len(raise_alerts(settings, first, run_id="r3")) == 0
        # the duplicate set changed: a new signature is a new alert, the old one resolves
        changed = [outcome(signature="def")]
        assert len(raise_alerts(settings, changed, run_id="r4")) == 1
        time.sleep(0.05)
        keys = sorted(p["dedup_key"] for p in hook.received)
    assert keys == [
        "duplicate_complaints|intermediate/int_complaints_deduplicated|abc",
        "duplicate_complaints|intermediate/int_complaints_deduplicated|def",
        "not_null__batch|staging/stg_mes__serials|failed",
    ]
    payload = next(p for p in hook.received if p["dedup_key"].endswith("|abc"))
    assert payload["severity"] == WARN and payload["event"] == "new"
    assert payload["message"] == "duplicate_complaints failed"
    rows = {r[0]: r[1:] for r in alerts_table(settings)}
    assert rows["duplicate_complaints|intermediate/int_complaints_deduplicated|abc"] == (
        WARN, 3, True)  # seen three times, resolved when superseded
    assert rows["not_null__batch|staging/stg_mes__serials|failed"] == (ERROR, 3, False)
    lines = settings.alerts_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["dedup_key"]


def test_resolved_when_check_passes_and_reopened_later(settings):
    raise_alerts(settings, [outcome()], run_id="r1")
    raise_alerts(settings, [outcome(passed=True, signature="")], run_id="r2")
    assert alerts_table(settings)[0][3] is True
    again = raise_alerts(settings, [outcome()], run_id="r3")
    assert [a.event for a in again] == ["reopened"]
    assert alerts_table(settings)[0][2:] == (2, False)


def test_webhook_retries_with_backoff_then_delivers(settings):
    with Hook(fail_first=2) as hook:
        assert post_json(hook.url, {"dedup_key": "k"}, retries=3, backoff=0.01)
        assert hook.attempts == 3 and hook.received == [{"dedup_key": "k"}]


def test_webhook_down_never_fails_the_run(settings, monkeypatch, caplog):
    with Hook() as hook:  # find a free port, then close it
        url = hook.url
    monkeypatch.setenv("QUALITRACE_ALERT_WEBHOOK", url)
    monkeypatch.setenv("QUALITRACE_ALERT_RETRIES", "2")
    started = time.monotonic()
    new = raise_alerts(settings, [outcome()], run_id="r1")
    assert len(new) == 1 and time.monotonic() - started < 10
    assert "gave up" in caplog.text
    assert settings.alerts_file.exists()  # still delivered to the file


def test_one_call_applies_its_outcomes_in_order(settings):
    """raise_alerts reads the alert table once and applies the outcomes in order: within one
    call a new signature resolves the open one, and a later pass resolves that in turn."""
    fresh = raise_alerts(settings, [outcome(signature="a"), outcome(signature="b"),
                                    outcome(signature="a")], run_id="r1")
    assert [(a.signature, a.event, a.occurrences) for a in fresh] == [
        ("a", "new", 1), ("b", "new", 1), ("a", "reopened", 2)]
    rows = {r[0].split("|")[-1]: r[2:] for r in alerts_table(settings)}
    assert rows == {"a": (2, False), "b": (1, True)}
    assert raise_alerts(settings, [outcome(signature="a")], run_id="r2") == []  # still open
    raise_alerts(settings, [outcome(passed=True, signature="")], run_id="r3")
    assert all(r[3] for r in alerts_table(settings))
