"""Notes that claim a fact about a picture are checked against the pictures: build warns, --strict fails."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from conftest import write_content
from tiny_model import TinyModel

from stepthrough.bundle import read_manifest
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute
from stepthrough.site.claims import CLAIMS, Tile, check_claims, saturation, sharpness

SECTION = """
    ---
    title: Step counts
    widget: compare
    settings:
      label: steps
      notes: {{"1": "{one}", "4": "{four}"}}
    sweep:
      prompts: ["a cat"]
      steps: [1, 4]
    ---
    Text.
"""


def bundle_for(tmp_path, one: str, four: str):
    site = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\n'
    root = write_content(tmp_path / "content", {"01-steps.md": SECTION.format(one=one, four=four)}, site)
    content = load_content(root)
    return root, content, precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False)


def test_a_note_that_the_pictures_contradict_is_named_with_its_file_line_and_measurement(tmp_path):
    _, content, bundle = bundle_for(tmp_path, one="the reference", four="the reference")
    problems = check_claims(content, bundle, read_manifest(bundle))
    assert len(problems) == 1  # the 4-step picture is the reference; the 1-step one is not
    assert problems[0].startswith(f'{content.sections[0].path}:6: note "1": "the reference" claims')
    assert "it has 1 step, the reference 4" in problems[0]


def test_build_warns_and_strict_stops_before_writing_anything(tmp_path):
    root, _, _ = bundle_for(tmp_path, one="the reference", four="the reference")
    args = [
        "build",
        "--content",
        str(root),
        "--bundles",
        str(tmp_path / "bundles"),
        "--out",
        str(tmp_path / "site"),
    ]
    warned = CliRunner().invoke(main, args)
    assert warned.exit_code == 0, warned.output
    assert "warning: " in warned.output and 'note "1": "the reference"' in warned.output
    strict = CliRunner().invoke(main, [*args, "--strict", "--out", str(tmp_path / "strict")])
    assert strict.exit_code == 1 and "error: " in strict.output and "nothing was built" in strict.output
    assert "Traceback" not in strict.output and not (tmp_path / "strict").exists()


def test_notes_without_claims_or_with_true_ones_pass(tmp_path):
    _, content, bundle = bundle_for(tmp_path, one="quick", four="the reference")
    assert check_claims(content, bundle, read_manifest(bundle)) == []


def test_the_measurements_mean_what_their_names_say():
    flat = np.full((16, 16, 3), 0.5, dtype=np.float32)
    stripes = flat.copy()
    stripes[::2] = 0.0
    vivid = np.zeros_like(flat)
    vivid[..., 0] = 1.0
    assert sharpness(stripes) > sharpness(flat) == 0
    assert saturation(vivid) == 1.0 and saturation(flat) == 0.0
    one = Tile(label="1", steps=1, seed=0, guidance=5.0, prompt="a", picture=stripes)
    many = Tile(label="8", steps=8, seed=0, guidance=5.0, prompt="a", picture=flat)
    far, measured = CLAIMS["mud"][1](one, [one, many])
    assert far and "distance 0.354 to the 8-step picture" in measured
    blur, _ = CLAIMS["a blur"][1](one, [one, many])
    assert not blur  # far off, but sharper than the reference: not a blur
