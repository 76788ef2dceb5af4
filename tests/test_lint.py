"""ruff, with its complexity check, finds nothing in the package, the tests or the benchmarks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("ruff")
ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing_in_the_package_tests_and_benchmarks():
    result = ruff("stepthrough", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_projects_ruff_settings_refuse_a_function_of_thirteen_branches(tmp_path):
    branches = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(12))
    source = tmp_path / "tangled.py"
    source.write_text(textwrap.dedent("def tangled(x):\n") + branches + "    return -1\n")
    result = ruff("--config", str(ROOT / "pyproject.toml"), str(source))
    assert "C901 `tangled` is too complex (13 > 12)" in result.stdout
