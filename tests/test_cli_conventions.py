"""Command-line manners: --strict, -q/-v, quiet logs, one-line errors, the project folder found from
inside it, --device checked, accelerate's single-process launch named, shell completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import STEPPER_SECTION, write_content
from tiny_model import TinyModel

from stepthrough import log
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.devices import check_device, launcher_warning
from stepthrough.precompute.run import precompute

ROOT = Path(__file__).resolve().parents[1]
TEXT_ONLY = """
    ---
    title: Just words
    ---
    Nothing to render here.
"""
FAR_PROMPT = """
    ---
    title: Coffee
    widget: stepper
    sweep:
      prompts: ["red apple", "a cup of coffee on a wooden table"]
      steps: [2]
    ---
    Words.
"""


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def usual_verbosity():
    yield
    log.configure(0)  # -q / -v of one invocation must not leak into the next test


def test_strict_stops_on_a_prompt_the_builtin_model_never_learned_before_rendering_anything(tmp_path):
    content = write_content(tmp_path / "content", {"01-coffee.md": FAR_PROMPT})
    result = CliRunner().invoke(
        main, ["build", "--strict", "--content", str(content), "--bundles", str(tmp_path / "bundles")]
    )
    assert result.exit_code == 2, result.output
    warning, error = lines(result.output)
    assert warning.startswith(f"warning: {content / 'sections' / '01-coffee.md'}:5: prompt 'a cup of coffee")
    assert "far from anything the builtin model learned" in warning and "nearest it knows: '" in warning
    assert "stepthrough prompts cup" in warning
    assert error == "Error: stopped: 1 warning(s) above, and --strict turns warnings into errors"
    assert not (tmp_path / "bundles").exists(), "--strict must stop before the 30 s render"


def test_a_bundle_holding_trajectories_no_section_uses_warns_and_fails_under_strict(tmp_path):
    site = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\n'
    two = {"01-watch.md": STEPPER_SECTION, "02-more.md": STEPPER_SECTION.replace("a doctor", "rocket")}
    content = write_content(tmp_path / "content", two, site=site)
    precompute(load_content(content), tmp_path / "bundles", model=TinyModel(), progress=False)
    (content / "sections" / "02-more.md").unlink()
    args = [
        "build",
        "--content",
        str(content),
        "--bundles",
        str(tmp_path / "bundles"),
        "--out",
        str(tmp_path / "s"),
    ]

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    expected = (
        f"warning: {tmp_path / 'bundles' / 'b'}: 1 of 3 trajectories are used by no section "
        "(left out of the site; `stepthrough precompute` removes them from the bundle)"
    )
    assert expected in lines(result.output)

    strict = CliRunner().invoke(main, [*args, "--strict"])
    assert strict.exit_code == 2 and expected in lines(strict.output)


def test_quiet_prints_nothing_on_success_and_verbose_says_which_folders(tmp_path):
    content = write_content(tmp_path / "content", {"01-words.md": TEXT_ONLY})
    args = ["build", "--content", str(content), "--out", str(tmp_path / "site")]
    quiet = CliRunner().invoke(main, ["-q", *args])
    assert quiet.exit_code == 0 and quiet.output == ""
    assert (tmp_path / "site" / "index.html").is_file()
    normal = CliRunner().invoke(main, args)
    assert lines(normal.output)[0].startswith(f"Built {tmp_path / 'site' / 'index.html'} in ")
    verbose = CliRunner().invoke(main, ["-v", *args])
    assert f"content {content}, bundle bundles/test-bundle, site {tmp_path / 'site'}" in verbose.output


@pytest.mark.parametrize("inside", ["content", "content/sections"])
def test_build_runs_from_inside_the_content_folder_into_the_project_folder(tmp_path, monkeypatch, inside):
    write_content(tmp_path / "content", {"01-words.md": TEXT_ONLY})
    monkeypatch.chdir(tmp_path / inside)
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "build" / "site" / "index.html").is_file()
    assert not (tmp_path / inside / "build").exists()


def test_new_quotes_the_cd_hint_and_takes_its_title_from_the_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new", "Kitchen Explainer"])
    assert result.exit_code == 0, result.output
    assert "Next: cd 'Kitchen Explainer' && stepthrough build" in result.output
    site = load_content(tmp_path / "Kitchen Explainer" / "content").site
    assert site.title == "Kitchen Explainer" and site.bundle == "Kitchen-Explainer"
    CliRunner().invoke(main, ["new", "bakery_notes"])
    assert load_content(tmp_path / "bakery_notes" / "content").site.title == "Bakery notes"
    CliRunner().invoke(main, ["new", "quotes", "--title", 'Say "cheese" \\ smile'])
    assert load_content(tmp_path / "quotes" / "content").site.title == 'Say "cheese" \\ smile'


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("mps", "--device mps: Apple's Metal (MPS) is not available on this machine (available: cpu)"),
        ("cuda", "--device cuda: "),
        ("gpu", "--device gpu: expected cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_device_this_machine_lacks_is_one_line_and_exit_2(content_dir, no_accelerator, device, message):
    result = CliRunner().invoke(main, ["precompute", "--content", str(content_dir), "--device", device])
    assert result.exit_code == 2, result.output
    [line] = lines(result.output)
    assert line.startswith(f"Error: {message}") and "Traceback" not in result.output


def test_a_gpu_number_past_the_last_gpu_is_refused_naming_those_there_are(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda:1") == "cuda:1"
    with pytest.raises(
        Exception, match=r"--device cuda:2: this machine has 2 CUDA GPU\(s\), cuda:0 to cuda:1"
    ):
        check_device("cuda:2")


def test_accelerates_single_process_launch_is_named_only_when_more_processes_were_asked_for():
    simple = {"ACCELERATE_USE_CPU": "True", "ACCELERATE_MIXED_PRECISION": "no"}
    assert launcher_warning(simple) is None  # --num_processes 1: one process is what was asked
    warning = launcher_warning({**simple, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"})
    assert warning.startswith("accelerate launch started ONE process") and "--multi_gpu" in warning
    sharded = {**simple, "MASTER_ADDR": "127.0.0.1", "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}
    assert launcher_warning(sharded) is None  # --multi_gpu, torchrun: RANK / WORLD_SIZE shard
    assert launcher_warning({"MASTER_ADDR": "127.0.0.1"}) is None  # not accelerate


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="needs accelerate's launcher")
def test_accelerate_launch_cpu_with_two_processes_warns_that_one_process_runs(content_dir, tmp_path):
    result = subprocess.run(
        [
            "accelerate",
            "launch",
            "--cpu",
            "--num_processes",
            "2",
            "-m",
            "stepthrough",
            "precompute",
            "--dry-run",
            "--content",
            str(content_dir),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("trajectories, ") == 1  # one process, as the warning says
    assert "warning: accelerate launch started ONE process" in result.stderr


def test_no_progress_also_silences_diffusers_loading_bars(tiny_pipeline, content_dir, tmp_path):
    model, bundles = str(tiny_pipeline("sd")), str(tmp_path / "bundles")
    result = CliRunner().invoke(
        main, ["precompute", "--no-progress", "--content", str(content_dir), "--bundles", bundles, "--model", model]
    )
    assert result.exit_code == 0, result.output
    assert "Loading pipeline components" not in result.output and "\r" not in result.output


def test_progress_bars_show_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not log.show_progress()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert log.show_progress() and not log.show_progress(no_progress=True)
    log.configure(-1)
    assert not log.show_progress()


def completions(words: str) -> tuple[list[str], bool]:
    """What bash completion offers for `words`, and whether completing loaded torch."""
    code = (
        "import atexit, sys; atexit.register(lambda: print('torch loaded' if 'torch' in sys.modules else '')); "
        "from stepthrough.cli import main; main(prog_name='stepthrough')"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "_STEPTHROUGH_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line], "torch loaded" in out


def test_shell_completion_offers_commands_and_options_without_loading_torch():
    assert completions("stepthrough s") == (["serve"], False)
    assert completions("stepthrough tr") == (["train", "train-particles"], False)
    offered, _ = completions("stepthrough serve --")
    assert {"--port", "--no-open", "--strict", "--content"} <= set(offered)
