"""Draw it yourself: the builtin model runs in the page, on any emoji name it learned, any seed,
1–50 steps, guidance 0–20, DDIM or Euler, every step shown as it comes.

draw.html shows the section's precomputed trajectory (its static frame, and what a reader without
JavaScript sees); draw.js loads the model only when the reader asks for a drawing: one classic
script (`draw-model.js`: draw-engine.js, the float16 weights and the captions' token states as
base64), made here at build from the files shipped in the package, run in a Worker made from a
blob (the one kind a page opened from file:// may start). draw-engine.js is the UNet, decoder,
samplers and torch's seeded noise in plain JavaScript; tests compare it with PyTorch.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from stepthrough import locale, log, vocabulary
from stepthrough.errors import StepthroughError
from stepthrough.options import Schema
from stepthrough.widgets.base import DEFAULT_BLEND, Widget, trajectory_entry
from stepthrough.widgets.draw.captions import read_captions

HERE = Path(__file__).resolve().parent
ENGINE = HERE / "draw-engine.js"
WEBGL = HERE / "draw-webgl.js"  # its GPU path
SAMPLERS = ("ddim", "euler")
LIMITS = {"steps": [1, 50], "guidance": [0, 20]}


class DrawSettings(Schema):
    """The live drawing takes no settings: its sweep's one trajectory is the static frame and first state."""

    none_hint = "(none: the sweep's one trajectory is the starting state)"


class Draw(Widget):
    name = "draw"
    settings = DrawSettings

    def sweep_problems(self, sweep) -> list[tuple[str, str]]:
        problems = []
        towards = getattr(sweep, "towards", None)
        blends = len(sweep.blend or DEFAULT_BLEND) if towards else 1
        if len(sweep.prompts) * len(sweep.seeds) * len(sweep.steps) * len(sweep.guidance) * blends != 1:
            message = (
                "expected one prompt, seed, step count and guidance (with 'towards:', one 'blend:'): "
                "the drawing's first state"
            )
            problems.append(("sweep", message))
        known = set(read_captions().texts)
        for prompt in sweep.prompts:
            if prompt not in known:
                problems.append(
                    ("sweep.prompts", f"{prompt!r} is not a caption the page can draw: use an emoji's name")
                )
        if towards and towards not in known:
            problems.append(
                ("sweep.towards", f"{towards!r} is not a caption the page can blend towards: use an emoji's name")
            )
        for steps in sweep.steps:
            if not LIMITS["steps"][0] <= steps <= LIMITS["steps"][1]:
                problems.append(("sweep.steps", f"expected 1 to 50 steps (got {steps})"))
        for name in sweep.schedulers or []:
            if name not in SAMPLERS:
                problems.append(
                    ("sweep.schedulers", f"the page draws with {' or '.join(SAMPLERS)} (got {name!r})")
                )
        return problems

    def room_problems(self, section, prompt: str) -> list[tuple[str, str]]:
        """Any draw section can be the room: every device draws its own seed live, of the room's
        `prompt:` (else the section's own)."""
        if prompt and prompt not in read_captions().texts:
            return [("prompt", f"the draw widget cannot draw {prompt!r}; expected an emoji's name (`stepthrough prompts WORD` lists them)")]
        return []

    def room_link(self, section, prompt: str) -> str:
        return f"#{section.id}?{urlencode({'prompt': prompt or section.meta.sweep.prompts[0], 'seed': 'room'})}"

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The precomputed trajectory (the first state), the search index, and the model script's URL."""
        manifest = assets.manifest
        trajectory = trajectory_entry(assets, trajectory_ids[0], ("xt", "x0", "noise"))
        record = manifest.trajectories[trajectory_ids[0]]
        trajectory["sampler"] = record.scheduler or "ddim"
        runs = runs_in_page(manifest.model)
        if not runs:
            log.warning(
                f"section '{section.id}': widget 'draw' runs the builtin model's shipped weights in the page, "
                f"but the bundle was made with model {manifest.model.get('id')!r} (revision "
                f"{manifest.model.get('revision')!r}): the page shows its precomputed picture only"
            )
        script = model_script() if runs else b""
        pads = pads_script() if runs else b""
        return {
            "id": section.id,
            "trajectory": trajectory,
            "model": assets.file_url(script, ".js") if runs else None,
            "modelBytes": len(script),
            # a blend's second script: the captions' padding states, loaded only when one is drawn
            "pads": assets.file_url(pads, ".js") if runs else None,
            "padsBytes": len(pads),
            "index": search_index(),
            # each caption's tokens: a blend of two captions of one length needs no padding states
            "tokens": np.diff(read_captions().offsets).tolist(),
            "limits": LIMITS,
            "samplers": list(SAMPLERS),
            # The script's words travel here, in the data file that loads near the widget, not in
            # the page's phrase table: the first screen carries no byte of them (draw.js fills slots).
            "phrases": {k: v for k, v in locale.now().parts["page"].items() if k.startswith("draw.")},
        }


