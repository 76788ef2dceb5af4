"""Export a training checkpoint into the package's weights folder: fp16 safetensors (the EMA UNet),
``config.json`` (architecture and training facts), ``vocabulary.json`` and ``MODEL_CARD.md``; and
the way back, a warm start from those files."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from stepthrough.atomic import atomic_write
from stepthrough.builtin import nets, shares
from stepthrough.builtin.card import model_card
from stepthrough.builtin.config import DATA_VERSION, State, TrainConfig, architecture, load_config
from stepthrough.builtin.data import EmojiDataset, load_dataset

WEIGHTS_DIR = Path(__file__).parent / "weights"


def export(ckpt_path: Path, out_dir: Path = WEIGHTS_DIR) -> Path:
    """Write fp16 weights (EMA UNet), ``config.json``, ``vocabulary.json`` and ``MODEL_CARD.md``
    into ``out_dir``."""
    ckpt = torch.load(ckpt_path, weights_only=False)
    cfg = load_config(None, (), ckpt["config"])
    state = State(**ckpt["state"])
    arch = architecture(cfg)
    arch["autoencoder"] |= {"scaling_factor": state.latent_scale, "shift_factor": state.latent_shift}
    vae = nets.build_autoencoder(arch["autoencoder"])
    unet = nets.build_unet(arch["unet"])
    vae.load_state_dict(ckpt["ae"])
    unet.load_state_dict(ckpt["unet_ema"])
    ds = load_dataset(Path(cfg.run_dir).parent / "cache")

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "autoencoder.safetensors": {k: v.half().contiguous() for k, v in vae.state_dict().items()},
        "unet.safetensors": {k: v.half().contiguous() for k, v in unet.state_dict().items()},
    }
    for name, tensors in files.items():
        save_file(tensors, out_dir / name)
    facts = {
        "autoencoder_parameters": nets.count_parameters(vae),
        "unet_parameters": nets.count_parameters(unet),
        "autoencoder_steps": state.ae_step,
        "unet_steps": state.unet_step,
        "autoencoder_images_seen": state.ae_images,
        "unet_images_seen": state.unet_images,
        "wall_seconds": round(state.wall_seconds),
        "autoencoder_final_loss": state.ae_loss,
        "unet_final_loss": state.unet_loss,
        "autoencoder_rms": state.ae_rms,
        "training_images": len(ds),
        "training_concepts": len(set(ds.chars)),
        "styles": {name: ds.styles.count(name) for name in dict.fromkeys(ds.styles)},
        "data_version": state.data_version,
        "recipe": {k: getattr(cfg, k) for k in shares.Recipe.__dataclass_fields__},
        "commands": state.commands,
    }
    write_vocabulary(ds, out_dir / "vocabulary.json")
    revision = f"{time.strftime('%Y.%m.%d')}-u{state.unet_step}"
    config = {"revision": revision, **arch, "facts": facts}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / "MODEL_CARD.md").write_text(model_card(cfg, config, out_dir))
    return out_dir


def write_vocabulary(ds: EmojiDataset, path: Path) -> None:
    """What the model was taught, shipped beside the weights (``stepthrough prompts`` searches it):
    one entry per emoji with its name, aliases, keywords and the styles it was drawn in."""
    concepts: dict[str, dict[str, Any]] = {}
    for char, style, name, aliases, keywords in zip(ds.chars, ds.styles, ds.names, ds.aliases, ds.keywords):
        entry = concepts.setdefault(char, {"emoji": char, "name": name, "aliases": aliases, "keywords": keywords,
                                           "styles": []})
        entry["styles"].append(style)
    body = {"styles": list(dict.fromkeys(ds.styles)), "concepts": list(concepts.values())}
    atomic_write(path, (json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n").encode())


def load_package_weights(cfg: TrainConfig, weights_dir: Path = WEIGHTS_DIR) -> dict[str, Any] | None:
    """Warm start from the committed weights: all of them when they were trained on this data with
    this architecture; only the autoencoder (to be trained further) when just its shape matches."""
    config_path = weights_dir / "config.json"
    if not config_path.exists():
        return None
    shipped = json.loads(config_path.read_text())
    arch = architecture(cfg)
    facts = shipped["facts"]
    same_data = facts.get("data_version", 1) == DATA_VERSION
    unet_matches = shipped["unet"] == arch["unet"] and same_data
    ae_matches = {k: v for k, v in shipped["autoencoder"].items() if "factor" not in k} == arch["autoencoder"]
    if not ae_matches:
        return None
    ae = {k: v.float() for k, v in load_file(weights_dir / "autoencoder.safetensors").items()}
    if not unet_matches:
        return {"state": dataclasses.asdict(State()), "ae": ae}
    unet = {k: v.float() for k, v in load_file(weights_dir / "unet.safetensors").items()}
    state = State(
        ae_step=facts["autoencoder_steps"],
        unet_step=facts["unet_steps"],
        ae_images=facts["autoencoder_images_seen"],
        unet_images=facts["unet_images_seen"],
        wall_seconds=facts["wall_seconds"],
        ae_loss=facts["autoencoder_final_loss"],
        unet_loss=facts["unet_final_loss"],
        ae_rms=facts.get("autoencoder_rms", float("nan")),
        commands=list(facts["commands"]),
    )
    return {"state": dataclasses.asdict(state), "ae": ae, "unet": unet, "unet_ema": unet}
