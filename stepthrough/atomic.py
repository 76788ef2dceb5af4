"""The one atomic writer: a file or a folder appears whole or not at all.

Everything stepthrough writes for others to read (manifests, frames, shards, the site, its zip and
single-file exports, trained weights) goes through here: written beside its target under a
temporary name, then renamed over it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it is renamed over `path`, so
    readers never see half a file. On an error it is removed and `path` is left as it was.

    `durable` also flushes it to disk before the rename. Frames skip that: a frame lost to a power
    cut no longer matches its sha256 in the manifest, so the next run renders it again.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        usual_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` atomically (see atomic_file)."""
    with atomic_file(path, durable=durable) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside `path` to fill; on success it replaces `path`, so a
    reader sees the old folder or the new one and `path` is never missing: one exchange where the
    system offers it (Linux), else two renames (a crash between them is undone by clean_leftovers).
    On an error the staging folder goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.building-"))
    try:
        usual_permissions(staging)
        yield staging
        if path.is_dir() and not path.is_symlink() and _exchange(staging, path):
            shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old folder
            return
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{staging.name[-8:]}")
            path.rename(old)
        staging.rename(path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not offered."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_cwd, exchange = -100, 2
    return renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), exchange) == 0


def clean_leftovers(path: Path) -> None:
    """Remove what a killed atomic_folder(path) left beside `path`, first putting back a folder a
    crash left moved aside. Only while no other writer of `path` runs (hold its folder_lock)."""
    path = Path(path)
    olds = sorted(path.parent.glob(f".{path.name}.old-*"))
    if olds and not path.exists():
        olds.pop().rename(path)
    for leftover in [*olds, *path.parent.glob(f".{path.name}.building-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def usual_permissions(path: Path) -> None:
    """Give a temp file (0600) or folder (0700) the permissions open() or mkdir() would have, so a
    static web server running as another user can read the site, and a copied bundle stays readable."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
