"""The Default Test, measured: does the tally's sorter agree with a person's eye, and does the model
keep, flatten or amplify what it learned from for "a doctor"?

Draws "a doctor" from seeds 0–127 (25 DDIM steps, guidance 5, as the site does; kept in
.runs/default-test/<revision>.npz, so a second run draws nothing), sorts every picture with the
tally's sorter (stepthrough/widgets/tally/sorter.py: k nearest of the data card's thumbnails) and
prints its agreement with the labels made by eye, one file per model version
(benchmarks/default_test_labels_<version>.json, each beside its pictures as the sorter sees them,
so an older version's agreement is printed without its weights); then the share of people among
the training pictures that carry the caption "doctor" (the data), in what training showed (the
training signal, as the data card and config.json say it), and in the model's 128 seeds (by the
sorter, and by eye where this version is labelled).

    python benchmarks/default_test.py                    # prints; draws once per model revision
    python benchmarks/default_test.py --sheet sheet.png  # also writes the contact sheet to label by eye

Labels belong to one model version: for new weights, label their pictures first: `--sheet
sheet.png` also writes sheet_12px.png (keep it as benchmarks/default_test_pictures_12px_<version>.png);
look at the sheet enlarged and write benchmarks/default_test_labels_<version>.json as the others are.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks"  # default_test_labels_<version>.json + default_test_pictures_12px_<version>.png
PROMPT, STEPS, GUIDANCE = "a doctor", 25, 5.0  # as the Default Test section draws it


def draw(
    weights: Path | None, prompt: str, seeds: list[int], steps: int, guidance: float
) -> tuple[str, np.ndarray]:
    """The model's revision and its finished pictures, (n, 64, 64, 3) uint8, drawn once per revision."""
    from stepthrough.precompute.models.builtin import BUILTIN_WEIGHTS

    folder = Path(weights) if weights else BUILTIN_WEIGHTS
    revision = json.loads((folder / "config.json").read_text())["revision"]
    cache = ROOT / ".runs" / "default-test" / f"{revision}.npz"
    if cache.is_file():
        z = np.load(cache)
        if list(z["seeds"]) == seeds:
            return revision, z["pictures"]
    import torch

    from stepthrough.builtin.train import pick_threads
    from stepthrough.bundle.ids import Job
    from stepthrough.precompute.frames import to_uint8
    from stepthrough.precompute.models.builtin import BuiltinModel
    from stepthrough.precompute.sampler import sample

    pick_threads(2)
    model = BuiltinModel(folder)
    out = []
    for start in range(0, len(seeds), 16):
        jobs = [Job(prompt, s, steps, guidance) for s in seeds[start : start + 16]]
        with torch.inference_mode():
            out.append(to_uint8(model.decode(sample(model, jobs))))
    pictures = np.concatenate(out)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, pictures=pictures, seeds=np.array(seeds))
    return revision, pictures


