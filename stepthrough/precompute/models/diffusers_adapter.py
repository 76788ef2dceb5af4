"""Any diffusers text-to-image pipeline as a stepthrough model (the contract is in base.py).

The pipeline is loaded with ``DiffusionPipeline.from_pretrained`` and does the work with its own
parts: its ``encode_prompt``, its denoiser, its VAE, its scheduler's config. One small class per
pipeline family says how to encode prompts, call the denoiser and shape the latents; loading,
scheduler choice, seeded noise and decoding are shared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stepthrough.adapter import (
    DiffusionModel,
    ModelInfo,
    PromptEmbedding,
    Token,
    token_sequence,
)
from stepthrough.bundle.ids import HUB_ID, weights_sha256
from stepthrough.errors import StepthroughError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# Schedulers whose step gives x̂0 from the current latent and one model output, deterministically:
# DDIM and Euler hand it out as `pred_original_sample`; flow matching gives it as x − σ·v.
KEPT_SCHEDULERS = ("DDIMScheduler", "EulerDiscreteScheduler", "FlowMatchEulerDiscreteScheduler")
# Multistep, higher-order or stochastic schedulers, replaced by the nearest kept one built from the
# same config: x̂0 cannot be recovered from two latents, or batching would change their noise.
SWAPS = {
    "PNDMScheduler": "DDIMScheduler",
    "DDPMScheduler": "DDIMScheduler",
    "DPMSolverMultistepScheduler": "DDIMScheduler",
    "DPMSolverSinglestepScheduler": "DDIMScheduler",
    "DEISMultistepScheduler": "DDIMScheduler",
    "UniPCMultistepScheduler": "DDIMScheduler",
    "LMSDiscreteScheduler": "EulerDiscreteScheduler",
    "HeunDiscreteScheduler": "EulerDiscreteScheduler",
    "KDPM2DiscreteScheduler": "EulerDiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler": "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler": "EulerDiscreteScheduler",
    "FlowMatchHeunDiscreteScheduler": "FlowMatchEulerDiscreteScheduler",
}


def load_diffusers(
    name: str,
    device: str = "cpu",
    revision: str | None = None,
    dtype: str | None = None,
    preview_vae: str | None = None,
    image_size: int | None = None,
) -> DiffusersModel:
    """Load pipeline `name` (hub id or folder) and wrap it for the sampler."""
    from diffusers import AutoencoderTiny, DiffusionPipeline

    folder, resolved_revision = _fetch(name, revision)
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    family = FAMILIES.get(index.get("_class_name"))
    if family is None:
        raise StepthroughError(
            f"model '{name}': pipeline {index.get('_class_name')!r} is not one stepthrough can step through; "
            f"supported: {', '.join(sorted(FAMILIES))}"
        )
    torch_dtype = _dtype(dtype, device)
    try:
        pipe = DiffusionPipeline.from_pretrained(folder, dtype=torch_dtype)
    except (OSError, ValueError) as exc:  # a component or weight file missing or damaged
        raise StepthroughError(f"model '{name}': {folder} does not load as a diffusers pipeline ({exc})")
    if torch_dtype == torch.float16 and getattr(pipe.vae.config, "force_upcast", False):
        pipe.vae.to(torch.float32)  # SD/SDXL VAEs overflow in float16; their pipelines upcast too
    try:
        pipe.to(device)
    except torch.OutOfMemoryError:
        raise StepthroughError(
            f"model '{name}' does not fit in the memory of {device} in {torch_dtype}; "
            "try --dtype bfloat16 or float16, or a GPU with more memory"
        )
    pipe.set_progress_bar_config(disable=True)
    weight_files = _weight_files(folder, index)
    preview = None
    if preview_vae is not None:
        preview_folder, _ = _fetch(preview_vae, None, what="--preview-vae")
        preview = AutoencoderTiny.from_pretrained(preview_folder, dtype=torch_dtype).to(device).eval()
        weight_files += [
            (p, f"preview_vae/{p.relative_to(preview_folder)}") for p in _weights_in(preview_folder)
        ]
    provenance = {
        "id": name,
        "revision": resolved_revision,
        "weights_sha256": weights_sha256([p for p, _ in weight_files], names=[n for _, n in weight_files]),
        "dtype": str(torch_dtype).removeprefix("torch."),
        "preview_vae": preview_vae,
    }
    return family(pipe, provenance, torch.device(device), torch_dtype, preview, image_size)


class DiffusersModel(DiffusionModel):
    """Shared parts: scheduler choice, seeded latents, decoding. Subclasses hold one family's calls
    and declare the family's capabilities (`flow_matching`, `distilled_guidance`)."""

    def __init__(
        self,
        pipe,
        provenance: dict[str, Any],
        device: torch.device,
        dtype: torch.dtype,
        preview,
        image_size: int | None,
    ):
        self.pipe, self.device, self.dtype, self.preview = pipe, device, dtype, preview
        self.scheduler, swapped_from = choose_scheduler(pipe.scheduler, self.flow_matching, provenance["id"])
        size = image_size or self.default_image_size()
        multiple = self.size_multiple()
        if size % multiple:
            raise StepthroughError(
                f"image size {size}: {type(pipe).__name__} needs a multiple of {multiple}; "
                f"try {max(multiple, size // multiple * multiple)}"
            )
        if preview is not None and preview.config.latent_channels != self.latent_channels():
            raise StepthroughError(
                f"--preview-vae {provenance['preview_vae']}: it decodes {preview.config.latent_channels}-channel "
                f"latents but this model makes {self.latent_channels()}-channel ones; use a tiny autoencoder "
                "made for this model (e.g. madebyollin/taesd for SD 1.x/2.x, taesdxl for SDXL, taesd3, taef1)"
            )
        self.info = ModelInfo(
            id=provenance["id"],
            revision=provenance["revision"],
            weights_sha256=provenance["weights_sha256"],
            image_size=(size, size),
            latent_shape=self.latent_shape(size),
            extra={
                "pipeline": type(pipe).__name__,
                "scheduler": type(self.scheduler).__name__,
                "scheduler_swapped_from": swapped_from,
                "preview_vae": provenance["preview_vae"],
            },
            settings={"dtype": provenance["dtype"]},
        )

    # --- what a family says about itself ---
    def default_image_size(self) -> int:
        return self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor

    def size_multiple(self) -> int:
        return self.pipe.vae_scale_factor

    def latent_channels(self) -> int:
        return self.pipe.unet.config.in_channels

    def latent_shape(self, size: int) -> tuple[int, ...]:
        side = size // self.pipe.vae_scale_factor
        return (self.latent_channels(), side, side)

    # --- the contract ---
    def make_scheduler(self):
        return type(self.scheduler).from_config(self.scheduler.config)

    def initial_noise(self, seed: int) -> torch.Tensor:
        # The same draw as the pipeline's prepare_latents with torch.Generator("cpu").manual_seed(seed).
        noise = torch.randn(self.info.latent_shape, generator=torch.Generator().manual_seed(seed))
        return noise.to(self.device)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self._decode_with(self.pipe.vae, latents)

    def decode_preview(self, latents: torch.Tensor) -> torch.Tensor:
        return self._decode_with(self.preview or self.pipe.vae, latents)

    def _decode_with(self, vae, latents: torch.Tensor) -> torch.Tensor:
        config = vae.config
        scaled = latents / config.scaling_factor + (getattr(config, "shift_factor", None) or 0.0)
        images = vae.decode(scaled.to(self.device, vae.dtype)).sample
        return (images.float() / 2 + 0.5).clamp(0, 1)

    def _timestep(self, t: torch.Tensor, batch: int) -> torch.Tensor:
        return t.to(self.device).expand(batch)


