"""Bytes before the first paint of a built site, on a phone-sized screen (390 × 844).

Serves the site folder on 127.0.0.1 (python -m http.server's handler), opens index.html in
Debian's Chromium (Playwright) and adds up what the first contentful paint waited for: the HTML,
the render-blocking files (stylesheet, head scripts) and the pictures requested before it (the
first screen's); deferred scripts requested early are listed but not counted. Also lists what the page holds in all and what its first screen waited for.

    python benchmarks/first_screen.py build/site [--width 390] [--height 844] [--runs 3]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import statistics
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import launch

MEASURE = """() => {
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = paint ? paint.startTime : Infinity;
  const files = performance.getEntriesByType("resource").map(r => ({
    name: r.name.split("/").slice(3).join("/"), start: r.startTime, bytes: r.encodedBodySize,
    blocking: r.renderBlockingStatus || "", kind: r.initiatorType}));
  return {fcp, html: nav.encodedBodySize, files};
}"""


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/index.html"


def measure(site: Path, width: int = 390, height: int = 844, runs: int = 3) -> tuple[list[int], list[float], dict]:
    """Per run, the bytes before the first paint (HTML, render-blocking files, first-screen pictures)
    and the first contentful paint in ms; and the last run's measurements."""
    server, url = serve(site)
    before, fcps = [], []
    try:
        with launch() as browser:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(url)
                page.wait_for_load_state("load")
                page.wait_for_timeout(300)
                m = page.evaluate(MEASURE)
                context.close()
                early = [f for f in m["files"] if f["start"] < m["fcp"]]
                # what the first screen needs: blocking files, and the pictures it shows
                needed = [f for f in early if f["blocking"] == "blocking" or f["kind"] in ("img", "css")]
                before.append(m["html"] + sum(f["bytes"] for f in needed))
                fcps.append(m["fcp"])
    finally:
        server.shutdown()
    return before, fcps, m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--width", type=int, default=390)
    parser.add_argument("--height", type=int, default=844)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    before, fcps, m = measure(args.site, args.width, args.height, args.runs)
    early = [f for f in m["files"] if f["start"] < m["fcp"]]
    print(f"index.html: {m['html'] / 1e3:.1f} kB; all files the page loaded: "
          f"{(m['html'] + sum(f['bytes'] for f in m['files'])) / 1e3:.1f} kB in {len(m['files']) + 1} requests")
    print(f"requested before the first paint ({len(early)} besides the HTML):")
    for f in early:
        print(f"  {f['bytes'] / 1e3:7.1f} kB  {f['name']}  ({f['kind']}, {f['blocking'] or '?'})")
    blocking = [f["name"] for f in m["files"] if f["blocking"] == "blocking"]
    print(f"render-blocking: {', '.join(blocking) or 'none'}")
    print(f"first contentful paint (local, median of {args.runs}): {statistics.median(fcps):.0f} ms")
    page = (args.site / "index.html").read_bytes()
    print(
        f"bytes before first paint at {args.width} px (HTML, render-blocking files, first-screen pictures): "
        f"{statistics.median(before) / 1e3:.1f} kB (index.html gzipped: {len(gzip.compress(page)) / 1e3:.1f} kB)"
    )


if __name__ == "__main__":
    main()
