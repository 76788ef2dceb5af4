"""The wheel is whole: templates, widgets, the default content, both models' weights, LICENSE and
NOTICE; installed from it alone, `stepthrough new demo && cd demo && stepthrough build` works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_SHIPPED = (".git", "build", "bundles", ".runs", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this source tree, built offline with the installed setuptools."""
    work = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(ROOT, work / "source", ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*command, "-w", str(work / "dist")], check=True, capture_output=True, timeout=300)
    [built] = (work / "dist").glob("stepthrough-*.whl")
    return built


def test_the_wheel_holds_what_a_site_is_built_from(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    widgets = [
        "compare",
        "embedding-map",
        "forward-process",
        "noise-canvas",
        "particles",
        "paths",
        "stepper",
        "tally",
        "training-data",
    ]
    expected = {
        *(f"stepthrough/widgets/{w.replace('-', '_')}/{w}.{ext}" for w in widgets for ext in ("html", "js")),
        *(
            f"stepthrough/site/templates/{name}"
            for name in ("index.html", "page.html", "macros.html", "practice.html")
        ),
        *(
            f"stepthrough/site/templates/static/{name}"
            for name in ("style.css", "common.js", "scroll.js", "practice.js")
        ),
        "stepthrough/default_content/site.toml",
        "stepthrough/default_content/practice.md",
        "stepthrough/default_content/sections/30-step-through.md",
        "stepthrough/builtin/weights/unet.safetensors",
        "stepthrough/builtin/weights/autoencoder.safetensors",
        "stepthrough/builtin/weights/config.json",
        "stepthrough/builtin/weights/MODEL_CARD.md",
        "stepthrough/builtin/weights/datacard.json.gz",  # what the builtin model learned from
        "stepthrough/builtin/weights/datacard.webp",
        "stepthrough/builtin/weights/datacard-vectors.safetensors",  # its captions, embedded once
        "stepthrough/particles/weights.json",
        "stepthrough-0.1.0.dist-info/licenses/LICENSE",
        "stepthrough-0.1.0.dist-info/licenses/NOTICE",
    }
    assert expected <= names, sorted(expected - names)
    sections = {p.name for p in (ROOT / "stepthrough" / "default_content" / "sections").glob("*.md")}
    assert {
        n.rsplit("/", 1)[1] for n in names if n.startswith("stepthrough/default_content/sections/")
    } == sections
    assert {  # the Spanish explainer, section for section
        n.rsplit("/", 1)[1] for n in names if n.startswith("stepthrough/default_content/es/sections/")
    } == sections
    assert {"stepthrough/default_content/es/site.toml", "stepthrough/default_content/es/practice.md"} <= names
    assert not [n for n in names if n.startswith(("tests/", "bundles/", "build/")) or "/__pycache__/" in n]


def test_new_then_build_works_from_the_wheel_alone_and_then_without_the_model_stack(wheel, tmp_path):
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {**os.environ, "PYTHONPATH": str(installed), "OMP_NUM_THREADS": "1"}

    def stepthrough(*args: str, cwd: Path, blocked: bool = False) -> subprocess.CompletedProcess:
        block = "".join(
            f"sys.modules[{m!r}] = None; " for m in ("torch", "diffusers", "transformers", "sklearn")
        )
        code = (
            f"import sys; {block if blocked else ''}import stepthrough; "
            f"assert stepthrough.__file__.startswith({str(installed)!r}), stepthrough.__file__; "
            f"from stepthrough.cli import main; main({list(args)!r})"
        )
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    (tmp_path / "empty").mkdir()
    made = stepthrough("new", "demo", cwd=tmp_path / "empty")
    assert made.returncode == 0, made.stderr
    demo = tmp_path / "empty" / "demo"
    built = stepthrough("build", "--no-progress", cwd=demo)
    assert built.returncode == 0, built.stderr
    assert "Rendering 3 trajectories with the builtin model" in built.stderr
    assert (demo / "build" / "site" / "index.html").is_file() and (
        demo / "build" / "site" / "assets" / "style.css"
    ).is_file()
    again = stepthrough("build", cwd=demo, blocked=True)  # the bundle is complete now: no model stack needed
    assert again.returncode == 0, again.stderr
    (demo / "content" / "sections" / "20-more.md").write_text(
        "---\ntitle: More\nwidget: stepper\nsweep:\n  prompts: [a new prompt]\n---\n", encoding="utf-8"
    )
    light = stepthrough("build", cwd=demo, blocked=True)
    assert light.returncode == 1 and "Traceback" not in light.stderr
    assert light.stderr.strip().endswith(
        "Rendering with the builtin model needs the model stack (torch is not installed); "
        'install it with: pip install "stepthrough[model]"'
    )