def runs_in_page(model: dict[str, Any]) -> bool:
    """True when the bundle was drawn with the weights shipped in this stepthrough: the page runs
    those, so only then does it draw what the bundle shows."""
    from stepthrough.builtin.fingerprint import builtin_weights_sha256

    return model.get("id") == "builtin" and model.get("weights_sha256") == builtin_weights_sha256()


def search_index() -> list[list[str]]:
    """[caption, words that find it]: each drawable name with its aliases' and keywords' words (its
    skin-tone variants' too), so "spooky" finds "ghost"."""
    texts = read_captions().texts
    extra: dict[str, set[str]] = {text: set() for text in texts}
    for concept in vocabulary.load().concepts:
        variant = vocabulary.skin_tone_variant(concept.name)
        name = variant[0] if variant else concept.name
        if name in extra:
            extra[name].update(concept.words - set(vocabulary.words(name)))
    return [[text, " ".join(sorted(extra[text]))] for text in texts[1:]]


def model_script() -> bytes:
    """draw-engine.js, draw-webgl.js and one global holding the weights (float16 safetensors, base64) and config.
    The files go as they are (the autoencoder's encoder too, a tenth of the whole, which the page
    never reads): the light install, without the safetensors package, builds it."""
    from stepthrough.builtin.fingerprint import BUILTIN_WEIGHTS
    from stepthrough.widgets.draw.captions import CAPTIONS_FILE

    config = json.loads((BUILTIN_WEIGHTS / "config.json").read_text(encoding="utf-8"))
    captions = read_captions()
    ae_config = config["autoencoder"]
    side = ae_config["sample_size"] // 2 ** (len(ae_config["block_out_channels"]) - 1)
    head = {
        "revision": config["revision"],
        "config": {"unet": config["unet"], "autoencoder": ae_config},
        "latentShape": [ae_config["latent_channels"], side, side],
        "alphasCumprod": [float(v) for v in alphas_cumprod(config["scheduler"])],
        "captions": captions.texts,
    }

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    code = (
        ENGINE.read_text(encoding="utf-8")
        + WEBGL.read_text(encoding="utf-8")
        + "\nwindow.StepthroughDrawModel = "
        + json.dumps(head, ensure_ascii=False, separators=(",", ":"))
        + ';\nwindow.StepthroughDrawModel.unet = "'
        + b64((BUILTIN_WEIGHTS / "unet.safetensors").read_bytes())
        + '";\nwindow.StepthroughDrawModel.decoder = "'
        + b64((BUILTIN_WEIGHTS / "autoencoder.safetensors").read_bytes())
        + '";\nwindow.StepthroughDrawModel.captionStates = "'
        + b64(CAPTIONS_FILE.read_bytes())
        + '";\n'
    )
    return code.encode("utf-8")


def pads_script() -> bytes:
    """The captions' padding states (float16 safetensors, base64) in one global: a blend of a short
    caption with a longer one attends to them (captions.py PADS_FILE)."""
    from stepthrough.widgets.draw.captions import PADS_FILE, read_pads

    read_pads()  # a missing or broken file: one clear line, not a page that fails later
    data = base64.b64encode(PADS_FILE.read_bytes()).decode("ascii")
    return ('window.StepthroughDrawPads = "' + data + '";\n').encode("ascii")


def alphas_cumprod(scheduler: dict[str, Any]) -> np.ndarray:
    """ᾱ_t for the builtin's cosine schedule, as diffusers computes it (float32, betas capped at 0.999)."""
    if scheduler.get("beta_schedule") != "squaredcos_cap_v2":
        raise StepthroughError(
            f"widget 'draw': beta_schedule {scheduler.get('beta_schedule')!r} is not drawn in the page"
        )
    n = scheduler["num_train_timesteps"]

    def bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = np.array([min(1 - bar((i + 1) / n) / bar(i / n), 0.999) for i in range(n)], dtype=np.float32)
    return np.cumprod(np.float32(1) - betas, dtype=np.float32)


WIDGET = Draw()
