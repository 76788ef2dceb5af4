"""Errors a user can cause: one clear line each, no traceback."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import click

# What a terminal would obey rather than show: C0 and C1 controls (ESC retitles a window, CR
# overwrites a line) and the marks that reorder text (bidi overrides, isolates).
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NEWLINES = re.compile("[\n\u2028\u2029]")


def printable(text: str, newlines: bool = True) -> str:
    """Text from outside (a bundle's names and keys, a model id) as a terminal shows it, not obeys
    it: controls written as escapes (ESC → \\x1b); line ends too unless `newlines`."""
    text = CONTROLS.sub(_escape, str(text))
    return text if newlines else NEWLINES.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class StepthroughError(click.ClickException):
    """A mistake in the user's files or command line; click prints the message and exits."""

    exit_code = 1

    def format_message(self) -> str:
        return printable(self.message)


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
        return printable("\n".join(self.problems))

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
