"""The builder: a complete, self-contained site from content + bundle, swapped in atomically."""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner
from conftest import write_content

from stepthrough.bundle import read_manifest
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.run import precompute
from stepthrough.site.build import build_site, bundle_state, script_hash


@pytest.fixture
def built(tiny_model, content_dir, tmp_path):
    content = load_content(content_dir)
    bundle = precompute(content, tmp_path / "bundles", model=tiny_model, progress=False)
    site = build_site(content, bundle, tmp_path / "out" / "site")
    return content, bundle, site


def test_site_has_the_page_styles_scripts_and_only_used_frames_under_hashed_names(built):
    _content, bundle, site = built
    html = (site / "index.html").read_text()
    assert "<h2" in html and "Watch it denoise" in html and "<em>words</em>" in html
    frames = sorted(p.name for p in (site / "assets" / "frames").iterdir())
    manifest = read_manifest(bundle)
    shown = ("-xt.webp", "-x0.webp", "-noise.webp")  # the stepper's default views; not the latent
    assert frames == sorted(f"{r.sha256[:16]}.webp" for f, r in manifest.files.items() if f.endswith(shown))
    for url in re.findall(r'(?:src|href)="([^"#]+)"', html) + re.findall(r"url\('([^']+)'\)", html):
        if url.startswith("data:"):  # inside the page itself (the icon)
            continue
        assert not url.startswith(("http:", "https:", "//", "/")), url
        assert (site / url).is_file(), url
    # Script files wait for the page to be parsed, so the first screen paints without them, in
    # order; only the short head script runs at once, inline (it marks the page as scripted before
    # it paints), allowed by its hash.
    # A widget data file that waits for the reader to near its widget is no script to the browser
    # (text/plain): common.js adds it then.
    scripts = re.findall(r"<script\b[^>]*\bsrc=\"[^\"]*\"", html)
    assert scripts and all(
        tag.startswith(("<script defer src=", '<script type="text/plain" data-src="assets/data/')) for tag in scripts
    )
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert len(inline) == 1 and 'className += " js"' in inline[0] and script_hash(inline[0]) in html


def test_page_works_without_javascript_showing_the_final_frame_and_caption(built):
    _, _, site = built
    html = (site / "index.html").read_text()
    assert 'class="stepper-controls" hidden' in html
    assert "Step 3 of 3 · “a doctor” · the finished picture" in html
    assert "Drag the slider." in html
    assert re.search(r'role="img"[^>]*aria-label="Step 3 of 3', html, re.DOTALL)


def test_unused_frames_are_not_copied(tiny_model, content_dir, tmp_path):
    content = load_content(content_dir)
    bundle = precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    section = content_dir / "sections" / "01-watch.md"
    section.write_text(section.read_text().replace('["a doctor", "red apple"]', '["a doctor"]'))
    site = build_site(load_content(content_dir), bundle, tmp_path / "site")
    assert len(list((site / "assets" / "frames").iterdir())) == 3  # one trajectory, the three views shown


def test_a_failed_build_leaves_the_previous_site_untouched(built, monkeypatch):
    content, bundle, site = built
    before = (site / "index.html").read_text()
    from stepthrough.widgets import WIDGETS

    def explode(*args, **kwargs):
        raise RuntimeError("template exploded halfway")

    monkeypatch.setattr(WIDGETS["stepper"], "data", explode)
    with pytest.raises(RuntimeError):
        build_site(content, bundle, site)
    assert (site / "index.html").read_text() == before
    assert [p.name for p in site.parent.iterdir()] == ["site"]  # no staging folder left behind


def test_building_from_an_incomplete_bundle_is_refused(built, tmp_path):
    content, bundle, _ = built
    next((bundle / "frames").iterdir()).unlink()
    assert len(bundle_state(content, bundle).missing) == 1
    with pytest.raises(StepthroughError, match="lacks 1 trajectories and 0 projections"):
        build_site(content, bundle, tmp_path / "other")


