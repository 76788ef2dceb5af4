"""Samplers side by side: DDIM, Euler, DPM-Solver++ (2M) and Heun on the same noise, built from the
model's scheduler config; x̂0 from the model's prediction; the sampler part of a trajectory's id."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import write_content
from tiny_model import TinyModel

from stepthrough.bundle.ids import BUNDLE_FORMAT, Job, content_hash
from stepthrough.precompute.capture import render
from stepthrough.precompute.sampler import make_scheduler, sample

SAMPLERS = """
    ---
    title: Samplers
    widget: samplers
    settings:
      reference_steps: 12
    sweep:
      prompts: ["red apple"]
      seeds: [3]
      steps: [2, 4]
      guidance: [4.0]
      schedulers: [ddim, euler, dpm++2m, heun]
    ---
    Text.
"""


class VModel(TinyModel):
    """The tiny model with a v-predicting cosine schedule, like the builtin model's."""

    def make_scheduler(self):
        from diffusers import DDIMScheduler

        return DDIMScheduler(
            num_train_timesteps=1000,
            beta_schedule="squaredcos_cap_v2",
            prediction_type="v_prediction",
            clip_sample=False,
            timestep_spacing="trailing",
        )


def test_the_models_own_scheduler_keeps_the_ids_trajectories_always_had():
    fingerprint = {"model": {"id": "m"}, "scheduler": {"class": "DDIMScheduler"}}
    job = Job("red apple", 3, 10, 5.0)
    old = {"prompt": "red apple", "seed": 3, "steps": 10, "guidance": 5.0, "towards": "", "blend": 0.0}
    assert job.content_id(fingerprint) == content_hash(
        {"format": BUNDLE_FORMAT, "render": fingerprint, "job": old}
    )
    ids = {
        Job("red apple", 3, 10, 5.0, sampler=s).content_id(fingerprint) for s in ("ddim", "euler", "heun")
    }
    assert len(ids) == 3 and job.content_id(fingerprint) not in ids


@pytest.mark.parametrize("model_class", [TinyModel, VModel])
@pytest.mark.parametrize("name", ["ddim", "euler", "dpm++2m", "heun"])
def test_each_sampler_keeps_the_models_schedule_and_prediction_and_counts_its_evaluations(model_class, name):
    model = model_class()
    scheduler = make_scheduler(model, name)
    own = model.make_scheduler().config
    assert scheduler.config.prediction_type == own.prediction_type
    assert scheduler.config.beta_schedule == own.beta_schedule
    assert scheduler.config.timestep_spacing == own.timestep_spacing
    [rendered] = render(model, [Job("red apple", 3, 4, 4.0, sampler=name)])
    evaluations = 6 if name == "heun" else 4  # Heun: two a step, one in the first and the last
    assert rendered.model_evaluations == len(model.predict_calls) == evaluations
    assert rendered.xt.shape[0] == rendered.x0.shape[0] == 5 and len(rendered.timesteps) == 4
    assert np.isfinite(rendered.latents).all()


@pytest.mark.parametrize("model_class", [TinyModel, VModel])
@pytest.mark.parametrize("name", ["ddim", "euler"])
def test_the_guess_of_the_picture_is_the_schedulers_own_where_it_hands_one_out(model_class, name):
    """x̂0 from the prediction and the step's noise level equals pred_original_sample of DDIM and
    Euler, which compute it from their own variables (Euler in σ-space)."""
    model = model_class()
    guesses, theirs = [], []
    step = type(make_scheduler(model, name)).step

    def keep(self, *args, **kwargs):
        output = step(self, *args, **kwargs)
        theirs.append(output.pred_original_sample)
        return output

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(make_scheduler(model, name)), "step", keep)
        sample(
            model,
            [Job("red apple", 3, 4, 4.0, sampler=name)],
            callback=lambda s: guesses.append(s["denoised"]),
        )
    for ours, reference in zip(guesses, theirs, strict=True):
        torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4)


def test_multistep_and_two_evaluation_samplers_give_a_guess_at_every_step():
    model = VModel()
    for name in ("dpm++2m", "heun"):
        guesses = []
        final = sample(model, [Job("red apple", 3, 6, 4.0, sampler=name)], callback=guesses.append)
        assert [s["i"] for s in guesses] == list(range(6))
        # the last guess is close to where the sampler lands: x̂0 comes from the model, not from two latents
        assert torch.dist(guesses[-1]["denoised"], final) < torch.dist(guesses[0]["denoised"], final)


def test_one_batch_never_mixes_samplers():
    with pytest.raises(ValueError, match="one step count and sampler"):
        sample(TinyModel(), [Job("a", 1, 2, 4.0), Job("a", 1, 2, 4.0, sampler="heun")])


def test_a_flow_matching_model_takes_no_samplers(tiny_pipeline):
    from stepthrough.errors import StepthroughError
    from stepthrough.precompute.models import load_model

    model = load_model(str(tiny_pipeline("sd3")), image_size=16)
    with pytest.raises(StepthroughError, match="flow-matching model.*leave out 'schedulers:'"):
        render(model, [Job("a doctor", 3, 2, 4.0, sampler="euler")])


