"""Bundles and content are untrusted input: a bundle can publish no file of its own choosing, a
manifest edit is caught, raw HTML stays text unless the author opts in, every page carries a
Content-Security-Policy, and `--out` never deletes a folder stepthrough did not make."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepthrough.bundle import check_bundle, manifest_digest, read_manifest
from stepthrough.cli import main


def build(project: Path, *extra: str, out: Path | None = None):
    args = ["build", "--content", str(project / "content"), "--bundles", str(project / "bundles")]
    return CliRunner().invoke(main, [*args, "--out", str(out or project / "build" / "site"), *extra])


def check(project: Path):
    return CliRunner().invoke(main, ["check", str(project / "bundles" / "test-bundle")])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit_manifest(project: Path, change, seal: bool = True) -> None:
    """Change the manifest's data; `seal` rewrites its digest too, as a careful forger would."""
    path = project / "bundles" / "test-bundle" / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    if seal:
        data["digest"] = manifest_digest(data)
    path.write_text(json.dumps(data))


def first_view(data: dict) -> tuple[dict, str]:
    trajectory = next(iter(data["trajectories"].values()))
    return trajectory["views"]["xt"], trajectory["views"]["xt"]["file"]


def point_view_at(target: str, content: bytes):
    """A manifest change: the first x_t view names `target`, listed with its true sha256 and size."""

    def change(data: dict) -> None:
        view, old = first_view(data)
        view["file"] = target
        del data["files"][old]
        data["files"][target] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}

    return change


def test_a_manifest_naming_a_file_outside_the_bundle_is_refused_by_check_and_build(tiny_project):
    secret = tiny_project / "secret" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(b"the exam answers")
    site_before = snapshot(tiny_project / "build" / "site")
    edit_manifest(tiny_project, point_view_at("../../secret/secret.txt", secret.read_bytes()))

    checked = check(tiny_project)
    assert (
        checked.exit_code == 1
        and "'../../secret/secret.txt' is not a path inside the bundle" in checked.output
    )
    built = build(tiny_project)
    assert built.exit_code == 1 and "manifest.json" in built.output and "../../secret" in built.output
    assert len(built.output.strip().splitlines()) == 1 and "Traceback" not in built.output
    assert snapshot(tiny_project / "build" / "site") == site_before
    assert not any(b"exam answers" in data for data in site_before.values())


def test_attention_maps_naming_a_file_outside_the_bundle_or_of_a_wrong_type_are_refused(tiny_project):
    def outside(data: dict) -> None:
        maps = next(t["attention"] for t in data["trajectories"].values() if t["attention"])
        maps["file"] = "../../secret.png"

    edit_manifest(tiny_project, outside)
    checked = check(tiny_project)
    assert checked.exit_code == 1 and "attention.file: '../../secret.png' is not a path inside" in checked.output

    def wrong_type(data: dict) -> None:
        maps = next(t["attention"] for t in data["trajectories"].values() if t["attention"])
        maps["file"], maps["steps"] = "frames/x.png", "four"

    edit_manifest(tiny_project, wrong_type)
    checked = check(tiny_project)
    assert checked.exit_code == 1 and "attention.steps: expected a whole number (got 'four')" in checked.output


def test_a_manifest_naming_an_absolute_path_is_refused(tiny_project):
    target = tiny_project / "elsewhere.txt"
    target.write_bytes(b"a local file")
    edit_manifest(tiny_project, point_view_at(str(target), target.read_bytes()))
    checked, built = check(tiny_project), build(tiny_project)
    assert checked.exit_code == 1 and f"'{target}' is not a path inside the bundle" in checked.output
    assert built.exit_code == 1 and str(target) in built.output


