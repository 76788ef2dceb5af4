"""Training the builtin model: a stopped run resumes every phase where it stopped, and exported
weights warm-start a new run. Tiny networks on six emoji, a few steps each."""

from __future__ import annotations

import dataclasses
import json
import signal
from pathlib import Path

import pytest
import torch

from stepthrough.builtin import export, train
from stepthrough.builtin.config import TrainConfig
from stepthrough.builtin.data import build_dataset

CLOCK = train.Clock
HANDFUL = ["😀", "🐼", "🇯🇵", "🧑‍⚕️", "👨🏽‍⚕️", "👩🏿‍⚕️"]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny recipe whose data set is six Noto emoji; training's signal handlers are undone after."""
    ds = build_dataset(HANDFUL)
    monkeypatch.setattr(train, "load_dataset", lambda cache_dir: ds)
    monkeypatch.setattr(export, "load_dataset", lambda cache_dir: ds)
    (tmp_path / "runs" / "cache").mkdir(parents=True)  # where the caption vectors are cached
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield TrainConfig(
        run_dir=str(tmp_path / "runs" / "tiny"), threads=1, busy_threads=1, augmentations=2,
        ae_channels=(8, 8, 8), ae_steps=4, ae_batch=4, unet_channels=(32, 32), unet_heads=2,
        unet_steps=6, batch_size=4, warmup_steps=100, log_every=2,
    )
    for s, handler in handlers.items():
        signal.signal(s, handler)


def stop_after(monkeypatch, steps: int) -> None:
    """The next run is stopped (as by SIGTERM) after this many training steps."""

    class Stopping(CLOCK):
        def up(self) -> bool:
            self.checks = getattr(self, "checks", 0) + 1
            self.stopped = self.stopped or self.checks > steps
            return super().up()

    monkeypatch.setattr(train, "Clock", Stopping)


def log_lines(run_dir: Path) -> list[dict[str, str]]:
    lines = (run_dir / "train.log").read_text().splitlines()
    return [dict(part.split("=", 1) for part in line.split()[1:]) for line in lines]


def checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)


def test_a_stopped_run_resumes_each_phase_where_it_stopped(tiny, monkeypatch):
    run_dir = Path(tiny.run_dir)
    stop_after(monkeypatch, 3)
    train.train(tiny, None, False, "first", init_from=run_dir)  # no shipped weights there: a fresh start
    first = checkpoint(run_dir)["state"]
    assert (first["ae_step"], first["unet_step"]) == (3, 0)
    assert not (run_dir / "latents.pt").exists()  # the autoencoder is not done: no latent bank yet

    stop_after(monkeypatch, 1000)
    train.train(tiny, None, False, "second", init_from=run_dir)
    done = checkpoint(run_dir)
    assert (done["state"]["ae_step"], done["state"]["unet_step"]) == (4, 6)
    assert (done["state"]["ae_images"], done["state"]["unet_images"]) == (4 * 4, 6 * 4)  # steps × batch
    assert done["state"]["commands"] == ["first", "second"]
    events = log_lines(run_dir)
    assert {"event": "resume", "ae_step": "3", "unet_step": "0"} in events
    assert [e["step"] for e in events if e.get("phase") == "ae"] == ["2", "4"]  # 2 before the stop, 4 after
    assert [e["step"] for e in events if e.get("phase") == "unet"] == ["2", "4", "6"]

    # stopped in the UNet's loop, then resumed: its optimizer comes back, so the warm-up goes on
    longer = dataclasses.replace(tiny, unet_steps=10)
    stop_after(monkeypatch, 1)
    train.train(longer, None, False, "third", init_from=run_dir)
    assert checkpoint(run_dir)["state"]["unet_step"] == 7
    stop_after(monkeypatch, 1000)
    train.train(longer, None, False, "fourth", init_from=run_dir)
    last = checkpoint(run_dir)
    assert last["state"]["unet_step"] == 10
    lr = [float(e["lr"]) for e in log_lines(run_dir) if e.get("phase") == "unet"]
    assert lr[-1] == pytest.approx(train.lr_at(9, longer), rel=1e-4)  # step 10 of one warm-up, not of a new one
    assert lr[-1] > train.lr_at(9 - 7, longer) * 2
    # the autoencoder is done: its weights and its latent bank stay as they were
    assert all(torch.equal(last["ae"][k], done["ae"][k]) for k in done["ae"])
    assert sum(e.get("event") == "latent_bank" for e in log_lines(run_dir)) == tiny.augmentations
    assert [e["unet_step"] for e in log_lines(run_dir) if e.get("event") == "checkpoint"][-1] == "10"


def test_exported_weights_warm_start_a_new_run_with_a_fresh_warm_up(tiny, tmp_path):
    train.train(tiny, None, False, "trained", init_from=tmp_path / "none")
    ckpt = Path(tiny.run_dir) / "checkpoint.pt"
    out = export.export(ckpt, tmp_path / "weights")
    facts = json.loads((out / "config.json").read_text())["facts"]
    assert (facts["autoencoder_steps"], facts["unet_steps"], facts["commands"]) == (4, 6, ["trained"])
    assert "6 steps of batch 4" in (out / "MODEL_CARD.md").read_text()
    again = export.export(ckpt, tmp_path / "again")
    for name in ("unet.safetensors", "autoencoder.safetensors", "config.json", "MODEL_CARD.md", "vocabulary.json"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name

    other = dataclasses.replace(tiny, run_dir=str(tmp_path / "runs" / "other"), unet_steps=8)
    train.train(other, None, False, "from the export", init_from=out)
    state = checkpoint(Path(other.run_dir))["state"]
    assert (state["ae_step"], state["unet_step"]) == (4, 8)  # the autoencoder is not trained again
    assert state["commands"] == ["trained", "from the export"]
    events = log_lines(Path(other.run_dir))
    assert {"event": "resume", "ae_step": "4", "unet_step": "6"} in events
    lr = [float(e["lr"]) for e in events if e.get("phase") == "unet"]
    assert lr == [pytest.approx(train.lr_at(7, other, warm_from=6), rel=1e-4)]  # a new optimizer warms up again
