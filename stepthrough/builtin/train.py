"""Train the builtin model on CPU: emoji in five styles, the autoencoder, then the latent UNet.

Reads top to bottom like the recipe (``train``): data and captions → networks, resumed → the
autoencoder's loop → a latent bank of augmented pictures → the UNet's loop, with EMA. The recipe's
settings are ``config.TrainConfig``; export and model card are ``export.py`` and ``card.py``. Every
phase resumes from ``<run_dir>/checkpoint.pt``; with no checkpoint it starts from the weights
shipped in the package (when they were trained on the same data with the same architecture;
otherwise the shipped autoencoder still warm-starts a matching one).

    stepthrough train --minutes 120             # train (resumes), logs to .runs/builtin/train.log
    stepthrough train --minutes 0 --export      # export the latest checkpoint into the package
    stepthrough train --dump-data DIR           # every training picture as PNG + captions.jsonl
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from stepthrough.atomic import atomic_file
from stepthrough.builtin import nets
from stepthrough.builtin.captions import Captions, carrier_pictures, encode_captions, in_focus, pick_captions
from stepthrough.builtin.config import State, TrainConfig, architecture, load_config
from stepthrough.builtin.data import EmojiDataset, augment, dump_data, load_dataset
from stepthrough.builtin.export import WEIGHTS_DIR, export, load_package_weights


def train(cfg: TrainConfig, minutes: float | None, fresh: bool, command: str,
          init_from: Path = WEIGHTS_DIR) -> Path:
    """Run (or resume) training for at most ``minutes``; returns the checkpoint path."""
    pick_threads(cfg.threads, cfg.busy_threads)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cache_dir, bank_path = run_dir.parent / "cache", run_dir / "latents.pt"
    log = Logger(run_dir / "train.log")
    clock = Clock(minutes)
    rng = np.random.default_rng(cfg.seed + int(time.time()))

    # 1. data and text embeddings, cached in .runs/ (the first build fetches and draws for minutes)
    ds = load_dataset(cache_dir)
    caps = encode_captions(ds, cfg, cache_dir)
    weights = picture_weights(ds, cfg, log)
    log(event="data", images=len(ds), groups=int(ds.groups.max()) + 1, captions=len(caps.hidden),
        styles=len(set(ds.styles)))

    # 2. networks, optimizers and the checkpoint (or the shipped weights) to resume from
    run = Run.build(cfg, run_dir / "checkpoint.pt", log)
    warm_from = run.start(None if fresh else saved_weights(run.path, cfg, init_from), command)
    state = run.state

    # 3. the autoencoder: reconstruct random crops of placed pictures through a 4× smaller latent
    probe = ds.pictures(cfg.image_size, np.random.default_rng(1).choice(len(ds), min(256, len(ds)), replace=False))
    if state.ae_step < cfg.ae_steps:
        train_autoencoder(run, ds, probe, rng, clock)
        if state.ae_step < cfg.ae_steps:
            return run.path
        bank_path.unlink(missing_ok=True)  # the autoencoder changed: its latents must be made again
    run.vae.eval().requires_grad_(False)
    state.ae_rms = reconstruction_rms(run.vae, probe)
    log(event="autoencoder", rms=state.ae_rms)

    # 4. the latent bank: every picture in several placements, encoded once (the autoencoder is done)
    mean, std, _ = latent_bank(run.vae, ds, cfg, bank_path, log)
    state.latent_shift = float(mean[: len(ds)].float().mean())
    state.latent_scale = float(1 / mean[: len(ds)].float().std())
    log(event="latents", shift=state.latent_shift, scale=state.latent_scale, bank=len(mean))

    # 5. the UNet: predict v from noisy latents, cross-attending to the caption's tokens
    train_unet(run, ds, caps, weights, (mean, std), rng, clock, warm_from)
    return run.path


def train_autoencoder(run: Run, ds: EmojiDataset, probe: np.ndarray, rng: np.random.Generator,
                      clock: Clock) -> None:
    """Train the autoencoder up to ``cfg.ae_steps`` (or until the clock stops it), then checkpoint."""
    cfg, state, vae, opt = run.cfg, run.state, run.vae, run.ae_opt
    vae.train()
    progress = Progress("ae", state.ae_step, cfg.ae_steps, cfg.ae_batch, cfg, run.log, run.checkpoint)
    while state.ae_step < cfg.ae_steps and not clock.up():
        rows = rng.integers(0, len(ds), cfg.ae_batch)
        pics = to_tensor(augment(ds.images[rows], ds.flippable[rows], rng))
        y, x = rng.integers(0, cfg.image_size - cfg.ae_crop + 1, 2)
        for group in opt.param_groups:
            group["lr"] = ae_lr_at(state.ae_step, cfg)
        loss = ae_loss(vae, pics[:, :, y : y + cfg.ae_crop, x : x + cfg.ae_crop], cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

        state.ae_step += 1
        state.ae_images += cfg.ae_batch
        progress.add(loss.item())
        if state.ae_step % cfg.log_every == 0:
            state.ae_loss = progress.lap()
            extra = {}
            if state.ae_step % (cfg.log_every * 20) == 0:
                state.ae_rms = reconstruction_rms(vae.eval(), probe)
                vae.train()
                extra = {"rms": state.ae_rms}
            progress.log(state.ae_step, state.ae_loss, **extra)
        progress.checkpoint_if_due()
    state.ae_loss = progress.close(state.ae_loss)
    run.checkpoint()


def train_unet(run: Run, ds: EmojiDataset, caps: Captions, weights: torch.Tensor,
               bank: tuple[torch.Tensor, torch.Tensor], rng: np.random.Generator, clock: Clock, warm_from: int) -> None:
    """Train the UNet (and its EMA) up to ``cfg.unet_steps`` or until the clock stops it, then checkpoint.

    A batch row: a picture drawn by ``weights``, a caption for it, the picture trained with that
    caption (one of the pictures that carry it), one of its placements in the latent ``bank`` (the
    posterior's mean and std)."""
    cfg, state, unet, opt = run.cfg, run.state, run.unet, run.unet_opt
    mean, std = bank
    placements = len(mean) // len(ds)  # bank row k * len(ds) + i shows picture i in placement k
    unet.train()
    model = torch.compile(unet) if cfg.compile else unet
    carriers = caps.carriers()
    progress = Progress("unet", state.unet_step, cfg.unet_steps, cfg.batch_size, cfg, run.log, run.checkpoint)
    while state.unet_step < cfg.unet_steps and not clock.up():
        step = state.unet_step
        pics = torch.multinomial(weights, cfg.batch_size, replacement=True)
        picked = pick_captions(caps, pics.numpy(), cfg, rng)
        if cfg.captions_keep_proportions:
            pics = torch.from_numpy(carrier_pictures(carriers, picked, rng))
        rows = pics + len(ds) * torch.randint(0, placements, (cfg.batch_size,))
        m, s = mean[rows].float(), std[rows].float()
        z0 = (m + s * torch.randn_like(m) - state.latent_shift) * state.latent_scale
        cond = (caps.hidden[picked], caps.mask[picked], caps.pooled[picked])
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg, warm_from, clock.left())
        loss = unet_loss(model, run.scheduler, z0, cond, cfg, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        update_ema(run.ema, unet, step, cfg.ema_decay)

        state.unet_step += 1
        state.unet_images += cfg.batch_size
        progress.add(loss.item())
        if state.unet_step % cfg.log_every == 0:
            state.unet_loss = progress.lap()
            progress.log(state.unet_step, state.unet_loss, lr=opt.param_groups[0]["lr"])
        progress.checkpoint_if_due()
    state.unet_loss = progress.close(state.unet_loss)
    run.checkpoint()


# ---------------------------------------------------------------------------------------------
# the run: networks, optimizers, state and checkpoints


@dataclass
class Run:
    """What a training run trains and records: both networks, the UNet's EMA, their optimizers,
    the ``State``, and the checkpoint they are saved to."""

    cfg: TrainConfig
    path: Path
    log: Logger
    vae: Any
    unet: Any
    ema: Any
    scheduler: Any
    ae_opt: torch.optim.Optimizer
    unet_opt: torch.optim.Optimizer
    state: State = field(default_factory=State)
    last_save: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, cfg: TrainConfig, path: Path, log: Logger) -> Run:
        arch = architecture(cfg)
        vae = nets.build_autoencoder(arch["autoencoder"])
        unet = nets.build_unet(arch["unet"])
        ema = nets.build_unet(arch["unet"]).requires_grad_(False)
        ema.load_state_dict(unet.state_dict())
        return cls(
            cfg, path, log, vae, unet, ema, nets.build_scheduler(arch["scheduler"]),
            ae_opt=torch.optim.AdamW(vae.parameters(), lr=cfg.ae_lr, weight_decay=0.0),
            unet_opt=torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
        )

    def start(self, saved: dict[str, Any] | None, command: str) -> int:
        """Load ``saved`` (a checkpoint or the shipped weights, or None for a fresh start) and record
        ``command``; returns the UNet step the learning rate warms up from."""
        warm_from = 0
        if saved:
            self.state = State(**saved["state"])
            self.vae.load_state_dict(saved["ae"])
            for key, net in (("unet", self.unet), ("unet_ema", self.ema)):
                if key in saved:
                    net.load_state_dict(saved[key])
            for key, opt in (("ae_opt", self.ae_opt), ("unet_opt", self.unet_opt)):
                if key in saved:  # optimizer state is rebuilt when starting from shipped weights
                    opt.load_state_dict(saved[key])
            self.log(event="resume", ae_step=self.state.ae_step, unet_step=self.state.unet_step)
            if "unet_opt" not in saved:  # a fresh optimizer: warm the learning rate up again
                warm_from = self.state.unet_step
        self.state.commands.append(command)
        self.last_save = time.monotonic()
        return warm_from

    def checkpoint(self) -> None:
        now = time.monotonic()
        self.state.wall_seconds += now - self.last_save
        self.last_save = now
        save_checkpoint(self.path, self.cfg, self.state, {
            "ae": self.vae.state_dict(), "ae_opt": self.ae_opt.state_dict(), "unet": self.unet.state_dict(),
            "unet_ema": self.ema.state_dict(), "unet_opt": self.unet_opt.state_dict(),
        })
        self.log(event="checkpoint", ae_step=self.state.ae_step, unet_step=self.state.unet_step)


