"""What a teacher leans on, measured on a built site in headless Chromium from file://.

    python benchmarks/classroom.py build/site            # every measurement
    python benchmarks/classroom.py build/site --only landing,print

Prints one line per measurement: deep links that land (share of links whose widget is at least
60% in view, per width), pictures in the printed PDF, the narrowest step slider at 320 px, the
share of paragraph positions at 390 px where the section's widget is at least half in view,
live-region updates per second while playing, tab stops in picture grids, how long the particles
take to show the linked frame, and axe-core violations (with `pip install axe-playwright-python`).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import launch, open_page

WIDTHS = (320, 390, 1280)
HEIGHTS = {320: 568, 390: 844, 1280: 800}
# One state link per widget kind: what a teacher would send.
STATE = {
    "stepper": "step=3",
    "compare": "at=3",
    "paths": "step=3",
    "particles": "shape=star&step=10",
    "tally": "tag=skin&value=dark",
    "embedding-map": "group=1",
    "forward-process": "step=10",
}

VISIBLE = """(el) => {
  const r = el.getBoundingClientRect(), vh = innerHeight;
  const seen = Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
  return r.height ? seen / Math.min(r.height, vh) : 0;
}"""


def settle(page, ms: int = 1200) -> None:
    page.wait_for_timeout(ms)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def widget_sections(browser, site: Path) -> list[tuple[str, str]]:
    page, _ = open_page(browser, site)
    found = page.evaluate(
        """() => [...document.querySelectorAll('section.has-widget')].map(s =>
             [s.id, s.querySelector('[data-widget]').dataset.widget])"""
    )
    page.context.close()
    return found


def landing(browser, site: Path) -> None:
    sections = widget_sections(browser, site)
    for width in WIDTHS:
        landed, missed = 0, []
        links = [f"#{sid}" for sid, _ in sections]
        links += [f"#{sid}?{STATE[kind]}" for sid, kind in sections if kind in STATE]
        for link in links:
            page, _ = open_page(browser, site, width=width, height=HEIGHTS[width], fragment=link)
            settle(page)
            sid = link[1:].split("?")[0]
            seen = page.locator(f"#{sid}-widget").evaluate(VISIBLE)
            if seen >= 0.6:
                landed += 1
            else:
                missed.append(f"{link}:{seen:.2f}")
            page.context.close()
        print(
            f"landing width={width}: {landed}/{len(links)} links show their widget >=60%"
            + (f"; missed {' '.join(missed)}" if missed else "")
        )


def printing(browser, site: Path) -> None:
    from pypdf import PdfReader

    for background in (False, True):
        page, _ = open_page(browser, site)
        settle(page, 500)
        pdf = page.pdf(print_background=background)
        reader = PdfReader(io.BytesIO(pdf))
        per_page = []
        for p in reader.pages:
            per_page.append(len(p.images))
        print(
            f"print background={background}: {len(pdf) / 1e6:.2f} MB, {len(reader.pages)} pages, "
            f"{sum(per_page)} pictures drawn ({' '.join(map(str, per_page))} per page)"
        )
        page.context.close()
    practice = site / "practice.html"
    if practice.exists():
        page, _ = open_page(browser, site, file="practice.html")
        cards = page.locator(".card")
        for i in range(cards.count()):
            cards.nth(i).click()  # turn every card over: its back is showing
        page.emulate_media(media="print")
        shown = page.evaluate(
            """() => [...document.querySelectorAll('.card')].map(c =>
                 [...c.querySelectorAll('.card-side')].filter(s => s.getBoundingClientRect().height > 0).length)"""
        )
        print(
            f"print flashcards turned over: {sum(1 for n in shown if n == 2)}/{len(shown)} print both sides"
        )
        page.context.close()


def sliders(browser, site: Path) -> None:
    page, _ = open_page(browser, site, width=320, height=568)
    widths = {}
    for i in range(page.locator("input[type=range]").count()):
        slider = page.locator("input[type=range]").nth(i)
        # the widget itself, not its compact copy that follows the text (which hides its controls)
        slider.evaluate("el => el.closest('figure').scrollIntoView({block: 'start', behavior: 'instant'})")
        settle(page, 50)
        box = slider.bounding_box() if slider.is_visible() else None
        label = slider.evaluate(
            "el => el.closest('section').id + ' ' + (el.dataset.param || el.className || 'range')"
        )
        widths[label] = round(box["width"]) if box else 0
    narrow = sorted(widths.items(), key=lambda kv: kv[1])
    print("sliders at 320 px (narrowest first): " + ", ".join(f"{k}={v}px" for k, v in narrow))
    page.context.close()


def scroll_follow(browser, site: Path) -> None:
    page, _ = open_page(browser, site, width=390, height=844)
    settle(page, 300)
    driven = page.evaluate("() => Object.keys(Stepthrough.scrubbers)")
    seen_total, positions = 0, 0
    per_section = []
    for sid in driven:
        count = page.locator(f"#{sid} .prose > :is(p, ul, ol)").count()
        if count < 2:
            continue
        good = 0
        for i in range(count):
            paragraph = page.locator(f"#{sid} .prose > :is(p, ul, ol)").nth(i)
            for _ in range(3):  # sections change height as they render: aim again
                paragraph.evaluate("el => el.scrollIntoView({block: 'center', behavior: 'instant'})")
                settle(page, 60)
            if page.locator(f"#{sid}-widget").evaluate(VISIBLE) >= 0.5:
                good += 1
        per_section.append(f"{sid} {good}/{count}")
        seen_total += good
        positions += count
    print(
        f"scroll-follow width=390: widget at least half in view at {seen_total}/{positions} paragraph "
        f"positions ({', '.join(per_section)})"
    )
    page.context.close()


def live_region(browser, site: Path) -> None:
    page, _ = open_page(browser, site, fragment="#step-through")
    settle(page, 300)
    page.evaluate(
        """() => { window.__live = 0;
             new MutationObserver(ms => { window.__live += ms.length; }).observe(document.body,
               {subtree: true, childList: true, characterData: true, attributeFilter: []});
             window.__liveOnly = 0;
             document.querySelectorAll('[aria-live]:not([aria-live=off])').forEach(el =>
               new MutationObserver(() => { window.__liveOnly += 1; }).observe(el,
                 {subtree: true, childList: true, characterData: true}));
           }"""
    )
    page.locator("#step-through-widget [data-action=play]").click()
    page.wait_for_timeout(3000)
    updates = page.evaluate("window.__liveOnly")
    print(f"live region while playing the step-through: {updates} updates in 3 s ({updates / 3:.1f}/s)")
    page.context.close()


def tab_stops(browser, site: Path) -> None:
    page, _ = open_page(browser, site)
    for sid in ("default-test", "step-through"):
        if not page.locator(f"#{sid}").count():
            continue
        page.locator(f"#{sid}").evaluate("el => el.scrollIntoView()")
        settle(page, 100)
        stops = page.evaluate(
            f"""() => [...document.querySelectorAll('#{sid} :is(a[href], button, input, select, textarea, summary, [tabindex])')]
                 .filter(el => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length &&
                               !(el.type === 'radio' && !el.checked)).length"""
        )
        print(f"tab stops in #{sid}: {stops}")
    page.context.close()


def particles(browser, site: Path) -> None:
    wait = "() => document.querySelector('[data-widget=particles]').particles.step >= {}"
    for width in (390, 1280):
        page, _ = open_page(
            browser, site, width=width, height=HEIGHTS[width], fragment="#reverse-particles?shape=star&step=40"
        )
        # From the end of the page's scripts (DOMContentLoaded), so a slow page load does not count.
        ready = "performance.now() - performance.getEntriesByType('navigation')[0].domContentLoadedEventStart"
        page.wait_for_function(wait.format(0), timeout=60000)
        first = page.evaluate(ready)
        page.wait_for_function(wait.format(40), timeout=60000)
        last = page.evaluate(ready)
        busy = page.evaluate("document.querySelector('[data-widget=particles]').particles.busyMs")
        print(
            f"particles width={width}: link (star, step 40): first frame {first:.0f} ms after the scripts ran, "
            f"step 40 at {last:.0f} ms ({busy:.0f} ms of compute)"
        )
        page.context.close()


def axe(browser, site: Path) -> None:
    try:
        import axe_playwright_python
    except ImportError:
        print("axe: pip install axe-playwright-python to count violations")
        return
    script = Path(axe_playwright_python.__file__).with_name("axe.min.js")
    views = [(name, "", width) for name in ("index.html", "practice.html") for width in (390, 1280)]
    views += [("index.html", "#present", 1280), ("index.html", "#present-notes", 1280), ("facilitator.html", "", 1280)]
    for name, fragment, width in views:
        if not (site / name).exists():
            continue
        # the page's own policy (rightly) refuses an injected script: this measurement steps past it
        page, _ = open_page(browser, site, width=width, height=HEIGHTS[width], file=name, fragment=fragment, bypass_csp=True)
        page.add_style_tag(content=".section { content-visibility: visible !important; }")
        settle(page, 300)
        page.add_script_tag(path=str(script))
        result = page.evaluate(
            "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice', 'experimental']})"
        )
        violations = result["violations"]
        detail = ", ".join(f"{v['id']}×{len(v['nodes'])}" for v in violations)
        print(
            f"axe {name}{fragment} width={width} (experimental rules too): {len(violations)} violations"
            + (f" ({detail})" if detail else "")
        )
        page.context.close()


MEASURES = {
    "landing": landing,
    "print": printing,
    "sliders": sliders,
    "follow": scroll_follow,
    "live": live_region,
    "tabs": tab_stops,
    "particles": particles,
    "axe": axe,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("site", type=Path)
    parser.add_argument("--only", default=",".join(MEASURES), help="comma-separated: " + ", ".join(MEASURES))
    args = parser.parse_args()
    with launch() as browser:
        for name in args.only.split(","):
            started = time.perf_counter()
            MEASURES[name](browser, args.site)
            print(f"  ({name}: {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