def test_a_frame_that_is_a_symlink_out_of_the_bundle_is_refused(tiny_project):
    bundle = tiny_project / "bundles" / "test-bundle"
    frame = min((bundle / "frames").iterdir())
    outside = tiny_project / "outside.webp"
    outside.write_bytes(frame.read_bytes())  # same bytes: the sha256 alone would pass
    frame.unlink()
    frame.symlink_to(outside)
    site_before = snapshot(tiny_project / "build" / "site")
    checked, built = check(tiny_project), build(tiny_project)
    assert checked.exit_code == 1 and "symlink that leads out of the bundle" in checked.output
    assert built.exit_code == 1 and frame.name in built.output and "symlink" in built.output
    assert snapshot(tiny_project / "build" / "site") == site_before


def test_a_sha256_that_is_not_hex_cannot_name_a_file_outside_the_site(tiny_project):
    def change(data: dict) -> None:
        _, rel = first_view(data)
        data["files"][rel]["sha256"] = "../../../../escaped"

    edit_manifest(tiny_project, change)
    built = build(tiny_project)
    assert built.exit_code == 1 and "expected a sha256 of 64 hex digits" in built.output
    assert not list(tiny_project.rglob("escaped*"))


def test_an_edited_prompt_is_caught_by_check_and_never_reaches_the_page(tiny_project):
    def change(data: dict) -> None:
        next(iter(data["trajectories"].values()))["prompt"] = "<b>buy pills</b>"

    edit_manifest(tiny_project, change, seal=False)
    checked = check(tiny_project)
    assert checked.exit_code == 1 and "changed after stepthrough wrote it" in checked.output
    assert build(tiny_project).exit_code == 1

    edit_manifest(tiny_project, lambda data: None)  # a forger who also rewrites the digest
    checked = check(tiny_project)
    assert (
        checked.exit_code == 1 and "its prompt, seed, steps, guidance, blend or sampler was changed" in checked.output
    )
    built = build(tiny_project)
    assert built.exit_code == 1  # the content's trajectory is not in the bundle: nothing to show
    assert "buy pills" not in (tiny_project / "build" / "site" / "index.html").read_text()


def test_a_manifest_of_schema_1_without_a_digest_is_still_read(tiny_project):
    def downgrade(data: dict) -> None:
        data["schema_version"] = 1
        del data["digest"]

    edit_manifest(tiny_project, downgrade, seal=False)
    assert read_manifest(tiny_project / "bundles" / "test-bundle").schema_version == 1
    assert check_bundle(tiny_project / "bundles" / "test-bundle") == []
    assert build(tiny_project).exit_code == 0


ATTACKS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(2)">',
    '<svg onload="alert(3)"></svg>',
    '<iframe srcdoc="<script>parent.alert(4)</script>"></iframe>',
    '<a href="javascript:alert(5)">click</a>',
]
ATTACK_SECTION = """---
title: Injected
---
Plain words.

{attack}
"""


def write_attacks(project: Path) -> None:
    for i, attack in enumerate(ATTACKS):
        section = project / "content" / "sections" / f"{20 + i}-attack-{i}.md"
        section.write_text(ATTACK_SECTION.format(attack=attack))
    practice = project / "content" / "practice.md"
    text = practice.read_text()
    text = text.replace("answer: From noise made by a seed.", "answer: '<img src=x onerror=alert(6)>'")
    text = text.replace("back: The number that picks the starting noise.", "back: '<svg onload=alert(7)>'")
    practice.write_text(text + "\n<script>alert(8)</script>\n")


def test_raw_html_in_sections_and_practice_fields_is_shown_as_text_with_a_warning(tiny_project):
    write_attacks(tiny_project)
    result = build(tiny_project)
    assert result.exit_code == 0, result.output
    site = tiny_project / "build" / "site"
    pages = (site / "index.html").read_text() + (site / "practice.html").read_text()
    for tag in ("<script>alert", "<img src", "<svg onload", "<iframe", '<a href="javascript'):
        assert tag not in pages
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 8
    assert any(
        re.search(r"20-attack-0\.md:6: raw HTML '<script>alert\(1\)</script>' is shown as text", w)
        for w in warnings
    )
    practice_lines = {int(m[1]) for w in warnings if (m := re.search(r"practice\.md:(\d+):", w))}
    source = (tiny_project / "content" / "practice.md").read_text().splitlines()
    assert {source[n - 1].strip()[:8] for n in practice_lines} == {"answer: ", "back: '<", "<script>"}


