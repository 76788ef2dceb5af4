"""Lighthouse mobile performance of a built site, served from 127.0.0.1 two ways in one run.

1. plain: every file as it is on disk (python -m http.server's handler), as a USB stick or a bare
   file server gives it;
2. gzip: text files (HTML, CSS, scripts, SVG, JSON) gzip-compressed, as GitHub Pages, Netlify,
   nginx and `stepthrough serve` send them.

Runs alternate between the two (after one uncounted warm-up each), so a busy machine slows both alike; each line gives the median of
the runs with the spread, then the median of each metric Lighthouse scores. Lighthouse's mobile
preset simulates a mid-range phone on a slow 4G link (150 ms round trips, 1.6 Mbit/s, CPU slowed
4×), so a page's bytes before first paint weigh heavily. Target (issue 14): ≥ 98.

Needs Node and Lighthouse (`npm install lighthouse@12.2.3` in a folder of your choice) and
Chromium (Debian's /usr/bin/chromium):

    python benchmarks/lighthouse.py build/site --lighthouse ~/lh/node_modules/lighthouse/cli/index.js [--runs 5]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

from stepthrough.commands.serve import Handler

METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
}


class Plain(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Published:
    """What `stepthrough serve`'s handler asks of its preview: here a finished site, no reload script."""

    good = True

    def with_hook(self, page: str) -> str:
        return page


# `stepthrough serve`'s handler: text files gzip-compressed when the browser asks, as static hosts send them.
Gzip = type("Gzip", (Handler,), {"preview": Published()})


def serve(folder: Path, handler: type) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def lighthouse(cli: str, url: str, chrome: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            ["node", cli, url, "--only-categories=performance", "--output=json", f"--output-path={report}",
             "--quiet", "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
            env={**os.environ, "CHROME_PATH": chrome}, check=True, capture_output=True,
        )
        result = json.loads(report.read_text())
    audits = result["audits"]
    return {"score": round(result["categories"]["performance"]["score"] * 100),
            **{short: audits[key]["numericValue"] for key, short in METRICS.items()}}


def shown(name: str, values: list[float]) -> str:
    if name == "CLS":
        return f"{name} {statistics.median(values):.3f}"
    return f"{name} {statistics.median(values) / 1000:.2f} s" if name != "TBT" else f"TBT {statistics.median(values):.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="a folder that stepthrough build wrote")
    parser.add_argument("--lighthouse", default=os.environ.get("LIGHTHOUSE", "lighthouse"),
                        help="Lighthouse's cli/index.js (or $LIGHTHOUSE)")
    parser.add_argument("--chrome", default="/usr/bin/chromium")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="runs first, not counted (cold disk and Chromium caches)")
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        parser.error(f"{args.site}: no index.html (build the site first: stepthrough build --out {args.site})")
    servers = {"plain": serve(args.site, Plain), "gzip": serve(args.site, Gzip)}
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    try:
        for run in range(args.warmup + args.runs):
            for name, server in servers.items():
                url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
                result = lighthouse(args.lighthouse, url, args.chrome)
                if run >= args.warmup:
                    runs[name].append(result)
    finally:
        for server in servers.values():
            server.shutdown()
    for name, results in runs.items():
        scores = [r["score"] for r in results]
        metrics = "  ".join(shown(short, [r[short] for r in results]) for short in METRICS.values())
        print(f"{name:<5} performance median {statistics.median(scores):g} (spread {min(scores)}–{max(scores)})  {metrics}")
    print(f"lighthouse: plain={statistics.median(r['score'] for r in runs['plain']):g} "
          f"gzip={statistics.median(r['score'] for r in runs['gzip']):g} (target 98)")


if __name__ == "__main__":
    main()