class StableDiffusion(DiffusersModel):
    """Stable Diffusion 1.x / 2.x: CLIP text encoder, UNet predicting ε or v."""

    def cross_attention(self) -> torch.nn.Module:
        return self.pipe.unet

    def prompt_tokens(self, prompt: str) -> list[Token]:
        return token_sequence(self.pipe.tokenizer, prompt, self.pipe.tokenizer.model_max_length)

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        hidden, _ = self.pipe.encode_prompt(prompts, self.device, 1, False)
        return PromptEmbedding(hidden=hidden)

    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        out = self.pipe.unet(latents.to(self.dtype), t, encoder_hidden_states=cond.hidden).sample
        return out.float()


class StableDiffusionXL(DiffusersModel):
    """SDXL: two CLIP encoders, a pooled text vector and size conditioning ("time ids")."""

    def cross_attention(self) -> torch.nn.Module:
        return self.pipe.unet

    def prompt_tokens(self, prompt: str) -> list[Token]:
        # Both encoders' states sit side by side per token: the first tokenizer's positions are theirs.
        tokenizer = self.pipe.tokenizer or self.pipe.tokenizer_2
        return token_sequence(tokenizer, prompt, tokenizer.model_max_length)

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        hidden, _, pooled, _ = self.pipe.encode_prompt(
            prompts, device=self.device, num_images_per_prompt=1, do_classifier_free_guidance=False
        )
        if self.pipe.config.get("force_zeros_for_empty_prompt", False):
            # As in the pipeline: with no negative prompt, the unconditional input is all zeros.
            empty = torch.tensor([p == "" for p in prompts], device=hidden.device)
            hidden = torch.where(empty.view(-1, 1, 1), torch.zeros_like(hidden), hidden)
            pooled = torch.where(empty.view(-1, 1), torch.zeros_like(pooled), pooled)
        return PromptEmbedding(hidden=hidden, pooled=pooled)

    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        size = tuple(self.info.image_size)
        encoder_2 = self.pipe.text_encoder_2
        projection = encoder_2.config.projection_dim if encoder_2 is not None else cond.pooled.shape[-1]
        time_ids = self.pipe._get_add_time_ids(size, (0, 0), size, self.dtype, projection)
        extra = {"text_embeds": cond.pooled, "time_ids": time_ids.to(self.device).repeat(len(latents), 1)}
        out = self.pipe.unet(
            latents.to(self.dtype), t, encoder_hidden_states=cond.hidden, added_cond_kwargs=extra
        ).sample
        return out.float()


