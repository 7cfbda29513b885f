"""The browser helper itself: a local page renders, console errors and outside requests are seen."""

from __future__ import annotations

from tests.support.browser import open_page


def test_local_page_console_errors_and_blocked_requests(tmp_path):
    page = tmp_path / "p.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>测试</title>"
        "<link rel='stylesheet' href='https://cdn.example.invalid/x.css'></head>"
        "<body><h1 id='t'>质量看板</h1><script>console.error('boom')</script></body></html>",
        encoding="utf-8")
    shot = tmp_path / "shot.png"
    v = open_page(page, screenshot=shot)
    assert v.title == "测试"
    assert "质量看板" in v.html
    assert any("boom" in e for e in v.console_errors)
    assert v.external_requests == ["https://cdn.example.invalid/x.css"]
    assert v.blocked_requests == ["https://cdn.example.invalid/x.css"]
    assert shot.stat().st_size > 1000
