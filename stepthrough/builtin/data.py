"""The builtin model's training data: emoji drawn by several artists, captioned in English.

One *concept* is one fully qualified emoji of the ``emoji`` package (``man health worker: medium
skin tone``). Each concept is drawn in up to five styles (see ``sources.py``), so a caption names a
small distribution of pictures rather than one picture: the seed chooses among styles and
placements. Captions come from the English name, the package's aliases and emojilib's keywords
("doctor", "nurse" for the health workers); the style is named in a minority of captions, so "a 3d
red apple" steers and plain "red apple" lets the seed choose. Variants of one base emoji (skin
tones, man/woman/person) form a *group*, so sampling can give each base emoji a fair share.

Pictures are stored as RGBA at ``BASE`` pixels, the glyph centred with its longest side
``FILL`` of the frame; ``augment`` shifts, scales, turns and (where meaning allows) mirrors them
onto white at 64×64 for training, and ``pictures`` gives the plain 64×64 versions.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import emoji
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from stepthrough.builtin import sources

BASE = 96  # stored resolution: augmentation resamples from here down to 64
FILL = 0.86  # longest side of the glyph, as a fraction of the frame
FONT_SIZE = 109  # the only size Noto Color Emoji's bitmap strikes come in
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/local/share/fonts/NotoColorEmoji.ttf",
)
_TONE_RE = re.compile(r"_((?:medium-)?(?:light|dark)|medium)_skin_tone")
_GENDER_PREFIX_RE = re.compile(r"^(man|woman|person|men|women|people) ")
_TONE_CODES = {f"{c:x}" for c in range(0x1F3FB, 0x1F400)}
# Mirroring changes the meaning of writing, directions, flags and clock faces: only these may flip.
_FLIP_CATEGORIES = {
    "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
    "Activities", "Objects",
}
_NO_FLIP_SUBCATEGORIES = {"time", "hand-single-finger", "writing", "book-paper", "money", "mail", "science"}
_NO_FLIP_WORDS = re.compile(r"\b(left|right|arrow|clock|o’clock|letter|sign|keycap|button|ab|id|sos|vs)\b")


@dataclass
class EmojiDataset:
    """Emoji pictures with their captions; row ``i`` of every field describes one picture."""

    images: np.ndarray  # (N, BASE, BASE, 4) uint8 RGBA, transparent background
    chars: list[str]  # the emoji itself
    styles: list[str]  # which artist's set drew it (a ``sources.Style`` name, or "noto-font")
    names: list[str]  # the English name
    aliases: list[list[str]]  # the ``emoji`` package's aliases that add words to the name
    keywords: list[list[str]]  # emojilib's words for it
    groups: np.ndarray  # (N,) int, id of the base emoji (variants share one)
    flippable: np.ndarray  # (N,) bool: a mirror image means the same thing

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def captions(self) -> list[list[str]]:
        """Every caption of each picture, the name first."""
        return [[n, *a, *k] for n, a, k in zip(self.names, self.aliases, self.keywords)]

    def sample_weights(self, power: float) -> np.ndarray:
        """Per-image sampling probability: a group of n pictures gets n ** (1 - power) shares."""
        sizes = np.bincount(self.groups)[self.groups].astype(np.float64)
        w = sizes**-power
        return w / w.sum()

    def pictures(self, size: int = 64, rows: np.ndarray | None = None) -> np.ndarray:
        """The plain pictures on white, (n, size, size, 3) uint8."""
        idx = np.arange(len(self)) if rows is None else rows
        return np.stack([on_white(Image.fromarray(self.images[i]), size) for i in idx])


def on_white(rgba: Image.Image, size: int) -> np.ndarray:
    canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    canvas.alpha_composite(rgba)
    return np.asarray(canvas.convert("RGB").resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def augment(images: np.ndarray, flippable: np.ndarray, rng: np.random.Generator, size: int = 64,
            scale: tuple[float, float] = (0.75, 1.1), turn: float = 10.0, shift: float = 4.0) -> np.ndarray:
    """Random placements that keep the meaning: scale, a small turn, a shift of a few pixels, and a
    mirror image where ``flippable``. No colour changes (colours and skin tones are named in captions)."""
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, (rgba, flip) in enumerate(zip(images, flippable)):
        im = Image.fromarray(rgba).convert("RGBa")  # premultiplied: no dark fringes when resampling
        if flip and rng.random() < 0.5:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        s = rng.uniform(*scale)
        angle = rng.uniform(-turn, turn)
        dx, dy = rng.uniform(-shift, shift, size=2) * im.width / size
        im = im.rotate(angle, Image.Resampling.BICUBIC, center=(im.width / 2, im.height / 2), translate=(dx, dy))
        if s != 1.0:
            w = round(im.width * s)
            small = im.resize((w, w), Image.Resampling.BICUBIC)
            frame = Image.new("RGBa", im.size, (0, 0, 0, 0))
            off = (im.width - w) // 2
            if w <= im.width:
                frame.paste(small, (off, off))
            else:
                frame = small.crop((-off, -off, -off + im.width, -off + im.height))
            im = frame
        out[i] = on_white(im.convert("RGBA"), size)
    return out


def fit(glyph: Image.Image, size: int = BASE) -> np.ndarray:
    """Crop a glyph to what it draws and centre it, longest side ``FILL`` of a ``size`` frame."""
    box = glyph.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if box is None:
        raise ValueError("empty glyph")
    glyph = glyph.crop(box)
    side = round(size * FILL)
    ratio = side / max(glyph.size)
    glyph = glyph.resize((max(1, round(glyph.width * ratio)), max(1, round(glyph.height * ratio))),
                         Image.Resampling.LANCZOS)
    frame = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    frame.alpha_composite(glyph, ((size - glyph.width) // 2, (size - glyph.height) // 2))
    return np.asarray(frame, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# names


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


def base_key(key: str) -> str:
    """The emoji key without skin-tone modifiers (emojilib lists keywords for the base only)."""
    return "-".join(p for p in key.split("-") if p not in _TONE_CODES)


def keywords_for(char: str, keywords: dict[str, list[str]]) -> list[str]:
    """emojilib's words for the emoji (or its base), those that are plain words and not in the name."""
    key = sources.key_of_char(char)
    words = keywords.get(key) or keywords.get(base_key(key)) or []
    name = set(_bag(caption_name(char)))
    return [w for w in dict.fromkeys(words) if re.fullmatch(r"[a-z][a-z0-9 '-]*", w) and not set(_bag(w)) <= name]


