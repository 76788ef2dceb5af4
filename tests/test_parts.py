"""A long explainer is written in parts, one page each (site/parts.py): beyond site.toml's
`sections_per_page` sections the first screen stays one part's size, and links to sections keep
landing wherever the sections went."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from browser import open_page
from click.testing import CliRunner
from conftest import STEPPER_SECTION, tiny_site, write_content

from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.site.single_file import single_file

PER_PAGE = 'title = "Long site"\nmodel = "builtin"\nbundle = "test-bundle"\nsections_per_page = 2\n'


def text_section(n: int) -> str:
    return f"---\ntitle: Chapter {n}\n---\nWords of chapter {n}. See [the picture](#watch).\n"


SECTIONS = {
    "01-one.md": text_section(1),
    "02-two.md": text_section(2),
    "03-three.md": text_section(3),
    "04-watch.md": STEPPER_SECTION,  # a widget on a later page
    "05-five.md": text_section(5),
}


@pytest.fixture(scope="module")
def long_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("long"), SECTIONS, site=PER_PAGE)


def section_ids(page: str) -> list[str]:
    return re.findall(r'<section class="section[^"]*" id="([^"]+)"', page)


def test_more_sections_than_sections_per_page_are_written_in_parts_with_contents(long_site):
    names = ("index.html", "part-2.html", "part-3.html")
    pages = {name: (long_site / name).read_text(encoding="utf-8") for name in names}
    assert [section_ids(page) for page in pages.values()] == [["one", "two"], ["three", "watch"], ["five"]]
    assert not (long_site / "part-4.html").exists()
    first, middle, last = pages.values()
    # prev/next name where they lead; the first part has no "before", the last no "next"
    assert 'href="part-2.html" rel="next">Next: Chapter 3 →' in first and 'rel="prev"' not in first
    assert 'href="index.html" rel="prev">← Before: Chapter 2' in middle and 'href="part-3.html" rel="next"' in middle
    assert 'href="part-2.html" rel="prev"' in last and 'rel="next"' not in last
    assert "<title>Long site, part 2 of 3</title>" in middle and "<title>Long site</title>" in first
    contents = (long_site / "contents.html").read_text(encoding="utf-8")
    assert re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', contents) == [
        ("index.html#one", "Chapter 1"),
        ("index.html#two", "Chapter 2"),
        ("part-2.html#three", "Chapter 3"),
        ("part-2.html#watch", "Watch it denoise"),
        ("part-3.html#five", "Chapter 5"),
    ]
    # the presenter shows the part's own sections
    present = re.search(r'id="stepthrough-present">(.*?)</script>', middle)[1]
    assert [slide["section"] for slide in json.loads(present)["slides"]] == ["three", "watch"]
    # each page runs only its own widgets' scripts; the map of sections sits in a deferred script
    assert "stepper.js" not in first and "stepper.js" in middle
    assert re.search(r'<script defer src="assets/data/\w+\.js" id="stepthrough-parts"></script>', first)


def test_a_site_of_at_most_sections_per_page_sections_is_one_page(tmp_path):
    site = tiny_site(tmp_path, {"01-one.md": text_section(1), "02-two.md": text_section(2)}, site=PER_PAGE)
    page = (site / "index.html").read_text(encoding="utf-8")
    assert section_ids(page) == ["one", "two"] and "stepthrough-parts" not in page
    assert sorted(p.name for p in site.glob("*.html")) == ["index.html"]


def test_a_deep_link_into_a_later_part_lands_there_with_the_widget_state(long_site, browser):
    page, watch = open_page(browser, long_site, fragment="#watch?step=2")
    page.wait_for_url("**/part-2.html#watch?step=2")
    page.wait_for_function("document.querySelector('#watch-widget').hasAttribute('data-ready')")
    assert page.evaluate("document.getElementById('watch').getBoundingClientRect().top") < 200
    assert "Step 2 of 3" in page.locator("#watch-widget .stepper-status").inner_text()
    # a link inside a page to a section on another page goes there too
    page.goto((long_site / "index.html").as_uri())
    page.locator("#one a[href='#watch']").click()
    page.wait_for_url("**/part-2.html#watch")
    assert watch.errors == [] and watch.outside_requests == []


def test_next_and_before_links_walk_the_parts(long_site, browser):
    page, watch = open_page(browser, long_site, width=390, height=844)
    page.get_by_role("link", name="Next: Chapter 3 →").first.click()
    page.wait_for_url("**/part-2.html")
    page.get_by_role("link", name="Next: Chapter 5 →").first.click()
    page.wait_for_url("**/part-3.html")
    page.get_by_role("link", name="← Before: Watch it denoise").first.click()
    page.wait_for_url("**/part-2.html")
    page.get_by_role("link", name="Contents").first.click()
    page.get_by_role("link", name="Chapter 5").click()
    page.wait_for_url("**/part-3.html#five")
    assert watch.errors == []


def test_a_later_part_reads_without_javascript(long_site, browser):
    page, _ = open_page(browser, long_site, file="part-2.html", java_script_enabled=False)
    assert page.locator("#watch-widget .stepper-frame").is_visible()
    assert "Drag the slider." in page.locator("#watch-widget").inner_text()
    assert page.get_by_role("link", name="Next: Chapter 5 →").first.is_visible()


def test_a_site_in_parts_zips_whole_but_refuses_the_single_file_in_one_line(long_site, tmp_path):
    from stepthrough.site.build import zip_site

    with zipfile.ZipFile(zip_site(long_site)) as archive:
        names = set(archive.namelist())
    pages = ("index.html", "part-2.html", "part-3.html", "contents.html")
    assert {f"{long_site.name}/{p}" for p in pages} <= names
    with pytest.raises(Exception, match=r"^--single-file: .* is written in parts.*raise sections_per_page$"):
        single_file(long_site)


def test_a_workshop_sequence_split_over_parts_is_one_clear_error(tmp_path):
    workshop = (
        "---\ntitle: Talk\nworkshop:\n  title: Session\n  sequence:\n"
        "    - {title: Start, minutes: 5, sections: [one], do: Read.}\n"
        "    - {title: Late, minutes: 5, sections: [five], do: Look.}\n---\nTalk.\n"
    )
    names = ["01-one.md", "02-two.md", "03-three.md", "04-four.md", "05-five.md"]
    texts = {name: text_section(n) for n, name in enumerate(names, 1)}  # no widget: nothing to render
    root = write_content(tmp_path / "content", {**texts, "06-talk.md": workshop}, site=PER_PAGE)
    result = CliRunner().invoke(main, ["build", "--content", str(root), "--out", str(tmp_path / "site")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "06-talk.md: the workshop's sequence names one, which sit on another page" in result.output
    assert not (tmp_path / "site").exists()


def test_sections_per_page_must_be_a_whole_number(tmp_path):
    root = write_content(tmp_path / "content", SECTIONS, site=PER_PAGE.replace("= 2", "= 0"))
    expected = r"site.toml:4: key 'sections_per_page': expected a whole number from 1 to 100000 \(got 0\)"
    with pytest.raises(Exception, match=expected):
        load_content(root)


def test_each_language_is_written_in_parts_and_its_switcher_links_the_same_part(tmp_path):
    import shutil
    from pathlib import Path

    from tiny_model import TinyModel

    from stepthrough.precompute.run import precompute
    from stepthrough.site.languages import load_for_bundle

    content = tmp_path / "content"
    shutil.copytree(Path(__file__).parent / "fixtures" / "two_languages", content)
    with (content / "site.toml").open("a", encoding="utf-8") as toml:
        toml.write("sections_per_page = 1\n")
    precompute(load_for_bundle(content), tmp_path / "bundles", model=TinyModel(), progress=False)
    args = ["build", "--content", str(content), "--bundles", str(tmp_path / "bundles"), "--out", str(tmp_path / "site")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    # English: watch, seeds; Spanish: watch, seeds (in English), and a section of its own
    assert sorted(p.name for p in site.glob("*.html")) == ["contents.html", "index.html", "part-2.html", "practice.html"]
    assert {"part-2.html", "part-3.html", "contents.html"} <= {p.name for p in (site / "es").glob("*.html")}
    switcher = re.compile(r'<a href="([^"]+)" hreflang="(\w+)"')
    assert switcher.findall((site / "part-2.html").read_text(encoding="utf-8")) == [
        ("part-2.html", "en"),
        ("es/part-2.html", "es"),
    ]
    assert ("../index.html", "en") in switcher.findall((site / "es" / "part-3.html").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("file", "width"), [("index.html", 390), ("part-2.html", 1280), ("contents.html", 320)])
def test_axe_finds_nothing_on_the_parts_and_the_contents(long_site, browser, file, width):
    from pathlib import Path

    from test_browser_axe import RULES

    axe = pytest.importorskip("axe_playwright_python")
    page, _ = open_page(browser, long_site, file=file, width=width, height=800, bypass_csp=True)
    page.add_script_tag(path=str(Path(axe.__file__).with_name("axe.min.js")))
    result = page.evaluate(f"() => axe.run(document, {{runOnly: {RULES}}})")
    assert [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]] == []
    page.context.close()
