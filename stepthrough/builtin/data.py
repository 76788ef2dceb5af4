"""The builtin model's training data: Noto Color Emoji rendered with Pillow, captioned in English.

Every fully qualified emoji of the ``emoji`` package that the font draws as one glyph becomes a
64×64 picture on white. Captions come from the English names (``man health worker: medium skin
tone``) plus the package's aliases; skin tones and genders stay, because "a doctor" should be able
to come out as any of them. Variants of one base emoji form a *group*, so that sampling can give
each base emoji a fair share instead of letting the 18 variants of every job drown the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import emoji
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_SIZE = 109  # the only size Noto Color Emoji's bitmap strikes come in
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/local/share/fonts/NotoColorEmoji.ttf",
)
SKIN_TONES = ("light", "medium-light", "medium", "medium-dark", "dark")
_TONE_RE = re.compile(r"_((?:medium-)?(?:light|dark)|medium)_skin_tone")
_GENDER_PREFIX_RE = re.compile(r"^(man|woman|person|men|women|people) ")
_MODIFIERS = {chr(c) for c in range(0x1F3FB, 0x1F400)} | {"\u200d", "\ufe0f", "\u2640", "\u2642"}


@dataclass
class EmojiDataset:
    """Rendered emoji with their captions; row ``i`` of every field describes one picture."""

    images: np.ndarray  # (N, H, W, 3) uint8 on white
    chars: list[str]  # the emoji itself
    captions: list[list[str]]  # first entry is the name, then aliases
    groups: np.ndarray  # (N,) int, id of the base emoji (variants share one)

    def __len__(self) -> int:
        return len(self.chars)

    def sample_weights(self, power: float) -> np.ndarray:
        """Per-image sampling probability: a group of n variants gets n ** (1 - power) shares."""
        sizes = np.bincount(self.groups)[self.groups].astype(np.float64)
        w = sizes**-power
        return w / w.sum()


def find_font() -> Path:
    """Path of the Noto Color Emoji font (Debian package ``fonts-noto-color-emoji``)."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    raise FileNotFoundError(
        "Noto Color Emoji not found; install it with `apt-get install fonts-noto-color-emoji`"
    )


def fully_qualified_emoji() -> list[str]:
    """Every fully qualified emoji the ``emoji`` package knows, in its order."""
    fq = emoji.STATUS["fully_qualified"]
    return [char for char, meta in emoji.EMOJI_DATA.items() if meta["status"] == fq]


def _words(code: str) -> str:
    return code.strip(":").replace("_", " ").strip()


def _is_flag(char: str) -> bool:
    return all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in char)


def caption_name(char: str) -> str:
    """CLDR-style English name: ``man health worker: medium skin tone``, ``flag: Japan``."""
    code = emoji.EMOJI_DATA[char]["en"].strip(":")
    tones = [m.group(1) for m in _TONE_RE.finditer(code)]
    base = _words(_TONE_RE.sub("", code))
    if _is_flag(char):
        return f"flag: {base}"
    if tones:
        return f"{base}: " + ", ".join(f"{tone} skin tone" for tone in tones)
    return base


def captions_for(char: str) -> list[str]:
    """The name first, then every alias that adds words the name does not already have."""
    out = [caption_name(char)]
    seen = set(_bag(out[0]))
    for alias in emoji.EMOJI_DATA[char].get("alias", []):
        words = _words(alias)
        if set(_bag(words)) - seen and not words.startswith("flag for"):
            out.append(words)
            seen |= set(_bag(words))
    return out


def _bag(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def group_key(char: str) -> str:
    """Base emoji of a variant: skin tones and the man/woman/person prefix removed."""
    code = emoji.EMOJI_DATA[char]["en"].strip(":")
    base = _words(_TONE_RE.sub("", code)).lower()
    return _GENDER_PREFIX_RE.sub("", base)


def render(chars: list[str], size: int = 64, font_path: Path | None = None) -> list[np.ndarray | None]:
    """Render each emoji centred on white at ``size``×``size``; None where the font has no single glyph."""
    font = ImageFont.truetype(str(font_path or find_font()), FONT_SIZE)
    out: list[np.ndarray | None] = []
    for char in chars:
        canvas = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((10, 10), char, font=font, embedded_color=True)
        box = canvas.getchannel("A").getbbox()
        # A sequence the font lacks falls back to its parts side by side (wider than one glyph).
        if box is None or box[2] - box[0] > 140:
            out.append(None)
            continue
        glyph = canvas.crop(box)
        side = max(glyph.size)
        square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
        square.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
        small = square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
        out.append(np.asarray(small, dtype=np.uint8))
    return out


def build_dataset(chars: list[str], size: int = 64, font_path: Path | None = None) -> EmojiDataset:
    """Render and caption ``chars``, dropping the ones the font cannot draw."""
    rendered = render(chars, size, font_path)
    kept = [(c, im) for c, im in zip(chars, rendered) if im is not None]
    keys = [group_key(c) for c, _ in kept]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return EmojiDataset(
        images=np.stack([im for _, im in kept]),
        chars=[c for c, _ in kept],
        captions=[captions_for(c) for c, _ in kept],
        groups=np.array([ids[k] for k in keys], dtype=np.int64),
    )


def load_dataset(cache_dir: Path, size: int = 64) -> EmojiDataset:
    """The full data set, rendered once and cached in ``cache_dir`` (keyed by emoji list and size)."""
    chars = fully_qualified_emoji()
    font = find_font()
    key = hashlib.sha256(json.dumps([chars, size, emoji.__version__, font.stat().st_size]).encode())
    path = Path(cache_dir) / f"emoji{size}-{key.hexdigest()[:12]}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        return EmojiDataset(z["images"], meta["chars"], meta["captions"], z["groups"])
    ds = build_dataset(chars, size, font)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"chars": ds.chars, "captions": ds.captions})
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, images=ds.images, groups=ds.groups, meta=np.array(meta))
    tmp.replace(path)
    return ds