class PixArt(DiffusersModel):
    """PixArt-α / Σ: T5 encoder with attention mask, DiT that may also predict a variance."""

    def default_image_size(self) -> int:
        return self.pipe.transformer.config.sample_size * self.pipe.vae_scale_factor

    def size_multiple(self) -> int:
        return self.pipe.vae_scale_factor * self.pipe.transformer.config.patch_size

    def latent_channels(self) -> int:
        return self.pipe.transformer.config.in_channels

    def cross_attention(self) -> torch.nn.Module:
        return self.pipe.transformer

    def prompt_tokens(self, prompt: str) -> list[Token]:
        return token_sequence(self.pipe.tokenizer, prompt, self.pipe.tokenizer.model_max_length)

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        # clean_caption needs bs4 and ftfy and rewrites prompts; content prompts are already clean.
        hidden, mask, _, _ = self.pipe.encode_prompt(
            prompts, do_classifier_free_guidance=False, device=self.device, clean_caption=False
        )
        return PromptEmbedding(hidden=hidden, mask=mask)

    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        transformer, batch = self.pipe.transformer, len(latents)
        extra = {"resolution": None, "aspect_ratio": None}
        if type(self.pipe).__name__ == "PixArtAlphaPipeline" and transformer.config.sample_size == 128:
            height, width = self.info.image_size  # PixArt-α 1024 px is also conditioned on size
            extra = {
                "resolution": torch.tensor([[height, width]], dtype=self.dtype, device=self.device).repeat(
                    batch, 1
                ),
                "aspect_ratio": torch.tensor([[height / width]], dtype=self.dtype, device=self.device).repeat(
                    batch, 1
                ),
            }
        out = transformer(
            latents.to(self.dtype),
            encoder_hidden_states=cond.hidden,
            encoder_attention_mask=cond.mask,
            timestep=self._timestep(t, batch),
            added_cond_kwargs=extra,
        ).sample
        if transformer.config.out_channels // 2 == self.latent_channels():
            out = out.chunk(2, dim=1)[0]  # learned variance: keep the noise prediction
        return out.float()


