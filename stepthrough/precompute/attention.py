"""Where each word acts: the cross-attention from the picture to the prompt's tokens, recorded
beside the loop. While sampling, each cross-attention processor of the model's denoiser is wrapped:
the original computes the layer's output untouched, and beside it the wrapper works out the same
layer's attention probabilities from its own projections (queries from the picture, keys from the
prompt). Averaged over heads and layers and resized to the latent grid, they make one map per token
per step. The model is evaluated exactly as often as without the wrapper, and its output is the same.
"""

from __future__ import annotations

from typing import Self

import torch
import torch.nn.functional as F


class CrossAttentionMaps:
    """A context manager around sampling: `take()` after each step gives (rows, tokens, H, W), the
    step's attention maps for the last `rows` rows of the batch (the conditional half under
    classifier-free guidance), averaged over every cross-attention layer and head."""

    def __init__(self, denoiser: torch.nn.Module, grid: tuple[int, int], rows: int):
        self.denoiser, self.grid, self.rows = denoiser, grid, rows
        self.taken: torch.Tensor | None = None  # the last pass's maps, once taken
        self.total: torch.Tensor | None = None
        self.layers = 0

    def __enter__(self) -> Self:
        self.original = dict(self.denoiser.attn_processors)
        modules = dict(self.denoiser.named_modules())
        # attn_processors are named "<module path>.processor"; wrap the cross-attention ones only.
        self.denoiser.set_attn_processor(
            {
                name: _Recording(processor, self)
                if getattr(modules[name.removesuffix(".processor")], "is_cross_attention", False)
                else processor
                for name, processor in self.original.items()
            }
        )
        return self

    def __exit__(self, *exc) -> None:
        self.denoiser.set_attn_processor(self.original)

    def record(self, probabilities: torch.Tensor) -> None:
        """(batch, picture positions, tokens) probabilities of one layer, averaged over its heads."""
        positions, tokens = probabilities.shape[1:]
        height, width = self.grid
        factor = (height * width / positions) ** 0.5  # the layer's grid is the latent's, shrunk
        h, w = round(height / factor), round(width / factor)
        maps = probabilities[-self.rows :].float().transpose(1, 2).reshape(-1, tokens, h, w)
        if (h, w) != self.grid:
            maps = F.interpolate(maps, size=self.grid, mode="bilinear", align_corners=False)
        self.total = maps if self.total is None else self.total + maps
        self.layers += 1

    def before_pass(self, rows: int) -> None:
        """A forward pass of `rows` trajectories (the conditional half) begins: what earlier passes
        left untaken (Heun's second evaluation) is dropped."""
        self.rows, self.total, self.layers, self.taken = rows, None, 0, None

    def rows_of_pass(self, offset: int, count: int) -> torch.Tensor | None:
        """These rows of the maps of the pass that just ran (several batches share a pass)."""
        if self.taken is None:
            self.taken = self.take()
            if self.taken is None:
                return None
        return self.taken[offset : offset + count]

    def take(self) -> torch.Tensor | None:
        """This step's maps (rows, tokens, H, W), averaged over layers; the count starts again."""
        if self.total is None:
            return None
        maps, self.total, self.layers = (self.total / self.layers).detach().cpu(), None, 0
        return maps


class _Recording:
    """A cross-attention processor that leaves the layer's output to the original processor."""

    def __init__(self, inner, maps: CrossAttentionMaps):
        self.inner, self.maps = inner, maps

    def __call__(
        self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs
    ):
        output = self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        if encoder_hidden_states is not None:
            self.maps.record(probabilities(attn, hidden_states, encoder_hidden_states, attention_mask))
        return output


def probabilities(attn, hidden_states, encoder_hidden_states, attention_mask) -> torch.Tensor:
    """The layer's attention probabilities (batch, picture positions, tokens), mean over heads:
    softmax(q·kᵀ/√d + mask), as diffusers' plain AttnProcessor computes them."""
    if hidden_states.ndim == 4:  # (B, C, H, W) → (B, H·W, C)
        batch, channels = hidden_states.shape[:2]
        hidden_states = hidden_states.view(batch, channels, -1).transpose(1, 2)
    if attn.group_norm is not None:
        hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
    if attn.norm_cross:
        encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
    batch, tokens = hidden_states.shape[0], encoder_hidden_states.shape[1]
    query = attn.head_to_batch_dim(attn.to_q(hidden_states))
    key = attn.head_to_batch_dim(attn.to_k(encoder_hidden_states))
    if getattr(attn, "norm_q", None) is not None:
        query, key = attn.norm_q(query), attn.norm_k(key)
    if attention_mask is not None:
        attention_mask = attn.prepare_attention_mask(attention_mask, tokens, batch)
    scores = attn.get_attention_scores(query, key, attention_mask)  # (B·heads, positions, tokens)
    return scores.view(batch, attn.heads, *scores.shape[1:]).mean(1)
