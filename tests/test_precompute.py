"""Precompute: one batched forward per step, every step captured, resumable, verifiable bundles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from stepthrough.bundle import Manifest, check_bundle, read_manifest
from stepthrough.bundle.ids import Job
from stepthrough.bundle.manifest import manifest_digest
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.plan import plan_content
from stepthrough.precompute.capture import render
from stepthrough.precompute.run import precompute


def test_every_step_is_captured_with_one_batched_forward_pass_per_step(tiny_model):
    jobs = [Job("a doctor", 1, 4, 5.0), Job("red apple", 2, 4, 1.0)]
    rendered = render(tiny_model, jobs)
    # Conditional + unconditional for both trajectories in one pass, once per step.
    assert tiny_model.predict_calls == [4, 4, 4, 4]
    for r in rendered:
        assert r.xt.shape == (5, 16, 16, 3) and r.x0.shape == (5, 16, 16, 3)
        assert r.model_evaluations == 4
        assert np.array_equal(r.x0[-1], r.xt[-1])  # after the last step the guess is the result
        assert not np.array_equal(r.xt[0], r.xt[-1])  # noise became something else
        assert len(r.timesteps) == 4 and r.timesteps[0] > r.timesteps[-1]


def test_noise_removed_view_shows_what_each_step_took_away():
    from stepthrough.precompute.frames import removed_noise

    xt = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    xt[0] = 200  # a bright noisy start
    xt[1] = 100  # step 1 removes a lot
    xt[2] = 100
    xt[2, 0, 0] = 90  # step 2 removes a little, in one corner
    frames, rms = removed_noise(xt)
    assert (frames[0] == 128).all()  # nothing removed before the first step
    assert (frames[1] == 255).all()  # a uniform removal, stretched to full scale
    assert frames[2, 0, 0, 0] > 128 and frames[2, 3, 3, 0] == 128
    assert rms[0] == 0 and rms[1] > rms[2] > 0


def test_same_seed_gives_the_same_frames_and_another_seed_does_not(tiny_model):
    [a] = render(tiny_model, [Job("cat", 3, 3, 5.0)])
    [b] = render(tiny_model, [Job("cat", 3, 3, 5.0)])
    [c] = render(tiny_model, [Job("cat", 4, 3, 5.0)])
    assert np.array_equal(a.xt, b.xt) and not np.array_equal(a.xt, c.xt)


def test_batching_does_not_change_a_trajectory(tiny_model):
    [alone] = render(tiny_model, [Job("cat", 3, 3, 7.0)])
    batched = render(tiny_model, [Job("dog", 1, 3, 2.0), Job("cat", 3, 3, 7.0)])
    assert np.abs(alone.x0.astype(int) - batched[1].x0.astype(int)).max() <= 1


def test_precompute_writes_a_bundle_that_verifies_and_round_trips(tiny_model, content_dir, tmp_path):
    bundle = precompute(load_content(content_dir), tmp_path / "bundles", model=tiny_model, progress=False)
    assert bundle == tmp_path / "bundles" / "test-bundle"
    assert check_bundle(bundle) == []
    manifest = read_manifest(bundle)
    raw = json.loads((bundle / "manifest.json").read_text())
    assert raw["schema_version"] == 4 and raw["model"]["id"] == "tiny-test"
    assert Manifest.from_dict(raw) == manifest
    assert (
        len(manifest.trajectories) == 2 and len(manifest.files) == 12
    )  # four views, latents, attention maps
    t = next(iter(manifest.trajectories.values()))
    assert t.views["xt"].frames == 4 and t.views["xt"].width == 16 and t.model_evaluations == 3
    assert len(t.metrics["x0_distance_to_final"]) == 4 and t.metrics["x0_distance_to_final"][-1] == 0
    assert t.views["noise"].frames == 4 and t.metrics["noise_removed_rms"][0] == 0
    assert all(v > 0 for v in t.metrics["noise_removed_rms"][1:])
    on_disk = sorted(f"{p.parent.name}/{p.name}" for p in bundle.glob("*/*"))
    assert on_disk == sorted(manifest.files)
    assert manifest.plan == {"watch": list(manifest.trajectories)}


def test_rerun_skips_finished_jobs_and_resume_redoes_only_a_deleted_frame(tiny_model, content_dir, tmp_path):
    content = load_content(content_dir)
    # One trajectory per batch, as when resuming: batch composition changes float rounding, not pictures.
    bundle = precompute(content, tmp_path / "b", model=tiny_model, progress=False, batch_size=1)
    first = (bundle / "manifest.json").read_text()
    calls = len(tiny_model.predict_calls)
    precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    assert len(tiny_model.predict_calls) == calls  # nothing rendered again
    victim = min((bundle / "frames").iterdir())
    victim.unlink()
    precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    assert tiny_model.predict_calls[calls:] == [2, 2, 2]  # one trajectory, alone, three steps
    assert (bundle / "manifest.json").read_text() == first
    assert check_bundle(bundle) == []


def test_a_damaged_frame_is_rendered_again(tiny_model, content_dir, tmp_path):
    content = load_content(content_dir)
    bundle = precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    victim = min((bundle / "frames").iterdir())
    victim.write_bytes(b"not a webp")
    assert any("sha256 differs" in p or "bytes" in p for p in check_bundle(bundle))
    precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    assert check_bundle(bundle) == []


def test_another_model_renders_the_bundle_again_and_drops_old_frames(content_dir, tmp_path):
    from tiny_model import TinyModel

    content = load_content(content_dir)
    bundle = precompute(content, tmp_path / "b", model=TinyModel(0), progress=False)
    old = set((bundle / "frames").iterdir())
    precompute(content, tmp_path / "b", model=TinyModel(1), progress=False)
    assert read_manifest(bundle).model["revision"] == "seed1"
    assert not old & set((bundle / "frames").iterdir())
    assert check_bundle(bundle) == []


def test_removed_prompts_are_pruned_from_the_bundle(tiny_model, content_dir, tmp_path):
    content = load_content(content_dir)
    bundle = precompute(content, tmp_path / "b", model=tiny_model, progress=False)
    section = content_dir / "sections" / "01-watch.md"
    section.write_text(section.read_text().replace('["a doctor", "red apple"]', '["a doctor"]'))
    precompute(load_content(content_dir), tmp_path / "b", model=tiny_model, progress=False)
    manifest = read_manifest(bundle)
    assert [t.prompt for t in manifest.trajectories.values()] == ["a doctor"]
    assert len(list((bundle / "frames").iterdir())) == 5 and len(list((bundle / "latents").iterdir())) == 1


def test_check_command_lists_problems_and_exits_1(tiny_model, content_dir, tmp_path):
    bundle = precompute(load_content(content_dir), tmp_path / "b", model=tiny_model, progress=False)
    ok = CliRunner().invoke(main, ["check", str(bundle)])
    assert ok.exit_code == 0 and "2 trajectories, 12 files verified" in ok.output
    sorted((bundle / "frames").iterdir())[1].unlink()
    bad = CliRunner().invoke(main, ["check", str(bundle)])
    assert bad.exit_code == 1 and ": missing" in bad.output
    empty = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert empty.exit_code == 1 and "manifest.json: missing" in empty.output


def test_manifest_from_a_newer_schema_is_refused_clearly(tiny_model, content_dir, tmp_path):
    bundle = precompute(load_content(content_dir), tmp_path / "b", model=tiny_model, progress=False)
    raw = json.loads((bundle / "manifest.json").read_text())
    raw["schema_version"] = 99
    (bundle / "manifest.json").write_text(json.dumps(raw))
    result = CliRunner().invoke(main, ["check", str(bundle)])
    assert result.exit_code == 1 and "schema_version 99" in result.output and "Traceback" not in result.output


def test_the_schedule_is_recorded_once_per_sampler_and_step_count(tiny_model, tmp_path):
    from conftest import write_content

    stepper = """
        ---
        title: Watch
        widget: stepper
        sweep:
          prompts: ["red apple"]
          seeds: [2]
          steps: [2, 3]
          guidance: [4.0]
          schedulers: [ddim, euler]
        ---
        Text.
    """
    sweep = """
        ---
        title: Samplers
        widget: samplers
        sweep:
          prompts: ["red apple"]
          seeds: [1]
          steps: [2, 3]
          guidance: [4.0]
          schedulers: [ddim, euler]
        ---
        Text.
    """
    content = load_content(write_content(tmp_path / "c", {"01-samplers.md": sweep, "02-watch.md": stepper}))
    manifest = read_manifest(precompute(content, tmp_path / "b", model=tiny_model, progress=False))
    keys = [t.schedule_key for t in manifest.trajectories.values()]
    assert {"ddim-2", "ddim-3", "euler-2", "euler-3"} <= set(keys) and len(keys) > len(set(keys))
    assert sorted(manifest.schedules) == sorted(set(keys))  # one each, shared by its trajectories
    for trajectory in manifest.trajectories.values():
        schedule = manifest.schedule_of(trajectory)
        assert schedule.timesteps == trajectory.timesteps and len(schedule.alpha_bar) == trajectory.steps + 1
    assert manifest.schedules["euler-3"].sigma[-1] == 0.0 and manifest.schedules["ddim-3"].sigma == []


def test_a_bundle_from_schema_3_is_read_and_rendered_again_for_its_schedules(tiny_model, content_dir, tmp_path):
    bundle = precompute(load_content(content_dir), tmp_path / "b", model=tiny_model, progress=False)
    raw = json.loads((bundle / "manifest.json").read_text())
    raw["schema_version"] = 3  # as version 3 wrote it: no schedules
    del raw["schedules"]
    raw["digest"] = manifest_digest(raw)
    (bundle / "manifest.json").write_text(json.dumps(raw))
    assert CliRunner().invoke(main, ["check", str(bundle)]).exit_code == 0  # a version 3 bundle is whole
    old = read_manifest(bundle)
    assert old.schema_version == 3 and old.schedules == {}
    plan = plan_content(load_content(content_dir), old.fingerprint())
    assert plan.missing(bundle, old) == plan.jobs  # without their schedules every trajectory renders again
    tiny_model.predict_calls.clear()
    precompute(load_content(content_dir), tmp_path / "b", model=tiny_model, progress=False)
    new = read_manifest(bundle)
    assert tiny_model.predict_calls and new.schema_version == 4 and plan.missing(bundle, new) == ()
    assert all(new.schedule_of(t) is not None for t in new.trajectories.values())


def test_blending_walks_from_one_prompt_to_the_other(tiny_model):
    ends = render(tiny_model, [Job("cat", 5, 3, 5.0), Job("dog", 5, 3, 5.0)])
    path = render(tiny_model, [Job("cat", 5, 3, 5.0, "dog", w) for w in (0.0, 0.5, 1.0)])
    assert np.abs(path[0].xt.astype(int) - ends[0].xt.astype(int)).max() <= 1
    assert np.abs(path[2].xt.astype(int) - ends[1].xt.astype(int)).max() <= 1
    middle = path[1].xt[-1].astype(int)
    assert np.abs(middle - ends[0].xt[-1]).mean() > 0 and np.abs(middle - ends[1].xt[-1]).mean() > 0


def test_a_writer_that_fails_mid_trajectory_leaves_a_whole_bundle_and_a_resume_completes_it(
    tiny_model, content_dir, tmp_path, monkeypatch
):
    """The writer thread dies after the first file of the second trajectory: the manifest names
    only the first, whole; the resumed run renders the second alone and ends with the manifest an
    uninterrupted run writes, with no stray file on disk."""
    from stepthrough.precompute import write

    content = load_content(content_dir)
    clean = precompute(content, tmp_path / "clean", model=tiny_model, progress=False, batch_size=1)
    real, calls = write.atomic_write, []

    def dies_on_the_seventh_file(path, data, durable=True):
        calls.append(path)
        if len(calls) == 7:  # a trajectory is five files: this is the second one's second
            raise OSError(28, "No space left on device")
        real(path, data, durable=durable)

    monkeypatch.setattr(write, "atomic_write", dies_on_the_seventh_file)
    with pytest.raises(OSError, match="No space left"):
        precompute(content, tmp_path / "b", model=tiny_model, progress=False, batch_size=1)
    bundle = tmp_path / "b" / "test-bundle"
    # Every file the manifest names is there and verifies; the plan still waits for the second one.
    problems = check_bundle(bundle)
    # what the manifest names is whole; the rest is the unfinished batch's files and the count
    named_but_broken = [p for p in problems if not p.startswith("incomplete:") and "not listed in the manifest" not in p]
    assert named_but_broken == [] and len(read_manifest(bundle).trajectories) == 1
    assert any(p.startswith("incomplete: 1 of the 2") for p in problems)  # and check says what is missing

    monkeypatch.setattr(write, "atomic_write", real)
    calls_before = len(tiny_model.predict_calls)
    precompute(content, tmp_path / "b", model=tiny_model, progress=False, batch_size=1)
    assert tiny_model.predict_calls[calls_before:] == [2, 2, 2]  # only the second trajectory
    assert (bundle / "manifest.json").read_text() == (clean / "manifest.json").read_text()
    on_disk = sorted(f"{p.parent.name}/{p.name}" for p in bundle.glob("*/*"))
    assert on_disk == sorted(read_manifest(bundle).files)
    assert [p for p in check_bundle(bundle) if not p.startswith("plan: section watch names unknown")] == []


def failing_on_batch(number: int):
    """A tiny model that fails at the start of batch `number` (three steps per trajectory, one
    trajectory per batch)."""
    from tiny_model import TinyModel

    class Fails(TinyModel):
        def predict(self, latents, t, cond):
            if len(self.predict_calls) == 3 * (number - 1):
                raise RuntimeError("the GPU fell off the bus")
            return super().predict(latents, t, cond)

    return Fails()


def test_when_the_model_fails_the_batches_already_rendered_are_kept(content_dir, tmp_path):
    with pytest.raises(RuntimeError, match="fell off the bus"):
        precompute(
            load_content(content_dir),
            tmp_path / "b",
            model=failing_on_batch(2),
            progress=False,
            batch_size=1,
        )
    bundle = tmp_path / "b" / "test-bundle"
    problems = check_bundle(bundle)
    # what the manifest names is whole; the rest is the unfinished batch's files and the count
    named_but_broken = [p for p in problems if not p.startswith("incomplete:") and "not listed in the manifest" not in p]
    assert named_but_broken == [] and len(read_manifest(bundle).trajectories) == 1
    assert any(p.startswith("incomplete: 1 of the 2") for p in problems)  # and check says what is missing


def test_writing_beside_the_model_gives_the_bundle_that_writing_between_batches_gives(
    tiny_model, content_dir, tmp_path
):
    from stepthrough.precompute.run import Timings

    content = load_content(content_dir)
    timings = Timings()
    overlapped = precompute(content, tmp_path / "a", model=tiny_model, progress=False, timings=timings)
    between = Timings()
    serial = precompute(
        content, tmp_path / "b", model=tiny_model, progress=False, overlap=False, timings=between
    )
    assert between.write >= between.writing > 0  # writing between batches: the sampler waits for all of it
    assert (overlapped / "manifest.json").read_text() == (serial / "manifest.json").read_text()
    assert timings.wall >= timings.model + timings.decode > 0 and timings.writing > 0
    # the timed parts are disjoint: together they are the wall time, none counted twice
    parts = timings.model + timings.decode + timings.write
    assert parts <= timings.wall and parts + timings.other == pytest.approx(timings.wall)


def test_trajectories_of_other_step_counts_and_samplers_share_forward_passes_and_come_out_the_same(tiny_model):
    from stepthrough.precompute.cost import batches

    # a model that takes one timestep per row (as the builtin one does) runs a batch of mixed
    # step counts and samplers side by side: every pass holds each trajectory still going
    type(tiny_model).mixed_timesteps = True
    try:
        jobs = [Job("a doctor", 1, 2, 5.0), Job("red apple", 2, 4, 3.0, sampler="heun"), Job("cat", 3, 2, 1.0)]
        alone = [render(tiny_model, [job])[0] for job in jobs]
        tiny_model.predict_calls.clear()
        steps_taken = []
        mixed = render(tiny_model, jobs, on_step=steps_taken.append)
        # Heun's 4 steps are 6 evaluations; the two 2-step trajectories ride along in the first 2
        assert tiny_model.predict_calls == [6, 6, 2, 2, 2, 2]
        assert sum(steps_taken) == 2 + 4 + 2  # the progress bar counts each trajectory's steps once
        for a, m in zip(alone, mixed, strict=True):
            assert m.job == a.job and m.xt.shape == a.xt.shape
            assert np.abs(a.x0.astype(int) - m.x0.astype(int)).max() <= 1
            assert np.abs(a.xt.astype(int) - m.xt.astype(int)).max() <= 1
            assert m.model_evaluations == a.model_evaluations
            np.testing.assert_allclose(m.attention, a.attention, atol=1e-4)  # each its own words' maps
            np.testing.assert_allclose(m.tensors.predictions, a.tensors.predictions, atol=1e-4)
        # precompute mixes kinds for such a model only, in runs of one sorted list (resumes cut the same)
        many = [Job("a", s, n, 5.0) for s, n in ((1, 5), (2, 1), (3, 25), (4, 1), (5, 25))]
        assert [[j.steps for j in b] for b in batches(many, 2, mixed=True)] == [[1, 1], [5, 25], [25]]
        assert [[j.steps for j in b] for b in batches(many, 2)] == [[1, 1], [5], [25, 25]]
    finally:
        type(tiny_model).mixed_timesteps = False
    with pytest.raises(ValueError, match="one timestep per forward pass"):
        render(tiny_model, jobs)


def test_a_manifest_slow_to_write_is_written_once_per_spacing_not_after_every_batch(
    content_dir, tmp_path, monkeypatch
):
    """Writing the whole manifest after every batch grows with the square of the trajectories; with
    writes that look slow (SAVE_SPACING huge), the first batch's write is the only one before the
    end. An interrupted run then keeps that much, and a resume renders the rest."""
    from tiny_model import TinyModel

    from stepthrough.precompute import run, shards

    (content_dir / "sections" / "01-watch.md").write_text(
        (content_dir / "sections" / "01-watch.md").read_text().replace("seeds: [1]", "seeds: [1, 2]")
    )
    content = load_content(content_dir)
    writes = []
    real = shards.write_manifest
    monkeypatch.setattr(shards, "write_manifest", lambda folder, m: (writes.append(len(m.trajectories)), real(folder, m)))
    monkeypatch.setattr(run, "SAVE_SPACING", 1e9)
    precompute(content, tmp_path / "a", model=TinyModel(), progress=False, batch_size=1)
    assert writes[0] == 1 and writes[-1] == 4 and writes.count(4) == len(writes) - 1  # first batch, then the end

    with pytest.raises(RuntimeError, match="fell off the bus"):
        precompute(content, tmp_path / "b", model=failing_on_batch(3), progress=False, batch_size=1)
    assert len(read_manifest(tmp_path / "b" / "test-bundle").trajectories) == 1
    resumed = TinyModel()
    precompute(content, tmp_path / "b", model=resumed, progress=False, batch_size=1)
    assert len(resumed.predict_calls) == 9  # the three trajectories the manifest did not name yet
    assert read_manifest(tmp_path / "b" / "test-bundle").trajectories.keys() == read_manifest(
        tmp_path / "a" / "test-bundle"
    ).trajectories.keys()