def test_allow_html_renders_raw_html_and_the_policy_still_stops_its_scripts(tiny_project, browser):
    from browser import open_page

    write_attacks(tiny_project)
    site_toml = tiny_project / "content" / "site.toml"
    site_toml.write_text(site_toml.read_text() + "allow_html = true\n")
    result = build(tiny_project)
    assert result.exit_code == 0 and "warning" not in result.output
    site = tiny_project / "build" / "site"
    assert "<script>alert(1)</script>" in (site / "index.html").read_text()  # the author asked for it
    dialogs: list[str] = []
    for file in ("index.html", "practice.html"):
        page, watch = open_page(browser, site, file=file)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.reload()
        page.wait_for_timeout(300)
        for link in page.locator("a[href^='javascript:']:visible").all():  # (presenter copies are hidden)
            link.click()
        assert any("Content Security Policy" in error for error in watch.errors), file
        page.context.close()
    assert dialogs == []


def test_every_page_and_the_single_file_carry_a_policy_that_lets_them_work(tiny_project, browser):
    from browser import open_page

    result = build(tiny_project, "--single-file")
    assert result.exit_code == 0, result.output
    out = tiny_project / "build"
    for page_file in [out / "site" / "index.html", out / "site" / "practice.html", out / "site.html"]:
        html = page_file.read_text()
        [policy] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
        assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy.split("style-src")[0]
        assert html.index("Content-Security-Policy") < html.index("<script")
        page, watch = open_page(browser, page_file)
        assert watch.errors == [] and watch.outside_requests == [], page_file
        assert page.evaluate("document.documentElement.classList.contains('js')"), page_file
        page.context.close()
    single = (out / "site.html").read_text()
    assert single.count("'sha256-") >= 3  # the page's own inline scripts, each allowed by its hash


def test_a_section_symlinked_to_a_file_outside_the_content_is_refused(tiny_project):
    private = tiny_project / "diary.md"
    private.write_text("---\ntitle: Diary\n---\nMy secrets.\n")
    (tiny_project / "content" / "sections" / "20-diary.md").symlink_to(private)
    before = snapshot(tiny_project / "build" / "site")
    result = build(tiny_project)
    assert result.exit_code == 2 and "20-diary.md: a symlink to" in result.output
    assert "outside the content folder" in result.output
    assert snapshot(tiny_project / "build" / "site") == before
    # A symlink that stays inside the content folder is fine.
    (tiny_project / "content" / "sections" / "20-diary.md").unlink()
    (tiny_project / "content" / "shared.md").write_text(private.read_text())
    (tiny_project / "content" / "sections" / "20-diary.md").symlink_to("../shared.md")
    assert build(tiny_project).exit_code == 0


@pytest.mark.parametrize(
    "where", ["folder of user files", "the content folder", "a folder holding the bundles"]
)
def test_out_never_replaces_a_folder_stepthrough_did_not_make(tiny_project, where):
    out = {
        "folder of user files": tiny_project / "thesis",
        "the content folder": tiny_project / "content",
        "a folder holding the bundles": tiny_project,
    }[where]
    (tiny_project / "thesis").mkdir()
    (tiny_project / "thesis" / "thesis.txt").write_text("three years of work")
    before = snapshot(tiny_project)
    result = build(tiny_project, out=out)
    assert result.exit_code == 2 and f"--out {out}:" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot(tiny_project) == before


def test_out_replaces_a_site_it_made_an_empty_folder_and_a_site_made_before_the_marker(tiny_project):
    site = tiny_project / "build" / "site"
    assert (site / ".stepthrough-site").is_file()
    assert build(tiny_project).exit_code == 0  # its own site
    (site / ".stepthrough-site").unlink()  # as sites made by older versions
    assert build(tiny_project).exit_code == 0
    (tiny_project / "empty").mkdir()
    assert build(tiny_project, out=tiny_project / "empty").exit_code == 0
