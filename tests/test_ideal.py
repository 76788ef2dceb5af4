"""The ideal denoiser (builtin/ideal.py): the exact posterior mean over a toy latent bank."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from stepthrough.builtin.ideal import CaptionWeights, IdealModel, posterior_mean, v_from_x0
from stepthrough.builtin.shares import Recipe
from stepthrough.bundle.ids import Job
from stepthrough.precompute.sampler import denoised, sample
from tests.tiny_model import TinyModel

SCHEDULER = {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction",
             "timestep_spacing": "trailing", "clip_sample": False, "set_alpha_to_one": True}
V3, V2 = Recipe(captions_keep_proportions=True), Recipe()

# Three pictures: two doctors (a health worker and a stethoscope), one rocket.
DATA = SimpleNamespace(
    chars=["🧑‍⚕️", "🩺", "🚀"],
    names=["health worker", "stethoscope", "rocket"],
    aliases=[[], [], ["space rocket"]],
    keywords=[["doctor", "nurse", "health", "hospital"], ["doctor"], ["launch", "space"]],
    styles=["noto", "noto", "noto"],
)


def toy_bank() -> tuple[torch.Tensor, np.ndarray]:
    """Each picture in two placements, latents (6, 4, 8, 8) far apart from picture to picture."""
    g = torch.Generator().manual_seed(0)
    centres = 3 * torch.randn(3, 4, 8, 8, generator=g)
    bank = torch.cat([centres, centres + 0.05 * torch.randn(3, 4, 8, 8, generator=g)])
    return bank, np.array([0, 1, 2, 0, 1, 2])


def ideal(recipe: Recipe = V3) -> IdealModel:
    bank, rows = toy_bank()
    return IdealModel(TinyModel(), SCHEDULER, bank, rows, CaptionWeights(DATA, recipe))


def test_the_guess_is_the_weighted_mean_at_high_noise_and_the_nearest_point_at_low_noise():
    bank = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    log_prior = torch.log(torch.tensor([[0.75, 0.25]]))
    x = torch.tensor([[0.2, 0.3]])
    noisy = posterior_mean(x, torch.tensor([1e-12]), bank, log_prior)
    assert torch.allclose(noisy, torch.tensor([[0.5, 0.0]]), atol=1e-5)  # 0.75·(1, 0) + 0.25·(−1, 0)
    clean = posterior_mean(torch.tensor([[-0.9, 0.1]]), torch.tensor([0.999]), bank, log_prior)
    assert torch.allclose(clean, torch.tensor([[-1.0, 0.0]]), atol=1e-5)


def test_far_from_every_point_the_softmax_stays_finite():
    bank = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    out = posterior_mean(torch.tensor([[400.0, 0.0]]), torch.tensor([0.9999]), bank, torch.zeros(1, 2))
    assert torch.allclose(out, torch.tensor([[1.0, 0.0]]))


def test_the_sampler_reads_the_posterior_mean_back_from_the_v_it_is_given():
    model = ideal()
    scheduler = model.make_scheduler()
    scheduler.set_timesteps(10)
    t = scheduler.timesteps[3]
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    cond = model.encode_prompts(["doctor", ""])
    v = model.predict(x, t, cond)
    alpha_bar = model.alphas_cumprod[int(t)].expand(2)
    x0 = model.denoised(x.reshape(2, -1), alpha_bar, cond.hidden[:, 0])
    assert torch.allclose(denoised(model, scheduler, x, v, t, 3).reshape(2, -1), x0, atol=1e-4)
    assert torch.allclose(v_from_x0(x, x0.reshape(x.shape), alpha_bar), v)


def test_a_caption_weighs_the_pictures_that_carry_it_uniformly_under_v3():
    weights = CaptionWeights(DATA, V3)
    assert weights("doctor").tolist() == [0.5, 0.5, 0.0]
    assert weights("a doctor").tolist() == [0.5, 0.5, 0.0]
    assert weights("space rocket").tolist() == [0.0, 0.0, 1.0]
    assert weights("a noto rocket").tolist() == [0.0, 0.0, 1.0]  # the styled name
    assert np.allclose(weights(""), 1 / 3)


def test_under_v2_a_keyword_weighs_less_for_the_emoji_with_more_keywords():
    doctor = CaptionWeights(DATA, V2)("doctor")
    # one keyword of 4 (8 captions with "a") against one of 1 (2 captions), each its group's only picture
    assert doctor[0] / doctor[1] == pytest.approx(2 / 8)
    assert doctor[2] == 0


def test_a_prompt_that_is_no_caption_stands_for_the_nearest_one_or_is_an_error():
    with pytest.raises(ValueError, match="no picture carries"):
        CaptionWeights(DATA, V3)("a cup of coffee")
    weights = CaptionWeights(DATA, V3, nearest=lambda prompt, captions: "rocket")
    assert weights.caption("a cup of coffee") == "rocket"
    assert weights("a cup of coffee").tolist() == [0.0, 0.0, 1.0]


def test_a_blend_is_the_mixture_of_the_two_captions():
    model = ideal()
    a, b = model.encode_prompts(["rocket"]), model.encode_prompts(["stethoscope"])
    assert torch.allclose(a.blend(b, 0.25).hidden[0, 0], torch.tensor([0.0, 0.25, 0.75]))


def test_sampling_the_ideal_at_guidance_1_lands_on_a_picture_of_the_caption():
    model = ideal()
    bank, rows = toy_bank()
    final = sample(model, [Job("doctor", seed, 25, 1.0) for seed in range(4)])
    gaps = torch.cdist(final.reshape(4, -1), bank.reshape(6, -1))
    assert (gaps.min(1).values < 1e-2).all()
    assert set(rows[gaps.argmin(1).numpy()]) <= {0, 1}
    rocket = sample(model, [Job("rocket", 0, 25, 5.0)])  # guidance runs on it unchanged
    assert rows[torch.cdist(rocket.reshape(1, -1), bank.reshape(6, -1)).argmin()] == 2