class StableDiffusion3(DiffusersModel):
    """SD3: two CLIP encoders and T5 (optional), MMDiT predicting a flow-matching velocity."""

    flow_matching = True

    def default_image_size(self) -> int:
        return self.pipe.default_sample_size * self.pipe.vae_scale_factor

    def size_multiple(self) -> int:
        return self.pipe.vae_scale_factor * self.pipe.transformer.config.patch_size

    def latent_channels(self) -> int:
        return self.pipe.transformer.config.in_channels

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        hidden, _, pooled, _ = self.pipe.encode_prompt(
            prompts, None, None, device=self.device, do_classifier_free_guidance=False
        )
        return PromptEmbedding(hidden=hidden, pooled=pooled)

    def timestep_options(self, steps: int) -> dict[str, Any]:
        config = self.scheduler.config
        if not config.get("use_dynamic_shifting", False):
            return {}
        from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import calculate_shift

        _, height, width = self.info.latent_shape
        patch = self.pipe.transformer.config.patch_size
        tokens = (height // patch) * (width // patch)
        return {
            "mu": calculate_shift(
                tokens,
                config.get("base_image_seq_len", 256),
                config.get("max_image_seq_len", 4096),
                config.get("base_shift", 0.5),
                config.get("max_shift", 1.16),
            )
        }

    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        out = self.pipe.transformer(
            hidden_states=latents.to(self.dtype),
            timestep=self._timestep(t, len(latents)),
            encoder_hidden_states=cond.hidden,
            pooled_projections=cond.pooled,
        ).sample
        return out.float()


class Flux(DiffusersModel):
    """Flux: guidance is an input of the transformer (no unconditional pass); latents are packed
    into 2×2 patches for the transformer only, so the sampler and the captures see plain latents."""

    flow_matching = True
    distilled_guidance = True

    def default_image_size(self) -> int:
        # FluxPipeline's own default is a constant, 128 latents (1024 px for FLUX.1), whatever the
        # checkpoint; the VAE's config says the size it was made for (1024 for FLUX.1's VAE too),
        # so a small checkpoint is not rendered at 1024 px, or a tiny test one at 256 (16× slower).
        vae_size = self.pipe.vae.config.get("sample_size")
        if isinstance(vae_size, int) and vae_size > 0 and vae_size % self.size_multiple() == 0:
            return vae_size
        return self.pipe.default_sample_size * self.pipe.vae_scale_factor

    def size_multiple(self) -> int:
        return self.pipe.vae_scale_factor * 2

    def latent_channels(self) -> int:
        return self.pipe.transformer.config.in_channels // 4

    def latent_shape(self, size: int) -> tuple[int, ...]:
        side = 2 * (size // (self.pipe.vae_scale_factor * 2))
        return (self.latent_channels(), side, side)

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        hidden, pooled, _ = self.pipe.encode_prompt(prompts, None, device=self.device)
        return PromptEmbedding(hidden=hidden, pooled=pooled)

    def timestep_options(self, steps: int) -> dict[str, Any]:
        from diffusers.pipelines.flux.pipeline_flux import calculate_shift

        config = self.scheduler.config
        _, height, width = self.info.latent_shape
        mu = calculate_shift(
            (height // 2) * (width // 2),
            config.get("base_image_seq_len", 256),
            config.get("max_image_seq_len", 4096),
            config.get("base_shift", 0.5),
            config.get("max_shift", 1.15),
        )
        return {"sigmas": np.linspace(1.0, 1 / steps, steps), "mu": mu}

    def predict(
        self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding, guidance: torch.Tensor
    ) -> torch.Tensor:
        pipe, (batch, channels, height, width) = self.pipe, latents.shape
        packed = pipe._pack_latents(latents.to(self.dtype), batch, channels, height, width)
        image_ids = pipe._prepare_latent_image_ids(batch, height // 2, width // 2, self.device, self.dtype)
        out = pipe.transformer(
            hidden_states=packed,
            timestep=self._timestep(t, batch).to(self.dtype) / 1000,
            guidance=guidance.float() if pipe.transformer.config.guidance_embeds else None,
            pooled_projections=cond.pooled,
            encoder_hidden_states=cond.hidden,
            txt_ids=torch.zeros(cond.hidden.shape[1], 3, device=self.device, dtype=cond.hidden.dtype),
            img_ids=image_ids,
        ).sample
        scale = pipe.vae_scale_factor
        return pipe._unpack_latents(out, height * scale, width * scale, scale).float()


class PRX(DiffusersModel):
    """Photoroom's PRX: T5Gemma encoder with attention mask, flow-matching transformer."""

    flow_matching = True

    def default_image_size(self) -> int:
        return self.pipe.get_default_resolution()

    def size_multiple(self) -> int:
        return self.pipe.vae_scale_factor * self.pipe.transformer.config.patch_size

    def latent_channels(self) -> int:
        return self.pipe.vae.config.latent_channels

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        from diffusers.utils import is_ftfy_available

        if not is_ftfy_available():
            raise StepthroughError("PRX cleans prompts with ftfy, which is not installed: pip install ftfy")
        hidden, mask, _, _ = self.pipe.encode_prompt(prompts, self.device, do_classifier_free_guidance=False)
        return PromptEmbedding(hidden=hidden, mask=mask)

    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        # PRX's transformer takes time in [0, 1], not the scheduler's [0, 1000].
        time = self._timestep(t, len(latents)).float() / self.scheduler.config.num_train_timesteps
        out = self.pipe.transformer(
            hidden_states=latents.to(self.dtype),
            timestep=time,
            encoder_hidden_states=cond.hidden,
            attention_mask=cond.mask,
        ).sample
        return out.float()


FAMILIES: dict[str, type[DiffusersModel]] = {
    "StableDiffusionPipeline": StableDiffusion,
    "StableDiffusionXLPipeline": StableDiffusionXL,
    "PixArtAlphaPipeline": PixArt,
    "PixArtSigmaPipeline": PixArt,
    "StableDiffusion3Pipeline": StableDiffusion3,
    "FluxPipeline": Flux,
    "PRXPipeline": PRX,
}


def choose_scheduler(scheduler, flow_matching: bool, model: str):
    """The pipeline's scheduler when the sampler can step it, else the nearest one that it can
    (built from the same config), and the name of the one it replaced (None when kept)."""
    import diffusers

    name = type(scheduler).__name__
    wanted = ("FlowMatchEulerDiscreteScheduler",) if flow_matching else KEPT_SCHEDULERS[:2]
    if name in wanted:
        return scheduler, None
    if flow_matching:
        # Any scheduler of a flow-matching model (Heun, DPM-Solver with flow sigmas …) → its Euler step.
        target = "FlowMatchEulerDiscreteScheduler" if name in SWAPS or "Flow" in name else None
    else:
        target = SWAPS.get(name)
    if target is None:
        raise StepthroughError(
            f"model '{model}': scheduler {name} cannot be stepped through (its x̂0 is not recoverable "
            f"step by step). Supported: {', '.join(KEPT_SCHEDULERS)}; swapped in automatically for "
            f"{', '.join(sorted(SWAPS))}. Save the pipeline with one of these schedulers."
        )
    config = dict(scheduler.config)
    if target == "DDIMScheduler":
        config.setdefault("clip_sample", False)  # latents are not in [-1, 1]; DDIM's default would clip them
    return getattr(diffusers, target).from_config(config), name


def _dtype(dtype: str | None, device: str) -> torch.dtype:
    if dtype is None:
        if not device.startswith("cuda"):
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in DTYPES:
        raise StepthroughError(f"--dtype {dtype}: choose one of {', '.join(DTYPES)}")
    return DTYPES[dtype]


def _fetch(name: str, revision: str | None, what: str = "model") -> tuple[Path, str]:
    """A local folder holding the pipeline (downloaded from the hub for a hub id), and its revision."""
    from diffusers import DiffusionPipeline

    path = Path(name).expanduser()
    if path.is_dir():
        if what == "model" and not (path / "model_index.json").is_file():
            raise StepthroughError(
                f"{what} '{name}': {path} has no model_index.json; give a folder written by "
                "pipeline.save_pretrained() or a hub id like 'stabilityai/sd-turbo'"
            )
        return path, revision or "local"
    if not HUB_ID.match(name):
        raise StepthroughError(
            f"{what} '{name}': no such folder, and not a hub id (owner/name, e.g. 'stabilityai/sd-turbo')"
        )
    try:
        if what == "model":
            folder = Path(DiffusionPipeline.download(name, revision=revision))
        else:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(name, revision=revision))
    except Exception as exc:  # noqa: BLE001 — the hub client raises many kinds (offline, gated, not found …)
        while exc.__cause__ is not None:  # diffusers' own message points at a stacktrace nobody sees
            exc = exc.__cause__
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepthroughError(
            f"{what} '{name}': could not download it from the Hugging Face hub ({reason}); check the name, "
            "the network, and `huggingface-cli login` for gated models"
        )
    # A hub snapshot folder is named after its commit: that is the exact revision rendered.
    return folder, folder.name if re.fullmatch(r"[0-9a-f]{40}", folder.name) else (revision or "main")


def _weights_in(folder: Path) -> list[Path]:
    """The weight files diffusers loads from one component folder (safetensors when present)."""
    files = sorted(folder.glob("*.safetensors"))
    return files or sorted(folder.glob("*.bin"))


def _weight_files(folder: Path, index: dict[str, Any]) -> list[tuple[Path, str]]:
    # model_index.json: {"unet": ["diffusers", "UNet2DConditionModel"], "safety_checker": [null, null], …}
    components = [
        key
        for key, value in index.items()
        if not key.startswith("_") and isinstance(value, list) and value[0] is not None
    ]
    return [
        (path, f"{component}/{path.name}")
        for component in sorted(components)
        for path in _weights_in(folder / component)
    ]
