"""The noise schedule widget's numbers: the scheduler's own ᾱ (or σ), recomputed without torch."""

from __future__ import annotations

import numpy as np
import pytest
from diffusers import DDIMScheduler, EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler

from stepthrough.precompute.run import scheduler_record
from stepthrough.widgets.schedule import noise_levels


class Holder:
    def __init__(self, scheduler):
        self.scheduler = scheduler

    def make_scheduler(self):
        return self.scheduler


@pytest.mark.parametrize(
    "scheduler",
    [
        DDIMScheduler(beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing", set_alpha_to_one=True),
        DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            set_alpha_to_one=False,
            steps_offset=1,
        ),
        DDIMScheduler(beta_schedule="linear", rescale_betas_zero_snr=True, timestep_spacing="trailing"),
    ],
)
def test_ddim_levels_are_the_schedulers_own_alphas(scheduler):
    scheduler.set_timesteps(10)
    picture, noise = noise_levels(scheduler_record(Holder(scheduler)), scheduler.timesteps.tolist())
    alphas = scheduler.alphas_cumprod[scheduler.timesteps].numpy()
    final = scheduler.final_alpha_cumprod.item()
    np.testing.assert_allclose(picture, np.sqrt([*alphas, final]), atol=2e-5)
    np.testing.assert_allclose(noise, np.sqrt(1 - np.array([*alphas, final])), atol=2e-5)
    assert picture[0] < picture[5] < picture[-1] and noise[0] > noise[5] > noise[-1]


def test_euler_levels_follow_its_sigmas_at_fractional_timesteps():
    scheduler = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    scheduler.set_timesteps(7)
    assert any(t != round(t) for t in scheduler.timesteps.tolist())  # "linspace" spacing: fractional
    picture, noise = noise_levels(scheduler_record(Holder(scheduler)), scheduler.timesteps.tolist())
    sigmas = scheduler.sigmas.numpy()  # the last one is 0: the finished picture
    np.testing.assert_allclose(picture, 1 / np.sqrt(1 + sigmas**2), atol=2e-4)
    np.testing.assert_allclose(np.square(picture) + np.square(noise), 1, atol=1e-9)


def test_flow_matching_levels_are_one_minus_sigma_and_sigma():
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    scheduler.set_timesteps(6)
    picture, noise = noise_levels(scheduler_record(Holder(scheduler)), scheduler.timesteps.tolist())
    np.testing.assert_allclose(noise, scheduler.sigmas.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.add(picture, noise), 1, atol=1e-9)