def contact_sheet(pictures: np.ndarray, seeds: list[int], path: Path, side: int = 128) -> None:
    from PIL import Image, ImageDraw

    columns = 8
    rows = -(-len(pictures) // columns)
    sheet = Image.new("RGB", (columns * side, rows * (side + 14)), "white")
    pen = ImageDraw.Draw(sheet)
    for n, (picture, seed) in enumerate(zip(pictures, seeds, strict=True)):
        r, c = divmod(n, columns)
        sheet.paste(
            Image.fromarray(picture).resize((side, side), Image.Resampling.LANCZOS),
            (c * side, r * (side + 14) + 14),
        )
        pen.text((c * side + 2, r * (side + 14) + 1), f"seed {seed}", fill="black")
    sheet.save(path)
    small = np.stack(
        [np.asarray(Image.fromarray(p).resize((12, 12), Image.Resampling.BOX)) for p in pictures]
    )
    rows = -(-len(small) // columns)
    small = np.concatenate([small, np.full((rows * columns - len(small), 12, 12, 3), 255, np.uint8)])
    grid = (
        small.reshape(rows, columns, 12, 12, 3).transpose(0, 2, 1, 3, 4).reshape(rows * 12, columns * 12, 3)
    )
    Image.fromarray(grid).save(path.with_name(f"{path.stem}_12px.png"))


def check_person_bases() -> str:
    """sorter.PERSON_BASES against Unicode's categories (from the training cache, where there is one)."""
    from stepthrough.builtin import sources
    from stepthrough.builtin.datacard import load_card
    from stepthrough.widgets.tally.sorter import is_person

    npm = ROOT / ".runs" / "cache" / "npm"
    if not npm.is_dir():
        return "person rule: not checked (no .runs/cache/npm)"
    categories = sources.read_categories(npm)
    wrong = checked = 0
    for concept in load_card().card["concepts"]:
        category = categories.get(sources.key_of_char(concept["emoji"]))
        if category is None:
            continue
        truth = (
            category[0] == "People & Body"
            and not category[1].startswith("hand")
            and category[1] != "body-parts"
        )
        checked += 1
        wrong += truth != is_person(concept["emoji"])
    return f"person rule vs Unicode categories: {checked - wrong}/{checked} emoji agree"


def left_out(card, prompt: str) -> str:
    """The sorter on the training pictures that carry the prompt's caption, each left out of its own
    vote, against what their emoji's names say."""
    from PIL import Image

    from stepthrough.widgets.tally.sorter import Judge, carriers, is_person

    concepts = card.card["concepts"]
    rows = [(i, k) for i in carriers(card, prompt) for k in concepts[i]["pictures"].values()]
    thumbs = card.thumbnails([k for _, k in rows])
    pictures = np.stack(
        [np.asarray(t.convert("RGB").resize((64, 64), Image.Resampling.BICUBIC)) for t in thumbs]
    )
    exclude = np.zeros((len(rows), card.card["images"]), dtype=bool)
    exclude[np.arange(len(rows)), [k for _, k in rows]] = True
    judged = Judge.from_card(card).sort(pictures, exclude=exclude)
    person = sum(
        j["person"] == is_person(concepts[i]["emoji"]) for j, (i, _) in zip(judged, rows, strict=True)
    )
    people = [
        (j, concepts[i])
        for j, (i, _) in zip(judged, rows, strict=True)
        if j["person"] and is_person(concepts[i]["emoji"])
    ]
    skin = sum(j["skin"] == c["skin"] for j, c in people)
    gender = sum(j["gender"] == c["gender"] for j, c in people)
    return (
        f"the {len(rows)} training pictures it learned the caption from, each left out of its own vote: "
        f"person or not {person}/{len(rows)}; of the people, skin tone {skin}/{len(people)}, "
        f"gender {gender}/{len(people)} as their names say"
    )


def labelled_sets(paths: list[Path] | None = None) -> list[tuple[dict, np.ndarray]]:
    """Each labels file made by eye (one per model version) with its pictures as the sorter sees
    them (the 12 × 12 sheet beside it, 8 a row in seed order), oldest version first."""
    from PIL import Image

    out = []
    for path in paths if paths is not None else sorted(LABELS.glob("default_test_labels_*.json")):
        labelled = json.loads(path.read_text())
        sheet = path.parent / labelled["pictures_12px"].split(":")[0]
        grid = np.asarray(Image.open(sheet).convert("RGB"))
        side = grid.shape[1] // 8
        pictures = grid.reshape(-1, side, 8, side, 3).transpose(0, 2, 1, 3, 4).reshape(-1, side, side, 3)
        out.append((labelled, pictures[: len(labelled["labels"])]))
    return out


def say_agreement(a: dict[str, int]) -> str:
    return (
        f"person or not {a['person']}/{a['pictures']} = {a['person'] / a['pictures']:.1%} "
        f"({a['person_sure']}/{a['sure']} of those the eye was sure of); "
        f"skin tone, of {a['people']} both call a person with a tone the eye could tell: same tone {a['skin']} "
        f"= {a['skin'] / max(a['people'], 1):.0%}, same or next shade {a['skin_near']} "
        f"= {a['skin_near'] / max(a['people'], 1):.0%}; gender: the eye could tell on {a['gendered']}, "
        f"the sorter agrees on {a['gender']}"
    )


def main(argv: list[str] | None = None) -> None:
    from stepthrough.builtin.datacard import load_card
    from stepthrough.widgets.tally.sorter import Judge, agreement, learned_from

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--labels", type=Path, nargs="*", help="labels files (default: every default_test_labels_*.json)"
    )
    parser.add_argument("--weights", type=Path, help="an export's folder (default: the shipped weights)")
    parser.add_argument("--sheet", type=Path, help="write the contact sheet of the pictures here")
    parser.add_argument("--seeds", type=int, default=128, help="draw seeds 0 … N-1 (default 128)")
    args = parser.parse_args(argv)

    prompt, steps, guidance = PROMPT, STEPS, GUIDANCE
    seeds = list(range(args.seeds))
    revision, pictures = draw(args.weights, prompt, seeds, steps, guidance)
    if args.sheet:
        contact_sheet(pictures, seeds, args.sheet)
        print(f"wrote {args.sheet} and its 12 px sheet beside it")
    card = load_card(args.weights) if args.weights and load_card(args.weights) else load_card()
    judge = Judge.from_card(card)
    sorted_ = judge.sort(pictures)
    model_people = sum(s["person"] for s in sorted_) / len(sorted_)
    print(f'"{prompt}", seeds {seeds[0]}–{seeds[-1]}, {steps} steps, guidance {guidance:g}, model {revision}')
    print(check_person_bases())

    eye_people = None
    for labelled, small in labelled_sets(args.labels):
        if (labelled["prompt"], labelled["steps"], labelled["guidance"]) != (prompt, steps, guidance):
            print(f"labels of {labelled['model_revision']}: another prompt or setting, left out")
            continue
        labels = labelled["labels"]
        print(
            f"labels by eye, model {labelled['model_revision']}, {len(labels)} pictures: "
            + say_agreement(agreement(judge.sort(small), labels))
        )
        if labelled["model_revision"] == revision and [e["seed"] for e in labels] == seeds[: len(labels)]:
            drawn = agreement(sorted_[: len(labels)], labels)
            print("  the same, from the pictures drawn now (not their 12 px sheet): " + say_agreement(drawn))
            eye_people = sum(e["person"] for e in labels) / len(labels)
    if eye_people is None:
        print(
            f"no labels by eye for {revision}: label its pictures (--sheet, look, write "
            f"benchmarks/default_test_labels_<version>.json and its 12 px sheet)"
        )

    print(left_out(card, prompt))
    data = learned_from(card, prompt)
    who = data["counts"]["who"]
    person = who.get("a person", {"data": 0.0, "training": 0.0})
    how = (
        "the recipe keeps the data's proportions"
        if data["keeps_proportions"]
        else "the v2 recipe, by builtin/shares.py"
    )
    print(
        f'pictures that carry the caption "{data["caption"]}": {data["pictures"]} of {data["emoji"]} emoji '
        f"({data['groups']} base emoji)"
    )
    print(
        f"share of people: data {person['data']:.0%}, training signal {person['training']:.0%} ({how}), "
        f"model {model_people:.0%} by the sorter over {len(sorted_)} seeds"
        + (f", {eye_people:.0%} by eye" if eye_people is not None else "")
    )
    first32 = sum(s["person"] for s in sorted_[:32])
    print(f"the page's 32 seeds (0–31): {first32} people by the sorter")


if __name__ == "__main__":
    main()
