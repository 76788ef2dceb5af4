"""The builtin model's data card: what it learned from, small enough to ship in the package.

Per concept (one emoji): its name, group (variants of one base emoji share one), the styles that
draw it, the skin tone and gender its Unicode name says ("man health worker: medium skin tone"),
and its captions' other words (aliases, keywords); per picture a small thumbnail, all of them in
one WebP atlas; beside them, every caption's sentence vector from the frozen text encoder, so that
finding the captions nearest a prompt embeds the prompt alone (embedding the card's 7,800 captions
takes about 20 s on 2 CPU cores). Precompute reads it (torch-free) to show the pictures behind a
prompt's default (widgets/training_data). Made from the cached training set, never from the network:

    python -m stepthrough.builtin.datacard --cache .runs/cache   # writes weights/datacard.*
    python -m stepthrough.builtin.datacard --vectors             # only the vectors, for the card there
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
WEIGHTS = Path(__file__).resolve().parent / "weights"
CARD_NAME, ATLAS_NAME, VECTORS_NAME = "datacard.json.gz", "datacard.webp", "datacard-vectors.safetensors"
THUMB = 24  # pixels a side
QUALITY = 60  # WebP: 17,156 thumbnails in about 2.6 MB
MAX_SIDE = 16383  # WebP's limit on a picture's width

TONES = ("light", "medium-light", "medium", "medium-dark", "dark")
DEFAULT_TONE = "yellow"  # a person emoji whose name names no tone: the cartoon default
_TONE = re.compile(r"\b((?:medium-)?(?:light|dark)|medium) skin tone\b")
_FEMALE = {"woman", "women", "girl", "princess", "mrs"}
_MALE = {"man", "men", "boy", "prince"}
_PERSON = {"person", "people", "child", "adult", "baby", "older"}


@dataclass(frozen=True)
class DataCard:
    """A data card as precompute reads it: `card` (the JSON, see `make_card`) and the atlas's bytes."""

    card: dict[str, Any]
    atlas: bytes
    folder: Path | None = None  # where it was read from

    def caption_vectors(self, encoder: str, max_length: int) -> dict[str, Any] | None:
        """{caption: vector} from the vectors beside the card (see `load_vectors`), or None."""
        return None if self.folder is None else load_vectors(self.folder, encoder, max_length)

    def matches(self, facts: dict[str, Any]) -> bool:
        """Whether this card describes the data that the weights with these facts learned from."""
        return (
            facts.get("data_version") == self.card["data_version"]
            and facts.get("training_images") == self.card["images"]
        )

    def thumbnails(self, indices: list[int]):
        """The thumbnails at these atlas indices, as PIL pictures."""
        from PIL import Image

        atlas, size, columns = Image.open(io.BytesIO(self.atlas)), self.card["thumb"], self.card["columns"]
        atlas.load()
        return [
            atlas.crop(
                (
                    (i % columns) * size,
                    (i // columns) * size,
                    (i % columns + 1) * size,
                    (i // columns + 1) * size,
                )
            )
            for i in indices
        ]


def load_card(folder: Path = WEIGHTS) -> DataCard | None:
    """The data card in `folder`, or None where it has none."""
    card, atlas = Path(folder) / CARD_NAME, Path(folder) / ATLAS_NAME
    if not (card.is_file() and atlas.is_file()):
        return None
    return DataCard(json.loads(gzip.decompress(card.read_bytes())), atlas.read_bytes(), Path(folder))


def card_captions(card: dict[str, Any]) -> list[str]:
    """Every caption of the card once, in the card's order: each concept's name, then its words."""
    return list(dict.fromkeys(t for c in card["concepts"] for t in (c["name"], *c["words"])))


def load_vectors(folder: Path, encoder: str, max_length: int) -> dict[str, Any] | None:
    """The card's caption vectors in `folder` as {caption: float32 row}, where they were made by
    this text encoder at this token limit; None where there are none or they were made otherwise.
    Torch-free. A file that is not what `save_vectors` writes is an error naming it."""
    from safetensors import SafetensorError
    from safetensors.numpy import safe_open

    from stepthrough.errors import StepthroughError

    path = Path(folder) / VECTORS_NAME
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            if meta.get("encoder") != encoder or meta.get("max_length") != str(max_length):
                return None
            vectors = f.get_tensor("vectors")
        captions = json.loads(meta["captions"])
    except (SafetensorError, KeyError, ValueError, OSError) as e:
        raise StepthroughError(f"{path}: not a data card's caption vectors ({e}); delete it, or write it "
                               "again with `python -m stepthrough.builtin.datacard --vectors`") from None
    if not (isinstance(captions, list) and vectors.ndim == 2 and len(vectors) == len(captions)):
        raise StepthroughError(f"{path}: 'vectors' has {len(vectors)} rows for {len(captions)} captions; "
                               "write it again with `python -m stepthrough.builtin.datacard --vectors`")
    rows = vectors.astype("float32")
    return dict(zip(captions, rows, strict=True))


def save_vectors(card: dict[str, Any], out_dir: Path = WEIGHTS) -> Path:
    """Embed every caption of `card` with the builtin model's frozen text encoder and write the
    vectors (float16, 6 MB) beside it, atomically. Needs the model stack."""
    from safetensors.numpy import save

    from stepthrough.atomic import atomic_write
    from stepthrough.builtin.text import ENCODER, TextEncoder

    config = json.loads((Path(out_dir) / "config.json").read_text()) if (Path(out_dir) / "config.json").is_file() else {}
    max_length = config.get("text", {}).get("max_length", 24)
    captions = card_captions(card)
    vectors = TextEncoder(max_length).sentence_vectors(captions).astype("float16")
    meta = {"encoder": ENCODER, "max_length": str(max_length), "captions": json.dumps(captions, ensure_ascii=False)}
    path = Path(out_dir) / VECTORS_NAME
    atomic_write(path, save({"vectors": vectors}, metadata=meta))
    return path


# ---------------------------------------------------------------------------------------------
# skin tone and gender, from the names


def _words(name: str) -> list[str]:
    """The name's words, leaving out possessives ("woman’s hat" is a hat, not a woman)."""
    return [w for w in re.findall(r"[a-z]+(?:[’'][a-z]+)?", name.lower()) if not re.search(r"[’']s$", w)]


def skin_tone(name: str) -> str | None:
    """The skin tone a name says: one of TONES, "mixed" (two people, two tones), or None."""
    tones = set(_TONE.findall(name))
    return None if not tones else tones.pop() if len(tones) == 1 else "mixed"


def gender(name: str) -> str | None:
    """The gender a name says: "woman", "man", "mixed" (a couple, a family), "person" (a person,
    no gender said) or None (no person named)."""
    words = set(_words(name))
    female, male = bool(words & _FEMALE), bool(words & _MALE)
    if female and male:
        return "mixed"
    if female or male:
        return "woman" if female else "man"
    return "person" if words & _PERSON else None


def describe(names: list[str], groups: list[str]) -> list[tuple[str | None, str | None]]:
    """Each concept's (skin tone, gender). Within a group that has tone or gender variants, the
    variant whose name says none is the default: cartoon yellow, a person of no named gender."""
    tone, sex = [skin_tone(n) for n in names], [gender(n) for n in names]
    toned = {g for g, t in zip(groups, tone) if t is not None}
    gendered = {g for g, s in zip(groups, sex) if s is not None}
    return [
        (
            t if t is not None else DEFAULT_TONE if g in toned else None,
            s if s is not None else "person" if g in gendered or g in toned else None,
        )
        for g, t, s in zip(groups, tone, sex)
    ]


# ---------------------------------------------------------------------------------------------
# making the card


def make_card(ds, thumb: int = THUMB, quality: int = QUALITY) -> tuple[dict[str, Any], bytes]:
    """The card's JSON and its atlas (WebP, the pictures on white, `thumb` pixels a side, in the
    data set's row order) from an ``EmojiDataset`` (builtin/data.py)."""
    from PIL import Image

    from stepthrough.builtin.data import group_key, on_white

    columns = MAX_SIDE // thumb
    rows = -(-len(ds) // columns)
    atlas = Image.new("RGB", (columns * thumb, rows * thumb), (255, 255, 255))
    for i in range(len(ds)):
        tile = Image.fromarray(on_white(Image.fromarray(ds.images[i]), thumb))
        atlas.paste(tile, ((i % columns) * thumb, (i // columns) * thumb))
    buffer = io.BytesIO()
    atlas.save(buffer, "WEBP", quality=quality, method=6)

    concepts: dict[str, dict[str, Any]] = {}
    for i, char in enumerate(ds.chars):
        concept = concepts.get(char)
        if concept is None:
            words = [w for w in dict.fromkeys([*ds.aliases[i], *ds.keywords[i]]) if w != ds.names[i]]
            concept = concepts[char] = {
                "emoji": char,
                "name": ds.names[i],
                "group": group_key(char),
                "words": words,
                "pictures": {},
            }
        concept["pictures"][ds.styles[i]] = i
    listed = list(concepts.values())
    for concept, (tone, sex) in zip(
        listed, describe([c["name"] for c in listed], [c["group"] for c in listed])
    ):
        concept["skin"], concept["gender"] = tone, sex
    styles = list(dict.fromkeys(ds.styles))
    card = {
        "format": FORMAT,
        "data_version": 2,  # builtin/data.py's version of the data set (config.json facts.data_version)
        "images": len(ds),
        "styles": styles,
        "about": (
            f"{len(ds):,} emoji pictures of {len(listed):,} emoji, each drawn by up to {len(styles)} artists' "
            "sets; captions are the emoji's English name, aliases and keywords. Variants of one emoji "
            "(skin tones, woman, man, person) form a group. A caption shared by several emoji was trained on "
            "the pictures that carry it, each equally often, so it means what its pictures show in the "
            "proportions they have. Skin tone and gender are read from the emoji names."
        ),
        "thumb": thumb,
        "columns": columns,
        "concepts": listed,
    }
    return card, buffer.getvalue()


def save_card(card: dict[str, Any], atlas: bytes, out_dir: Path = WEIGHTS) -> tuple[Path, Path]:
    """Write a card made by `make_card` to `out_dir` (the JSON gzipped), each file atomically."""
    from stepthrough.atomic import atomic_write

    out_dir = Path(out_dir)
    text = json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    atomic_write(out_dir / CARD_NAME, gzip.compress(text, compresslevel=9, mtime=0))
    atomic_write(out_dir / ATLAS_NAME, atlas)
    return out_dir / CARD_NAME, out_dir / ATLAS_NAME


def write_card(cache_dir: Path, out_dir: Path = WEIGHTS) -> tuple[Path, Path, Path]:
    """Make the card from the cached data set (builtin/data.py `load_dataset`) and write it, and its
    caption vectors, to `out_dir`."""
    from stepthrough.builtin.data import load_dataset

    card, atlas = make_card(load_dataset(Path(cache_dir)))
    return (*save_card(card, atlas, out_dir), save_vectors(card, out_dir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Write the builtin model's data card from its cached data set."
    )
    parser.add_argument("--cache", type=Path, help="the training cache (holds emoji-v2-*.npz)")
    parser.add_argument(
        "--out", type=Path, default=WEIGHTS, help="where to write datacard.* (default: the weights)"
    )
    parser.add_argument(
        "--vectors", action="store_true", help="only embed the captions of the card already in --out"
    )
    args = parser.parse_args(argv)
    if args.vectors:
        card = load_card(args.out)
        if card is None:
            parser.error(f"{args.out}: no {CARD_NAME} and {ATLAS_NAME} to embed the captions of")
        paths: tuple[Path, ...] = (save_vectors(card.card, args.out),)
    elif args.cache is None:
        parser.error("--cache is needed to make a card (or --vectors, to embed the captions of one)")
    else:
        paths = write_card(args.cache, args.out)
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
