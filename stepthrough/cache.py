"""Results a build computes the same way every time, kept between builds in a per-user folder.

Each entry is JSON, named by the sha256 of everything it was computed from (the caller's key, the
source files of the code that computes it, this stepthrough's version), so a changed input or
changed code computes it again. Nothing here is needed: where the folder cannot be written, every
build computes everything. Set STEPTHROUGH_CACHE to use another folder, or to "off".

A leaf module (the bundle package uses it for its file hashes) over the leaf `atomic`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from stepthrough import __version__
from stepthrough.atomic import atomic_write

T = TypeVar("T")


def folder() -> Path | None:
    """Where entries live: $STEPTHROUGH_CACHE, else $XDG_CACHE_HOME/stepthrough or ~/.cache/stepthrough."""
    chosen = os.environ.get("STEPTHROUGH_CACHE")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stepthrough"


def file_digest(path: Path) -> str:
    """sha256 of a (small) file's bytes: a cache key for data and code files."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def remembered(kind: str, key: Any, code: list[Path], compute: Callable[[], T]) -> T:
    """`compute()`'s JSON-able result for `key`, from the cache when an earlier build computed it
    with the same `code` files; computed and stored otherwise."""
    where = folder()
    if where is None:
        return compute()
    name = key_digest({"version": __version__, "key": key, "code": [file_digest(p) for p in code]})
    path = where / kind / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not there yet, or unreadable: compute it again
    value = compute()
    store(path, {"key": key, "value": value})
    return value


def key_digest(key: Any) -> str:
    """sha256 of a JSON-able key's canonical form."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def store(path: Path, value: Any) -> None:
    """Write a JSON entry atomically; nothing when the cache folder cannot be written."""
    try:
        atomic_write(path, json.dumps(value).encode("utf-8"), durable=False)
    except OSError:
        pass  # a read-only home: the next build computes it again