def test_build_for_a_non_builtin_model_prints_the_precompute_command(tmp_path):
    site = 'title = "T"\nmodel = "stabilityai/sd-turbo"\nbundle = "sd"\n'
    root = write_content(
        tmp_path / "c", {"01-a.md": "---\ntitle: A\nwidget: stepper\nsweep:\n  prompts: [cat]\n---\n"}, site
    )
    result = CliRunner().invoke(
        main,
        ["build", "--content", str(root), "--bundles", str(tmp_path / "b"), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 1, result.output
    assert "1 trajectories and 0 projections that the content needs are not rendered yet" in result.output
    assert (
        f"stepthrough precompute --content {root} --model stabilityai/sd-turbo --device cuda --bundles {tmp_path / 'b'}"
        in result.output
    )
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_every_command_has_help():
    for name in ("build", "precompute", "check", "serve", "prompts", "new", "merge"):
        args = [name, "--help"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_zip_export_holds_the_whole_site_in_one_folder(built, tmp_path):
    import zipfile

    from stepthrough.site.build import zip_site

    _, _, site = built
    archive = zip_site(site)
    assert archive == site.with_suffix(".zip")
    names = zipfile.ZipFile(archive).namelist()
    on_disk = sorted(f"site/{p.relative_to(site)}" for p in site.rglob("*") if p.is_file())
    assert sorted(names) == on_disk and "site/index.html" in names


def test_single_file_names_no_other_file_and_carries_each_frame_once(built):
    import base64
    import json

    from stepthrough.site.single_file import single_file

    _, _, site = built
    assert single_file(site) == [site.with_suffix(".html")]  # no practice page: one file
    page = site.with_suffix(".html")
    html = page.read_text()
    for name in ("style.css", "common.js", "stepper.js", "scroll.js"):
        assert (site / "assets" / name).read_text().strip()[:200] in html, name
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert not any("defer" in attrs for attrs, _ in scripts)  # inline scripts cannot be deferred
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.DOTALL)
    references = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)""", markup) + re.findall(
        r"""url\(\s*["']?([^"')]*)""", markup
    )
    assert references and all(ref.startswith(("data:", "#")) for ref in references), references
    assert all("src=" not in attrs for attrs, _ in scripts)
    # Widget data names frames by their folder path; the page's table says where each one is inside.
    table = json.loads(next(body for attrs, body in scripts if 'id="stepthrough-files"' in attrs))
    named = set(
        re.findall(r'"(assets/[^"]+)"', "".join(body for attrs, body in scripts if "widget-data" in attrs))
    )
    assert named and named <= set(table)
    assert all(f'{prop}: url("data:' in markup for prop in table.values())
    frames = sorted(p.read_bytes() for p in (site / "assets" / "frames").iterdir())
    inlined = sorted(
        base64.b64decode(b) for b in re.findall(r"data:image/webp;base64,([A-Za-z0-9+/=]+)", html)
    )
    assert inlined == frames  # every frame, each once, though the page names some twice


def test_single_file_refuses_a_site_that_names_a_missing_file(built):
    from stepthrough.site.single_file import single_file

    _, _, site = built
    html = (site / "index.html").read_text()
    # One only the widget data names: a script would have asked for it.
    missing = next(
        p for p in (site / "assets" / "frames").iterdir() if f"url('{p.relative_to(site)}')" not in html
    )
    missing.unlink()
    with pytest.raises(StepthroughError, match=f"assets/frames/{missing.name}"):
        single_file(site)
    assert not site.with_suffix(".html").exists()


def test_every_export_is_readable_by_a_web_server_running_as_another_user(built):
    import os
    import stat

    from stepthrough.site.build import zip_site
    from stepthrough.site.single_file import single_file

    content, bundle, site = built
    old_umask = os.umask(0o022)  # the usual umask: files rw-r--r--, folders rwxr-xr-x
    try:
        site = build_site(content, bundle, site)
        made = [site, site / "index.html", *site.rglob("*.webp"), zip_site(site), *single_file(site)]
    finally:
        os.umask(old_umask)
    for path in made:
        others = stat.S_IMODE(path.stat().st_mode) & 0o007
        assert others == (0o005 if path.is_dir() else 0o004), f"{path}: {oct(path.stat().st_mode)}"


def test_a_build_from_a_complete_bundle_hashes_each_bundle_file_once(tiny_model, tmp_path, monkeypatch):
    from conftest import STEPPER_SECTION

    import stepthrough.bundle.hashes as hashes_module

    site = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\n'  # the tiny model's id: nothing to render
    root = write_content(tmp_path / "c", {"01-watch.md": STEPPER_SECTION}, site)
    bundle = precompute(load_content(root), tmp_path / "bundles", model=tiny_model, progress=False)
    hashed = []
    real = hashes_module.sha256_file
    monkeypatch.setattr(hashes_module, "sha256_file", lambda path: hashed.append(path) or real(path))
    where = ["--content", str(root), "--bundles", str(tmp_path / "bundles"), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, ["build", *where])
    assert result.exit_code == 0, result.output
    files = sorted(os.path.realpath(bundle / rel) for rel in read_manifest(bundle).files)
    assert sorted(os.path.realpath(p) for p in hashed) == files  # every file checked, none twice
    hashed.clear()
    assert CliRunner().invoke(main, ["build", *where]).exit_code == 0
    assert hashed == []  # building again: no file changed, none read again
