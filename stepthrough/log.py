"""What the commands tell the author, on stderr: `-q` keeps only warnings and errors, `-v` adds detail.

Every warning goes through `logger` (the one channel): `tally()` counts them, and `stop_if_strict`
turns a count above nought into an error under `--strict`.
Progress bars draw only on a terminal (a log file gets no `\\r` bars) and never under `-q`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import click

from stepthrough.errors import ContentError, printable

logger = logging.getLogger("stepthrough")  # notes on the way, on stderr
results = logging.getLogger("stepthrough.results")  # what a command made ("Built …"), on stdout


class _Echo(logging.Handler):
    def __init__(self, err: bool) -> None:
        super().__init__()
        self.err = err

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno == logging.WARNING else ""
        # messages carry names from outside (a bundle's, a model's): shown, never obeyed
        click.echo(f"{prefix}{printable(record.getMessage())}", err=self.err)


def configure(verbosity: int) -> None:
    """-1 (`-q`): warnings only; 0: the usual lines; 1 or more (`-v`): detail too."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    for log, err in ((logger, True), (results, False)):
        log.setLevel(level)
        log.propagate = False
        if not any(isinstance(h, _Echo) for h in log.handlers):
            log.addHandler(_Echo(err))


configure(0)


def info(message: str) -> None:
    logger.info(message)


def done(message: str) -> None:
    """What the command made, on stdout (not under `-q`)."""
    results.info(message)


def detail(message: str) -> None:
    """Shown under `-v` only."""
    logger.debug(message)


def warning(message: str) -> None:
    logger.warning(message)


def warnings(messages: list[str]) -> None:
    """Each of `messages` as a warning."""
    for message in messages:
        logger.warning(message)


class Tally(logging.Handler):
    """Counts the warnings said while it listens (what `--strict` reads); prints nothing."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextlib.contextmanager
def tally() -> Iterator[Tally]:
    """A Tally of the warnings said inside the `with`, wherever in stepthrough they come from."""
    counter = Tally()
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)


def stop_if_strict(counter: Tally, strict: bool) -> None:
    """Under `--strict`, stop (exit code 2) once any warning was said."""
    if strict and counter.count:
        raise ContentError(
            [f"stopped: {counter.count} warning(s) above, and --strict turns warnings into errors"]
        )


def quiet() -> bool:
    return logger.level > logging.INFO


def verbose() -> bool:
    return logger.level < logging.INFO


def show_progress(no_progress: bool = False) -> bool:
    """Progress bars only on a terminal, and not under --no-progress or -q."""
    return not no_progress and not quiet() and sys.stderr.isatty()


def quiet_library_bars() -> None:
    """No download or 'Loading pipeline components' bars from huggingface_hub, diffusers, transformers.

    Call before a model loads; libraries that are not installed are left alone.
    """
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # read by huggingface_hub and transformers at import
    for module in ("huggingface_hub.utils", "diffusers.utils.logging", "transformers.utils.logging"):
        try:
            library = __import__(module, fromlist=["_"])
        except ImportError:
            continue
        for name in ("disable_progress_bars", "disable_progress_bar"):
            if hasattr(library, name):
                getattr(library, name)()
                break
