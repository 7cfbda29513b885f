"""Open a local HTML page in headless Debian Chromium (Playwright drives it; no browser download).

`open_page(path)` loads `file://<path>` with the network cut off for anything that is not a
`file://` URL, waits for the page to settle and returns a `PageVisit`: the DOM, the console
errors, every request the page tried to make, and (optionally) a screenshot. Chromium and CJK
fonts come from Debian (`make browser` installs them; `make test` runs it first).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# Chromium on this closed network: no background services, no first-run, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


class BrowserMissing(RuntimeError):
    """Chromium is not installed: run `make browser` (Debian packages chromium, fonts-noto-cjk)."""


def chromium_path() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing("no Chromium on PATH: run `make browser` "
                         "(apt-get install chromium fonts-noto-cjk)")


@dataclass
class PageVisit:
    url: str
    html: str
    title: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    evaluated: object = None

    @property
    def external_requests(self) -> list[str]:
        """Requests to anything but file:// (and the page's own data:/blob: URLs)."""
        return [u for u in self.requests
                if not u.startswith(("file://", "data:", "blob:", "about:"))]


@contextmanager
def browser():
    """A headless Chromium (Playwright) for several page visits."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True,
                              args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def visit(b, path: Path, *, screenshot: Path | None = None, width: int = 1400,
          height: int = 1000, full_page: bool = True, settle_ms: int = 500,
          evaluate: str | None = None) -> PageVisit:
    """Load a local file in a fresh context of browser `b`; only file:// is allowed out."""
    url = Path(path).resolve().as_uri()
    ctx = b.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    visit_ = PageVisit(url=url, html="", title="")

    def on_route(route):
        req_url = route.request.url
        if req_url.startswith(("file://", "data:", "blob:", "about:")):
            route.continue_()
        else:
            visit_.blocked_requests.append(req_url)
            route.abort()

    page.route("**/*", on_route)
    page.on("request", lambda r: visit_.requests.append(r.url))
    page.on("console", lambda m: visit_.console_errors.append(m.text)
            if m.type == "error" else None)
    page.on("pageerror", lambda e: visit_.page_errors.append(str(e)))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_timeout(settle_ms)
        visit_.html = page.content()
        visit_.title = page.title()
        if evaluate is not None:  # a JavaScript expression, evaluated once the page settled
            visit_.evaluated = page.evaluate(evaluate)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=full_page)
            visit_.screenshot = screenshot
    finally:
        ctx.close()
    return visit_


def open_page(path: Path, **kwargs) -> PageVisit:
    """One visit in its own browser (use `browser()` + `visit()` for several pages)."""
    with browser() as b:
        return visit(b, path, **kwargs)


# ---- one-shot DOM dumps (`chromium --dump-dom`), no Playwright ---------------------------

CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> str:
    """Install Debian's `chromium` if missing (we run as root). Fails, never skips."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found:
        return found
    started = time.monotonic()
    log = []
    for cmd in (["apt-get", "update"],
                ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=1200,
                              env={"DEBIAN_FRONTEND": "noninteractive",
                                   "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        log.append(f"$ {' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-1500:]}"
                   f"{proc.stderr[-1500:]}")
        if proc.returncode != 0:
            pytest.fail("could not install chromium for the report test:\n" + "\n".join(log),
                        pytrace=False)
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium but no `chromium` is on PATH:\n" + "\n".join(log),
                    pytrace=False)
    print(f"installed chromium in {time.monotonic() - started:.0f}s")
    return found


def dump_dom(chromium: str, page: Path, profile: Path, offline: bool = False) -> str:
    """The page's DOM after scripts ran; `offline` makes every host name unresolvable."""
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
         *(["--host-resolver-rules=MAP * ~NOTFOUND"] if offline else []),
         "--dump-dom", page.as_uri()],
        check=False, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed on {page}: {proc.stderr[-2000:]}"
    return proc.stdout


def text_of(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
