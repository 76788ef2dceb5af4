"""Real diffusers pipelines through our sampler, on tiny random weights built from configs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from tiny_pipelines import BUILDERS, VARIANTS, stable_diffusion, tiny_vae_for_previews

from stepthrough.bundle.ids import Job
from stepthrough.cli import main
from stepthrough.errors import StepthroughError
from stepthrough.precompute.capture import render
from stepthrough.precompute.models import load_model

SIZE = 16


@pytest.mark.parametrize("kind", [*BUILDERS, *VARIANTS])
def test_our_loop_reproduces_the_pipelines_own_picture_and_captures_every_step(kind, tiny_pipeline):
    from diffusers import DiffusionPipeline

    folder = tiny_pipeline(kind)
    model = load_model(str(folder), image_size=SIZE)
    [ours] = render(model, [Job("a doctor", 3, 3, 4.0)])
    assert ours.xt.shape == ours.x0.shape == (4, SIZE, SIZE, 3) and ours.model_evaluations == 3
    assert len({latent.tobytes() for latent in ours.latents}) == 4  # the canvas changes at every step
    assert not np.array_equal(ours.x0[0], ours.x0[-1])  # the first guess is not yet the picture
    # The words and the guidance scale steer the picture (else agreeing with the pipeline proves little).
    [other_prompt] = render(model, [Job("red apple", 3, 3, 4.0)])
    [other_scale] = render(model, [Job("a doctor", 3, 3, 1.0)])
    assert not np.array_equal(ours.xt[-1], other_prompt.xt[-1])
    assert not np.array_equal(ours.xt[-1], other_scale.xt[-1])

    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.scheduler = model.make_scheduler()  # the same (possibly swapped-in) scheduler
    pipe.set_progress_bar_config(disable=True)
    options = {"height": SIZE, "width": SIZE, "output_type": "np"}
    if kind.startswith("pixart") or kind == "prx":
        options["use_resolution_binning"] = False
    generator = torch.Generator().manual_seed(3)
    theirs = pipe("a doctor", num_inference_steps=3, guidance_scale=4.0, generator=generator, **options)
    difference = np.abs(ours.xt[-1] / 255 - theirs.images[0]).max()
    assert difference <= 1 / 255 + 1e-4, (
        f"{kind}: our final picture differs from the pipeline's by {difference}"
    )


def test_multistep_schedulers_are_swapped_and_recorded(tiny_pipeline):
    model = load_model(str(tiny_pipeline("sd")))  # saved with PNDM, as SD 1.x ships
    assert type(model.make_scheduler()).__name__ == "DDIMScheduler"
    assert model.info.extra["scheduler_swapped_from"] == "PNDMScheduler"
    assert model.make_scheduler().config.clip_sample is False  # latents must not be clipped to [-1, 1]
    pixart = load_model(str(tiny_pipeline("pixart-alpha")))
    assert model.info.extra["scheduler"] == "DDIMScheduler"
    assert pixart.info.extra["scheduler_swapped_from"] == "DPMSolverMultistepScheduler"


def test_a_scheduler_that_cannot_be_stepped_through_is_refused_naming_the_supported_ones(tmp_path):
    folder = stable_diffusion(tmp_path / "lcm", scheduler="LCMScheduler")
    with pytest.raises(StepthroughError) as error:
        load_model(str(folder))
    message = str(error.value)
    assert "scheduler LCMScheduler cannot be stepped through" in message
    assert "DDIMScheduler, EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler" in message


def test_an_unsupported_pipeline_is_refused_before_loading_weights(tiny_pipeline, tmp_path, content_dir):
    folder = shutil.copytree(tiny_pipeline("sd"), tmp_path / "img2img")
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(
        json.dumps({**index, "_class_name": "StableDiffusionImg2ImgPipeline"})
    )
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not weights")
    result = CliRunner().invoke(main, ["precompute", "--content", str(content_dir), "--model", str(folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (
        "pipeline 'StableDiffusionImg2ImgPipeline' is not one stepthrough can step through" in result.output
    )
    assert "FluxPipeline" in result.output and "StableDiffusionXLPipeline" in result.output


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("./no/such/folder", "no such folder, and not a hub id"),
        ("{tmp}", "has no model_index.json"),
    ],
)
def test_a_model_that_is_neither_a_pipeline_folder_nor_a_hub_id_is_refused(
    name, expected, tmp_path, content_dir
):
    result = CliRunner().invoke(
        main, ["precompute", "--content", str(content_dir), "--model", name.format(tmp=tmp_path)]
    )
    assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output


def test_a_pipeline_folder_with_damaged_weights_is_refused_clearly(tiny_pipeline, tmp_path, content_dir):
    folder = shutil.copytree(tiny_pipeline("sd"), tmp_path / "damaged")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not weights")
    result = CliRunner().invoke(main, ["precompute", "--content", str(content_dir), "--model", str(folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "does not load as a diffusers pipeline" in result.output


def test_flux_renders_at_its_vaes_size_by_default_like_the_other_families(tiny_pipeline):
    # FluxPipeline's constant default (128 latents) made the tiny Flux 256 px, 10× slower than the rest.
    for kind in ("sd", "flux"):
        assert load_model(str(tiny_pipeline(kind))).info.image_size == (SIZE, SIZE), kind


def test_an_image_size_the_model_cannot_make_is_refused_with_a_size_it_can(tiny_pipeline):
    with pytest.raises(StepthroughError, match="needs a multiple of 4; try 16"):
        load_model(str(tiny_pipeline("flux")), image_size=18)


def test_preview_vae_draws_the_steps_and_the_full_vae_draws_the_result(tiny_pipeline, tmp_path):
    folder = str(tiny_pipeline("sd"))
    full = load_model(folder)
    previewed = load_model(folder, preview_vae=str(tiny_vae_for_previews(tmp_path / "taesd")))
    [a] = render(full, [Job("a doctor", 1, 3, 4.0)])
    [b] = render(previewed, [Job("a doctor", 1, 3, 4.0)])
    assert np.array_equal(a.xt[-1], b.xt[-1]) and np.array_equal(a.x0[-1], b.x0[-1])
    assert not np.array_equal(a.xt[:-1], b.xt[:-1])
    # The preview decoder's weights are part of the provenance, so such bundles are told apart.
    assert previewed.info.weights_sha256 != full.info.weights_sha256


def test_a_preview_vae_for_other_latents_is_refused(tiny_pipeline, tmp_path):
    preview = tiny_vae_for_previews(tmp_path / "taef", latent_channels=16)
    with pytest.raises(StepthroughError, match="decodes 16-channel latents but this model makes 4-channel"):
        load_model(str(tiny_pipeline("sd")), preview_vae=str(preview))


def test_blended_prompt_embeddings_lie_between_the_two_prompts(tiny_pipeline):
    model = load_model(str(tiny_pipeline("sdxl")))
    a, b = model.encode_prompts(["a doctor"]), model.encode_prompts(["red apple"])
    half = a.blend(b, 0.5)
    assert torch.allclose(half.hidden, (a.hidden + b.hidden) / 2, atol=1e-6)
    assert torch.allclose(half.pooled, (a.pooled + b.pooled) / 2, atol=1e-6)


def test_sdxl_unconditional_input_is_zeros_as_in_the_pipeline(tiny_pipeline):
    model = load_model(str(tiny_pipeline("sdxl")))
    empty = model.encode_prompts(["", "a doctor"])
    assert torch.count_nonzero(empty.hidden[0]) == 0 and torch.count_nonzero(empty.pooled[0]) == 0
    assert torch.count_nonzero(empty.hidden[1]) > 0


@pytest.mark.parametrize("kind", ["sd", "pixart-sigma", "flux", "prx"])
def test_blends_between_two_prompts_work_with_masks_pooled_vectors_and_distilled_guidance(
    kind, tiny_pipeline
):
    model = load_model(str(tiny_pipeline(kind)), image_size=SIZE)
    start, middle, end = render(model, [Job("a doctor", 2, 2, 4.0, "red apple", w) for w in (0.0, 0.5, 1.0)])
    [doctor] = render(model, [Job("a doctor", 2, 2, 4.0)])
    # Random weights amplify the float rounding that another batch composition brings: a few levels.
    assert np.abs(start.xt.astype(int) - doctor.xt.astype(int)).max() <= 4
    assert np.allclose(start.latents, doctor.latents, atol=1e-3 * np.abs(doctor.latents).max())
    for other in (start, end):
        assert not np.allclose(middle.latents[-1], other.latents[-1], atol=1e-3 * np.abs(other.latents).max())


def test_bfloat16_renders_nearly_the_same_picture_and_is_fingerprinted_apart(tiny_pipeline):
    from stepthrough.precompute.run import model_record

    folder = str(tiny_pipeline("flux"))  # packing, distilled guidance and flow matching at once
    full, half = load_model(folder, image_size=SIZE), load_model(folder, image_size=SIZE, dtype="bfloat16")
    [a], [b] = render(full, [Job("a doctor", 2, 3, 4.0)]), render(half, [Job("a doctor", 2, 3, 4.0)])
    assert np.abs(a.xt[-1].astype(int) - b.xt[-1].astype(int)).mean() < 2
    assert model_record(half)["settings"] == {"dtype": "bfloat16"}
    assert model_record(full) != model_record(half)


def test_hub_downloads_are_hashed_by_their_blob_names_and_other_files_by_content(tmp_path):
    import hashlib

    from stepthrough.bundle.ids import file_sha256

    digest = hashlib.sha256(b"weights").hexdigest()
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / digest).write_bytes(b"weights")
    (tmp_path / "snapshot").mkdir()
    (tmp_path / "snapshot" / "model.safetensors").symlink_to(tmp_path / "blobs" / digest)
    (tmp_path / "plain.safetensors").write_bytes(b"other weights")
    assert file_sha256(tmp_path / "snapshot" / "model.safetensors") == digest
    assert file_sha256(tmp_path / "plain.safetensors") == hashlib.sha256(b"other weights").hexdigest()


def test_a_hub_id_that_cannot_be_downloaded_is_a_clear_error(monkeypatch, content_dir):
    from diffusers import DiffusionPipeline

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(DiffusionPipeline, "download", offline)
    result = CliRunner().invoke(
        main, ["precompute", "--content", str(content_dir), "--model", "someone/some-model"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "model 'someone/some-model': could not download it from the Hugging Face hub" in result.output
