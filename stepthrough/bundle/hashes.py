"""File hashes a build trusts without reading the file again: a sha256 is remembered with the
file's size, modification and change times, inode and device, and read again when any of them
moved (writing, renaming over or touching a file changes its change time, which no tool sets back).

Kept in the per-user cache folder (stepthrough.cache), one table per bundle folder, so building
again from a complete bundle stats its files instead of hashing 16 MB. `stepthrough check`
hashes every file for real: it is the command for damage that leaves the times alone.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path

from stepthrough import cache
from stepthrough.bundle.ids import sha256_file

_TABLES: dict[str, dict[str, list]] = {}  # bundle folder (real path) → file name → [stat key..., sha256]
_CHANGED: set[str] = set()


def trusted_sha256(root: str, rel: str, st: os.stat_result | None = None) -> str:
    """sha256 of root/rel (`root`: the bundle folder's real path), from the table when the file's
    stat (`st`, when the caller has just taken it) still matches."""
    table = _table(root)
    st = st if st is not None else os.stat(os.path.join(root, rel))
    key = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    entry = table.get(rel)
    if entry is not None and entry[:-1] == key:
        return entry[-1]
    digest = sha256_file(os.path.join(root, rel))
    table[rel] = [*key, digest]
    if not _CHANGED:
        atexit.register(save)
    _CHANGED.add(root)
    return digest


def _where(root: str) -> Path | None:
    folder = cache.folder()
    return folder / "file-hashes" / f"{cache.key_digest(root)}.json" if folder else None


def _table(root: str) -> dict[str, list]:
    if root not in _TABLES:
        path = _where(root)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            loaded = {}
        _TABLES[root] = loaded if isinstance(loaded, dict) and loaded.get("root") == root else {"root": root}
    return _TABLES[root]


def save() -> None:
    """Write the tables that changed (at exit; `serve` keeps them in memory between rebuilds too)."""
    for root in list(_CHANGED):
        path = _where(root)
        if path is not None:
            cache.store(path, _TABLES[root])
    _CHANGED.clear()
