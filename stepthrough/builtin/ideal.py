"""The ideal denoiser: the exact posterior mean over the latent bank, as a model the sampler drives.

A model trained perfectly on the builtin model's training signal predicts, at every noise level,

    x̂0(z_t, t, c) = Σ_j π_j(c) N(z_t; √ᾱ_t z_j, (1 − ᾱ_t) I) z_j / Σ_j π_j(c) N(z_t; √ᾱ_t z_j, (1 − ᾱ_t) I)

over the bank latents z_j (every picture in every placement, normalised as training normalises
them), where π_j(c) is how often training pairs caption c with bank row j. `IdealModel` returns it
as the v the builtin UNet predicts, with the builtin model's scheduler, noise and autoencoder, so
the site's sampler and classifier-free guidance run on it unchanged: it is the ceiling of what any
model of this data can draw. Training adds the autoencoder's posterior noise (std ≈ 0.1 of a
latent's spread) to z_j; the ideal takes the bank's means, so it differs from the exact training
target only at the last few, least noisy steps.

A prompt's conditioning is its π over the pictures (`CaptionWeights`), carried in
`PromptEmbedding.hidden`: a blend of two prompts is then the mixture of their two captions'
distributions, (1 − w)·π(a) + w·π(b), and guidance mixes the two posterior means as it mixes any
model's predictions. A prompt that is no caption gets the caption nearest to it by sentence vector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stepthrough.adapter import DiffusionModel, ModelInfo, PromptEmbedding
from stepthrough.builtin import shares


def posterior_mean(x: torch.Tensor, alpha_bar: torch.Tensor, bank: torch.Tensor, log_prior: torch.Tensor,
                   bank_sq: torch.Tensor | None = None) -> torch.Tensor:
    """E[z0 | z_t = x] for z0 drawn from the rows of `bank` with prior log-weights `log_prior`.

    x (B, D); alpha_bar (B,); bank (M, D); log_prior (B, M), −inf off a row's support. The
    Gaussian's ‖x‖² is the same for every bank row and drops out of the softmax, so the logits are
    log π_j + (2√ᾱ x·z_j − ᾱ‖z_j‖²) / 2(1 − ᾱ), softmaxed in float64."""
    a = alpha_bar.to(torch.float64).reshape(-1, 1)
    sq = (bank.double() ** 2).sum(1) if bank_sq is None else bank_sq
    dots = (x.to(bank.dtype) @ bank.T).double()
    logits = log_prior.double() + (2 * a.sqrt() * dots - a * sq) / (2 * (1 - a).clamp_min(1e-12))
    weights = torch.softmax(logits, dim=1)
    return (weights.to(bank.dtype) @ bank).to(x.dtype)


def v_from_x0(x: torch.Tensor, x0: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """v = √ᾱ ε − √(1 − ᾱ) x0 with ε = (x − √ᾱ x0) / √(1 − ᾱ), which is (√ᾱ x − x0) / √(1 − ᾱ)."""
    a = alpha_bar.to(torch.float64).reshape(-1, *[1] * (x.dim() - 1))
    return ((a.sqrt() * x.double() - x0.double()) / (1 - a).clamp_min(1e-12).sqrt()).to(x.dtype)


class CaptionWeights:
    """π(c): how often training pairs a caption with each picture, as a distribution over pictures.

    `dataset` needs `names`, `aliases`, `keywords`, `styles` and `chars` (an `EmojiDataset`). Under a
    recipe that keeps proportions (v3, `captions.carrier_pictures`) π is uniform over the pictures that
    carry the caption (name, alias, keyword bare or with "a", or styled name); under v2 (u6309) a
    picture weighs its group weight times the chance it picks the caption (`shares`). The empty
    caption: uniform over all pictures (v3), by group weight (v2). `nearest(prompt, captions)` picks
    the caption a prompt that is no caption stands for (None: such prompts are an error)."""

    def __init__(self, dataset: Any, recipe: shares.Recipe,
                 nearest: Callable[[str, list[str]], str] | None = None) -> None:
        self.recipe, self.nearest = recipe, nearest
        self.size = len(dataset.names)
        self.pictures = [
            shares.Picture(c, n, tuple(a), tuple(k), shares.group_of(n))
            for c, n, a, k in zip(dataset.chars, dataset.names, dataset.aliases, dataset.keywords, strict=True)
        ]
        self.styled = [shares.normal(f"a {s} {n}") for s, n in zip(dataset.styles, dataset.names, strict=True)]
        carriers: dict[str, list[int]] = {}
        for i, (picture, styled) in enumerate(zip(self.pictures, self.styled, strict=True)):
            for text in shares.texts_of(picture) | {styled}:
                carriers.setdefault(text, []).append(i)
        self.carriers = {t: np.array(rows) for t, rows in carriers.items()}
        self._group = np.asarray(shares.picture_weights(self.pictures, recipe), dtype=np.float64)
        self._cache: dict[str, np.ndarray] = {}
        self._stands_for: dict[str, str] = {}

    def caption(self, prompt: str) -> str:
        """The caption that stands for `prompt`: itself when pictures carry it."""
        text = shares.normal(prompt)
        if text == "" or text in self.carriers:
            return text
        if self.nearest is None:
            raise ValueError(f"no picture carries the caption {prompt!r}")
        if text not in self._stands_for:
            self._stands_for[text] = self.nearest(text, sorted(self.carriers))
        return self._stands_for[text]

    def __call__(self, prompt: str) -> np.ndarray:
        """π over the pictures for `prompt`, float64, summing to 1."""
        caption = self.caption(prompt)
        if caption not in self._cache:
            self._cache[caption] = self._weights(caption)
        return self._cache[caption]

    def _weights(self, caption: str) -> np.ndarray:
        if caption == "":
            pi = np.ones(self.size) if self.recipe.captions_keep_proportions else self._group.copy()
            return pi / pi.sum()
        rows = self.carriers[caption]
        pi = np.zeros(self.size)
        if self.recipe.captions_keep_proportions:
            pi[rows] = 1.0
        else:  # v2: the picture that chose the caption is the one trained with it
            for i in rows:
                styled = self.recipe.style_prob * (1 - self.recipe.caption_dropout) * (caption == self.styled[i])
                pi[i] = self._group[i] * (shares.caption_probability(self.pictures[i], caption, self.recipe) + styled)
        return pi / pi.sum()


class IdealModel(DiffusionModel):
    """The posterior-mean denoiser over `bank` (M, C, H, W; row m shows picture `row_picture[m]`),
    predicting v for `scheduler_config`'s DDIM; `base` gives the seeds' noise and the decoder."""

    mixed_timesteps = True

    def __init__(self, base: DiffusionModel, scheduler_config: dict[str, Any], bank: torch.Tensor,
                 row_picture: np.ndarray, weights: CaptionWeights, label: str = "") -> None:
        from diffusers import DDIMScheduler

        if scheduler_config.get("prediction_type") != "v_prediction":
            raise ValueError("the ideal model predicts v: its scheduler needs prediction_type 'v_prediction'")
        self.base, self.scheduler_config, self.weights = base, dict(scheduler_config), weights
        self.bank = bank.reshape(len(bank), -1).float().contiguous()
        self.bank_sq = (self.bank.double() ** 2).sum(1)
        self.row_picture = torch.as_tensor(np.asarray(row_picture), dtype=torch.long)
        placements = torch.bincount(self.row_picture, minlength=weights.size).double()
        self.log_row_share = -placements.clamp_min(1).log()  # a picture's weight, split over its placements
        self.alphas_cumprod = DDIMScheduler(**self.scheduler_config).alphas_cumprod.double()
        digest = hashlib.sha256(self.bank[:: max(1, len(self.bank) // 64)].numpy().tobytes()).hexdigest()
        self.info = ModelInfo(
            id="ideal",
            revision=label or f"ideal over {len(self.bank):,} latents",
            weights_sha256=digest,
            image_size=base.info.image_size,
            latent_shape=tuple(bank.shape[1:]),
            extra={"bank_rows": len(self.bank), "recipe": repr(weights.recipe), "images_seen": 0},
        )

    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        pi = torch.from_numpy(np.stack([self.weights(p) for p in prompts])).float()
        return PromptEmbedding(hidden=pi[:, None, :])

    def initial_noise(self, seed: int) -> torch.Tensor:
        return self.base.initial_noise(seed)

    def make_scheduler(self):
        from diffusers import DDIMScheduler

        return DDIMScheduler(**self.scheduler_config)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.base.decode(latents)

    @torch.inference_mode()
    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        x = latents.reshape(len(latents), -1).float()
        alpha_bar = self.alphas_cumprod[torch.as_tensor(t).long().reshape(-1).expand(len(x))]
        return v_from_x0(x, self.denoised(x, alpha_bar, cond.hidden[:, 0, :]), alpha_bar).reshape(latents.shape)

    def denoised(self, x: torch.Tensor, alpha_bar: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
        """x̂0 for rows x (B, D) at ᾱ, each with its picture weights pi (B, N). A wide prior (the
        empty caption) is computed over the whole bank; narrow ones over the bank rows of the
        pictures any of them weighs, which for a caption is a few hundred rows, not 100,000."""
        out = torch.empty_like(x)
        wide = (pi > 0).sum(1) > pi.shape[1] // 4
        for rows, whole_bank in ((wide, True), (~wide, False)):
            if not rows.any():
                continue
            used = torch.ones(pi.shape[1], dtype=torch.bool) if whole_bank else (pi[rows] > 0).any(0)
            columns = torch.nonzero(used[self.row_picture]).squeeze(1)
            picture = self.row_picture[columns]
            log_prior = pi[rows][:, picture].double().log() + self.log_row_share[picture]
            out[rows] = posterior_mean(x[rows], alpha_bar[rows], self.bank[columns], log_prior, self.bank_sq[columns])
        return out


def load_bank(path: Path, shift: float, scale: float, pictures: int,
              placements: int | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """A training run's latent bank (`train.encode_bank`: posterior means, row k·pictures + i shows
    picture i in placement k) normalised as training normalises it, (mean − shift)·scale; the first
    `placements` only where asked. Returns the latents (M, C, H, W) and each row's picture."""
    mean, _std, rows = torch.load(path)
    if placements is not None:
        mean, rows = mean[: placements * pictures], rows[: placements * pictures]
    return (mean.float() - shift) * scale, rows.numpy().astype(np.int64)


