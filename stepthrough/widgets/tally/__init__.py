"""The Default Test, counted: every default picture (the sweep) sorted to the explicit prompt whose
pictures it looks most like, and per tag a bar for each value; tally.js highlights a bar's pictures."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepthrough.bundle.ids import Job, projection_id
from stepthrough.options import DictOf, Invalid, ListOf, Nested, Prompt, Schema, Seeds, Text, repeated
from stepthrough.widgets.base import Projection, ProjectionResult, Widget, sweep_jobs

TAG_NAME = r"[a-z][a-z0-9_-]{0,29}"  # it appears in the page address

SHEET_COLUMNS = 8  # pictures a row in the static frame's sheet

class Explicit(Schema):
    """A prompt that says what the default prompt leaves open, and the tags that name what it says."""

    prompt = Prompt()
    tags = DictOf(
        Text(pattern=TAG_NAME, hint="a tag name of lowercase letters, digits, '_' and '-'"),
        Text(max_length=40),
        min_length=1,
    )


class TallySettings(Schema):
    """The Default Test over many seeds: each default picture is sorted to the explicit prompt whose
    pictures (drawn from `compare_seeds`, at the sweep's steps and guidance) it resembles most."""

    compare_with = ListOf(Nested(Explicit), min_length=2)
    compare_seeds = Seeds([0])

    def check(self) -> None:
        twice = repeated([explicit.prompt for explicit in self.compare_with])
        if twice is not None:
            raise Invalid(f"prompt {twice!r} is listed twice in compare_with")
        names = set(self.compare_with[0].tags)
        odd = next((e for e in self.compare_with if set(e.tags) != names), None)
        if odd is not None:
            raise Invalid(
                f"every compare_with prompt needs the same tags ({', '.join(sorted(names))}); "
                f"{odd.prompt!r} has {', '.join(sorted(odd.tags))}"
            )


@dataclass(frozen=True)
class TallyResult(ProjectionResult):
    kind = "tally"
    trajectories: list[str]  # the default pictures' ids
    references: list[str]  # the explicit prompts' pictures' ids
    nearest: list[
        dict[str, Any]
    ]  # per default picture: {"trajectory", "prompt", "distance"} it was sorted to

    def problems(self) -> list[str]:
        if len(self.nearest) != len(self.trajectories):
            return [f"nearest: expected {len(self.trajectories)} entries, one per picture (got {len(self.nearest)})"]
        for i, entry in enumerate(self.nearest):
            if not isinstance(entry.get("prompt"), str):
                return [f"nearest.{i}.prompt: expected text (got {entry.get('prompt')!r:.40})"]
        return []


@dataclass(frozen=True)
class TallyProjection(Projection):
    """Each default picture sorted to the explicit-prompt picture it looks most like (see
    project.picture_features for the space), from the finished pictures the bundle holds."""

    kind = "tally"
    jobs: tuple[Job, ...]  # the default pictures
    references: tuple[Job, ...]  # the explicit prompts' pictures

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        return projection_id(fingerprint, self.kind, trajectories=self.jobs, references=self.references)

    def draw(self, source) -> TallyResult:
        from stepthrough.precompute.project import nearest_rows, picture_features

        def features(jobs: tuple[Job, ...]) -> np.ndarray:
            return picture_features(np.stack([source.picture(job) for job in jobs]))

        defaults = [source.trajectory_id(job) for job in self.jobs]
        references = [source.trajectory_id(job) for job in self.references]
        same = np.array(
            [[d == r for r in references] for d in defaults]
        )  # a picture is not its own look-alike
        index, distance = nearest_rows(features(self.jobs), features(self.references), exclude=same)
        nearest = [
            {"trajectory": references[i], "prompt": self.references[i].prompt, "distance": round(float(d), 4)}
            for i, d in zip(index, distance, strict=True)
        ]
        return TallyResult(defaults, references, nearest)


class Tally(Widget):
    name = "tally"
    projection_type = TallyProjection
    settings = TallySettings

    def jobs(self, sweep, settings) -> tuple[Job, ...]:
        """The default pictures, then the explicit prompts' pictures."""
        return tuple(dict.fromkeys(sweep_jobs(sweep) + _reference_jobs(sweep, settings)))

    def projection(self, sweep, settings, jobs) -> TallyProjection:
        return TallyProjection(sweep_jobs(sweep), _reference_jobs(sweep, settings))

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The default pictures, each with the explicit prompt it looks most like (precompute sorted
        them) and that prompt's tags; per tag, how many pictures carry each value."""
        projection = assets.projection(section.id, TallyResult)
        explicit = {e.prompt: e.tags for e in section.settings.compare_with}
        for i, entry in enumerate(projection.nearest):
            if entry["prompt"] not in explicit:
                raise assets.projection_error(
                    section.id, f"nearest.{i}.prompt", f"{entry['prompt']!r} is not a compare_with prompt of the section"
                )
        for i, tid in enumerate(projection.references):
            if assets.manifest.trajectories[tid].prompt not in explicit:
                raise assets.projection_error(
                    section.id, f"references.{i}", "names a trajectory of no compare_with prompt of the section"
                )
        tags: dict[str, dict[str, int]] = {}
        for e in section.settings.compare_with:  # values in the author's order, zero counts too
            for name, value in e.tags.items():
                tags.setdefault(name, {}).setdefault(value, 0)
        pictures, views = [], []
        for tid, nearest in zip(projection.trajectories, projection.nearest, strict=True):
            t = assets.manifest.trajectories[tid]
            pictures.append(
                {
                    "prompt": t.prompt,
                    "seed": t.seed,
                    "nearest": nearest["prompt"],
                    "tags": explicit[nearest["prompt"]],
                }
            )
            views.append(assets.views(tid, ["xt"])["xt"])
            for name, value in explicit[nearest["prompt"]].items():
                tags[name][value] += 1
        drawn: dict[str, list[dict[str, Any]]] = {prompt: [] for prompt in explicit}
        for tid in projection.references:
            drawn[assets.manifest.trajectories[tid].prompt].append(assets.views(tid, ["xt"])["xt"])
        return {
            "id": section.id,
            "total": len(pictures),
            "prompts": list(dict.fromkeys(p["prompt"] for p in pictures)),
            "pictures": pictures,
            "tags": [
                {"name": name, "values": [{"value": v, "count": n} for v, n in values.items()]}
                for name, values in tags.items()
            ],
            "_views": views,  # "_": for the template only (the script never changes a picture)
            "_sheet": {  # every picture in one file: the static frame until the reader nears it
                "src": assets.sheet_url(list(projection.trajectories), SHEET_COLUMNS),
                "columns": min(SHEET_COLUMNS, len(pictures)),
                "rows": -(-len(pictures) // SHEET_COLUMNS),
                "width": views[0]["width"] if views else 0,
                "height": views[0]["height"] if views else 0,
            },
            "_references": [{"prompt": prompt, "views": drawn[prompt]} for prompt in explicit],
        }


def _reference_jobs(sweep, settings: TallySettings) -> tuple[Job, ...]:
    """The explicit prompts, each drawn from `compare_seeds` at the sweep's steps and guidance."""
    prompts = [explicit.prompt for explicit in settings.compare_with]
    combos = itertools.product(prompts, settings.compare_seeds, sweep.steps, sweep.guidance)
    return tuple(dict.fromkeys(Job(p, s, n, float(g)) for p, s, n, g in combos))


WIDGET = Tally()
