"""One step, opened up: the real tensors of one trajectory at a chosen step, part by part — the
prompt's tokens and their vectors (text encoder), the noisy latent x_t and the model's prediction
(denoiser), the update written out with this step's numbers (scheduler), the picture (decoder).
Precompute records them beside the loop (precompute/tensors.py); every number here comes from
the bundle, ᾱ and σ from its schedule record. inside.html lays the parts out as boxes that open
(<details>, no JavaScript needed) at one step; inside.js moves the step and keeps the state in the URL."""

from __future__ import annotations

import math
from typing import Any

from stepthrough import locale
from stepthrough.bundle import Schedule
from stepthrough.bundle.ids import display_name
from stepthrough.errors import StepthroughError
from stepthrough.options import Choice, ListOf, Number, Schema
from stepthrough.widgets.base import Widget, model_sizes, trajectory_entry
from stepthrough.widgets.inside.record import Grid, Tensors, TensorsRecorder

PARTS = ("text", "denoiser", "scheduler", "decoder")
# What each prediction type is: its symbol (its one line is the locale's "inside.meaning.<type>").
PREDICTIONS = {"epsilon": "ε̂", "v_prediction": "v̂", "sample": "x̂₀", "flow": "v̂"}
TRANSFORMERS = ("PixArt", "StableDiffusion3", "Flux", "PRX")  # pipelines whose denoiser is a transformer


RECORDER = TensorsRecorder()


class InsideSettings(Schema):
    """Which step the page opens at, and which parts' boxes start open."""

    step = Number(None, low=1, high=1000, whole=True)  # default: the middle step
    open = ListOf(Choice(PARTS), [], min_length=0, unique="each part may be listed once")