def ideal_from(model: DiffusionModel, dataset: Any, bank_path: Path, recipe: shares.Recipe,
               placements: int | None = None) -> IdealModel:
    """The ideal model beside a loaded `BuiltinModel`: its autoencoder's normalisation, its
    scheduler, its data card's caption vectors to place a prompt that is no caption."""
    ae = model.config["autoencoder"]
    bank, row_picture = load_bank(bank_path, ae["shift_factor"], ae["scaling_factor"], len(dataset.names), placements)
    weights = CaptionWeights(dataset, recipe, nearest_caption(model))
    kind = "v3: the data's proportions" if recipe.captions_keep_proportions else "v2: group power and keyword share"
    return IdealModel(model, model.config["scheduler"], bank, row_picture, weights,
                      label=f"ideal over {len(bank):,} latents, {kind}")


def nearest_caption(model) -> Callable[[str, list[str]], str]:
    """The caption nearest a prompt by the model's sentence vectors, among the captions whose
    vectors its data card ships (names and aliases), as a stand-in for how a model generalises."""
    from stepthrough.builtin.text import ENCODER

    card = model.data_card()
    known = (card.caption_vectors(ENCODER, model.text.max_length) if card else None) or {}

    def nearest(prompt: str, captions: Sequence[str]) -> str:
        allowed = set(captions)
        candidates = [c for c in known if shares.normal(c) in allowed]
        if not candidates:
            raise ValueError(f"no caption vector to place the prompt {prompt!r}")
        table = np.stack([known[c] for c in candidates]).astype(np.float32)
        return shares.normal(candidates[int(np.argmax(table @ model.prompt_vectors([prompt])[0]))])

    return nearest

