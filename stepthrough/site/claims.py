"""Notes under a picture that claim a fact ("mud", "too strong", "ignores the prompt"), checked
against what the pictures measure, so an author who switches models learns which notes stopped
being true. `stepthrough build` prints each failed claim; `--strict` stops the build on one.

The measurements come from the finished pictures in the bundle: the distance to the section's
reference picture, sharpness and colour saturation against the section's other pictures, and how
far apart pictures that differ only by seed end up. The words a note may use, and what each
needs, are CLAIMS below (documented in README, "Notes that claim a fact"); a site in Spanish
claims with the Spanish words of TRANSLATED_CLAIMS. A samplers section that sets
`converge_within` claims that every sampler heads for its many-step reference: checked by
`check_convergence`. A tally section that sets `people:` claims how often the model draws people
against its training pictures: checked by `check_people`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stepthrough import measure
from stepthrough.bundle import Manifest
from stepthrough.bundle.ids import SCHEDULERS, Job
from stepthrough.bundle.manifest import final_picture
from stepthrough.content import Content, Section
from stepthrough.locale import base
from stepthrough.plan import Plan, plan_content
from stepthrough.widgets.base import label as _label
from stepthrough.widgets.base import same_start, steps_phrase

FAR = 0.08  # RMS pixel distance (0–1) past which a picture is visibly off the reference
NEAR = 0.03  # ... and below which it looks the same
SOFTER = 0.85  # "a blur" / "mud": at most this share of the reference's sharpness
STRONGER = 0.05  # "too strong": this much more saturation (0–1) than the section's median picture
PALER = 0.05  # "paler" / "more saturated": this much less / more colour (0–1) than the section's median
DARKER = 0.05  # "darker": the thing drawn this much less bright (luma, 0–1) than the median
REDDER = 0.1  # "redder": its colours this much further towards red from green (−1 to 1) than the median
DRAWN = 0.2  # chroma past which a pixel belongs to the thing drawn, not the white or grey around it


@dataclass(frozen=True)
class Tile:
    """One picture of a compare section and what it measures."""

    label: str
    steps: int
    seed: int
    guidance: float
    prompt: str
    picture: np.ndarray  # H × W × 3 floats in 0–1
    towards: str = ""
    blend: float = 0.0

    @property
    def start(self) -> tuple:
        """What it shares with its reference, as the page's compare widget reads it."""
        return same_start(self)


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(measure.rms(a, b))


def sharpness(picture: np.ndarray) -> float:
    """Mean size of the difference between neighbouring pixels: edges and detail."""
    grey = picture.mean(axis=2)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def saturation(picture: np.ndarray) -> float:
    """Mean HSV saturation: how far colours are from grey."""
    high, low = picture.max(axis=2), picture.min(axis=2)
    return float(np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0).mean())


