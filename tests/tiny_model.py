"""A tiny random-weight model that honours the adapter contract: fast, offline, deterministic."""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, UNet2DConditionModel

from stepthrough.adapter import DiffusionModel, ModelInfo, PromptEmbedding, Token

TOKENS, WIDTH = 4, 32


class TinyModel(DiffusionModel):
    """8×8×4 latents decoded to 16×16 pictures; prompts embedded by hashing their words."""

    def __init__(self, weights_seed: int = 0):
        torch.manual_seed(weights_seed)
        self.unet = UNet2DConditionModel(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            layers_per_block=1,
            block_out_channels=(16, 32),
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=WIDTH,
            attention_head_dim=4,
            norm_num_groups=8,
        ).eval()
        self.predict_calls: list[int] = []  # batch size of every forward pass, for tests
        self.info = ModelInfo(
            id="tiny-test",
            revision=f"seed{weights_seed}",
            weights_sha256=hashlib.sha256(f"tiny{weights_seed}".encode()).hexdigest(),
            image_size=(16, 16),
            latent_shape=(4, 8, 8),
        )

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        hidden = torch.zeros(len(prompts), TOKENS, WIDTH)
        for i, prompt in enumerate(prompts):
            for j, word in enumerate(prompt.split()[:TOKENS]):
                seed = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16)
                hidden[i, j] = torch.randn(WIDTH, generator=torch.Generator().manual_seed(seed))
        return PromptEmbedding(hidden=hidden)

    def cross_attention(self) -> UNet2DConditionModel:
        return self.unet

    def prompt_tokens(self, prompt: str) -> list[Token]:
        """One token per word at its position, its id from a hash, as encode_prompts lays them out."""
        return [
            Token(j, int(hashlib.sha256(word.encode()).hexdigest()[:4], 16), word, False)
            for j, word in enumerate(prompt.split()[:TOKENS])
        ]

    def initial_noise(self, seed: int) -> torch.Tensor:
        return torch.randn(self.info.latent_shape, generator=torch.Generator().manual_seed(seed))

    def make_scheduler(self) -> DDIMScheduler:
        return DDIMScheduler(
            num_train_timesteps=1000,
            beta_schedule="scaled_linear",
            clip_sample=False,
            timestep_spacing="trailing",
        )

    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        self.predict_calls.append(latents.shape[0])
        return self.unet(latents, t, encoder_hidden_states=cond.hidden).sample

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        rgb = torch.sigmoid(latents[:, :3] * 1.5)
        return F.interpolate(rgb, scale_factor=2, mode="nearest")
