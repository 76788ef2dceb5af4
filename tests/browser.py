"""Headless Debian Chromium driven by Playwright, watching for console errors and outside requests."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start; this machine has no network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageWatch:
    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    file_requests: list[str] = field(default_factory=list)


@contextmanager
def launch():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(
    browser,
    site: Path,
    width: int = 1280,
    height: int = 900,
    fragment: str = "",
    file: str = "index.html",
    init_script: str | None = None,
    **options,
):
    """Open site/<file> (or `site` itself, an .html file) over file:// and record console errors,
    requests for files and requests that leave the machine. `init_script` runs before the page's own."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    if init_script:
        page.add_init_script(init_script)
    watch = PageWatch()
    page.on("console", lambda msg: msg.type == "error" and watch.errors.append(msg.text))
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))

    def record(request) -> None:
        if request.url.startswith("file://"):
            watch.file_requests.append(request.url)
        elif not request.url.startswith(("data:", "blob:")):
            watch.outside_requests.append(request.url)

    page.on("request", record)
    target = site if site.suffix == ".html" else site / file
    page.goto(target.resolve().as_uri() + fragment)
    page.wait_for_load_state("load")
    if options.get("java_script_enabled", True):
        widgets_near_ready(page)
    return page, watch


# Widgets within a screen of the viewport start once their data is there (common.js
# `Stepthrough.widget`); a data file that loads when the reader nears its widget comes a moment
# after the page's load event.
NEAR_READY = """() => Array.from(document.querySelectorAll("figure[data-widget]")).every((f) => {
  const r = f.getBoundingClientRect();
  return f.hasAttribute("data-ready") || r.top > 2 * innerHeight || r.bottom < -innerHeight;
})"""


def widgets_near_ready(page, timeout: float = 5000) -> None:
    """Wait until every widget near the viewport has started (at most `timeout` ms: a widget that
    fails to start is the test's to report, with the page's errors)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(NEAR_READY, timeout=timeout)
    except PlaywrightTimeout:
        pass
