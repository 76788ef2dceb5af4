"""Where the builtin model's pictures come from: five emoji sets by four groups of artists, pinned.

Each set is an npm package, fetched with ``npm pack NAME@VERSION`` into a cache folder at
*training* time only (never at build or test time), checked against the sha256 recorded here, and
read straight from the tarball. Apple's and Facebook's sets are left out: their licences do not
allow this use. The keyword list (emojilib) gives each emoji the words people use for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the tarball npm serves

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` writes (``@scope/name`` → ``scope-name-VERSION.tgz``)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


@dataclass(frozen=True)
class Style:
    """One drawing style: an artist's set of emoji, how it is stored, and the credit it asks for."""

    name: str  # our short name, also the word that names the style in captions
    package: Package
    kind: str  # "png-datasource", "iconify-svg" or "webp-assets"
    license: str
    credit: str
    chars_from: Package | None = None  # iconify sets without chars.json borrow the flat set's names


KEYWORDS = Package("emojilib", "4.0.3", "7f9a6b43cff31d18985b7d65d11faba5bd971cbcc60020cf6d09322fbaaaf303")
_FLUENT_FLAT = Package(
    "@iconify-json/fluent-emoji-flat", "1.2.6", "7d064769dee690815f823bc5bcc511d957198caf9f5edd8dd9c1aa48a6aeb175"
)

STYLES: tuple[Style, ...] = (
    Style(
        "noto",
        Package("emoji-datasource-google", "16.0.0", "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438"),
        "png-datasource",
        "Apache-2.0",
        "Noto Emoji by Google (Apache License 2.0)",
    ),
    Style(
        "twemoji",
        Package("emoji-datasource-twitter", "16.0.0", "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877"),
        "png-datasource",
        "CC-BY-4.0",
        "Twemoji by Twitter, Inc and other contributors (CC BY 4.0)",
    ),
    Style(
        "flat",
        _FLUENT_FLAT,
        "iconify-svg",
        "MIT",
        "Fluent Emoji (flat) by Microsoft Corporation (MIT)",
    ),
    Style(
        "fluent",
        Package("@iconify-json/fluent-emoji", "1.2.7", "8044210dbf11e016d4de85f15d01a243423bd832457e7e2491df1b751c0e272b"),
        "iconify-svg",
        "MIT",
        "Fluent Emoji (colour) by Microsoft Corporation (MIT)",
        chars_from=_FLUENT_FLAT,
    ),
    Style(
        "3d",
        Package("@lobehub/fluent-emoji-3d", "1.1.0", "c1bb7eee7de090205a232518a9ab4adb3df458bfbe8a1f78232991194c8b2e58"),
        "webp-assets",
        "MIT",
        "Fluent Emoji (3D) by Microsoft Corporation, packaged by LobeHub (MIT)",
    ),
)


def key_of(codepoints: str) -> str:
    """One spelling for an emoji's code points: lower-case hex joined by '-', variation selectors dropped."""
    parts = [p.lower() for p in re.split(r"[-_ ]", codepoints) if p]
    return "-".join(p for p in parts if p != "fe0f")


def key_of_char(char: str) -> str:
    return key_of("-".join(f"{ord(c):x}" for c in char))


def fetch(package: Package, cache_dir: Path) -> Path:
    """The package's tarball in ``cache_dir``, fetched with ``npm pack`` if missing, sha256 checked."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / package.tarball
    if not path.exists():
        try:
            subprocess.run(
                ["npm", "pack", f"{package.name}@{package.version}", "--silent"],
                cwd=cache_dir, check=True, capture_output=True, text=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise RuntimeError(f"could not fetch {package.name}@{package.version} with npm pack: {detail}") from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != package.sha256:
        raise RuntimeError(f"{path}: sha256 {digest} is not the pinned {package.sha256}; delete it and fetch again")
    return path


def _read_json(path: Path, member: str):
    with tarfile.open(path) as tar:
        return json.load(tar.extractfile(member))


def read_keywords(cache_dir: Path) -> dict[str, list[str]]:
    """emojilib's words per emoji key (its first entry, the slug name, left out)."""
    data = _read_json(fetch(KEYWORDS, cache_dir), "package/dist/emoji-en-US.json")
    return {key_of_char(char): [w.replace("_", " ") for w in words[1:]] for char, words in data.items()}


def read_categories(cache_dir: Path) -> dict[str, tuple[str, str]]:
    """Unicode's (category, subcategory) per emoji key, skin-tone variants included."""
    data = _read_json(fetch(STYLES[0].package, cache_dir), "package/emoji.json")
    out: dict[str, tuple[str, str]] = {}
    for entry in data:
        cat = (entry["category"], entry["subcategory"])
        out[key_of(entry["unified"])] = cat
        for variant in entry.get("skin_variations", {}).values():
            out[key_of(variant["unified"])] = cat
    return out


def read_style(style: Style, cache_dir: Path, size: int) -> Iterator[tuple[str, Image.Image]]:
    """Every picture of one style as (emoji key, RGBA image of ``size``×``size``)."""
    path = fetch(style.package, cache_dir)
    if style.kind == "png-datasource":
        folder = "google" if "google" in style.package.name else "twitter"
        prefix = f"package/img/{folder}/64/"
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(prefix) and member.name.endswith(".png"):
                    image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGBA")
                    yield key_of(member.name[len(prefix) : -4]), image.resize((size, size), Image.Resampling.LANCZOS)
    elif style.kind == "webp-assets":
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith("package/assets/") and member.name.endswith(".webp"):
                    image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGBA")
                    yield key_of(Path(member.name).stem), image.resize((size, size), Image.Resampling.LANCZOS)
    elif style.kind == "iconify-svg":
        import resvg_py  # training-time only: a self-contained SVG rasteriser wheel

        names_path = fetch(style.chars_from or style.package, cache_dir)
        chars = _read_json(names_path, "package/chars.json")
        icons = _read_json(path, "package/icons.json")
        width, height = icons.get("width", 16), icons.get("height", 16)
        for codepoints, name in chars.items():
            icon = icons["icons"].get(name) or icons["icons"].get(icons.get("aliases", {}).get(name, {}).get("parent"))
            if icon is None:
                continue
            w, h = icon.get("width", width), icon.get("height", height)
            svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}">{icon["body"]}</svg>'
            png = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size))
            yield key_of(codepoints), Image.open(io.BytesIO(png)).convert("RGBA")
    else:
        raise ValueError(f"unknown style kind {style.kind!r}")
