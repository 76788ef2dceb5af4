"""A corpus of mistakes a user can make in content, bundle or machine: each is one line that names
the file and what is wrong (exit 2 for content and usage, 1 for the rest), no traceback, and the
previous site and bundle stay byte-identical."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepthrough.bundle import manifest_digest
from stepthrough.cli import main

REAL_OPEN = builtins.open  # snapshots read past `refuse`


def snapshot(folder: Path) -> dict[str, bytes]:
    def read(path: Path) -> bytes:
        with REAL_OPEN(path, "rb") as handle:
            return handle.read()

    return {str(p.relative_to(folder)): read(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def refuse(monkeypatch, path: Path, error: int = errno.EACCES, writes_only: bool = False) -> None:
    """Make `path` (and what lies under it) unreadable, or unwritable, as chmod would for a user
    other than root; tests run as root too, where chmod alone changes nothing."""
    path = Path(path)
    if not writes_only:
        path.chmod(0)
    if os.geteuid() != 0 and error == errno.EACCES:
        if writes_only:
            path.chmod(0o555)
        return
    refused = Refused(path.absolute(), error, writes_only)
    monkeypatch.setattr(builtins, "open", refused.open)
    monkeypatch.setattr(io, "open", refused.open)
    monkeypatch.setattr(pathlib.Path, "iterdir", lambda folder: refused.iterdir(folder))
    monkeypatch.setattr(os, "mkdir", refused.mkdir)


REAL_ITERDIR, REAL_MKDIR = pathlib.Path.iterdir, os.mkdir


@dataclass
class Refused:
    """open, iterdir and mkdir that fail with `error` on `path` and what lies under it (for
    `writes_only`, only opening to write and mkdir fail)."""

    path: Path
    error: int
    writes_only: bool

    def hit(self, name) -> bool:
        try:
            return Path(os.fspath(name)).absolute().is_relative_to(self.path)
        except TypeError:  # a file descriptor
            return False

    def fail(self, name):
        raise OSError(self.error, os.strerror(self.error), os.fspath(name))

    def open(self, file, mode="r", *args, **kwargs):
        writing = any(c in mode for c in "wax+")
        if self.hit(file) and (writing or not self.writes_only):
            self.fail(file)
        return REAL_OPEN(file, mode, *args, **kwargs)

    def iterdir(self, folder: Path):
        if self.hit(folder) and not self.writes_only:
            self.fail(folder)
        return REAL_ITERDIR(folder)

    def mkdir(self, name, *args, **kwargs):
        if self.hit(name):
            self.fail(name)
        return REAL_MKDIR(name, *args, **kwargs)


def manifest(project: Path) -> Path:
    return project / "bundles" / "test-bundle" / "manifest.json"


def edit_manifest(project: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(manifest(project).read_text())
    change(data)
    data["digest"] = manifest_digest(data)  # sealed again: only the mistake itself is left to find
    manifest(project).write_text(json.dumps(data))


def first_trajectory(data: dict) -> dict:
    return next(iter(data["trajectories"].values()))


def section(project: Path) -> Path:
    return project / "content" / "sections" / "01-watch.md"


def replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("x")


@dataclass
class Case:
    name: str
    break_it: Callable  # (project, monkeypatch) → None
    command: str  # "build" or "check"
    exit_code: int
    names: Callable[[Path], str]  # the text the line must hold: the file (and entry) at fault
    says: str  # and what is wrong


def content_case(name, break_it, names, says):
    return Case(name, break_it, "build", 2, names, says)


def bundle_case(name, break_it, names, says, command="build"):
    return Case(name, break_it, command, 1, names, says)


def frame(project: Path) -> Path:
    return min((project / "bundles" / "test-bundle" / "frames").iterdir())


SITE = lambda p: p / "content" / "site.toml"
SECTION = section
PRACTICE = lambda p: p / "content" / "practice.md"
MANIFEST = manifest


def write_bytes(get, data: bytes):
    return lambda p, mp: get(p).write_bytes(data)


def symlink(get, target: str):
    def do(p, mp):
        get(p).unlink(missing_ok=True)
        get(p).symlink_to(target)

    return do


CASES = [
    # Content: exit 2.
    content_case("site.toml not UTF-8", write_bytes(SITE, b'title = "Caf\xe9"\n'), SITE, "not UTF-8"),
    content_case(
        "section not UTF-8", write_bytes(SECTION, b"---\ntitle: Caf\xe9\n---\n"), SECTION, ":2: not UTF-8"
    ),
    content_case(
        "practice.md not UTF-8", write_bytes(PRACTICE, b"---\ntitle: \xff\n---\n"), PRACTICE, "not UTF-8"
    ),
    content_case("site.toml unreadable", lambda p, mp: refuse(mp, SITE(p)), SITE, "cannot be read"),
    content_case("section unreadable", lambda p, mp: refuse(mp, SECTION(p)), SECTION, "cannot be read"),
    content_case("practice.md unreadable", lambda p, mp: refuse(mp, PRACTICE(p)), PRACTICE, "cannot be read"),
    content_case(
        "sections/ unreadable",
        lambda p, mp: refuse(mp, p / "content" / "sections"),
        lambda p: p / "content" / "sections",
        "cannot list the folder",
    ),
    content_case(
        "a folder named like a section",
        lambda p, mp: (p / "content" / "sections" / "20-more.md").mkdir(),
        lambda p: p / "content" / "sections" / "20-more.md",
        "is a folder",
    ),
    content_case("site.toml is a folder", lambda p, mp: replace_with_folder(SITE(p)), SITE, "is a folder"),
    content_case(
        "practice.md is a folder", lambda p, mp: replace_with_folder(PRACTICE(p)), PRACTICE, "is a folder"
    ),
    content_case("section symlink loop", symlink(SECTION, "01-watch.md"), SECTION, "a symlink loop"),
    content_case("section symlink dangles", symlink(SECTION, "gone.md"), SECTION, "which does not exist"),
    content_case("practice symlink dangles", symlink(PRACTICE, "gone.md"), PRACTICE, "which does not exist"),
    content_case(
        "site.toml symlinked out of the content", symlink(SITE, "/etc/passwd"), SITE, "outside the content"
    ),
    content_case(
        "section symlinked out of the content",
        symlink(SECTION, "/etc/passwd"),
        SECTION,
        "outside the content",
    ),
    content_case(
        "duplicate YAML key in a section",
        lambda p, mp: SECTION(p).write_text(
            SECTION(p).read_text().replace("caption:", "title: Again\ncaption:")
        ),
        lambda p: f"{SECTION(p)}:4",
        "key 'title' is given twice (also on line 2)",
    ),
    content_case(
        "duplicate nested YAML key in practice.md",
        lambda p, mp: PRACTICE(p).write_text(
            PRACTICE(p).read_text().replace("    back: The", "    front: Again\n    back: The")
        ),
        PRACTICE,
        "key 'front' is given twice",
    ),
    content_case(
        "duplicate TOML key",
        lambda p, mp: SITE(p).write_text(SITE(p).read_text() + 'title = "Two"\n'),
        SITE,
        "TOML",
    ),
    # Usage: exit 2.
    Case(
        "--out is a folder of user files",
        lambda p, mp: (p / "thesis").mkdir() or (p / "thesis" / "thesis.txt").write_text("years of work"),
        "build --out thesis",
        2,
        lambda p: "--out",
        "holds files that stepthrough did not make (thesis.txt)",
    ),
    Case(
        "--out is the content folder",
        lambda p, mp: None,
        "build --out content",
        2,
        lambda p: "--out",
        "which a build would delete",
    ),
    Case(
        "--out is a file",
        lambda p, mp: (p / "notes.txt").write_text("mine"),
        "build --out notes.txt",
        2,
        lambda p: "notes.txt",
        "is a file, not a folder",
    ),
    # The machine: exit 1.
    Case(
        "disk full while writing the site",
        lambda p, mp: refuse(mp, p / "build", errno.ENOSPC, writes_only=True),
        "build",
        1,
        lambda p: p / "build",
        "the disk is full",
    ),
    Case(
        "output folder not writable",
        lambda p, mp: refuse(mp, p / "build", writes_only=True),
        "build",
        1,
        lambda p: p / "build",
        "permission denied",
    ),
    # Bundles: exit 1, in build and in check.
    *[
        bundle_case(f"{mistake} ({command})", break_it, names, says, command)
        for command in ("build", "check")
        for mistake, break_it, names, says in [
            (
                "trajectories is a list",
                lambda p, mp: edit_manifest(p, lambda d: d.update(trajectories=[])),
                MANIFEST,
                "trajectories: expected keys and values (got a list)",
            ),
            (
                "files is a list",
                lambda p, mp: edit_manifest(p, lambda d: d.update(files=list(d["files"]))),
                MANIFEST,
                "files: expected keys and values (got a list)",
            ),
            (
                "a view's frame count is text",
                lambda p, mp: edit_manifest(
                    p, lambda d: first_trajectory(d)["views"]["xt"].update(frames="four")
                ),
                MANIFEST,
                ".views.xt.frames: expected a whole number (got 'four')",
            ),
            (
                "the model is a list",
                lambda p, mp: edit_manifest(p, lambda d: d.update(model=[])),
                MANIFEST,
                "model: expected keys and values (got a list)",
            ),
            (
                "manifest.json is a folder",
                lambda p, mp: replace_with_folder(MANIFEST(p)),
                MANIFEST,
                "is a folder",
            ),
            (
                "manifest.json is not JSON",
                write_bytes(MANIFEST, b"{not json"),
                MANIFEST,
                "not a readable manifest",
            ),
            (
                "manifest.json unreadable",
                lambda p, mp: refuse(mp, MANIFEST(p)),
                MANIFEST,
                "not a readable manifest",
            ),
            (
                "the bundle folder is a file",
                lambda p, mp: (
                    __import__("shutil").rmtree(p / "bundles" / "test-bundle")
                    or (p / "bundles" / "test-bundle").write_text("oops")
                ),
                lambda p: p / "bundles" / "test-bundle",
                "is a file, not a bundle folder",
            ),
            (
                "a hand-edited prompt",
                lambda p, mp: MANIFEST(p).write_text(
                    MANIFEST(p).read_text().replace('"a doctor"', '"a nurse"', 1)
                ),
                MANIFEST,
                "changed after stepthrough wrote it",
            ),
            (
                "a path with ..",
                lambda p, mp: edit_manifest(
                    p, lambda d: first_trajectory(d).update(latents="latents/../../x.npy")
                ),
                MANIFEST,
                "'latents/../../x.npy' is not a path inside the bundle",
            ),
        ]
    ],
    bundle_case(
        "an unreadable frame (check)",
        lambda p, mp: refuse(mp, frame(p)),
        lambda p: f"{frame(p).parent.name}/{frame(p).name}",
        "cannot be read (Permission denied)",
        "check",
    ),
    bundle_case(
        "an extra file in frames/ (check)",
        lambda p, mp: (p / "bundles" / "test-bundle" / "frames" / "extra.webp").write_bytes(b"RIFF"),
        lambda p: "frames/extra.webp",
        "not listed in the manifest",
        "check",
    ),
    bundle_case(
        "a forged prompt with a rewritten digest (check)",
        lambda p, mp: edit_manifest(p, lambda d: first_trajectory(d).update(prompt="a nurse")),
        lambda p: "trajectory ",
        "its prompt, seed, steps, guidance, blend or sampler was changed",
        "check",
    ),
]


def run(project: Path, command: str):
    """`stepthrough build` (with the project's folders) or `stepthrough check` on its bundle."""
    if command.startswith("build"):
        out = project / (command.split("--out ")[1] if "--out " in command else "build/site")
        args = ["--content", project / "content", "--bundles", project / "bundles", "--out", out]
        return CliRunner().invoke(main, ["build", *map(str, args)])
    return CliRunner().invoke(main, ["check", str(project / "bundles" / "test-bundle")])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_mistake_is_one_line_naming_the_file_and_leaves_site_and_bundle_as_they_were(
    case, tiny_project, monkeypatch
):
    case.break_it(tiny_project, monkeypatch)
    site_before = snapshot(tiny_project / "build" / "site")
    bundle = tiny_project / "bundles" / "test-bundle"
    bundle_before = snapshot(bundle) if bundle.is_dir() and os.geteuid() == 0 else None
    result = run(tiny_project, case.command)
    monkeypatch.undo()  # readable again, to compare

    lines = result.output.strip().splitlines()
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.exit_code == case.exit_code, result.output
    assert len(lines) == 1, result.output
    where = str(case.names(tiny_project)).removeprefix(f"{tiny_project}/")
    assert where in lines[0] and case.says in lines[0], lines[0]
    assert snapshot(tiny_project / "build" / "site") == site_before
    assert not [
        p.name for p in (tiny_project / "build").iterdir() if p.name != "site"
    ]  # nothing half-written
    if bundle_before is not None:
        assert snapshot(bundle) == bundle_before


@pytest.mark.parametrize(
    "how",
    ["a BOM in site.toml", "a BOM in a section", "a BOM in practice.md", "CRLF line ends everywhere"],
)
def test_boms_and_crlf_line_ends_are_read_not_refused(tiny_project, how):
    content = tiny_project / "content"
    files = {"site.toml": [content / "site.toml"], "section": [section(tiny_project)]}
    files["practice.md"] = [content / "practice.md"]
    files["everywhere"] = [path for paths in list(files.values()) for path in paths]
    for path in next(paths for key, paths in files.items() if key in how):
        text = path.read_text()
        path.write_bytes(
            text.replace("\n", "\r\n").encode() if "CRLF" in how else "\ufeff".encode() + text.encode()
        )
    before = (tiny_project / "build" / "site" / "index.html").read_text()
    result = run(tiny_project, "build")
    assert result.exit_code == 0, result.output
    assert (tiny_project / "build" / "site" / "index.html").read_text() == before


def test_check_calls_an_interrupted_bundle_incomplete(tiny_project):
    def drop_one(data: dict) -> None:
        tid = next(iter(data["trajectories"]))
        for rel in data["trajectories"].pop(tid)["views"].values():
            data["files"].pop(rel["file"])
        data["files"].pop(f"latents/{tid}.npy")

    edit_manifest(tiny_project, drop_one)  # as a run killed after its first batch leaves it
    result = run(tiny_project, "check")
    assert result.exit_code == 1
    assert "incomplete: 1 of the 2 trajectories its plan names are rendered" in result.output
    assert "unknown trajectory" not in result.output


def test_a_hub_error_shows_its_cause_not_a_stacktrace_nobody_printed(monkeypatch):
    from diffusers import DiffusionPipeline

    from stepthrough.errors import StepthroughError
    from stepthrough.precompute.models.diffusers_adapter import _fetch

    def download(*args, **kwargs):
        try:
            raise ConnectionError("Failed to resolve 'huggingface.co'")
        except ConnectionError as cause:
            raise OSError(
                "Cannot load model x/y: ... Please check out the root cause in the stacktrace above."
            ) from cause

    monkeypatch.setattr(DiffusionPipeline, "download", download)
    with pytest.raises(StepthroughError) as caught:
        _fetch("x/y", None)
    assert "Failed to resolve 'huggingface.co'" in caught.value.message
    assert "stacktrace" not in caught.value.message
