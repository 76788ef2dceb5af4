"""One writer at a time: a build per output folder, a precompute per bundle."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from stepthrough.errors import StepthroughError

LOCK_NOTE = ".stepthrough.lock"  # the holder's pid, while a lock is held


@contextlib.contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `folder` while `what` runs; a second run waits, saying who holds it.

    The lock is flock() on the folder itself, so the system drops it when its holder dies (kill -9
    leaves no stale lock); LOCK_NOTE beside it only tells a waiting run the holder's pid.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; runs are not serialised there
        yield
        return
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise StepthroughError(f"{folder}: is a file, not a folder; move it away or choose another name")
    folder.mkdir(parents=True, exist_ok=True)
    note = folder / LOCK_NOTE
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = note.read_text(encoding="utf-8").strip() if note.is_file() else "another process"
            print(f"{folder}: {holder} is {what} here; waiting for it to finish …", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without flock: go on unlocked
            pass
        note.write_text(f"pid {os.getpid()}\n", encoding="utf-8")
        try:
            yield
        finally:
            note.unlink(missing_ok=True)
    finally:
        os.close(fd)  # releases the lock
