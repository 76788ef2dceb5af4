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
    **options,
):
    """Open site/index.html (or another page) over file:// and record console errors and non-file requests."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    watch = PageWatch()
    page.on("console", lambda msg: msg.type == "error" and watch.errors.append(msg.text))
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    page.on(
        "request",
        lambda req: (
            None
            if req.url.startswith(("file://", "data:", "blob:"))
            else watch.outside_requests.append(req.url)
        ),
    )
    page.goto((site / file).resolve().as_uri() + fragment)
    page.wait_for_load_state("load")
    return page, watch
