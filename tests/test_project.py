"""Projections: fixed random_state, so the same input always gives the same 2-D picture."""

from __future__ import annotations

import json

import numpy as np
from conftest import write_content

from stepthrough.bundle import check_bundle, read_manifest
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute
from stepthrough.reduce import (
    embedding_map,
    latent_false_colour,
    mean_distances,
    trajectory_paths,
)

MAP = """
    ---
    title: Where words live
    widget: embedding-map
    settings:
      groups:
        animals: ["a cat", "a dog", "a small cat"]
        food: ["an apple", "a pear", "a red apple"]
    ---
    Text.
"""
PATHS = """
    ---
    title: Paths
    widget: paths
    sweep:
      prompts: ["a cat"]
      seeds: [1, 2, 3]
      steps: [4]
    ---
    Text.
"""


def test_latent_false_colour_keeps_shape_and_colours_mean_the_same_at_every_step():
    rng = np.random.default_rng(0)
    final = rng.normal(size=(4, 8, 8))
    latents = np.stack([rng.normal(size=(4, 8, 8)), final, final])
    colours = latent_false_colour(latents)
    assert colours.shape == (3, 8, 8, 3) and colours.dtype == np.uint8
    assert np.array_equal(colours[1], colours[2])
    assert np.array_equal(colours, latent_false_colour(latents))


def test_paths_start_apart_and_share_one_view():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(4, 8, 8))
    starts = [rng.normal(size=(4, 8, 8)) for _ in range(3)]
    trajectories = [np.stack([s * (1 - a) + target * a for a in np.linspace(0, 1, 6)]) for s in starts]
    paths, explained = trajectory_paths(trajectories)
    assert [len(p) for p in paths] == [6, 6, 6] and len(explained) == 2
    ends = np.array([p[-1] for p in paths])
    begins = np.array([p[0] for p in paths])
    assert np.ptp(ends, axis=0).max() < 1e-6 < np.ptp(begins, axis=0).max()  # all arrive at one point
    spread = mean_distances(trajectories)
    assert len(spread) == 6 and spread[0] > spread[3] > spread[-1] == 0


def test_embedding_map_is_deterministic_and_puts_near_duplicates_together():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=32), rng.normal(size=32)
    vectors = np.stack([a, a + 0.01, a + 0.02, b, b + 0.01, b + 0.02])
    for method in ("pca", "tsne"):
        points = embedding_map(vectors, method)
        assert np.array_equal(points, embedding_map(vectors, method))
        within = np.linalg.norm(points[0] - points[1])
        across = np.linalg.norm(points[0] - points[3])
        assert within < across, method


def test_precompute_writes_projections_that_verify_and_repeat_exactly(tiny_model, tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-map.md": MAP, "02-paths.md": PATHS}))
    first = precompute(content, tmp_path / "one", model=tiny_model, progress=False)
    second = precompute(content, tmp_path / "two", model=tiny_model, progress=False)
    assert check_bundle(first) == []
    manifest = read_manifest(first)
    kinds = sorted(p.kind for p in manifest.projections.values())
    assert kinds == ["embedding-map", "paths"]
    for projection in manifest.projections.values():
        data = json.loads((first / projection.file).read_text())
        assert data == json.loads((second / projection.file).read_text())
        if data["kind"] == "paths":
            assert len(data["paths"]) == 3 and all(len(p) == 5 for p in data["paths"])
        else:
            assert data["prompts"][0] == "a cat" and len(data["points"]) == 6


def test_a_deleted_projection_is_computed_again_without_rendering(tiny_model, tmp_path):
    content = load_content(write_content(tmp_path / "c", {"02-paths.md": PATHS}))
    bundle = precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    [projection] = read_manifest(bundle).projections.values()
    before = (bundle / projection.file).read_text()
    (bundle / projection.file).unlink()
    calls = len(tiny_model.predict_calls)
    precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    assert len(tiny_model.predict_calls) == calls
    assert (bundle / projection.file).read_text() == before
