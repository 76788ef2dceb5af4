from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
import torch
from tiny_model import TinyModel

# Builds keep results between runs in a per-user folder (stepthrough/cache.py): one fresh one per test run.
os.environ.setdefault("STEPTHROUGH_CACHE", tempfile.mkdtemp(prefix="stepthrough-test-cache-"))

# Test models are tiny: one thread avoids OpenMP spin-waiting when another process holds the cores.
torch.set_num_threads(1)


def write_content(
    root: Path, sections: dict[str, str], site: str | None = None, practice: str | None = None
) -> Path:
    """A content folder from section texts (front matter + body), with a default site.toml."""
    (root / "sections").mkdir(parents=True, exist_ok=True)
    (root / "site.toml").write_text(
        site or 'title = "Test site"\nmodel = "builtin"\nbundle = "test-bundle"\n', encoding="utf-8"
    )
    for name, text in sections.items():
        (root / "sections" / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    if practice is not None:
        (root / "practice.md").write_text(textwrap.dedent(practice).lstrip(), encoding="utf-8")
    return root


STEPPER_SECTION = """
    ---
    title: Watch it denoise
    widget: stepper
    caption: Drag the slider.
    sweep:
      prompts: ["a doctor", "red apple"]
      seeds: [1]
      steps: [3]
      guidance: [4.0]
    ---
    Some *words* about diffusion.
"""


def tiny_site(
    root: Path, sections: dict[str, str], practice: str | None = None, site: str | None = None
) -> Path:
    """A site built from these sections (and practice.md, and site.toml's text) with the tiny test
    model, all under root."""
    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute
    from stepthrough.site.build import build_site

    content = load_content(write_content(root / "content", sections, site=site, practice=practice))
    bundle = precompute(content, root / "bundles", model=TinyModel(), progress=False)
    return build_site(content, bundle, root / "site")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (tests/browser.py)."""
    if not Path("/usr/bin/chromium").exists():
        # In CI a missing browser is a broken install, not a reason to skip the browser tests.
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: .ci/run must apt-get install chromium")
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    from browser import launch

    with launch() as chromium:
        yield chromium


@pytest.fixture
def tiny_model() -> TinyModel:
    return TinyModel()


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    return write_content(tmp_path / "content", {"01-watch.md": STEPPER_SECTION})


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory):
    """tiny_pipeline(kind) → folder of a saved random-weight diffusers pipeline (built once per run)."""
    from tiny_pipelines import BUILDERS, VARIANTS

    root = tmp_path_factory.mktemp("pipelines")
    built: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in built:
            built[kind] = {**BUILDERS, **VARIANTS}[kind](root / kind)
        return built[kind]

    return get


PRACTICE = """
    ---
    title: Practice
    questions:
      - question: Where does a picture start?
        answer: From noise made by a seed.
    order: [Noise, Steps, Picture]
    flashcards:
      - front: Seed
        back: The number that picks the starting noise.
    ---
    Check what you learned.
"""


@pytest.fixture(scope="session")
def _tiny_project(tmp_path_factory) -> Path:
    """content/ (with practice.md), bundles/test-bundle from the tiny model, and build/site built from them."""
    from click.testing import CliRunner

    from stepthrough.cli import main
    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute

    root = tmp_path_factory.mktemp("project")
    # A model other than builtin: `stepthrough build` then never renders by itself.
    site = 'title = "Test site"\nmodel = "tiny-test"\nbundle = "test-bundle"\n'
    write_content(root / "content", {"01-watch.md": STEPPER_SECTION}, site=site, practice=PRACTICE)
    precompute(load_content(root / "content"), root / "bundles", model=TinyModel(), progress=False)
    args = ["build", "--content", str(root / "content"), "--bundles", str(root / "bundles")]
    result = CliRunner().invoke(main, [*args, "--out", str(root / "build" / "site")])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def tiny_project(_tiny_project, tmp_path) -> Path:
    """A fresh copy of a built project of the tiny model: content/, bundles/test-bundle, build/site."""
    shutil.copytree(_tiny_project, tmp_path / "project", symlinks=True)
    return tmp_path / "project"


DEFAULT_CONTENT = Path(__file__).resolve().parents[1] / "stepthrough" / "default_content"


@pytest.fixture(scope="session")
def default_bundle():
    """The default explainer and its bundle, bundles/builtin-emoji of this checkout: the one
    `stepthrough build` in the checkout makes and reads. What it lacks is rendered there once
    (the builtin model on the CPU: minutes the first time, nothing after), never a second copy."""
    from stepthrough.bundle import read_manifest
    from stepthrough.content import load_content
    from stepthrough.make import complete_bundle

    content = load_content(DEFAULT_CONTENT)
    bundles = DEFAULT_CONTENT.parents[1] / "bundles"
    state = complete_bundle(content, DEFAULT_CONTENT, bundles, replace=False, yes=True, progress=False)
    assert state.complete, "the default bundle could not be completed"
    bundle_dir = bundles / content.site.bundle
    return content, bundle_dir, read_manifest(bundle_dir)
