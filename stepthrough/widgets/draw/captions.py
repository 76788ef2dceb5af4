"""The captions the page can draw, encoded once by the builtin model's frozen text encoder.

The UNet cross-attends to a caption's per-token states (and gets their mean as a global hint), so
the page needs those states, not one vector a caption. Running MiniLM in the page would cost 45 MB
of float16 weights; the states of every emoji's name (skin-tone variants aside: their base name is
there), the empty caption (guidance's unconditional input) and the default explainer's prompts cost
about 6 MB as float16, 7 to 8 tokens a caption. The encoder is frozen, so these states do not change
when the UNet is trained again; they change only with the vocabulary.

A blend of two captions (draw.js: towards, blend) reads the shorter one's padding states at the
longer one's positions, as Python's PromptEmbedding.blend does: those ship too, every caption's up
to the longest caption's 14 tokens (caption-pads.safetensors, 13.7 MB; zeroing them instead moved a
blend's picture by up to 200/255), in a second script the page loads only for such a blend.

Made with torch (the model install), committed beside this file, read at build without torch:

    python -m stepthrough.widgets.draw.captions
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CAPTIONS_FILE = Path(__file__).resolve().parent / "captions.safetensors"
# A blend of a short caption with a longer one attends to the short one's padding states at the
# longer one's token positions (the encoder computes states for padding too): those states, for
# every caption up to the longest caption's length. Only a blend needs them (the page loads them
# only then), so they have their own file.
PADS_FILE = Path(__file__).resolve().parent / "caption-pads.safetensors"
# Prompts of the default explainer's sections that are not an emoji's name ("a doctor": the Default Test).
EXTRA = ("a doctor",)


@dataclass(frozen=True)
class Captions:
    texts: list[str]  # texts[0] is "": the unconditional input
    hidden: np.ndarray  # (tokens of every caption, 384) float16, caption after caption
    offsets: np.ndarray  # (len(texts) + 1,) int32: caption i's tokens are hidden[offsets[i]:offsets[i + 1]]

    def states(self, text: str) -> np.ndarray:
        i = self.texts.index(text)
        return self.hidden[self.offsets[i] : self.offsets[i + 1]]


@dataclass(frozen=True)
class Pads:
    length: int  # the longest caption's tokens: a blend never attends further
    hidden: np.ndarray  # (padding states of every caption, 384) float16, caption after caption
    offsets: np.ndarray  # caption i's padding states (positions len_i … length − 1) are hidden[offsets[i]:offsets[i + 1]]


def caption_texts() -> list[str]:
    """ "" first, then each emoji's name (skin-tone variants left out), then EXTRA."""
    from stepthrough import vocabulary

    names = [c.name for c in vocabulary.load().concepts if vocabulary.skin_tone_variant(c.name) is None]
    return list(dict.fromkeys(["", *names, *EXTRA]))


@functools.cache
def read_captions(path: Path = CAPTIONS_FILE) -> Captions:
    """The encoded captions; StepthroughError naming the file when it is missing or unreadable.
    Read with numpy alone (the light install builds without the safetensors package)."""
    from stepthrough.errors import StepthroughError

    try:
        tensors, metadata = read_safetensors(path.read_bytes())
        texts = json.loads(metadata["texts"])
        hidden, offsets = tensors["hidden"], tensors["offsets"]
    except (OSError, KeyError, ValueError) as exc:
        raise StepthroughError(
            f"{path}: cannot read the draw widget's encoded captions ({exc}); make them again with "
            "`python -m stepthrough.widgets.draw.captions`"
        ) from None
    return Captions(texts=texts, hidden=hidden, offsets=offsets)


@functools.cache
def read_pads(path: Path = PADS_FILE) -> Pads:
    """The captions' padding states (for blends); StepthroughError naming the file when unreadable."""
    from stepthrough.errors import StepthroughError

    try:
        tensors, metadata = read_safetensors(path.read_bytes())
        pads = Pads(length=int(metadata["length"]), hidden=tensors["hidden"], offsets=tensors["offsets"])
    except (OSError, KeyError, ValueError) as exc:
        raise StepthroughError(
            f"{path}: cannot read the draw widget's padding states ({exc}); make them again with "
            "`python -m stepthrough.widgets.draw.captions`"
        ) from None
    return pads


DTYPES = {"F16": np.float16, "F32": np.float32, "I32": np.int32}


def read_safetensors(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """A safetensors file's tensors (of DTYPES) and metadata: an 8-byte header length, a JSON header
    naming each tensor's dtype, shape and byte range, then the bytes. ValueError when it is not one."""
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or size > len(data) - 8:
        raise ValueError("not a safetensors file")
    header = json.loads(data[8 : 8 + size])
    body = memoryview(data)[8 + size :]
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, header.get("__metadata__", {})


def encode(texts: list[str]) -> Captions:
    """Each text's real tokens' states (padding is masked out of the UNet's attention, so it is dropped)."""
    from stepthrough.builtin.text import TextEncoder

    encoder = TextEncoder()
    parts, offsets = [], [0]
    for start in range(0, len(texts), 256):
        emb = encoder(texts[start : start + 256])
        for hidden, mask in zip(emb.hidden, emb.mask, strict=True):
            part = hidden[mask.bool()].float().numpy()
            parts.append(part)
            offsets.append(offsets[-1] + len(part))
    hidden = np.concatenate(parts).astype(np.float16)
    return Captions(texts=texts, hidden=hidden, offsets=np.asarray(offsets, dtype=np.int32))


def encode_pads(texts: list[str], length: int) -> Pads:
    """Each text's padding states from its last real token up to `length` tokens. They do not depend
    on how far a batch is padded (padding attends to the real tokens only), so `length` is enough."""
    from stepthrough.builtin.text import TextEncoder

    encoder = TextEncoder(max_length=length)
    parts, offsets = [], [0]
    for start in range(0, len(texts), 256):
        emb = encoder(texts[start : start + 256], padding="max_length")
        for hidden, mask in zip(emb.hidden, emb.mask, strict=True):
            part = hidden[~mask.bool()].float().numpy()
            parts.append(part)
            offsets.append(offsets[-1] + len(part))
    hidden = np.concatenate(parts).astype(np.float16)
    return Pads(length=length, hidden=hidden, offsets=np.asarray(offsets, dtype=np.int32))


def write_captions(captions: Captions, path: Path = CAPTIONS_FILE) -> None:
    from safetensors.numpy import save

    from stepthrough.atomic import atomic_write

    data = save(
        {"hidden": captions.hidden, "offsets": captions.offsets},
        metadata={"texts": json.dumps(captions.texts, ensure_ascii=False)},
    )
    atomic_write(path, data)


def write_pads(pads: Pads, path: Path = PADS_FILE) -> None:
    from safetensors.numpy import save

    from stepthrough.bundle import atomic_write

    atomic_write(path, save({"hidden": pads.hidden, "offsets": pads.offsets}, metadata={"length": str(pads.length)}))


if __name__ == "__main__":
    made = encode(caption_texts())
    write_captions(made)
    print(
        f"{CAPTIONS_FILE}: {len(made.texts)} captions, {len(made.hidden)} tokens, {CAPTIONS_FILE.stat().st_size:,} bytes"
    )
    pads = encode_pads(made.texts, int(np.diff(made.offsets).max()))
    write_pads(pads)
    print(f"{PADS_FILE}: {len(pads.hidden)} padding states up to {pads.length} tokens, {PADS_FILE.stat().st_size:,} bytes")
