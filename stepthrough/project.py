"""The project folder: where content/, bundles/ and build/ sit, found from the current folder.

An author may run stepthrough from the project folder (which holds content/) or from inside the
content folder or its sections/: the defaults then point at the project folder above.
"""

from __future__ import annotations

from pathlib import Path


def content_here() -> Path | None:
    """The content folder the current folder is, or is inside (sections/), when there is no ./content."""
    if Path("content").is_dir():
        return None
    for folder in (Path("."), Path("..")):
        if (folder / "site.toml").is_file() and (folder / "sections").is_dir():
            return folder
    return None


def default_content() -> Path:
    inside = content_here()
    return Path("content") if inside is None else inside


def default_bundles() -> Path:
    return _beside("bundles")


def default_out() -> Path:
    return _beside("build/site")


def _beside(name: str) -> Path:
    """`name` in the project folder, written the short way (`bundles`, `../bundles`)."""
    inside = content_here()
    return Path(name) if inside is None else Path(inside, "..", name)
