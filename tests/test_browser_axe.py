"""axe-core, its experimental rules included, finds nothing on any page or view of a site with a
widget of every kind, a workshop and a practice page: the explainer with every widget started and
its links shown, presenter mode, the notes window, the practice page and the facilitator sheet.

axe-core comes with the test dependency axe-playwright-python (its axe.min.js, no network); the
test injects it, as the page's own policy would (rightly) refuse it."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import open_page
from test_browser_handout import handout_site, start_every_widget
from test_practice import PRACTICE
from test_workshop import INTRO, WORKSHOP

RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice", "experimental"]
VIEWS = [
    ("index.html", "", 320),
    ("index.html", "", 1280),
    ("index.html", "#present", 1280),
    ("index.html", "#present-notes", 1280),
    ("practice.html", "", 390),
    ("facilitator.html", "", 1280),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("axe")
    return handout_site(root, {"20-intro.md": INTRO, "21-talk.md": WORKSHOP}, practice=PRACTICE)


@pytest.mark.parametrize(("file", "fragment", "width"), VIEWS)
def test_axe_with_its_experimental_rules_finds_nothing(site, browser, file, fragment, width):
    axe = pytest.importorskip("axe_playwright_python")
    page, watch = open_page(browser, site, file=file, fragment=fragment, width=width, height=800, bypass_csp=True)
    if file == "index.html" and not fragment:
        start_every_widget(page)
        # every widget's "Copy link" pressed: its field shows
        page.evaluate("() => document.querySelectorAll('.widget-link-copy').forEach((b) => b.click())")
        page.wait_for_function("() => !document.querySelector('.widget-link-field[hidden]')")
    page.add_script_tag(path=str(Path(axe.__file__).with_name("axe.min.js")))
    result = page.evaluate(f"() => axe.run(document, {{runOnly: {RULES}}})")
    found = [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]]
    assert found == []
    assert "experimental" in {tag for rule in result["passes"] for tag in rule["tags"]}  # the rules ran
    # nothing else went wrong (axe's own attempt to read the stylesheet over file:// is refused: not the page's)
    assert [e for e in watch.errors if "style.css" not in e and "net::ERR_FAILED" not in e] == []
    page.context.close()
