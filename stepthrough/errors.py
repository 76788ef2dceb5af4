"""Errors a user can cause: one clear line each, no traceback."""

from __future__ import annotations

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