def test_the_samplers_widget_asks_for_one_start_and_some_samplers(tmp_path):
    from stepthrough.cli import main

    bad = SAMPLERS.replace("      schedulers: [ddim, euler, dpm++2m, heun]\n", "").replace(
        'prompts: ["red apple"]', 'prompts: ["red apple", "rocket"]'
    )
    content = write_content(tmp_path, {"01-samplers.md": bad})
    result = CliRunner().invoke(main, ["precompute", "--content", str(content), "--dry-run"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        "01-samplers.md" in result.output
        and "01-samplers.md:6: widget 'samplers' needs 'schedulers:'" in result.output
    )
    assert "01-samplers.md:7: widget 'samplers' compares samplers on one start" in result.output
    typo = SAMPLERS.replace("dpm++2m", "dpm")
    content = write_content(tmp_path / "typo", {"01-samplers.md": typo})
    result = CliRunner().invoke(main, ["precompute", "--content", str(content), "--dry-run"])
    assert result.exit_code == 2 and "Traceback" not in result.output and "dpm++2m" in result.output


def test_precompute_renders_each_sampler_and_the_reference_and_measures_the_distances(tmp_path):
    from stepthrough.bundle import check_bundle, read_manifest
    from stepthrough.content import load_content
    from stepthrough.plan import plan_content
    from stepthrough.precompute.run import precompute

    content = load_content(write_content(tmp_path / "c", {"01-samplers.md": SAMPLERS}))
    assert len(plan_content(content).jobs) == 4 * 2 + 1  # four samplers at two step counts, and the reference
    model = TinyModel()
    bundle = precompute(content, tmp_path / "b", model=model, progress=False)
    assert len(model.predict_calls) == 2 + 4 + 2 + 4 + 2 + 4 + 2 + 6 + 12
    manifest = read_manifest(bundle)
    assert check_bundle(bundle) == []
    runs = [(t.scheduler, t.steps, t.model_evaluations) for t in manifest.trajectories.values()]
    assert ("heun", 4, 6) in runs and ("dpm++2m", 12, 12) in runs  # the reference comes last
    [projection] = manifest.projections.values()
    result = json.loads((bundle / projection.file).read_text())
    assert len(result["paths"]) == 9 and [len(p) for p in result["paths"]][:2] == [3, 5]
    assert len(result["distances"]) == 8 and all(0 <= d <= 1 for d in result["distances"])
    again = TinyModel()
    precompute(content, tmp_path / "b", model=again, progress=False)
    assert again.predict_calls == []  # resumed: every sampler's trajectory is found by its id


@pytest.fixture(scope="module")
def builtin_model():
    from stepthrough.precompute.models.builtin import load_builtin

    return load_builtin()


def picture(model, job: Job) -> np.ndarray:
    return model.decode(sample(model, [job])).numpy()


def test_every_sampler_heads_for_the_many_step_picture_as_its_budget_grows(builtin_model):
    """The builtin model's schedule starts at σ ≈ 20,000. Heun's trapezoid across its first stride
    used to throw the picture ~0.5 RMS off the reference at every budget; with an Euler first step it
    converges like the others. Distances: RMS pixel difference (0–1) to a 100-step DPM-Solver++ run."""
    reference = picture(builtin_model, Job("red apple", 7, 100, 5.0, sampler="dpm++2m"))
    budgets = (4, 10, 25)
    distances = {
        name: [
            float(np.sqrt(((picture(builtin_model, Job("red apple", 7, n, 5.0, sampler=name)) - reference) ** 2).mean()))
            for n in budgets
        ]
        for name in ("ddim", "euler", "dpm++2m", "heun")
    }
    for name, row in distances.items():
        assert row[0] > row[1] > row[2], f"{name}: {row} does not fall as the steps grow"
        assert row[-1] < 0.1, f"{name} ends {row[-1]:.3f} from the reference at {budgets[-1]} steps"
    assert distances["heun"][-1] < 2 * max(row[-1] for name, row in distances.items() if name != "heun")


def test_heuns_first_and_last_steps_are_eulers():
    """n steps: one evaluation for the stride out of the noisiest level, one for the stride to σ = 0,
    two for each stride between."""
    model = VModel()
    scheduler = make_scheduler(model, "heun")
    for steps in (1, 2, 5):
        scheduler.set_timesteps(steps)
        assert len(scheduler.timesteps) == Job("a", 1, steps, 1.0, sampler="heun").evaluations == max(2 * steps - 2, 1)
    euler = make_scheduler(model, "euler")
    euler.set_timesteps(5)
    heun = make_scheduler(model, "heun")
    heun.set_timesteps(5)
    x, prediction = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    # one evaluation and the first stride is done: the state is Euler's, and the next evaluation begins a step
    torch.testing.assert_close(
        heun.step(prediction, heun.timesteps[0], x).prev_sample, euler.step(prediction, euler.timesteps[0], x).prev_sample
    )
    assert heun.state_in_first_order and heun.timesteps[1] == euler.timesteps[1]
