"""Errors a user can cause: one clear line each, no traceback."""

from __future__ import annotations

import errno
from pathlib import Path

import click


class StepthroughError(click.ClickException):
    """A mistake in the user's files or command line; click prints the message and exits."""

    exit_code = 1


class UsageError(StepthroughError):
    """A command line that would do harm or cannot work (an --out that holds other files): exit code 2."""

    exit_code = 2


class ContentError(StepthroughError):
    """Invalid content (site.toml or a section): exit code 2, one line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))

    def format_message(self) -> str:
        return "\n".join(self.problems)

    @classmethod
    def at(cls, path: Path | str, line: int | None, message: str) -> ContentError:
        return cls([located(path, line, message)])


def located(path: Path | str, line: int | None, message: str) -> str:
    """`file:line: message`, the form editors and terminals turn into links."""
    where = f"{path}:{line}" if line else f"{path}"
    return f"{where}: {message}"


HINTS = {
    errno.ENOSPC: "the disk is full; free some space and run again (nothing half-written is kept)",
    errno.EDQUOT: "the disk quota is used up; free some space and run again",
    errno.EACCES: "permission denied; make it readable and writable for you, or choose another folder",
    errno.EPERM: "not permitted; make it writable for you, or choose another folder",
    errno.EROFS: "the file system is read-only; choose a folder on a writable disk",
}


def from_os_error(exc: OSError) -> StepthroughError:
    """An error of the machine (disk full, a folder one may not write) as one line naming the file."""
    where = exc.filename or "(a file)"
    return StepthroughError(f"{where}: {HINTS.get(exc.errno, exc.strerror or str(exc))}")
