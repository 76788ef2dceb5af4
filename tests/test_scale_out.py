"""Scale out: ranks render their share into shards, the last one merges; OOM halves the batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import write_content
from tiny_model import TinyModel

from stepthrough.bundle import check_bundle, read_manifest
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.run import precompute
from stepthrough.precompute.shards import Rank, device_for_rank, rank_from_env, read_shards

FIVE = """
    ---
    title: Five prompts
    widget: stepper
    sweep:
      prompts: ["a doctor", "red apple", "cat face", "rocket", "sunflower"]
      seeds: [1]
      steps: [3]
      guidance: [4.0]
    ---
    Words.
"""


@pytest.fixture
def five(tmp_path):
    return load_content(write_content(tmp_path / "content", {"01-five.md": FIVE}))


def test_two_ranks_render_disjoint_shares_and_the_last_one_merges_the_same_manifest_as_one_process(
    five, tmp_path
):
    # One trajectory per batch everywhere: batch composition changes float rounding, not pictures.
    alone = precompute(five, tmp_path / "one", model=TinyModel(), progress=False, rank=Rank(), batch_size=1)
    model = TinyModel()
    bundle = precompute(five, tmp_path / "two", model=model, progress=False, rank=Rank(0, 2), batch_size=1)
    assert not (bundle / "manifest.json").exists()  # rank 1 has not finished: no merge yet
    [shard] = read_shards(bundle)
    assert shard.finished and len(shard.assigned) == 3 and len(shard.manifest.trajectories) == 3
    precompute(five, tmp_path / "two", model=model, progress=False, rank=Rank(1, 2), batch_size=1)
    assert model.predict_calls == [2] * 15  # 5 trajectories × 3 steps: each job rendered once
    assert (bundle / "manifest.json").read_text() == (alone / "manifest.json").read_text()
    assert sorted(p.name for p in (bundle / "frames").iterdir()) == sorted(
        p.name for p in (alone / "frames").iterdir()
    )
    assert not (bundle / "shards").exists() and check_bundle(bundle) == []


def test_projections_survive_sharding_maps_from_rank_0_and_paths_drawn_at_the_merge(tmp_path):
    from test_project import MAP, PATHS

    content = load_content(write_content(tmp_path / "c", {"01-map.md": MAP, "02-paths.md": PATHS}))
    alone = precompute(content, tmp_path / "one", model=TinyModel(), progress=False, batch_size=1)
    for rank in (Rank(1, 2), Rank(0, 2)):  # rank 0 finishes last this time
        bundle = precompute(
            content, tmp_path / "two", model=TinyModel(), progress=False, rank=rank, batch_size=1
        )
    assert sorted(p.kind for p in read_manifest(bundle).projections.values()) == ["embedding-map", "paths"]
    assert (bundle / "manifest.json").read_text() == (alone / "manifest.json").read_text()
    assert check_bundle(bundle) == []


def test_a_restarted_rank_redoes_only_its_missing_jobs(five, tmp_path):
    model = TinyModel()
    bundle = precompute(five, tmp_path / "b", model=model, progress=False, rank=Rank(1, 2))
    [shard] = read_shards(bundle)
    victim = shard.manifest.trajectories[shard.assigned[0]].views["x0"].file
    (bundle / victim).unlink()  # as if the rank died before this file was written
    calls = len(model.predict_calls)
    precompute(five, tmp_path / "b", model=model, progress=False, rank=Rank(1, 2))
    assert model.predict_calls[calls:] == [2, 2, 2]  # one trajectory, alone
    precompute(five, tmp_path / "b", model=model, progress=False, rank=Rank(0, 2))
    assert check_bundle(bundle) == [] and len(read_manifest(bundle).trajectories) == 5


def test_merge_command_refuses_while_a_rank_is_missing_then_merges(five, tmp_path, monkeypatch):
    alone = precompute(five, tmp_path / "one", model=TinyModel(), progress=False, batch_size=1)
    bundle = precompute(
        five, tmp_path / "b", model=TinyModel(), progress=False, rank=Rank(0, 2), batch_size=1
    )
    early = CliRunner().invoke(main, ["merge", str(bundle)])
    assert early.exit_code == 1 and "Traceback" not in early.output
    assert "2 trajectories are not rendered yet (rank 1 of 2 not finished)" in early.output
    # Rank 1 writes its finished shard but dies before it can merge: merging by hand completes the bundle.
    from stepthrough.precompute import shards

    monkeypatch.setattr(shards, "all_finished", lambda *args: False)
    precompute(five, tmp_path / "b", model=TinyModel(), progress=False, rank=Rank(1, 2), batch_size=1)
    assert not (bundle / "manifest.json").exists()
    merged = CliRunner().invoke(main, ["merge", str(bundle)])
    assert merged.exit_code == 0 and "merged, 5 trajectories" in merged.output
    assert (bundle / "manifest.json").read_text() == (alone / "manifest.json").read_text()
    nothing = CliRunner().invoke(main, ["merge", str(bundle)])
    assert nothing.exit_code == 1 and "no shard manifests to merge" in nothing.output


def test_one_process_picks_up_what_ranks_already_rendered(five, tmp_path):
    precompute(five, tmp_path / "b", model=TinyModel(), progress=False, rank=Rank(0, 2))
    model = TinyModel()
    bundle = precompute(five, tmp_path / "b", model=model, progress=False, rank=Rank())
    assert model.predict_calls == [4, 4, 4]  # only rank 1's two trajectories
    assert check_bundle(bundle) == [] and not (bundle / "shards").exists()


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, Rank()), ({"RANK": "3", "WORLD_SIZE": "4"}, Rank(3, 4)), ({"WORLD_SIZE": "2"}, Rank(0, 2))],
)
def test_rank_comes_from_torchrun_and_accelerate_variables(env, expected):
    assert rank_from_env(env) == expected


@pytest.mark.parametrize("env", [{"RANK": "2", "WORLD_SIZE": "2"}, {"RANK": "x", "WORLD_SIZE": "2"}])
def test_impossible_ranks_are_refused(env):
    with pytest.raises(StepthroughError, match="RANK="):
        rank_from_env(env)


class RunsOutOfMemory(TinyModel):
    """Pretends a GPU that fits at most `fits` trajectories (cond + uncond) per forward pass."""

    def __init__(self, fits: int):
        super().__init__()
        self.fits = fits

    def predict(self, latents, t, cond):
        if latents.shape[0] > 2 * self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return super().predict(latents, t, cond)


def test_out_of_memory_says_so_and_retries_with_half_the_batch(five, tmp_path, capsys):
    model = RunsOutOfMemory(fits=2)
    bundle = precompute(five, tmp_path / "b", model=model, batch_size=5, progress=False)
    err = capsys.readouterr().err
    assert "out of GPU memory with 5 trajectories per batch; retrying with 2" in err
    assert "Traceback" not in err
    assert set(model.predict_calls) == {4, 2}  # batches of two, and the last one alone
    assert check_bundle(bundle) == [] and len(read_manifest(bundle).trajectories) == 5


def test_out_of_memory_with_one_trajectory_is_a_clear_error(five, tmp_path):
    with pytest.raises(StepthroughError, match="out of GPU memory with a single trajectory; use --dtype"):
        precompute(five, tmp_path / "b", model=RunsOutOfMemory(fits=0), batch_size=2, progress=False)


@pytest.mark.slow
def test_two_processes_under_torchrun_merge_to_the_one_process_manifest(tiny_pipeline, tmp_path):
    folder = tiny_pipeline("sd")
    content = write_content(
        tmp_path / "content",
        {"01-five.md": FIVE},
        site=f'title = "T"\nmodel = "{folder}"\nbundle = "tiny-sd"\n',
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    command = ["precompute", "--content", str(content), "--no-progress", "--batch-size", "1"]
    one = subprocess.run(
        [sys.executable, "-m", "stepthrough", *command, "--bundles", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "stepthrough",
            *command,
            "--bundles",
            str(tmp_path / "two"),
        ],
        check=False,  # a failure is reported with its stderr below
        env=env,
        capture_output=True,
        text=True,
    )
    assert two.returncode == 0, two.stderr[-2000:]
    assert "merged the shards" in two.stderr, two.stderr[-2000:]
    one_manifest = (tmp_path / "one" / "tiny-sd" / "manifest.json").read_text()
    assert one.returncode == 0
    assert (tmp_path / "two" / "tiny-sd" / "manifest.json").read_text() == one_manifest


def test_dry_run_prints_the_cost_computed_from_the_plan(tmp_path):
    ten = FIVE.replace('["a doctor", "red apple", "cat face", "rocket", "sunflower"]', '["x", "y", "z"]')
    ten = ten.replace("steps: [3]", "steps: [10]").replace("Five prompts", "Ten steps")
    root = write_content(tmp_path / "c", {"01-five.md": FIVE, "02-ten.md": ten})
    result = CliRunner().invoke(
        main, ["precompute", "--content", str(root), "--dry-run", "--batch-size", "2"]
    )
    assert result.exit_code == 0, result.output
    # 5 × 3 + 3 × 10 evaluations. The builtin model mixes step counts in a batch: sorted, the pairs
    # are (3, 3) (3, 3) (3, 10) (10, 10), each as many passes as its longer one: 3 + 3 + 10 + 10.
    assert "8 trajectories, 45 model evaluations" in result.output
    assert "in 26 batched forward passes with --batch-size 2" in result.output


def test_the_documented_cost_of_the_default_content_is_the_planned_one():
    import re

    from stepthrough.plan import plan_content
    from stepthrough.precompute.cost import model_evaluations

    root = Path(__file__).parents[1]
    doc = (root / "docs" / "real-models.md").read_text()
    documented = int(re.search(r"\*\*(\d+) model evaluations\*\* for the default content", doc)[1])
    assert documented == model_evaluations(
        plan_content(load_content(root / "stepthrough" / "default_content")).jobs
    ), "the default content changed: update docs/real-models.md with `stepthrough precompute --dry-run`"


def test_cuda_means_each_ranks_own_gpu():
    assert device_for_rank("cuda", {"LOCAL_RANK": "3"}) == "cuda:3"
    assert device_for_rank("cuda:1", {"LOCAL_RANK": "3"}) == "cuda:1"
    assert device_for_rank("cuda", {}) == "cuda" and device_for_rank("cpu", {"LOCAL_RANK": "1"}) == "cpu"


class DecodesFewAtATime(TinyModel):
    """Pretends a GPU on which at most 4 pictures decode at once."""

    def __init__(self):
        super().__init__()
        self.decoded: list[int] = []

    def decode(self, latents):
        if len(latents) > 4:
            raise torch.OutOfMemoryError("CUDA out of memory while decoding")
        self.decoded.append(len(latents))
        return super().decode(latents)


def test_decoding_that_runs_out_of_memory_goes_on_with_fewer_pictures_at_a_time(five, tmp_path):
    model = DecodesFewAtATime()
    bundle = precompute(five, tmp_path / "b", model=model, batch_size=5, progress=False)
    assert max(model.decoded) == 4 and model.predict_calls == [10, 10, 10]  # the batch itself was kept
    assert check_bundle(bundle) == [] and len(read_manifest(bundle).trajectories) == 5


def test_two_ranks_merging_at_the_same_moment_both_succeed(five, tmp_path, monkeypatch):
    from stepthrough.precompute import shards

    precompute(five, tmp_path / "b", model=TinyModel(), progress=False, rank=Rank(0, 2))
    real = shards.merge_bundle

    def racing(bundle_dir):
        real(bundle_dir)  # the other rank's merge lands first …
        return real(bundle_dir)  # … so this one finds no shards left

    monkeypatch.setattr(shards, "merge_bundle", racing)
    bundle = precompute(five, tmp_path / "b", model=TinyModel(), progress=False, rank=Rank(1, 2))
    assert check_bundle(bundle) == [] and len(read_manifest(bundle).trajectories) == 5
