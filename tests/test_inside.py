"""One step, opened up (widget: inside): the tensors precompute keeps beside the loop, and the
scheduler's update the page writes out from them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import STEPPER_SECTION, write_content
from tiny_model import TinyModel

from stepthrough.bundle import bundle_file, check_bundle, read_manifest
from stepthrough.bundle.ids import Job
from stepthrough.bundle.manifest import manifest_digest
from stepthrough.content import load_content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.capture import render
from stepthrough.precompute.models import load_model
from stepthrough.precompute.run import precompute
from stepthrough.site.build import bundle_state
from stepthrough.widgets.inside import step_numbers
from stepthrough.widgets.inside.record import decode_grid

INSIDE = """
    ---
    title: One step
    widget: inside
    settings:
      open: [scheduler]
    sweep:
      prompts: ["red apple pie", "a doctor"]
      seeds: [1]
      steps: [4]
      guidance: [4.0]
    ---
    Text.
"""


def test_tensors_are_the_loops_own_with_no_extra_evaluations():
    job = Job("red apple pie", 2, 4, 4.0)
    model = TinyModel()
    [rendered] = render(model, [job])
    assert model.predict_calls == [2, 2, 2, 2]  # one batched pass per step, as without them
    t = rendered.tensors
    assert t.update == "ddim" and t.prediction_type == "epsilon" and t.predictions.shape == (4, 4, 8, 8)
    assert [token.piece for token in t.tokens] == ["red", "apple", "pie"]
    np.testing.assert_array_equal(t.vectors, model.encode_prompts(["red apple pie"]).hidden[0, :3].numpy())
    # the DDIM update with the recorded ᾱ turns this step's x_t and prediction into the next x_t
    c, y, x = t.probe_at
    schedule = rendered.schedule
    for k in range(4):
        a, before = schedule.alpha_bar[k], schedule.alpha_bar_prev[k]
        x_t, eps = rendered.latents[k, c, y, x], t.predictions[k, c, y, x]
        x0 = (x_t - math.sqrt(1 - a) * eps) / math.sqrt(a)
        assert x0 == pytest.approx(t.probe["x0"][k], rel=1e-4, abs=1e-4)
        after = math.sqrt(before) * x0 + math.sqrt(1 - before) * eps
        assert after == pytest.approx(rendered.latents[k + 1, c, y, x], rel=1e-4, abs=1e-4)
    assert schedule.alpha_bar_prev[-1] == 1.0  # set_alpha_to_one: the last step lands on x₀


def test_each_prompt_is_tokenised_once_for_its_attention_maps_and_its_tensors():
    class Counting(TinyModel):
        def __init__(self):
            super().__init__()
            self.tokenised: list[str] = []

        def prompt_tokens(self, prompt):
            self.tokenised.append(prompt)
            return super().prompt_tokens(prompt)

    model = Counting()
    apple, doctor = render(model, [Job("red apple pie", 1, 3, 4.0), Job("a doctor", 2, 3, 4.0)])
    assert sorted(model.tokenised) == ["a doctor", "red apple pie"]  # once each, both recordings read it
    assert apple.tokens == [t.piece for t in apple.tensors.tokens] == ["red", "apple", "pie"]
    assert apple.attention.shape[1] == 3 and doctor.tokens == ["a", "doctor"]


def test_the_page_writes_out_the_update_that_the_bundle_recorded(tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-one.md": INSIDE}))
    bundle = precompute(content, tmp_path / "b", model=TinyModel(), progress=False)
    manifest = read_manifest(bundle)
    for trajectory in manifest.trajectories.values():
        tensors, schedule = trajectory.records["tensors"], manifest.schedule_of(trajectory)
        for k in range(trajectory.steps):
            numbers = step_numbers(tensors, schedule, k)
            shown = float(numbers["result"].replace("−", "-"))
            assert shown == pytest.approx(
                tensors.probe["next"][k], abs=2e-3
            )  # the formula lands where the loop did
            assert f"ᾱₜ = {schedule.alpha_bar[k]:.4f}" in numbers["schedule"]
            assert f"t = {trajectory.timesteps[k]:g}" in numbers["schedule"]


def test_grids_hold_the_latent_and_prediction_to_the_colours_precision(tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-one.md": INSIDE}))
    bundle = precompute(content, tmp_path / "b", model=TinyModel(), progress=False)
    manifest = read_manifest(bundle)
    trajectory = next(iter(manifest.trajectories.values()))
    grid = trajectory.records["tensors"].latent
    latents = np.load(bundle_file(bundle, trajectory.latents)).astype(np.float32)  # (N+1, C, h, w)
    tiles = decode_grid(bundle_file(bundle, grid.file).read_bytes(), grid.scale, grid.rows, grid.columns)
    assert tiles.shape == latents.shape
    inside = np.abs(latents) <= grid.scale  # beyond the scale the colours stop
    assert np.abs(tiles - latents)[inside].max() <= grid.scale / 127
    assert trajectory.records["tensors"].vectors.rows == 3 and trajectory.records["tensors"].vectors.width == 32


def test_only_the_trajectories_of_inside_sections_carry_tensors(tmp_path):
    content = load_content(
        write_content(tmp_path / "c", {"01-watch.md": STEPPER_SECTION, "02-one.md": INSIDE})
    )
    bundle = precompute(content, tmp_path / "b", model=TinyModel(), progress=False)
    manifest = read_manifest(bundle)
    with_tensors = {t.prompt for t in manifest.trajectories.values() if "tensors" in t.records}
    assert with_tensors == {"red apple pie", "a doctor"}  # "a doctor" is in both sections: rendered once
    assert {t.prompt for t in manifest.trajectories.values()} == {"red apple pie", "a doctor", "red apple"}
    assert check_bundle(bundle) == []


def test_a_bundle_without_tensors_is_completed_for_an_inside_section(tmp_path):
    plain = load_content(write_content(tmp_path / "c1", {"01-watch.md": STEPPER_SECTION}))
    bundle = precompute(plain, tmp_path / "b", model=TinyModel(), progress=False)
    inside = load_content(
        write_content(tmp_path / "c2", {"01-watch.md": STEPPER_SECTION, "02-one.md": INSIDE})
    )
    state = bundle_state(inside, bundle)
    assert {job.prompt for job in state.missing} == {"red apple pie", "a doctor"}  # "a doctor" lacks tensors
    precompute(inside, tmp_path / "b", model=TinyModel(), progress=False)
    assert bundle_state(inside, bundle).complete


def test_a_tensor_grid_path_out_of_the_bundle_is_refused(tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-one.md": INSIDE}))
    bundle = precompute(content, tmp_path / "b", model=TinyModel(), progress=False)
    raw = json.loads((bundle / "manifest.json").read_text())
    tid = next(iter(raw["trajectories"]))
    raw["trajectories"][tid]["tensors"]["prediction"]["file"] = "../../etc/passwd"
    raw["digest"] = manifest_digest(raw)
    (bundle / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(StepthroughError, match=f"trajectories.{tid}.tensors.prediction.file"):
        read_manifest(bundle)


def test_a_schedule_number_of_the_wrong_type_is_named(tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-one.md": INSIDE}))
    bundle = precompute(content, tmp_path / "b", model=TinyModel(), progress=False)
    raw = json.loads((bundle / "manifest.json").read_text())
    assert list(raw["schedules"]) == ["model-4"]  # both trajectories ran the model's own scheduler, 4 steps
    raw["schedules"]["model-4"]["alpha_bar"][0] = "<script>"
    raw["digest"] = manifest_digest(raw)
    (bundle / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(StepthroughError, match="manifest.json: schedules.model-4.alpha_bar.0: expected a number"):
        read_manifest(bundle)


@pytest.mark.parametrize(("kind", "prediction"), [("sd", "epsilon"), ("sd-v", "v_prediction")])
def test_stable_diffusion_gives_its_tokenizers_pieces_and_ids(kind, prediction, tiny_pipeline):
    model = load_model(str(tiny_pipeline(kind)), image_size=16)
    [rendered] = render(model, [Job("a doctor", 3, 3, 4.0)])
    t = rendered.tensors
    tokenizer = model.pipe.tokenizer
    assert [token.id for token in t.tokens] == tokenizer("a doctor")["input_ids"]
    assert [token.piece for token in t.tokens] == tokenizer.convert_ids_to_tokens(
        tokenizer("a doctor")["input_ids"]
    )
    inner = len(t.tokens) - 2
    assert [token.special for token in t.tokens] == [True, *[False] * inner, True]  # start and end markers
    assert t.padding == tokenizer.model_max_length - len(t.tokens) and t.padding_read  # SD reads its padding
    assert t.prediction_type == prediction and t.update == "ddim"  # PNDM is swapped for DDIM
    assert t.vectors.shape == (len(t.tokens), model.pipe.text_encoder.config.hidden_size)
    c, y, x = t.probe_at
    a, before = rendered.schedule.alpha_bar[0], rendered.schedule.alpha_bar_prev[0]
    x_t, p = rendered.latents[0, c, y, x], t.predictions[0, c, y, x]
    if prediction == "epsilon":
        x0, eps = (x_t - math.sqrt(1 - a) * p) / math.sqrt(a), p
    else:
        x0, eps = math.sqrt(a) * x_t - math.sqrt(1 - a) * p, math.sqrt(1 - a) * x_t + math.sqrt(a) * p
    after = math.sqrt(before) * x0 + math.sqrt(1 - before) * eps
    assert after == pytest.approx(rendered.latents[1, c, y, x], rel=1e-3, abs=1e-3)


def test_a_flow_matching_model_gets_the_flow_update_and_no_tokens_it_does_not_name(tiny_pipeline):
    model = load_model(str(tiny_pipeline("sd3")), image_size=16)
    [rendered] = render(model, [Job("a doctor", 3, 2, 4.0)])
    t = rendered.tensors
    assert t.prediction_type == "flow" and t.update == "flow" and t.tokens == [] and t.vectors is None
    c, y, x = t.probe_at
    s, s_next = rendered.schedule.sigma[0], rendered.schedule.sigma[1]
    after = rendered.latents[0, c, y, x] + (s_next - s) * t.predictions[0, c, y, x]
    assert after == pytest.approx(rendered.latents[1, c, y, x], rel=1e-3, abs=1e-3)
