"""The builtin model's two networks, built from plain config dicts (stored in ``weights/config.json``).

Both are stock diffusers classes, so the explainer's story ("an autoencoder squeezes the picture
into a small latent; a UNet cross-attends to the prompt's tokens") is literally what runs.
"""

from __future__ import annotations

from typing import Any

from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

from stepthrough.builtin.text import HIDDEN_SIZE


def autoencoder_config(channels: tuple[int, ...], latent_channels: int) -> dict[str, Any]:
    """64×64×3 → (64 / 2 ** (len(channels) - 1))² × ``latent_channels``."""
    n = len(channels)
    return {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D"] * n,
        "up_block_types": ["UpDecoderBlock2D"] * n,
        "block_out_channels": list(channels),
        "layers_per_block": 1,
        "latent_channels": latent_channels,
        "norm_num_groups": min(32, channels[0]),
        "sample_size": 64,
    }


def unet_config(
    channels: tuple[int, ...], layers_per_block: int, heads: int, latent_channels: int, latent_size: int
) -> dict[str, Any]:
    """A UNet whose first level is plain convolution and whose lower levels cross-attend to the prompt."""
    n = len(channels)
    return {
        "sample_size": latent_size,
        "in_channels": latent_channels,
        "out_channels": latent_channels,
        "down_block_types": ["DownBlock2D"] + ["CrossAttnDownBlock2D"] * (n - 1),
        "up_block_types": ["CrossAttnUpBlock2D"] * (n - 1) + ["UpBlock2D"],
        "block_out_channels": list(channels),
        "layers_per_block": layers_per_block,
        "cross_attention_dim": HIDDEN_SIZE,
        "attention_head_dim": heads,  # diffusers reads this as the number of heads
        "norm_num_groups": 32,
        # The pooled sentence vector joins the timestep embedding: a cheap global hint.
        "class_embed_type": "projection",
        "projection_class_embeddings_input_dim": HIDDEN_SIZE,
    }


def scheduler_config() -> dict[str, Any]:
    """DDIM over a cosine noise schedule, predicting v; "trailing" spacing starts from pure noise."""
    return {
        "num_train_timesteps": 1000,
        "beta_schedule": "squaredcos_cap_v2",
        "prediction_type": "v_prediction",
        "timestep_spacing": "trailing",
        "clip_sample": False,
        "set_alpha_to_one": True,
    }


def build_autoencoder(config: dict[str, Any]) -> AutoencoderKL:
    return AutoencoderKL(**config)


def build_unet(config: dict[str, Any]) -> UNet2DConditionModel:
    return UNet2DConditionModel(**config)


def build_scheduler(config: dict[str, Any]) -> DDIMScheduler:
    return DDIMScheduler(**config)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
