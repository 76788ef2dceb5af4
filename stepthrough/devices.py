"""Where the model runs: `--device` checked against what this machine has, and launchers that
started fewer processes than they were asked for. Each problem is one line, no traceback."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from stepthrough.errors import StepthroughError

DEVICE = re.compile(r"^(cpu|mps|cuda)(:(\d+))?$")


class DeviceError(StepthroughError):
    """A device this machine cannot give: a usage mistake, exit code 2."""

    exit_code = 2


def check_device(device: str) -> str:
    """`device` when torch can use it here; otherwise a DeviceError saying what this machine has."""
    match = DEVICE.match(device)
    if match is None:
        raise DeviceError(f"--device {device}: expected cpu, cuda, cuda:N or mps")
    kind, index = match.group(1), match.group(3)
    if kind == "cpu":
        return device
    import torch

    if kind == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(
                f"--device mps: Apple's Metal (MPS) is not available on this machine ({_has(torch)}); "
                "use --device cpu"
            )
        return device
    if not torch.cuda.is_available():
        build = "a CPU-only build of torch" if torch.version.cuda is None else "torch sees no CUDA GPU"
        raise DeviceError(f"--device {device}: {build} ({_has(torch)}); use --device cpu")
    count = torch.cuda.device_count()
    if index is not None and int(index) >= count:
        raise DeviceError(
            f"--device {device}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
        )
    return device


def _has(torch) -> str:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append(f"cuda × {torch.cuda.device_count()}")
    if torch.backends.mps.is_available():
        found.append("mps")
    return "available: " + ", ".join(found)


def launcher_warning(environ: Mapping[str, str] = os.environ) -> str | None:
    """A warning when `accelerate launch` ran one process although more were asked for.

    Without `--multi_gpu` (with `--cpu`, say) accelerate's simple launcher starts a single process:
    it sets its ACCELERATE_* variables and, for `--num_processes` above 1, MASTER_ADDR, but no
    WORLD_SIZE, so nothing tells this process how many ranks there were meant to be.
    """
    under_accelerate = "ACCELERATE_MIXED_PRECISION" in environ or "ACCELERATE_USE_CPU" in environ
    if not under_accelerate or "WORLD_SIZE" in environ or "MASTER_ADDR" not in environ:
        return None
    return (
        "accelerate launch started ONE process (it does without --multi_gpu), so this process renders "
        "every trajectory alone. To shard: `accelerate launch --multi_gpu --num_processes N -m "
        "stepthrough precompute --device cuda` (GPUs), or `torchrun --nproc_per_node N -m stepthrough "
        "precompute` (any device)"
    )