def may_flip(char: str, category: tuple[str, str] | None) -> bool:
    if category is None or category[0] not in _FLIP_CATEGORIES or category[1] in _NO_FLIP_SUBCATEGORIES:
        return False
    return not _NO_FLIP_WORDS.search(caption_name(char).lower())


# ---------------------------------------------------------------------------------------------
# building the data set


def find_font() -> Path:
    """Path of the Noto Color Emoji font (Debian package ``fonts-noto-color-emoji``)."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    raise FileNotFoundError("Noto Color Emoji not found; install it with `apt-get install fonts-noto-color-emoji`")


def render_font(chars: list[str], font_path: Path | None = None) -> dict[str, np.ndarray]:
    """Each emoji the Debian Noto font draws as one glyph, fitted to the frame (tests and offline use)."""
    font = ImageFont.truetype(str(font_path or find_font()), FONT_SIZE)
    out: dict[str, np.ndarray] = {}
    for char in chars:
        canvas = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((10, 10), char, font=font, embedded_color=True)
        box = canvas.getchannel("A").getbbox()
        # A sequence the font lacks falls back to its parts side by side (wider than one glyph).
        if box is None or box[2] - box[0] > 140:
            continue
        out[sources.key_of_char(char)] = fit(canvas.crop(box))
    return out


def build_dataset(chars: list[str], pictures: dict[str, dict[str, np.ndarray]] | None = None,
                  keywords: dict[str, list[str]] | None = None,
                  categories: dict[str, tuple[str, str]] | None = None) -> EmojiDataset:
    """Caption ``chars`` and gather their pictures, ``pictures[style][key]`` (default: the Debian
    Noto font alone); a concept no style draws is left out."""
    pictures = pictures if pictures is not None else {"noto-font": render_font(chars)}
    keywords, categories = keywords or {}, categories or {}
    rows: list[tuple[str, str, np.ndarray]] = []
    for char in chars:
        key = sources.key_of_char(char)
        rows += [(char, style, drawn[key]) for style, drawn in pictures.items() if key in drawn]
    keys = [group_key(c) for c, _, _ in rows]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    per_char = {c: (captions_for(c), keywords_for(c, keywords)) for c in dict.fromkeys(c for c, _, _ in rows)}
    return EmojiDataset(
        images=np.stack([im for _, _, im in rows]),
        chars=[c for c, _, _ in rows],
        styles=[s for _, s, _ in rows],
        names=[per_char[c][0][0] for c, _, _ in rows],
        aliases=[per_char[c][0][1:] for c, _, _ in rows],
        keywords=[per_char[c][1] for c, _, _ in rows],
        groups=np.array([ids[k] for k in keys], dtype=np.int64),
        flippable=np.array([may_flip(c, categories.get(sources.key_of_char(c))) for c, _, _ in rows]),
    )


def load_dataset(cache_dir: Path) -> EmojiDataset:
    """The full data set (every style in ``sources.STYLES``), built once and cached in ``cache_dir``.

    Fetches the pinned npm packages into ``cache_dir/npm`` on first use: training time only."""
    from stepthrough.atomic import atomic_write

    cache_dir = Path(cache_dir)
    chars = fully_qualified_emoji()
    pins = [(s.name, s.package.name, s.package.version, s.package.sha256) for s in sources.STYLES]
    key = hashlib.sha256(json.dumps([chars, pins, BASE, FILL, emoji.__version__, 2]).encode()).hexdigest()[:12]
    path = cache_dir / f"emoji-v2-{key}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        return EmojiDataset(z["images"], meta["chars"], meta["styles"], meta["names"], meta["aliases"],
                            meta["keywords"], z["groups"], z["flippable"])
    npm = cache_dir / "npm"
    pictures = {}
    for style in sources.STYLES:
        drawn = {}
        for k, im in sources.read_style(style, npm, BASE):
            try:
                drawn[k] = fit(im)
            except ValueError:
                continue
        pictures[style.name] = drawn
    ds = build_dataset(chars, pictures, sources.read_keywords(npm), sources.read_categories(npm))
    meta = {f: getattr(ds, f) for f in ("chars", "styles", "names", "aliases", "keywords")}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=ds.images, groups=ds.groups, flippable=ds.flippable,
                        meta=np.array(json.dumps(meta)))
    atomic_write(path, buffer.getvalue())
    return ds


def dump_data(ds: EmojiDataset, out: Path, size: int = 64) -> int:
    """Every training picture as ``out/<style>/<emoji key>.png`` plus ``out/captions.jsonl``."""
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
