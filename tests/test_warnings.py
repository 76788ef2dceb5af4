"""One warning channel: every warning a build says goes through `stepthrough.log`, which counts it,
and `--strict` reads that one count; `build` is a thin command over `stepthrough.make.build_project`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import STEPPER_SECTION, write_content
from test_cli_conventions import FAR_PROMPT
from tiny_model import TinyModel

from stepthrough import log
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.errors import ContentError
from stepthrough.make import build_project
from stepthrough.precompute.run import precompute

STRICT_STOP = "Error: stopped: {n} warning(s) above, and --strict turns warnings into errors"
TINY_SITE = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\n'
RAW_HTML = """
    ---
    title: Words
    ---
    Some <b>bold</b> words.
"""


@pytest.fixture(autouse=True)
def usual_verbosity():
    yield
    log.configure(0)


def raw_html(tmp_path: Path) -> Path:
    return write_content(tmp_path / "content", {"01-words.md": RAW_HTML})


def unknown_prompt(tmp_path: Path) -> Path:
    return write_content(tmp_path / "content", {"01-coffee.md": FAR_PROMPT})


def unused_trajectories(tmp_path: Path) -> Path:
    two = {"01-watch.md": STEPPER_SECTION, "02-more.md": STEPPER_SECTION.replace("a doctor", "rocket")}
    content = write_content(tmp_path / "content", two, site=TINY_SITE)
    precompute(load_content(content), tmp_path / "bundles", model=TinyModel(), progress=False)
    (content / "sections" / "02-more.md").unlink()
    return content


WARNED = {  # content that builds, with the warning it earns
    "raw HTML": (raw_html, "01-words.md:4: raw HTML '<b>' is shown as text"),
    "an unknown prompt": (unknown_prompt, "01-coffee.md:5: prompt 'a cup of coffee"),
    "unused trajectories": (unused_trajectories, "1 of 3 trajectories are used by no section"),
}


def build(tmp_path: Path, content: Path, *extra: str):
    args = ["build", "--content", str(content), "--bundles", str(tmp_path / "bundles")]
    return CliRunner().invoke(main, [*args, "--out", str(tmp_path / "site"), *extra])


@pytest.mark.parametrize("case", WARNED)
def test_strict_stops_the_build_with_exit_code_2_on_each_kind_of_warning_and_writes_nothing(tmp_path, case):
    make, expected = WARNED[case]
    result = build(tmp_path, make(tmp_path), "--strict")
    assert result.exit_code == 2, result.output
    *warnings, error = [line for line in result.output.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and expected in warnings[0]
    assert error == STRICT_STOP.format(n=1)
    assert "Traceback" not in result.output and not (tmp_path / "site").exists()


@pytest.mark.parametrize("case", WARNED)
def test_each_warning_is_counted_by_the_one_channel_that_strict_reads(tmp_path, case):
    content = WARNED[case][0](tmp_path)
    with log.tally() as warned, pytest.raises(ContentError, match="--strict turns warnings into errors"):
        build_project(content, tmp_path / "bundles", tmp_path / "site", strict=True)
    assert warned.count == 1


def test_without_strict_the_warning_is_said_once_and_the_site_is_built(tmp_path):
    result = build(tmp_path, raw_html(tmp_path))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and WARNED["raw HTML"][1] in warnings[0]
    assert (tmp_path / "site" / "index.html").is_file()


def test_a_warning_said_anywhere_in_the_build_counts_under_strict(tmp_path, monkeypatch):
    """A new check needs no strict mode of its own: saying its warning through `log` is enough."""
    from stepthrough.site import claims

    content = write_content(tmp_path / "content", {"01-watch.md": STEPPER_SECTION}, site=TINY_SITE)
    precompute(load_content(content), tmp_path / "bundles", model=TinyModel(), progress=False)
    monkeypatch.setattr(claims, "check_claims", lambda *args: log.warning("a check not yet written") or [])
    result = build(tmp_path, content, "--strict")
    assert result.exit_code == 2 and "warning: a check not yet written" in result.output
    assert result.output.splitlines()[-1] == STRICT_STOP.format(n=1)


def test_the_library_function_and_the_command_write_the_same_site(tiny_project, tmp_path):
    content, bundles = tiny_project / "content", tiny_project / "bundles"
    made = build_project(content, bundles, tmp_path / "library")
    result = CliRunner().invoke(
        main, ["build", "--content", str(content), "--bundles", str(bundles), "--out", str(tmp_path / "cli")]
    )
    assert result.exit_code == 0, result.output
    assert made == tmp_path / "library"
    assert files_of(made) == files_of(tmp_path / "cli")


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_serve_builds_through_the_library_function_not_the_build_command():
    """serve neither re-invokes the click command `build` nor hides its success line by its text."""
    from stepthrough import make
    from stepthrough.commands import serve

    assert serve.build_project is make.build_project
    assert not hasattr(serve, "build") and not log.results.filters
