"""A build from a complete bundle keeps what it computes the same way every time (stepthrough/cache.py)
and the bundle files' hashes with their times (bundle/hashes.py), yet still sees every change."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepthrough import cache
from stepthrough.bundle import bundle_file, hashes, read_manifest, trajectory_is_complete
from stepthrough.cli import main


def build(project: Path):
    args = ["build", "--content", str(project / "content"), "--bundles", str(project / "bundles")]
    return CliRunner().invoke(main, [*args, "--out", str(project / "build" / "site")])


def first_frame(project: Path) -> tuple[Path, str]:
    bundle = project / "bundles" / "test-bundle"
    manifest = read_manifest(bundle)
    tid, trajectory = next(iter(manifest.trajectories.items()))
    return bundle_file(bundle, trajectory.views["xt"].file), tid


def test_a_frame_changed_behind_its_size_and_mtime_is_not_trusted(tiny_project):
    frame, tid = first_frame(tiny_project)
    bundle = tiny_project / "bundles" / "test-bundle"
    assert trajectory_is_complete(bundle, read_manifest(bundle), tid)  # hashed and remembered
    before = frame.stat()
    data = bytearray(frame.read_bytes())
    data[-1] ^= 0xFF  # same size
    frame.write_bytes(bytes(data))
    os.utime(frame, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old modification time
    assert not trajectory_is_complete(bundle, read_manifest(bundle), tid)


def test_remembered_hashes_survive_the_process_and_match_the_files(tiny_project):
    frame, tid = first_frame(tiny_project)
    bundle = tiny_project / "bundles" / "test-bundle"
    assert trajectory_is_complete(bundle, read_manifest(bundle), tid)
    hashes.save()
    hashes._TABLES.clear()  # as a new process finds them: read from the cache folder
    rel = frame.relative_to(bundle).as_posix()
    assert hashes._table(os.path.realpath(bundle))[rel][-1] == read_manifest(bundle).files[rel].sha256


def test_a_remembered_result_is_computed_again_when_its_key_or_code_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    code = tmp_path / "code.py"
    code.write_text("x = 1\n")
    calls = []

    def compute(value):
        return lambda: calls.append(value) or value

    assert cache.remembered("test", ["a"], [code], compute(1)) == 1
    assert cache.remembered("test", ["a"], [code], compute(2)) == 1  # remembered
    assert cache.remembered("test", ["b"], [code], compute(3)) == 3  # another key
    code.write_text("x = 2\n")
    assert cache.remembered("test", ["a"], [code], compute(4)) == 4  # changed code
    monkeypatch.setenv("STEPTHROUGH_CACHE", "off")
    assert cache.remembered("test", ["a"], [code], compute(5)) == 5
    assert calls == [1, 3, 4, 5]


def test_building_again_with_the_caches_full_makes_the_same_site(tiny_project):
    site = tiny_project / "build" / "site"
    assert build(tiny_project).exit_code == 0
    first = (site / "index.html").read_bytes()
    assert build(tiny_project).exit_code == 0
    assert (site / "index.html").read_bytes() == first


def test_a_later_build_reads_finished_pictures_from_the_cache_and_gets_the_same_pixels(
    tiny_project, tmp_path, monkeypatch
):
    import numpy as np

    from stepthrough.bundle import final_picture, formats
    from stepthrough.bundle import manifest as manifest_module

    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    bundle = tiny_project / "bundles" / "test-bundle"
    manifest = read_manifest(bundle)
    tids = list(manifest.trajectories)[:3]
    manifest_module._FINAL_PICTURES.clear()
    read = [final_picture(bundle, manifest, tid).copy() for tid in tids]
    manifest_module._FINAL_PICTURES.clear()  # a new process: nothing held in memory
    with monkeypatch.context() as m:
        m.setattr(formats.Image, "open", lambda *a, **k: pytest.fail("decoded a strip again"))
        again = [final_picture(bundle, manifest, tid) for tid in tids]
    for a, b in zip(read, again, strict=True):
        assert a.shape == b.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    # a damaged cache entry is read around: the strip again, the same pixels
    for entry in (tmp_path / "cache" / "final-picture").iterdir():
        entry.write_text('{"value": "not base64!"}')
    manifest_module._FINAL_PICTURES.clear()
    assert np.array_equal(final_picture(bundle, manifest, tids[0]), read[0])


def test_a_manifest_edited_after_a_build_remembered_its_digest_is_still_refused(tiny_project, tmp_path, monkeypatch):
    from stepthrough.bundle import manifest as manifest_module
    from stepthrough.errors import StepthroughError

    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    bundle = tiny_project / "bundles" / "test-bundle"
    assert read_manifest(bundle) is not None  # its digest is checked, and remembered for these bytes
    with monkeypatch.context() as m:
        m.setattr(manifest_module, "manifest_digest", lambda data: pytest.fail("worked the digest out again"))
        assert read_manifest(bundle) is not None  # from the cache
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    tid = next(iter(data["trajectories"]))
    data["trajectories"][tid]["prompt"] = "something else"
    path.write_text(json.dumps(data))
    with pytest.raises(StepthroughError, match="changed after stepthrough wrote it"):
        read_manifest(bundle)


def test_a_frame_swapped_for_a_symlink_between_reads_is_refused(tiny_project, tmp_path):
    from stepthrough.errors import StepthroughError

    frame, _tid = first_frame(tiny_project)
    bundle = tiny_project / "bundles" / "test-bundle"
    assert read_manifest(bundle) is not None
    outside = tmp_path / "secret.webp"
    outside.write_bytes(frame.read_bytes())
    frame.unlink()
    frame.symlink_to(outside)
    with pytest.raises(StepthroughError, match="symlink that leads out of the bundle"):
        read_manifest(bundle)


def test_markdown_is_parsed_once_per_text_and_an_edit_or_a_damaged_table_is_parsed_again(tmp_path, monkeypatch):
    from stepthrough.site.markdown import Markdown

    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    first = Markdown(allow_html=False)
    html = first.render("Noise, then *less* noise -- step by step.")
    assert html == "<p>Noise, then <em>less</em> noise – step by step.</p>\n"
    first.save()
    again = Markdown(allow_html=False)  # a later build
    monkeypatch.setattr(Markdown, "parser", property(lambda self: pytest.fail("parsed a known text again")))
    assert again.render("Noise, then *less* noise -- step by step.") == html
    monkeypatch.undo()
    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    assert again.render("An *edited* sentence.") == "<p>An <em>edited</em> sentence.</p>\n"
    assert Markdown(allow_html=True).render("<b>raw</b>") != Markdown(allow_html=False).render("<b>raw</b>")
    text = "Noise, then *less* noise -- step by step."
    for damaged in ("[not json", json.dumps({f"block:{hashlib.sha256(text.encode()).hexdigest()}": 5})):
        for table in (tmp_path / "cache" / "markdown").iterdir():
            table.write_text(damaged)
        assert Markdown(allow_html=False).render(text) == html
