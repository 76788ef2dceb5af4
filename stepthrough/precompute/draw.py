"""Draw: projections from what the bundle holds (latents, finished pictures) and, for prompt
maps, from the model's prompt embeddings. Each projection kind draws itself (widgets/<name>/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stepthrough.bundle import Manifest, bundle_file, final_picture, formats
from stepthrough.bundle.ids import Job
from stepthrough.errors import StepthroughError
from stepthrough.precompute.write import store_projection
from stepthrough.reduce import mean_over_tokens
from stepthrough.widgets.base import Projection


class BundleSource:
    """A projection's inputs (widgets.base.ProjectionSource): the bundle's files, and the model if loaded."""

    def __init__(self, bundle_dir: Path, manifest: Manifest, model=None):
        self.bundle_dir, self.manifest, self.model = Path(bundle_dir), manifest, model
        self.ids = {trajectory.job: tid for tid, trajectory in manifest.trajectories.items()}

    def trajectory_id(self, job: Job) -> str:
        return self.ids[job]

    def latents(self, job: Job) -> np.ndarray:
        """(F, *latent) x_t at every step, as the bundle holds it: checked before it is used."""
        trajectory = self.manifest.trajectories[self.trajectory_id(job)]
        path = bundle_file(self.bundle_dir, trajectory.latents)
        try:
            return formats.load_array(path, (trajectory.steps + 1, *self.manifest.model["latent_shape"]))
        except formats.FormatError as exc:
            raise StepthroughError(f"{path}: {exc}; render the bundle again")

    def picture(self, job: Job) -> np.ndarray:
        return final_picture(self.bundle_dir, self.manifest, self.trajectory_id(job))

    def prompt_vectors(self, prompts: list[str]) -> np.ndarray:
        """One vector per prompt: the model's pooled embedding, or the mean over its real tokens
        (a model may offer a quicker way to the same vectors for long lists: `prompt_vectors`)."""
        quick = getattr(self.model, "prompt_vectors", None)
        if quick is not None:
            return quick(prompts)
        import torch

        with torch.inference_mode():
            embedding = self.model.encode_prompts(prompts)
        if embedding.pooled is not None:
            return embedding.pooled.float().cpu().numpy()
        mask = None if embedding.mask is None else embedding.mask.cpu().numpy()
        return mean_over_tokens(embedding.hidden.float().cpu().numpy(), mask)


def draw_missing(
    bundle_dir: Path, manifest: Manifest, projections: dict[str, Projection], model=None
) -> None:
    """Draw each projection the manifest lacks: with `model`, those drawn from the model (prompt
    maps); without, those drawn from finished trajectories (every one of them must be rendered)."""
    source = BundleSource(bundle_dir, manifest, model)
    for pid, projection in projections.items():
        if projection.needs_model == (model is not None) and pid not in manifest.projections:
            store_projection(bundle_dir, manifest, pid, projection.draw(source))
