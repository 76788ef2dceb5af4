"""`stepthrough build` from a complete bundle needs no model stack: it runs with torch, diffusers,
transformers and scikit-learn blocked (as on a light install), and importing the builder loads none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import STEPPER_SECTION, write_content
from tiny_model import TinyModel

from stepthrough.builtin.fingerprint import builtin_weights_sha256
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute

HEAVY = ("torch", "diffusers", "transformers", "sklearn", "scipy", "sentence_transformers", "safetensors")
ROOT = Path(__file__).resolve().parents[1]
# Blocked: `import torch` raises ImportError, as where it is not installed.
BLOCKED = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in HEAVY)


def run_blocked(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "STEPTHROUGH_CACHE": os.environ["STEPTHROUGH_CACHE"]}
    return subprocess.run(
        [sys.executable, "-c", BLOCKED + code],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


class LooksBuiltin(TinyModel):
    """A tiny model that signs its bundle as the builtin model now installed."""

    def __init__(self):
        super().__init__()
        self.info = type(self.info)(
            **{**vars(self.info), "id": "builtin", "weights_sha256": builtin_weights_sha256()}
        )


@pytest.mark.parametrize("model", [TinyModel, LooksBuiltin])
def test_build_from_a_complete_bundle_runs_with_the_model_stack_blocked(tmp_path, model):
    site = f'title = "Light"\nmodel = "{model().info.id}"\nbundle = "light"\n'
    sections = {"01-watch.md": STEPPER_SECTION, "02-map.md": MAP}
    content = load_content(write_content(tmp_path / "content", sections, site=site))
    precompute(content, tmp_path / "bundles", model=model(), progress=False)

    result = run_blocked("from stepthrough.cli import main\nmain(['build'])", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Built build/site/index.html" in result.stdout
    page = (tmp_path / "build" / "site" / "index.html").read_text(encoding="utf-8")
    assert 'data-widget="stepper"' in page and 'data-widget="embedding-map"' in page


def test_importing_the_builder_and_the_cli_loads_no_model_stack(tmp_path):
    code = (
        "import stepthrough.cli, stepthrough.site.build, stepthrough.site.single_file, stepthrough.widgets\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r} and sys.modules[m] is not None]\n"
        "assert not heavy, heavy\n"
    )
    result = run_blocked(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_bundle_package_imports_nothing_else_from_stepthrough(tmp_path):
    code = (
        "import stepthrough.bundle\n"
        "ours = sorted(m for m in sys.modules if m.startswith('stepthrough'))\n"
        "allowed = {'stepthrough', 'stepthrough.errors', 'stepthrough.cache', 'stepthrough.atomic', 'stepthrough.recorder'}\n"
        "assert all(m in allowed or m.startswith('stepthrough.bundle') for m in ours), ours\n"
    )
    result = run_blocked(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


MAP = """
    ---
    title: Where words live
    widget: embedding-map
    settings:
      method: pca
      groups: {animals: [cat, dog], food: [apple, bread]}
    ---
    Near means similar.
"""
