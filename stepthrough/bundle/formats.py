"""What a bundle may hold, and how each kind of file is known: pictures (WebP, PNG) by their magic
bytes and header, projections (JSON), latents (NumPy .npy). The one place that knows these formats.

A bundle is pictures and data, nothing else: the site's copy of a picture is named by its detected
format, never by the name the manifest gives it, and a picture is decoded only after its header
says it is the size the manifest declares.
"""

from __future__ import annotations

import contextlib
import functools
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.lib.format as npy
from PIL import Image

# What each bundle folder holds, by the suffix of its files' names (and, read, by their bytes).
FOLDER_FORMATS = {"frames": ("webp", "png"), "latents": ("npy",), "projections": ("json",)}
PICTURES = ("webp", "png")
SUFFIXES = {"webp": ".webp", "png": ".png", "npy": ".npy", "json": ".json"}
NAMED = {"webp": "a WebP picture", "png": "a PNG picture", "npy": "a NumPy array (.npy)", "json": "JSON"}
# A file name in a bundle: what precompute writes (hex ids, '-', a suffix); nothing a terminal, a
# CSS url() or an HTML attribute would read as more than a name.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_SIDE = 16383  # WebP's own limit on either side of a picture
MAX_PIXELS = 1 << 26  # one strip: 51 frames of 1024 × 1024 fit; decoded, 200 MB of RGB at most
HEAD = 32  # bytes that hold every header read here


@dataclass(frozen=True)
class Picture:
    """What a picture file's first bytes say it is."""

    format: str  # "webp" or "png"
    width: int
    height: int

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.format]


@functools.lru_cache(maxsize=8192)  # a build asks this of each file's name several times
def name_problem(rel: str) -> str | None:
    """Why a bundle path's file name or suffix is not one a bundle may hold, or None."""
    folder, _, name = rel.partition("/")
    allowed = FOLDER_FORMATS.get(folder, ())
    if "/" in name or not NAME.fullmatch(name):
        return f"{rel!r}: expected a file name of letters, digits, '.', '_' and '-'"
    if not any(name.endswith(SUFFIXES[kind]) for kind in allowed):
        kinds = " or ".join(SUFFIXES[kind] for kind in allowed)
        return f"{rel!r}: {folder}/ holds only {kinds} files"
    return None


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file show ("webp", "png", "npy", "json"), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head.lstrip(b" \t\r\n")[:1] in (b"{", b"["):
        return "json"
    return None


def picture_of(head: bytes) -> Picture | None:
    """A WebP or PNG picture's format and size, read from its header alone (nothing is decoded)."""
    kind = sniff(head)
    if kind == "png" and head[12:16] == b"IHDR" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return Picture("png", width, height)
    if kind != "webp" or len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: a key frame's start code
        width, height = struct.unpack("<HH", head[26:30])
        return Picture("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and head[20] == 0x2F:  # lossless: 14 bits each, less one
        bits = int.from_bytes(head[21:25], "little")
        return Picture("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":  # extended: the canvas, 24 bits each, less one
        return Picture("webp", int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1)
    return None


def read_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEAD)


def picture_problem(head: bytes, size: tuple[int, int] | None) -> tuple[Picture | None, str | None]:
    """(the picture, None), or (None, why these first bytes are not a WebP or PNG picture of `size`)."""
    picture = picture_of(head)
    if picture is None:
        found = sniff(head)
        return None, f"not a WebP or PNG picture (it holds {NAMED[found] if found else 'something else'})"
    if size is not None and (picture.width, picture.height) != tuple(size):
        return None, (
            f"its header says {picture.width} × {picture.height} pixels, but the manifest declares "
            f"{size[0]} × {size[1]}"
        )
    return picture, None


def data_problem(head: bytes, kind: str) -> str | None:
    """Why a data file's first bytes are not of `kind` ("json" or "npy"), or None."""
    found = sniff(head)
    if found == kind:
        return None
    return f"not {NAMED[kind]} (it holds {NAMED[found] if found else 'something else'})"


class FormatError(ValueError):
    """A file that is not what the manifest says: a picture that cannot be decoded (truncated,
    damaged, not the size it says), an array of another shape."""


def load_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The .npy array at `path` (latents), once its header says it is numbers of `shape` (so a
    header claiming a billion numbers allocates nothing); never pickled objects. FormatError otherwise."""
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    try:
        with open(path, "rb") as handle:
            reader = readers.get(npy.read_magic(handle))
            if reader is None:
                raise ValueError("a .npy version this stepthrough does not read")
            found, _, dtype = reader(handle)
            if found != tuple(shape) or dtype.kind not in "fiu":
                raise FormatError(f"an array of {dtype} {list(found)}, expected numbers of shape {list(shape)}")
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"cannot be read as an array ({exc}); the file is damaged or truncated") from None


@contextlib.contextmanager
def opened_picture(path: Path, size: tuple[int, int]) -> Iterator[Image.Image]:
    """The picture at `path`, decoded, once its header says it is a WebP or PNG of `size` (width,
    height); PIL refuses to decode more pixels than that. FormatError when it is not, or is damaged."""
    _, problem = picture_problem(read_head(path), size)
    if problem is not None:
        raise FormatError(problem)
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max(1, size[0] * size[1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=["WEBP", "PNG"])
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FormatError(f"cannot be decoded ({exc}); the file is damaged or truncated") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    with image:
        yield image