def saved_weights(ckpt_path: Path, cfg: TrainConfig, init_from: Path) -> dict[str, Any] | None:
    """The run's checkpoint, else the weights in ``init_from`` where they fit, else None."""
    if ckpt_path.exists():
        return torch.load(ckpt_path, weights_only=False)
    return load_package_weights(cfg, init_from)


def save_checkpoint(path: Path, cfg: TrainConfig, state: State, tensors: dict[str, Any]) -> None:
    with atomic_file(path) as tmp:  # a kill mid-save leaves the previous checkpoint intact
        torch.save({"config": dataclasses.asdict(cfg), "state": dataclasses.asdict(state), **tensors}, tmp)


class Progress:
    """One phase's bookkeeping: its progress bar, a log line every ``log_every`` steps (mean loss
    since the last one, images/s, threads) and a checkpoint every ``checkpoint_minutes``."""

    def __init__(self, phase: str, step: int, total: int, batch: int, cfg: TrainConfig, log: Logger,
                 checkpoint: Callable[[], None]) -> None:
        self.phase, self.batch, self.cfg, self.write, self.checkpoint = phase, batch, cfg, log, checkpoint
        self.bar = tqdm(total=total, initial=step, desc=phase, mininterval=10, disable=not sys.stderr.isatty())
        self.tick = self.saved = time.monotonic()
        self.seen, self.losses, self.rate = 0, [], 0.0

    def add(self, loss: float) -> None:
        self.losses.append(loss)
        self.seen += self.batch
        self.bar.update(1)

    def lap(self) -> float:
        """The mean loss since the last log line (and images/s, for ``log``); picks the threads anew."""
        pick_threads(self.cfg.threads, self.cfg.busy_threads)
        loss = float(np.mean(self.losses))
        self.rate = self.seen / (time.monotonic() - self.tick)
        return loss

    def log(self, step: int, loss: float, **extra: Any) -> None:
        self.write(phase=self.phase, step=step, loss=loss, img_per_s=self.rate, threads=torch.get_num_threads(),
                   **extra)
        self.bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{self.rate:.1f}")
        self.tick, self.seen, self.losses = time.monotonic(), 0, []

    def checkpoint_if_due(self) -> None:
        if time.monotonic() - self.saved > 60 * self.cfg.checkpoint_minutes:
            self.checkpoint()
            self.saved = time.monotonic()

    def close(self, loss: float) -> float:
        """Ends the bar; returns the mean loss of the steps since the last log line, else ``loss``."""
        self.bar.close()
        return float(np.mean(self.losses)) if self.losses else loss


