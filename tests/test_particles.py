"""The particles model: shapes, seeded noise, the numpy sampler, and what the trained weights do."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from stepthrough.cli import main
from stepthrough.particles.sample import WEIGHTS, load_model, mulberry32, sample, start_noise
from stepthrough.particles.shapes import SHAPE_NAMES, sample_shape


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def clouds():
    """Each shape's outline, densely and without jitter: the answer the sampler never sees."""
    return {name: sample_shape(name, 2000, seed=99, jitter=0) for name in SHAPE_NAMES}


def mean_nn_distance(points: np.ndarray, cloud: np.ndarray) -> float:
    """Mean distance from each point to its nearest neighbour in the cloud."""
    d = np.linalg.norm(points[:, None, :] - cloud[None, :, :], axis=2)
    return float(d.min(axis=1).mean())


def test_mulberry32_gives_the_same_numbers_as_the_javascript_original():
    # Reference values printed by Node.js running the original mulberry32 (Math.imul, >>>).
    rand = mulberry32(12345)
    assert [rand() for _ in range(5)] == [
        0.9797282677609473,
        0.3067522644996643,
        0.484205421525985,
        0.817934412509203,
        0.5094283693470061,
    ]
    rand = mulberry32(4294967295)
    assert [rand() for _ in range(3)] == [0.8964226141106337, 0.189478256739676, 0.7156526781618595]


def test_start_noise_is_standard_normal_and_seeded():
    noise = start_noise(3, 20_000)
    assert abs(noise.mean()) < 0.03 and abs(noise.std() - 1) < 0.03
    assert np.array_equal(noise[:100], start_noise(3, 100))
    assert not np.array_equal(start_noise(4, 100), start_noise(3, 100))


def test_shape_clouds_are_deterministic_and_fit_the_view():
    for name in SHAPE_NAMES:
        a, b = sample_shape(name, 500, seed=1), sample_shape(name, 500, seed=1)
        assert a.shape == (500, 2) and np.array_equal(a, b)
        assert np.abs(a).max() < 1.1
    assert not np.array_equal(sample_shape("ring", 500, seed=1), sample_shape("ring", 500, seed=2))


def test_weights_file_is_small_and_knows_every_shape(model):
    assert WEIGHTS.stat().st_size < 200_000
    assert model.shapes == SHAPE_NAMES


def test_numpy_sampler_is_deterministic_for_a_seed(model):
    a = sample(model, "star", seed=5, count=200, steps=10, guidance=3.0)
    b = sample(model, "star", seed=5, count=200, steps=10, guidance=3.0)
    assert a.shape == (11, 200, 2) and np.array_equal(a, b)
    assert np.array_equal(a[0], start_noise(5, 200))
    assert not np.array_equal(a[-1], sample(model, "star", seed=6, count=200, steps=10, guidance=3.0)[-1])


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_samples_land_on_the_requested_shape_and_not_on_the_others(model, clouds, shape):
    final = sample(model, shape, seed=11, count=300, steps=30, guidance=2.0)
    own = mean_nn_distance(final[-1], clouds[shape])
    assert own < 0.05
    assert own < mean_nn_distance(final[0], clouds[shape]) / 4  # the starting noise is far off
    for other in SHAPE_NAMES:
        if other != shape:
            assert own < mean_nn_distance(final[-1], clouds[other]) / 2, other


def test_guidance_zero_ignores_the_shape_and_guidance_sharpens_it(model, clouds):
    loose = sample(model, "heart", seed=2, count=300, steps=30, guidance=0.0)[-1]
    crisp = sample(model, "heart", seed=2, count=300, steps=30, guidance=2.0)[-1]
    assert not np.allclose(loose, crisp)
    assert mean_nn_distance(crisp, clouds["heart"]) < mean_nn_distance(loose, clouds["heart"]) / 2
    # Unconditional: the same noise gives the same points whichever shape was asked for.
    assert np.array_equal(loose, sample(model, "ring", seed=2, count=300, steps=30, guidance=0.0)[-1])


def test_a_short_training_run_writes_weights_the_numpy_sampler_reads(tmp_path):
    out = tmp_path / "weights.json"
    result = CliRunner().invoke(
        main, ["train-particles", "--steps", "30", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    trained = load_model(out)
    assert trained.shapes == SHAPE_NAMES
    assert np.isfinite(sample(trained, "ring", seed=0, count=50, steps=5, guidance=2.0)).all()
    assert "train-particles" in CliRunner().invoke(main, ["--help"]).output
