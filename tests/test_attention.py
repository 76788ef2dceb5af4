"""Where each word acts: cross-attention maps recorded beside the loop, per pipeline family."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_model import TinyModel

from stepthrough.bundle.ids import Job
from stepthrough.precompute.attention import CrossAttentionMaps
from stepthrough.precompute.capture import render
from stepthrough.precompute.models import load_model


class NoAttention(TinyModel):
    def cross_attention(self):
        return None


def test_attention_is_recorded_without_extra_evaluations_or_a_changed_picture():
    job = Job("red apple pie", 2, 3, 4.0)
    plain, watched = NoAttention(), TinyModel()
    [without] = render(plain, [job])
    [with_maps] = render(watched, [job])
    assert watched.predict_calls == plain.predict_calls == [2, 2, 2]  # one batched pass per step
    assert np.array_equal(without.xt, with_maps.xt) and np.array_equal(without.x0, with_maps.x0)
    assert without.attention is None
    assert with_maps.tokens == ["red", "apple", "pie"] and with_maps.attention.shape == (3, 3, 8, 8)
    assert not np.allclose(with_maps.attention[:, 0], with_maps.attention[:, 1])  # each word its own map
    assert not np.allclose(with_maps.attention[0], with_maps.attention[-1])  # and it moves over the steps


def test_maps_are_probabilities_over_the_tokens_for_the_conditional_rows():
    model = TinyModel()
    cond = model.encode_prompts(["", "", "red apple", "blue sky"])  # [uncond, cond] as guidance batches
    with CrossAttentionMaps(model.unet, (8, 8), rows=2) as maps:
        model.predict(torch.randn(4, 4, 8, 8), torch.tensor(500), cond)
        step = maps.take()
    assert step.shape == (2, 4, 8, 8)  # two conditional rows, every token position of the encoder
    np.testing.assert_allclose(step.sum(1).numpy(), 1, atol=1e-5)  # each spot shares out all its attention
    assert maps.take() is None  # taken: the next step starts afresh
    assert all(type(p).__name__ != "_Recording" for p in model.unet.attn_processors.values())  # unwrapped


@pytest.mark.parametrize("kind", ["sd", "sd-v", "sdxl", "pixart-alpha", "pixart-sigma"])
def test_cross_attention_pipelines_give_one_map_per_word_piece(kind, tiny_pipeline):
    model = load_model(str(tiny_pipeline(kind)), image_size=16)
    [rendered] = render(model, [Job("a doctor", 3, 3, 4.0)])
    assert "".join(rendered.tokens) == "adoctor"  # the tokenizer's own pieces, markers dropped
    assert rendered.attention.shape == (3, len(rendered.tokens), 8, 8)
    assert (rendered.attention >= 0).all() and rendered.attention.sum(1).max() <= 1 + 1e-5


@pytest.mark.parametrize("kind", ["sd3", "flux", "prx"])
def test_joint_attention_pipelines_offer_no_maps(kind, tiny_pipeline):
    model = load_model(str(tiny_pipeline(kind)), image_size=16)
    [rendered] = render(model, [Job("a doctor", 3, 2, 4.0)])
    assert model.cross_attention() is None and rendered.attention is None and rendered.tokens is None


@pytest.mark.parametrize("schema", [1, 2])
def test_a_bundle_from_before_attention_maps_is_read_and_completed(schema, tmp_path):
    import json

    from conftest import STEPPER_SECTION, write_content
    from test_browser_inside import ATTENTION

    from stepthrough.bundle import read_manifest
    from stepthrough.bundle.manifest import manifest_digest
    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute
    from stepthrough.site.build import bundle_state

    content = load_content(
        write_content(tmp_path / "c", {"01-watch.md": STEPPER_SECTION, "02-words.md": ATTENTION})
    )
    bundle = precompute(content, tmp_path / "b", model=NoAttention(), progress=False)
    raw = json.loads((bundle / "manifest.json").read_text())
    # as written before maps existed: no attention fields, no model flag (and in schema 1 no digest)
    raw["schema_version"] = schema
    del raw["model"]["extra"]["cross_attention"]
    for t in raw["trajectories"].values():
        del t["attention"]
    raw["digest"] = manifest_digest(raw)
    if schema == 1:
        del raw["digest"]
    (bundle / "manifest.json").write_text(json.dumps(raw))
    old = read_manifest(bundle)
    assert len(old.trajectories) == 3 and all("attention" not in t.records for t in old.trajectories.values())
    state = bundle_state(content, bundle)
    assert {job.prompt for job in state.missing} == {"red apple pie", "a doctor"}  # the stepper's is fine
    model = TinyModel()
    precompute(content, tmp_path / "b", model=model, progress=False)
    assert model.predict_calls == [4, 4, 4]  # the two word-attention trajectories, no more
    manifest = read_manifest(bundle)
    assert manifest.schema_version == 4 and bundle_state(content, bundle).complete
    maps = {t.prompt: t.records.get("attention") for t in manifest.trajectories.values()}
    assert maps["red apple"] is None and maps["a doctor"].tokens == ["a", "doctor"]