class Logger:
    """One ``key=value`` line per event, appended (and flushed) to the run's log file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, **fields: Any) -> None:
        parts = [f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()]
        with open(self.path, "a") as f:
            f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + " ".join(parts) + "\n")


class Clock:
    """This run's time: a deadline ``minutes`` from now (none without --minutes), and SIGTERM or
    Ctrl-C, which stop the run at the next step (so the last checkpoint is fresh)."""

    def __init__(self, minutes: float | None) -> None:
        self.minutes = minutes
        self.stopped = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.deadline = math.inf if minutes is None else time.monotonic() + 60 * minutes

    def _stop(self, *_: Any) -> None:
        self.stopped = True

    def up(self) -> bool:
        return self.stopped or time.monotonic() > self.deadline

    def left(self) -> float:
        """Fraction of this run's time still to go (1 for a run without --minutes)."""
        if self.minutes is None:
            return 1.0
        return max(0.0, (self.deadline - time.monotonic()) / (60 * self.minutes))


def pick_threads(max_threads: int, busy_threads: int = 1) -> None:
    """Drop to ``busy_threads`` while the machine is oversubscribed: two threads that wait on each
    other at every op barrier are much slower than one when other processes of the same priority
    hold the cores (a run given priority over them can keep both)."""
    busy = os.getloadavg()[0] > 1.5 * (os.cpu_count() or 1)
    torch.set_num_threads(busy_threads if busy else max_threads)


