"""Ids and fingerprints: every file and trajectory in a bundle is named by a hash of what decides it.

A trajectory's id hashes the model's provenance, the scheduler and the job's parameters, so a
changed prompt, seed, model or scheduler is rendered again and nothing else is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Bump when the same job would produce different files (capture, encoding, layout changes).
BUNDLE_FORMAT = 1
# Bump when a projection's JSON changes shape (2: paths carry "spread"); only projections recompute.
PROJECTION_FORMAT = 2


def json_sha256(value: Any) -> str:
    """sha256 of a JSON-able value's canonical form (sorted keys, no spaces)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def content_hash(key: dict[str, Any]) -> str:
    """The 20-hex-digit id of a JSON-able key."""
    return json_sha256(key)[:20]


# The samplers a trajectory may be rendered with instead of the model's own scheduler (Job.sampler),
# as the page names them; precompute/sampler.py builds each from the model's scheduler config.
SCHEDULERS = {"ddim": "DDIM", "euler": "Euler", "dpm++2m": "DPM-Solver++ (2M)", "heun": "Heun"}
# Bump a sampler's revision when the same job would draw differently with it (2: Heun's first step
# is Euler's), so bundles rendered before render its trajectories again; the others keep their ids.
SAMPLER_REVISIONS = {"heun": 2}


@dataclass(frozen=True, order=True)
class Job:
    """One trajectory to render: a prompt from one seed, with a step count and guidance scale.

    With `towards`, the prompt's embedding is mixed with that prompt's: (1 − blend)·a + blend·b.
    With `sampler` (a key of SCHEDULERS), that sampler instead of the model's own scheduler.
    """

    prompt: str
    seed: int
    steps: int
    guidance: float
    towards: str = ""
    blend: float = 0.0
    sampler: str = ""  # "": the model's own scheduler

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        """Hash of everything that decides this trajectory's pixels."""
        job = asdict(self)
        del job["sampler"]
        if self.sampler:  # keyed "scheduler", as the manifest's trajectories name it
            job["scheduler"] = self.sampler
        if self.sampler in SAMPLER_REVISIONS:
            job["sampler_revision"] = SAMPLER_REVISIONS[self.sampler]
        return content_hash({"format": BUNDLE_FORMAT, "render": fingerprint, "job": job})

    @property
    def evaluations(self) -> int:
        """Denoiser evaluations this trajectory costs: one per step (guidance's two inputs share
        one batched pass), and Heun's second evaluation in every step but the first and the last."""
        return max(2 * self.steps - 2, 1) if self.sampler == "heun" else self.steps


def projection_id(
    fingerprint: dict[str, Any],
    kind: str,
    trajectories: Sequence[Job] = (),
    prompts: Sequence[str] = (),
    method: str = "",
    references: Sequence[Job] = (),
) -> str:
    """Hash of what a projection is drawn from: its kind, the trajectories or prompts, the method."""
    key = {
        "format": BUNDLE_FORMAT,
        "projection_format": PROJECTION_FORMAT,
        "render": fingerprint,
        "kind": kind,
        "trajectories": [job.content_id(fingerprint) for job in trajectories],
        "prompts": tuple(prompts),
        "method": method,
    }
    if references:  # only tallies have them: the key of a projection without them leaves them out
        key["references"] = [job.content_id(fingerprint) for job in references]
    return content_hash(key)


def render_fingerprint(model: dict[str, Any], scheduler: dict[str, Any]) -> dict[str, Any]:
    """The model provenance and scheduler settings that job ids depend on (stored in the manifest)."""
    return {"model": model, "scheduler": scheduler}


# A model on the Hugging Face hub: owner/name. A model id that is not one (nor a plain name such as
# "builtin") is a local folder: pages name it by its base name, never by a path of the author's machine.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")


def display_name(model_id: str) -> str:
    """A model id as a page shows it: a hub id or a plain name as it is, a local folder by its base
    name ("/home/me/client-x/sd15" → "sd15"), control characters left out."""
    model_id = "".join(ch for ch in str(model_id) if ch.isprintable())
    if HUB_ID.match(model_id) or PLAIN_NAME.match(model_id):
        return model_id
    parts = [part for part in re.split(r"[/\\]", model_id) if part not in ("", ".", "..", "~")]
    return parts[-1] if parts else "a local model"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """A file's sha256. A Hugging Face hub download is a link to a blob named by its sha256 (for
    large files): that name is used, so gigabytes of weights are not read again on every run."""
    target = Path(path).resolve()
    if target.parent.name == "blobs" and re.fullmatch(r"[0-9a-f]{64}", target.name):
        return target.name
    return sha256_file(path)


def weights_sha256(files: list[Path], names: list[str] | None = None) -> str:
    """One hash over several weight files: sha256 of 'name sha256' lines, in name order.

    `names` label the files (default: their file names), e.g. "unet/model.safetensors".
    """
    labels = names if names is not None else [path.name for path in files]
    lines = sorted(f"{label} {file_sha256(path)}\n" for label, path in zip(labels, files, strict=True))
    return hashlib.sha256("".join(lines).encode()).hexdigest()
