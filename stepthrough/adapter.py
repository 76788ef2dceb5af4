"""The contract between the sampler and a model adapter.

The sampler (``stepthrough.precompute.sampler``) owns the denoising loop; an adapter only
hands it the pieces a diffusers pipeline is made of: encode prompts, make seeded noise,
predict, build a scheduler, decode latents to pictures. A leaf module (torch, nothing else of
stepthrough): the adapters in ``stepthrough.precompute.models`` and the builtin model's own parts
(``stepthrough.builtin``: its text encoder, the ideal denoiser) share these types.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch


@dataclass(frozen=True)
class PromptEmbedding:
    """What the denoiser is conditioned on, for a batch of prompts.

    ``hidden`` is (B, T, D) token-level states; ``mask`` is (B, T) with 1 for real tokens;
    ``pooled`` is an optional (B, D') vector that some models (SDXL, SD3, Flux) also take.
    Embeddings are plain tensors so that two prompts can be blended: (1 - w) * a + w * b.
    """

    hidden: torch.Tensor
    mask: torch.Tensor | None = None
    pooled: torch.Tensor | None = None

    def blend(self, other: PromptEmbedding, weight: float | torch.Tensor) -> PromptEmbedding:
        """(1 − weight)·self + weight·other; a (B,) tensor gives each row its own weight."""

        def mix(a, b):
            if a is None:
                return None
            w = torch.as_tensor(weight, dtype=a.dtype, device=a.device)
            return torch.lerp(a, b, w.reshape(-1, *[1] * (a.dim() - 1)) if w.dim() else w)

        mask = None
        if self.mask is not None:
            # Between the two, attend to the tokens of either; at either end, exactly that prompt's.
            w = torch.as_tensor(weight, device=self.mask.device).reshape(-1, *[1] * (self.mask.dim() - 1))
            mask = torch.where(
                w == 0, self.mask, torch.where(w == 1, other.mask, torch.maximum(self.mask, other.mask))
            )
        return PromptEmbedding(mix(self.hidden, other.hidden), mask, mix(self.pooled, other.pooled))


@dataclass(frozen=True)
class ModelInfo:
    """Provenance written into the bundle manifest."""

    id: str  # "builtin" or a hub id / folder
    revision: str  # a version string or git revision
    weights_sha256: str  # hash over the weight files actually loaded
    image_size: tuple[int, int]  # (height, width) of decoded frames
    latent_shape: tuple[int, ...]  # shape of one latent, e.g. (4, 16, 16)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. parameter count, model card facts
    # Render settings that change the pixels (e.g. {"dtype": "bfloat16"}): unlike `extra`, part of
    # the fingerprint that trajectory ids hash, so a bundle never mixes precisions.
    settings: dict[str, Any] = field(default_factory=dict)


class DiffusionModel(abc.ABC):
    """What the sampler needs from a model: adapters subclass this and write the five methods
    without defaults. Capabilities are declared here, never probed:

    - ``flow_matching`` — True when the scheduler moves along x_t = (1 − σ)·x0 + σ·noise and the
      model predicts the velocity (SD3, Flux, PRX): the sampler's x̂0 is then x_t − σ·v.
    - ``distilled_guidance`` — True when the guidance scale is an input of the denoiser (Flux): the
      sampler then makes one conditional pass per step, no unconditional one, and calls
      ``predict(latents, t, cond, guidance=scales)`` with a (B,) tensor of scales.
    - ``timestep_options(steps)`` — extra keyword arguments for ``scheduler.set_timesteps``
      (Flux: its sigmas and resolution-dependent shift ``mu``).
    - ``decode_preview(latents)`` — a cheaper decoder (AutoencoderTiny) for intermediate frames;
      the final frame always goes through ``decode``.
    - ``cross_attention()`` — the diffusers denoiser whose cross-attention layers attend from the
      picture to the prompt's tokens (precompute/attention.py records them), with
      ``prompt_tokens(prompt)``: the text encoder's own tokens and their positions. None for
      models that attend jointly to picture and text (SD3, Flux, PRX) or not at all.
    - ``mixed_timesteps`` — True when ``predict`` takes a (B,) tensor of timesteps, one per row, so
      trajectories of different step counts and samplers can share a forward pass (the builtin
      UNet); otherwise a batch shares one step count and sampler.
    - ``data_card()`` — what the model learned from (builtin/datacard.py), where this project
      knows it: the builtin model's card; None for others (an author may summarise their data).
    """

    info: ModelInfo
    flow_matching: ClassVar[bool] = False
    distilled_guidance: ClassVar[bool] = False
    mixed_timesteps: ClassVar[bool] = False

    @abc.abstractmethod
    def encode_prompts(self, prompts: list[str]) -> PromptEmbedding:
        """Encode a batch of prompts; the empty prompt "" is the unconditional input."""

    @abc.abstractmethod
    def initial_noise(self, seed: int) -> torch.Tensor:
        """Unit Gaussian latent of shape ``info.latent_shape`` from a CPU generator seeded with ``seed``."""

    @abc.abstractmethod
    def make_scheduler(self) -> Any:
        """A fresh diffusers scheduler (DDIM, Euler, flow matching …) configured for this model."""

    @abc.abstractmethod
    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: PromptEmbedding) -> torch.Tensor:
        """One forward pass of the denoiser; returns what the scheduler expects (eps, v or flow)."""

    @abc.abstractmethod
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, *latent_shape) to images (B, 3, H, W) with values in [0, 1]."""

    def timestep_options(self, steps: int) -> dict[str, Any]:
        return {}

    def decode_preview(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decode(latents)

    def cross_attention(self) -> torch.nn.Module | None:
        return None

    def prompt_tokens(self, prompt: str) -> list[Token] | None:
        """Every token the text encoder hands the denoiser for ``prompt``, start and end markers
        included, padding left out, with the tokenizer's ids; None where the model does not say.
        The one place a prompt is tokenised for what precompute records (its attention maps' word
        pieces, `word_pieces`, and the inside widget's tokens); the model's own ``encode_prompts``
        tokenises as its pipeline does."""
        return None

    def data_card(self) -> Any:
        """The model's data card (a ``stepthrough.builtin.datacard.DataCard``), or None."""
        return None


@dataclass(frozen=True)
class Token:
    """One token of a prompt as the text encoder got it."""

    position: int  # in the hidden states the denoiser gets
    id: int  # the tokenizer's id
    piece: str  # the tokenizer's own piece ("doctor</w>", "##s", "[CLS]")
    special: bool  # a marker the tokenizer adds (start, end), not a piece of the prompt
    unknown: bool = False  # the tokenizer's stand-in for a piece it has no token for


def token_sequence(tokenizer, prompt: str, max_length: int) -> list[Token]:
    """A Hugging Face tokenizer's tokens of `prompt` as its encoder gets them, without padding."""
    ids = tokenizer(prompt, truncation=True, max_length=max_length)["input_ids"]
    # Markers the tokenizer adds; "unknown" is a stand-in for a piece of the prompt (unless, as in
    # CLIP, it is also the end marker).
    markers = (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id)
    special = (set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}) | {
        m for m in markers if m is not None
    }
    pieces = tokenizer.convert_ids_to_tokens(ids)
    return [
        Token(i, int(token), piece, token in special, token == tokenizer.unk_token_id)
        for i, (token, piece) in enumerate(zip(ids, pieces, strict=True))
    ]


def word_pieces(tokens: list[Token]) -> list[tuple[int, str]]:
    """(position in the hidden states, piece) of each of the prompt's own tokens, without markers,
    padding and unknown pieces; the pieces' markers ("</w>", "▁") dropped so they read as text
    ("##" kept: it says "joined on")."""
    return [
        (t.position, t.piece.replace("</w>", "").replace("\u2581", "") or t.piece)
        for t in tokens
        if not t.special and not t.unknown
    ]