class Inside(Widget):
    name = "inside"
    settings = InsideSettings
    recorders = (RECORDER,)

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        manifest = assets.manifest
        extra = manifest.model.get("extra", {})
        pipeline = str(extra.get("pipeline", ""))
        trajectories = []
        for tid in trajectory_ids:
            trajectory = manifest.trajectories[tid]
            tensors = RECORDER.of(trajectory)
            if tensors is None:  # the plan renders these again: a bundle without them is a bug
                raise StepthroughError(
                    f"section {section.id} (widget: inside): trajectory {tid} has no tensors"
                )
            entry = trajectory_entry(assets, tid, ("xt", "x0"))
            entry.update(
                tokens=[
                    {"piece": piece, "id": token_id, "special": bool(special)}
                    for piece, token_id, special in zip(
                        tensors.tokens, tensors.token_ids, tensors.special, strict=True
                    )
                ],
                padding=tensors.padding,
                padding_read=bool(tensors.padding_read),
                vectors=_grid(assets, tensors.vectors) if tensors.vectors else None,
                latent=_grid(assets, tensors.latent),
                prediction=_grid(assets, tensors.prediction),
                update=tensors.update,
                probe_at=tensors.probe_at,
                formula=formula(tensors),
                numbers=[
                    step_numbers(tensors, manifest.schedule_of(trajectory), k) for k in range(trajectory.steps)
                ],
            )
            trajectories.append(entry)
        first = manifest.trajectories[trajectory_ids[0]]
        steps, prediction_type = first.steps, RECORDER.of(first).prediction_type
        start = min(section.settings.step or (steps + 1) // 2, steps)
        kind = prediction_type if prediction_type in PREDICTIONS else "unknown"
        symbol, meaning = PREDICTIONS.get(kind, "?"), locale.now().plain(f"inside.meaning.{kind}")
        return {
            "id": section.id,
            "trajectories": trajectories,
            "step": start,
            "open": list(section.settings.open),
            "sizes": model_sizes(manifest),
            "scheduler": manifest.scheduler["class"],
            "prediction_type": prediction_type,
            "symbol": symbol,
            "meaning": meaning,
            "text_encoder": display_name(extra.get("text_encoder") or extra.get("pipeline") or manifest.model["id"]),
            "denoiser": "transformer" if pipeline.startswith(TRANSFORMERS) else "UNet",
            "cross_attention": bool(extra.get("cross_attention")),
            "distilled": pipeline.startswith("Flux"),
        }


def _grid(assets, grid: Grid) -> dict[str, Any]:
    """A grid as the page uses it: a sprite sheet (showFrame's view) plus its colour scale."""
    return {
        "src": assets.frame_url(grid.file),
        "frames": grid.rows * grid.columns,
        "rows": grid.rows,
        "columns": grid.columns,
        "width": grid.width,
        "height": grid.height,
        "scale": grid.scale,
        "pooled": grid.pooled,
    }


# --- the scheduler's update, written out ---------------------------------------------------------


def num(value: float, places: int = 4) -> str:
    """A number as the page prints it, with a real minus sign."""
    text = f"{value:.{places}f}"
    return text.replace("-", "−") if float(text) != 0 else f"{0:.{places}f}"


def term(value: float) -> str:
    """A latent number inside a formula: negative ones in brackets."""
    return f"({num(value, 3)})" if value < 0 else num(value, 3)


def formula(tensors: Tensors) -> list[str]:
    """The update of this scheduler and prediction type, in symbols (the same at every step)."""
    p = PREDICTIONS.get(tensors.prediction_type, "?")
    kind, pt = tensors.update, tensors.prediction_type
    if kind == "ddim":
        first = {
            "epsilon": ["x̂₀ = (xₜ − √(1−ᾱₜ)·ε̂) / √ᾱₜ"],
            "v_prediction": ["x̂₀ = √ᾱₜ·xₜ − √(1−ᾱₜ)·v̂", "ε̂ = √(1−ᾱₜ)·xₜ + √ᾱₜ·v̂"],
            "sample": ["ε̂ = (xₜ − √ᾱₜ·x̂₀) / √(1−ᾱₜ)"],
        }.get(pt, [])
        return [*first, "xₜ₋₁ = √ᾱₜ₋₁·x̂₀ + √(1−ᾱₜ₋₁)·ε̂"]
    if kind == "euler":
        first = "x̂₀ = x − σ·ε̂" if pt == "epsilon" else f"x̂₀ = x/(σ²+1) − σ/√(σ²+1)·{p}"
        return [first, "x_next = x + (σ_next − σ)·(x − x̂₀)/σ"]
    if kind == "flow":
        return ["x̂₀ = xₜ − σ·v̂", "x_next = xₜ + (σ_next − σ)·v̂"]
    return []


def levels(update: str, schedule: Schedule, k: int) -> dict[str, float]:
    """What step k of this update reads of the schedule: ᾱ now and the ᾱ it steps to (DDIM), or σ
    now and next (Euler, flow matching)."""
    if update == "ddim":
        return {"alpha_bar": schedule.alpha_bar[k], "alpha_bar_prev": schedule.alpha_bar_prev[k]}
    if update in ("euler", "flow"):
        return {"sigma": schedule.sigma[k], "sigma_next": schedule.sigma[k + 1]}
    return {}


def step_numbers(tensors: Tensors, schedule: Schedule, k: int) -> dict[str, Any]:
    """Step k's numbers: the schedule's values, the formula with them filled in, and one latent
    number (at `probe_at`) followed through it. Every number is read from the bundle."""
    c = levels(tensors.update, schedule, k)
    probe = {name: values[k] for name, values in tensors.probe.items()}
    x, pred = probe["x"], probe["prediction"]
    p = PREDICTIONS.get(tensors.prediction_type, "?")
    kind, pt = tensors.update, tensors.prediction_type
    t = f"{schedule.timesteps[k]:g}"
    if kind == "ddim":
        a, b = c["alpha_bar"], c["alpha_bar_prev"]
        sa, sn, sb, sbn = math.sqrt(a), math.sqrt(1 - a), math.sqrt(b), math.sqrt(1 - b)
        schedule = f"t = {t} · ᾱₜ = {num(a)} · ᾱₜ₋₁ = {num(b)} " + locale.now().plain("inside.next_steps")
        if pt == "epsilon":
            x0, eps = (x - sn * pred) / sa, pred
            filled = [f"x̂₀ = (xₜ − {num(sn)}·ε̂) / {num(sa)}"]
            followed = [f"x̂₀ = ({term(x)} − {num(sn)}·{term(pred)}) / {num(sa)} = {num(x0, 3)}"]
        elif pt == "v_prediction":
            x0, eps = sa * x - sn * pred, sn * x + sa * pred
            filled = [f"x̂₀ = {num(sa)}·xₜ − {num(sn)}·v̂", f"ε̂ = {num(sn)}·xₜ + {num(sa)}·v̂"]
            followed = [
                f"x̂₀ = {num(sa)}·{term(x)} − {num(sn)}·{term(pred)} = {num(x0, 3)}",
                f"ε̂ = {num(sn)}·{term(x)} + {num(sa)}·{term(pred)} = {num(eps, 3)}",
            ]
        else:  # sample
            x0, eps = pred, (x - sa * pred) / sn
            filled = [f"ε̂ = (xₜ − {num(sa)}·x̂₀) / {num(sn)}"]
            followed = [f"ε̂ = ({term(x)} − {num(sa)}·{term(pred)}) / {num(sn)} = {num(eps, 3)}"]
        after = sb * x0 + sbn * eps
        filled.append(f"xₜ₋₁ = {num(sb)}·x̂₀ + {num(sbn)}·ε̂")
        followed.append(f"xₜ₋₁ = {num(sb)}·{term(x0)} + {num(sbn)}·{term(eps)} = {num(after, 3)}")
    elif kind in ("euler", "flow"):
        s, s_next = c["sigma"], c["sigma_next"]
        schedule = f"t = {t} · σ = {num(s)} · σ_next = {num(s_next)}"
        if kind == "flow":
            x0, after = x - s * pred, x + (s_next - s) * pred
            filled = [f"x̂₀ = xₜ − {num(s)}·v̂", f"x_next = xₜ + {num(s_next - s)}·v̂"]
            followed = [
                f"x̂₀ = {term(x)} − {num(s)}·{term(pred)} = {num(x0, 3)}",
                f"x_next = {term(x)} + {term(s_next - s)}·{term(pred)} = {num(x + (s_next - s) * pred, 3)}",
            ]
        else:
            if pt == "epsilon":
                x0 = x - s * pred
                first = (f"x̂₀ = x − {num(s)}·ε̂", f"x̂₀ = {term(x)} − {num(s)}·{term(pred)} = {num(x0, 3)}")
            else:  # v: as diffusers' EulerDiscreteScheduler reads it
                a, r = 1 / (s * s + 1), s / math.sqrt(s * s + 1)
                x0 = a * x - r * pred
                first = (
                    f"x̂₀ = {num(a)}·x − {num(r)}·{p}",
                    f"x̂₀ = {num(a)}·{term(x)} − {num(r)}·{term(pred)} = {num(x0, 3)}",
                )
            after = x + (s_next - s) * (x - x0) / s
            filled = [first[0], f"x_next = x + {term(s_next - s)}·(x − x̂₀)/{num(s)}"]
            followed = [
                first[1],
                f"x_next = {term(x)} + {term(s_next - s)}·({term(x)} − {term(x0)})/{num(s)} = {num(after, 3)}",
            ]
    else:
        return {
            "t": t,
            "schedule": f"t = {t}",
            "filled": [],
            "followed": [],
            "x": num(x, 3),
            "prediction": num(pred, 3),
        }
    return {
        "t": t,
        "schedule": schedule,
        "filled": filled,
        "followed": followed,
        "x": num(x, 3),
        "prediction": num(pred, 3),
        "next": num(probe["next"], 3),
        "result": num(after, 3),
    }


WIDGET = Inside()
