"""How long the step-through viewer takes to show another frame: from the reader's key press on its
step slider to the next painted frame, over every frame of the default trajectory (and every view),
then for each other picture the pickers reach (a prompt or seed one away: another sprite sheet).

Serves the built site on 127.0.0.1 (python -m http.server's handler), opens it in Debian's Chromium
(Playwright) at phone size, brings the viewer on screen, moves the pointer onto it (the reader
reaching for it: stepper.js then decodes the sheets one move away) and presses real keys. Each swap
is timed in the page: the input event's timestamp to the first task after the next frame was
drawn (requestAnimationFrame, then a message). Prints the median and the max with their spread
over the runs.

    python benchmarks/slider_swap.py build/site [--runs 5] [--width 390] [--height 844]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import launch
from first_screen import serve  # the same quiet 127.0.0.1 server

WIDGET = "#step-through-widget"
# Installed before the page's scripts. For each input/change on the viewer: the work of the swap on
# the main thread (the page's handlers, then drawing the next frame: requestAnimationFrame to the
# first task after it) and, from Event Timing, the time from the key press to the frame on screen
# (whole frames: includes waiting for the display and for a picture still being decoded; Chromium
# reports only those of 16 ms or more, so the others count as under 16).
TIMER = """() => {
  window.__swaps = []; window.__presented = [];
  document.addEventListener("input", record, true);
  document.addEventListener("change", record, true);
  function record(event) {
    if (!event.target.closest || !event.target.closest(WIDGET)) return;
    if (event.type === "change" && event.target.type === "range") return;  // its input event counted it
    var begin = performance.now(), kind = event.target.classList.contains("stepper-step") ? "step" : "sheet";
    var handled = begin;
    // The page's handlers run after this capturing one, in the same task; a listener added now on
    // the target runs after them (listeners run in the order they were added).
    requestAnimationFrame(function (now) {
      var frameStart = performance.now();
      var channel = new MessageChannel();
      channel.port1.onmessage = function () {
        window.__swaps.push({kind: kind, ms: performance.now() - frameStart + (handled - begin), handler: handled - begin, frame: performance.now() - frameStart});
      };
      channel.port2.postMessage(0);
    });
    event.target.addEventListener(event.type, function once() {
      event.target.removeEventListener(event.type, once);
      handled = performance.now();
    });
  }
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) {
      if (e.name === "keydown" && e.target && e.target.closest && e.target.closest(WIDGET))
        window.__presented.push({kind: e.target.classList.contains("stepper-step") ? "step" : "sheet", ms: e.duration});
    });
  }).observe({type: "event", durationThreshold: 16, buffered: true});
}""".replace("WIDGET", repr(WIDGET))


def one_run(browser, url: str, width: int, height: int) -> list[dict]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.add_init_script(f"({TIMER})()")
    page.goto(url)
    page.wait_for_load_state("load")
    widget = page.locator(WIDGET)
    widget.scroll_into_view_if_needed()
    frame = widget.locator(".stepper-frame")
    frame.hover()  # the reader reaches for it
    page.wait_for_timeout(800)
    slider = widget.locator(".stepper-step")
    steps = int(slider.get_attribute("max"))
    slider.focus()
    page.keyboard.press("End")

    def sweep() -> None:
        for _ in range(steps):  # every frame, last to first and back
            page.keyboard.press("ArrowLeft")
            page.wait_for_timeout(60)
        for _ in range(steps):
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(60)

    sweep()
    for radio in widget.locator("input[type=radio]").all()[1:]:  # the other views of the same run
        radio.check()
        page.wait_for_timeout(100)
        slider.focus()
        sweep()
    # Another picture one move away: each picker, one step up (a sheet decoded ahead).
    for picker in widget.locator("[data-param]").all():
        picker.focus()
        page.keyboard.press("ArrowRight" if picker.get_attribute("type") == "range" else "ArrowDown")
        page.wait_for_timeout(300)
    page.wait_for_timeout(200)
    swaps = page.evaluate("() => [window.__swaps, window.__presented]")
    context.close()
    return swaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=390)
    parser.add_argument("--height", type=int, default=844)
    args = parser.parse_args()
    server, url = serve(args.site)
    runs = []
    try:
        with launch() as browser:
            for _ in range(args.runs):
                runs.append(one_run(browser, url, args.width, args.height))
    finally:
        server.shutdown()
    for kind, what in (
        ("step", "step slider, every frame of every view"),
        ("sheet", "another picture (views, pickers)"),
    ):
        per_run = [[x["ms"] for x in work if x["kind"] == kind] for work, _ in runs]
        if not any(per_run):
            print(f"{what}: none measured")
            continue
        medians, maxima = [statistics.median(r) for r in per_run if r], [max(r) for r in per_run if r]
        slow = [[x["ms"] for x in shown if x["kind"] == kind] for _, shown in runs]
        print(
            f"{what}: {sum(map(len, per_run))} swaps in {len(runs)} runs; main-thread work per swap: "
            f"median {statistics.median(medians):.1f} ms (runs {min(medians):.1f}-{max(medians):.1f}), "
            f"max {statistics.median(maxima):.1f} ms (runs {min(maxima):.1f}-{max(maxima):.1f}); "
            f"key press to frame on screen >= 16 ms: {sum(map(len, slow))} "
            f"(max {max((m for r in slow for m in r), default=0):.0f} ms)"
        )


if __name__ == "__main__":
    main()
