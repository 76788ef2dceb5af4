"""The builtin model's training recipe (``TrainConfig``), what a checkpoint records besides tensors
(``State``), and the network shapes both imply (``architecture``)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

import click

from stepthrough.builtin import nets

DATA_VERSION = 2  # 1: one Noto picture per emoji; 2: five styles, augmented, keyword captions


@dataclass
class TrainConfig:
    run_dir: str = ".runs/builtin"
    seed: int = 0
    threads: int = 2
    busy_threads: int = 1  # threads while other processes hold the cores (see train.pick_threads)
    bf16: bool = False  # bf16 autocast: 2x slower than fp32 on CPUs without AVX512-BF16 (measured)
    compile: bool = False  # torch.compile: 25% faster steps, but it recompiles (minutes) whenever the thread count changes
    # data
    image_size: int = 64
    max_tokens: int = 24  # longest caption ("couple with heart: …, …") is ~20 tokens
    group_power: float = 0.5  # a base emoji with n pictures is drawn n ** (1 - power) times as often
    # the concepts the default explainer draws: this share of each batch, from UNet step focus_from
    focus_prompts: tuple[str, ...] = ()  # a picture is in focus when one of its captions is one of these
    focus_share: float = 0.0
    focus_from: int = 0
    augmentations: int = 6  # placements per picture, encoded once into the latent bank
    alias_prob: float = 0.15  # caption = an alias of the emoji
    keyword_prob: float = 0.35  # caption = one of emojilib's words for it ("doctor"), bare or with "a"
    style_prob: float = 0.2  # caption names the style ("a 3d red apple")
    caption_dropout: float = 0.12  # empty prompt instead, so classifier-free guidance works
    # The picture trained with a caption is drawn uniformly from the pictures that carry it, so a
    # caption's signal has the data's proportions; the group weighting above then only sets how often
    # each caption is trained. False: the picture that chose the caption is trained with it, which
    # weights a shared caption by groups ("doctor": 23% health workers where its data has 64%).
    captions_keep_proportions: bool = True
    # autoencoder: 64×64×3 → 16×16×4, trained on random crops (4× cheaper, same convolutions)
    ae_channels: tuple[int, ...] = (16, 32, 64)  # 64×64-level convs dominate; 16 channels is 4× cheaper than 32
    latent_channels: int = 4
    ae_steps: int = 2500
    ae_batch: int = 64
    ae_crop: int = 32
    ae_lr: float = 5e-4
    ae_kl_weight: float = 1e-6  # just enough to keep the latent smooth
    # UNet on latents
    unet_channels: tuple[int, ...] = (64, 128, 128)
    unet_layers: int = 1
    unet_heads: int = 4
    unet_steps: int = 1_000_000  # open-ended: runs are cut by --minutes and resumed
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 500
    cooldown: float = 0.2  # a timed run (--minutes) ends with this fraction of its time at a falling lr
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    min_snr_gamma: float = 5.0  # Min-SNR loss weighting: faster convergence (Hang et al. 2023)
    # Min-SNR for v on SNR + 1 (diffusers #5238): near-pure-noise steps keep weight 1, where on SNR
    # alone their weight is ~SNR ~ 0, so the guess from pure noise ignores the prompt. Fine-tuning
    # with it makes guidance 1 draw the prompt but one-step pictures blurrier.
    snr_plus_one_from: int = -1  # the UNet step this weighting starts at (-1: never)
    # A gentler mend: no noisy step's (SNR < 1) weight below this floor. On this cosine schedule a
    # fifth of the training timesteps have SNR < 0.1, which Min-SNR on SNR all but skips. At 0.15 it
    # matched prompts better but blurred one-step pictures and mixed concepts, so 0 (off) by default.
    snr_weight_floor: float = 0.0
    # bookkeeping
    log_every: int = 25
    checkpoint_minutes: float = 5.0


def load_config(path: str | None, overrides: tuple[str, ...], base: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults (or ``base``: the config of the run being resumed), then a TOML file, then
    ``key=value`` overrides; unknown keys are errors."""
    values: dict[str, Any] = dict(base or {})
    if path:
        with open(path, "rb") as f:
            values.update(tomllib.load(f))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--set")
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw  # a bare string, e.g. --set run_dir=.runs/small
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for key, value in values.items():
        if key not in fields:
            raise click.BadParameter(f"unknown config key {key!r}; known: {', '.join(fields)}")
        if isinstance(value, list):
            values[key] = tuple(value)
    return TrainConfig(**values)


def architecture(cfg: TrainConfig) -> dict[str, Any]:
    """Everything needed to rebuild the networks, as stored in ``weights/config.json``."""
    latent_size = cfg.image_size // 2 ** (len(cfg.ae_channels) - 1)
    return {
        "autoencoder": nets.autoencoder_config(cfg.ae_channels, cfg.latent_channels),
        "unet": nets.unet_config(
            cfg.unet_channels, cfg.unet_layers, cfg.unet_heads, cfg.latent_channels, latent_size
        ),
        "scheduler": nets.scheduler_config(),
        "text": {"max_length": cfg.max_tokens},
    }


@dataclass
class State:
    """What a checkpoint holds besides the tensors."""

    ae_step: int = 0
    unet_step: int = 0
    ae_images: int = 0
    unet_images: int = 0
    wall_seconds: float = 0.0
    ae_loss: float = float("nan")
    unet_loss: float = float("nan")
    ae_rms: float = float("nan")  # reconstruction RMS on plain 64×64 pictures, pixels in [0, 1]
    latent_scale: float = 1.0
    latent_shift: float = 0.0
    data_version: int = DATA_VERSION
    commands: list[str] = field(default_factory=list)