def colourfulness(picture: np.ndarray) -> float:
    """Mean chroma (brightest channel minus darkest: how far a colour is from grey) of the most
    colourful tenth of the pixels: the colour of the thing drawn, not diluted by a white background.
    Chroma, not HSV saturation: saturation is 1 for every pixel with a channel at 0, however dark,
    so two strongly coloured pictures would both measure 1; a mean, not a percentile, so it reaches 1
    only when that whole tenth is pure red, green, blue or their pairs."""
    chroma = (picture.max(axis=2) - picture.min(axis=2)).ravel()
    top = max(1, chroma.size // 10)
    return float(np.partition(chroma, chroma.size - top)[-top:].mean())


def drawn_pixels(picture: np.ndarray) -> np.ndarray:
    """(N, 3): the pixels of the thing drawn (chroma > DRAWN), or every pixel of a picture without colour."""
    pixels = picture.reshape(-1, 3)
    coloured = pixels[pixels.max(axis=1) - pixels.min(axis=1) > DRAWN]
    return coloured if len(coloured) * 100 >= len(pixels) else pixels


def brightness(picture: np.ndarray) -> float:
    """Mean luma (Rec. 601) of the thing drawn: a yellow flower is bright, a burnt orange one less so."""
    return float((drawn_pixels(picture) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean())


def redness(picture: np.ndarray) -> float:
    """Median of (R − G) / (R + G) over the thing drawn: −1 green, 0 yellow, about 0.3 orange, 1 red."""
    pixels = drawn_pixels(picture)
    red, green = pixels[:, 0], pixels[:, 1]
    return float(np.median((red - green) / np.maximum(red + green, 1e-6)))


def _reference(tile: Tile, tiles: list[Tile]) -> Tile:
    """The picture with the most steps from the same start: the one the page measures against."""
    return max((t for t in tiles if t.start == tile.start), key=lambda t: t.steps)


def _far(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    ref = _reference(tile, tiles)
    distance = rms(tile.picture, ref.picture)
    return distance >= FAR, f"distance {distance:.3f} to the {ref.steps}-step picture (needs ≥ {FAR})"


def _far_and_soft(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    ref = _reference(tile, tiles)
    distance, soft = (
        rms(tile.picture, ref.picture),
        sharpness(tile.picture) / max(sharpness(ref.picture), 1e-9),
    )
    ok = distance >= FAR and soft <= SOFTER
    return (
        ok,
        f"distance {distance:.3f} to the {ref.steps}-step picture (needs ≥ {FAR}), sharpness {soft:.2f}× its (needs ≤ {SOFTER})",
    )


def _near(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    ref = _reference(tile, tiles)
    distance = rms(tile.picture, ref.picture)
    return distance <= NEAR, f"distance {distance:.3f} to the {ref.steps}-step picture (needs ≤ {NEAR})"


def _most_steps(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    ref = _reference(tile, tiles)
    return ref is tile, f"it has {steps_phrase(tile.steps)}, the reference {ref.steps}"


def _against_median(tile: Tile, tiles: list[Tile], measure, name: str, margin: float) -> tuple[bool, str]:
    """The tile's `measure` at least `margin` above the median of its row (below, for a negative
    margin): the section's pictures from the same seed, so a section that shows three seeds at
    three guidance scales compares each picture with its own seed's others, not with another seed's
    colours; the whole section where the seed is what differs."""
    row = [t for t in tiles if t.seed == tile.seed]
    row = row if len(row) > 1 else tiles
    median = float(np.median([measure(t.picture) for t in row]))
    own = measure(tile.picture)
    holds = own >= median + margin if margin > 0 else own <= median + margin
    needs = f"≥ +{margin}" if margin > 0 else f"≤ −{-margin}"
    whose = "the section's median" if len(row) == len(tiles) else f"seed {tile.seed}'s median"
    return holds, f"{name} {own:.2f} against {whose} {median:.2f} (needs {needs})"


def _too_strong(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    return _against_median(tile, tiles, saturation, "saturation", STRONGER)


def _paler(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    return _against_median(tile, tiles, colourfulness, "colourfulness", -PALER)


def _more_saturated(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    return _against_median(tile, tiles, colourfulness, "colourfulness", PALER)


def _darker(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    return _against_median(tile, tiles, brightness, "brightness", -DARKER)


def _redder(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    return _against_median(tile, tiles, redness, "redness", REDDER)


def _same_from_here_on(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    ref = _reference(tile, tiles)
    later = [t for t in tiles if t.start == tile.start and t.steps >= tile.steps]
    worst = max(later, key=lambda t: rms(t.picture, ref.picture))
    distance = rms(worst.picture, ref.picture)
    return distance < FAR, (
        f"the {steps_phrase(worst.steps)} picture is {distance:.3f} from the {ref.steps}-step one (needs < {FAR} "
        f"from {steps_phrase(tile.steps)} on)"
    )


def _ignores_prompt(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    plain = [
        t
        for t in tiles
        if t.seed == tile.seed and t.steps == tile.steps and (t.guidance == 0 or t.prompt == "")
    ]
    if not plain:
        return (
            False,
            "no picture of the same seed without the prompt (guidance 0 or no words) in this section to compare with",
        )
    distance = rms(tile.picture, plain[0].picture)
    return distance <= NEAR, f"distance {distance:.3f} to the picture without the prompt (needs ≤ {NEAR})"


def _same_picture(tile: Tile, tiles: list[Tile]) -> tuple[bool, str]:
    others = [t for t in tiles if t is not tile and t.seed != tile.seed]
    if not others:
        return False, "no picture from another seed in this section to compare with"
    spread = max(rms(tile.picture, t.picture) for t in others)
    return spread <= NEAR, f"up to {spread:.3f} from the other seeds' pictures (needs ≤ {NEAR})"


Check = Callable[[Tile, list[Tile]], tuple[bool, str]]
# A word or phrase in a note → (what it claims, how it is checked). Longer phrases first.
CLAIMS: dict[str, tuple[str, Check]] = {
    "ignores the prompt": ("the picture drawn without the prompt", _ignores_prompt),
    "same picture from here on": ("a picture that every later step count keeps", _same_from_here_on),
    "same picture": ("the picture other seeds give too", _same_picture),
    "good enough": ("a picture that looks like the reference", _near),
    "the reference": ("the picture the others are measured against", _most_steps),
    "too strong": ("colours pushed further than in the section's other pictures", _too_strong),
    "overcooked": ("colours pushed further than in the section's other pictures", _too_strong),
    "a blur": ("a picture far off the reference and softer than it", _far_and_soft),
    "blurry": ("a picture far off the reference and softer than it", _far_and_soft),
    "mud": ("a picture far off the reference", _far),
    "more saturated": ("stronger colours than the section's other pictures", _more_saturated),
    "paler": ("weaker colours than the section's other pictures", _paler),
    "darker": ("a darker thing drawn than in the section's other pictures", _darker),
    "redder": ("colours further towards red than in the section's other pictures", _redder),
}
# The same claims in a note of a site in another language: its word or phrase → the English word
# above whose check it makes. Longer phrases first. A language not named here claims in English.
TRANSLATED_CLAIMS: dict[str, dict[str, str]] = {
    "es": {
        "ignora la instrucción": "ignores the prompt",
        "la misma imagen a partir de aquí": "same picture from here on",
        "la misma imagen": "same picture",
        "suficiente": "good enough",
        "la referencia": "the reference",
        "demasiado fuerte": "too strong",
        "quemada": "overcooked",
        "quemado": "overcooked",
        "un borrón": "a blur",
        "borrosa": "blurry",
        "borroso": "blurry",
        "mancha": "mud",
        "barro": "mud",
        "más saturada": "more saturated",
        "más saturado": "more saturated",
        "más pálida": "paler",
        "más pálido": "paler",
        "más oscura": "darker",
        "más oscuro": "darker",
        "más roja": "redder",
        "más rojo": "redder",
    },
}


def claim_words(language: str) -> dict[str, str]:
    """The words a note in `language` claims with → the English word in CLAIMS whose check each makes."""
    own = TRANSLATED_CLAIMS.get(base(language))
    return dict(own) if own is not None else {word: word for word in CLAIMS}


def check_claims(content: Content, bundle_dir: Path, manifest: Manifest, plan: Plan | None = None) -> list[str]:
    """One line per claim that the pictures do not bear out: `file:line: note "k": …`. `plan`: the
    content's, named for the manifest's model (default: worked out here)."""
    plan = plan if plan is not None else plan_content(content, manifest.fingerprint())
    words = claim_words(content.site.language)
    problems = []
    for section in content.sections:
        if section.meta.widget == "samplers" and section.settings.converge_within is not None:
            jobs = plan.sections[section.id]
            pictures = [_picture(bundle_dir, manifest, tid) for tid in plan.trajectory_ids(section.id)]
            line = _line_of(section.path, "converge_within")
            problems += [
                f"{section.path}:{line}: {problem}"
                for problem in check_convergence(jobs, pictures, section.settings.converge_within)
            ]
        if section.meta.widget == "tally" and section.settings.people is not None:
            problems += check_people(section, bundle_dir, manifest, plan.projection_ids[section.id])
        notes = getattr(section.settings, "notes", None) or {}
        if section.meta.widget != "compare" or not notes:
            continue
        tiles = _tiles(section, plan.trajectory_ids(section.id), bundle_dir, manifest)
        for key, note in notes.items():
            claimed = _claimed(note, words)
            for tile in (t for t in tiles if t.label == key):
                for word, english in claimed:
                    meaning, check = CLAIMS[english]
                    holds, measured = check(tile, tiles)
                    if not holds:
                        said = f'"{word}"' if word == english else f'"{word}" ("{english}")'
                        where = "" if len({t.seed for t in tiles}) == 1 else f" (seed {tile.seed})"
                        problems.append(
                            f'{section.path}:{_line_of(section.path, key)}: note "{key}"{where}: {said} '
                            f"claims {meaning}, but for this model: {measured}"
                        )
    return problems


def _claimed(note: str, words: dict[str, str]) -> list[tuple[str, str]]:
    """Every claim word in a note ("darker and redder": both), with the English word whose check it
    makes; a shorter one only where it is not part of a longer one ("same picture from here on" is
    not also "same picture")."""
    text, found = note.lower(), []
    for word, english in words.items():  # longer phrases first
        if word in text and not any(word in longer for longer, _ in found):
            found.append((word, english))
    return found


PEOPLE_WORDS = {"more": "more often than", "fewer": "less often than", "keeps": "about as often as"}


def check_people(section: Section, bundle_dir: Path, manifest: Manifest, projection_id: str) -> list[str]:
    """A tally section's `people:` claim against the sort precompute made of its pictures: over the
    section's seeds the model draws people more often than, less often than or about as often as
    the training pictures that carry the prompt's caption show them (`tally.verdict`, which gives
    chance two standard errors of room). One line when it does not hold."""
    from stepthrough.widgets.base import read_projection
    from stepthrough.widgets.tally import TallyResult, verdict

    claimed = section.settings.people
    at = f"{section.path}:{_line_of(section.path, 'people')}"
    result = read_projection(bundle_dir, manifest, projection_id, TallyResult)
    if result.method != "card" or not result.sorted:
        return [f"{at}: people: claims a share of people, but this model has no data card to sort its pictures by"]
    people, total = sum(entry["person"] for entry in result.sorted), len(result.sorted)
    learned = (result.learned or {}).get("counts", {}).get("who", {})
    shown = learned.get("a person", {}).get("data", 0.0)
    measured = verdict(people, total, shown)
    if measured == claimed:
        return []
    problem = (
        f"{at}: people: {claimed!r} claims the model draws people {PEOPLE_WORDS[claimed]} its training "
        f"pictures show them, but for this model it is {measured!r}: a person in {people} of {total} "
        f"pictures ({people / total:.0%}) against {shown:.0%} of its training pictures"
    )
    return [problem]


def check_convergence(jobs: Sequence[Job], pictures: Sequence[np.ndarray], within: float) -> list[str]:
    """Every sampler heads for the reference (the last job): its distance to the reference's picture
    falls as its model evaluations grow, and its run with the most evaluations ends within `within`.
    One line per sampler that does not."""
    *runs, reference = zip(jobs, pictures, strict=True)
    problems = []
    for scheduler in dict.fromkeys(job.sampler for job, _ in runs):
        own = sorted(
            (job.evaluations, rms(picture, reference[1])) for job, picture in runs if job.sampler == scheduler
        )
        measured = ", ".join(f"{d:.3f} at {n}" for n, d in own)
        name = SCHEDULERS.get(scheduler, scheduler)
        if any(later >= earlier for (_, earlier), (_, later) in itertools.pairwise(own)):
            problems.append(f"{name} does not get closer to the reference as its evaluations grow: {measured}")
        elif own[-1][1] > within:
            problems.append(f"{name} ends {own[-1][1]:.3f} from the reference (needs ≤ {within}): {measured}")
    return problems


def _tiles(section: Section, trajectory_ids: list[str], bundle_dir: Path, manifest: Manifest) -> list[Tile]:

    tiles = []
    for tid in trajectory_ids:
        t = manifest.trajectories[tid]
        tiles.append(
            Tile(
                label=_label(getattr(t, section.settings.label)),
                steps=t.steps,
                seed=t.seed,
                guidance=t.guidance,
                prompt=t.prompt,
                towards=t.towards,
                blend=t.blend,
                picture=_picture(bundle_dir, manifest, tid),
            )
        )
    return tiles


def _picture(bundle_dir: Path, manifest: Manifest, trajectory_id: str) -> np.ndarray:
    return final_picture(bundle_dir, manifest, trajectory_id).astype(np.float32) / 255


def _line_of(path: Path, key: str) -> int:
    """The front-matter line of the note for `key` (the `notes:` line when the key is not on its own)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    notes = next((i for i, line in enumerate(lines) if line.strip().startswith("notes:")), 0)
    for i in range(notes, len(lines)):
        if f'"{key}":' in lines[i] or f"'{key}':" in lines[i] or lines[i].strip().startswith(f"{key}:"):
            return i + 1
    return notes + 1
