"""A build from a complete bundle keeps what it computes the same way every time (stepthrough/cache.py)
and the bundle files' hashes with their times (bundle/hashes.py), yet still sees every change."""

from __future__ import annotations

import os
from pathlib import Path

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
