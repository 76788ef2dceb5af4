"""A render is never thrown away: a bundle made by another model than site.toml names is not
overwritten unless the author asks (--replace), and build says which models and what to run."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import STEPPER_SECTION, write_content
from tiny_model import TinyModel

from stepthrough.bundle import read_manifest
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.run import precompute


def rendered_by_tiny(tmp_path, model: str = "builtin"):
    """Content whose site.toml names `model`, and its bundle rendered by the tiny test model."""
    site = f'title = "T"\nmodel = "{model}"\nbundle = "b"\n'
    root = write_content(tmp_path / "content", {"01-watch.md": STEPPER_SECTION}, site=site)
    bundle = precompute(load_content(root), tmp_path / "bundles", model=TinyModel(), progress=False)
    return root, bundle, (bundle / "manifest.json").read_bytes()


def build(tmp_path, root, *extra):
    args = [
        "build",
        "--content",
        str(root),
        "--bundles",
        str(tmp_path / "bundles"),
        "--out",
        str(tmp_path / "site"),
    ]
    return CliRunner().invoke(main, [*args, *extra])


def test_build_stops_before_rendering_over_another_models_bundle(tmp_path):
    root, bundle, before = rendered_by_tiny(tmp_path)
    result = build(tmp_path, root)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (
        f"{bundle}: rendered by model 'tiny-test', but {root / 'site.toml'} names model 'builtin'"
        in result.output
    )
    assert 'set model = "tiny-test" in site.toml' in result.output
    assert f"stepthrough build --content {root} --bundles {tmp_path / 'bundles'} --replace" in result.output
    assert (bundle / "manifest.json").read_bytes() == before and not (tmp_path / "site").exists()


def test_replace_renders_the_bundle_again_with_the_named_model(tmp_path):
    root, bundle, _ = rendered_by_tiny(tmp_path)
    result = build(tmp_path, root, "--no-progress", "--replace")
    assert result.exit_code == 0, result.output
    assert read_manifest(bundle).model["id"] == "builtin" and (tmp_path / "site" / "index.html").is_file()


def test_a_model_in_site_toml_that_did_not_render_the_bundle_is_refused(tmp_path):
    root, _, _ = rendered_by_tiny(tmp_path, model="someone/no-such-model")
    result = build(tmp_path, root)
    assert result.exit_code == 1 and "names model 'someone/no-such-model'" in result.output
    assert (
        "stepthrough precompute --content" in result.output
        and "--model someone/no-such-model" in result.output
    )
    assert result.output.rstrip().endswith("--replace")


class OtherTiny(TinyModel):
    def __init__(self):
        super().__init__(weights_seed=1)
        self.info = type(self.info)(**{**vars(self.info), "id": "other-tiny"})


def test_precompute_with_another_model_keeps_the_bundle_unless_told_to_replace(tmp_path):
    root, bundle, before = rendered_by_tiny(tmp_path, model="tiny-test")
    content = load_content(root)
    with pytest.raises(
        StepthroughError, match="rendered by model 'tiny-test'; rendering it with 'other-tiny'"
    ):
        precompute(content, tmp_path / "bundles", model=OtherTiny(), progress=False)
    assert (bundle / "manifest.json").read_bytes() == before
    precompute(content, tmp_path / "bundles", model=OtherTiny(), progress=False, replace=True)
    assert read_manifest(bundle).model["id"] == "other-tiny"