# ---------------------------------------------------------------------------------------------
# data, losses and schedules


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def picture_weights(ds: EmojiDataset, cfg: TrainConfig, log: Logger) -> torch.Tensor:
    """How often each picture starts a UNet batch row: by its group's size, with ``focus_share`` of
    the draws on the pictures that a focus prompt names."""
    weights = torch.from_numpy(ds.sample_weights(cfg.group_power))
    focus = torch.from_numpy(in_focus(ds, cfg.focus_prompts))
    if cfg.focus_share > 0 and focus.any():
        weights = (1 - cfg.focus_share) * weights + cfg.focus_share * (weights * focus) / (weights * focus).sum()
        log(event="focus", pictures=int(focus.sum()), share=cfg.focus_share)
    return weights


def latent_bank(vae, ds: EmojiDataset, cfg: TrainConfig, path: Path, log: Logger) -> tuple[torch.Tensor, ...]:
    """The run's latent bank (``encode_bank``), encoded once and kept at ``path``."""
    if path.exists():
        return torch.load(path)
    bank = encode_bank(vae, ds, cfg, log)
    torch.save(bank, path)
    return bank


def autocast(cfg: TrainConfig):
    return torch.autocast("cpu", dtype=torch.bfloat16) if cfg.bf16 else contextlib.nullcontext()


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


# ---------------------------------------------------------------------------------------------
# command line


@click.command(
    "train",
    epilog="Training resumes from RUN_DIR/checkpoint.pt, or from the shipped weights if there is none.",
)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file with TrainConfig keys (see stepthrough/builtin/config.py).")
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
