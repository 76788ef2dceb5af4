"""The Default Test, measured: does the tally's sorter agree with a person's eye, and does the model
keep, flatten or amplify what it learned from for "a doctor"?

Draws "a doctor" from seeds 0–127 with the model the labels belong to (25 DDIM steps, guidance 5,
as the site does; kept in .runs/default-test/<revision>.npz, so a second run draws nothing), sorts
every picture with the tally's sorter (stepthrough/widgets/tally/sorter.py: k nearest of the data
card's thumbnails) and prints its agreement with the labels made by eye in
benchmarks/default_test_labels.json; then the share of people among the training pictures that
carry the caption "doctor" (the data), in what training showed (the training signal, as the data
card and config.json say it), and in the model's 128 seeds (by the sorter, and by eye).

    python benchmarks/default_test.py                    # prints; draws once per model revision
    python benchmarks/default_test.py --sheet sheet.png  # also writes the contact sheet to label by eye

Labels belong to one model revision: for other weights, the person/not-a-person agreement is not
printed (label them first: `--sheet`, look, write a labels file, `--labels FILE`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks" / "default_test_labels.json"
SKINS = ("yellow", "light", "medium-light", "medium", "medium-dark", "dark")


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


def main(argv: list[str] | None = None) -> None:
    from stepthrough.builtin.datacard import load_card
    from stepthrough.widgets.tally.sorter import Judge, learned_from

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--weights", type=Path, help="an export's folder (default: the shipped weights)")
    parser.add_argument("--sheet", type=Path, help="write the contact sheet of the pictures here")
    args = parser.parse_args(argv)

    labelled = json.loads(args.labels.read_text())
    seeds = [entry["seed"] for entry in labelled["labels"]]
    prompt, steps, guidance = labelled["prompt"], labelled["steps"], labelled["guidance"]
    revision, pictures = draw(args.weights, prompt, seeds, steps, guidance)
    if args.sheet:
        contact_sheet(pictures, seeds, args.sheet)
        print(f"wrote {args.sheet}")
    card = load_card(args.weights) if args.weights and load_card(args.weights) else load_card()
    sorted_ = Judge.from_card(card).sort(pictures)
    model_people = sum(s["person"] for s in sorted_) / len(sorted_)
    print(f'"{prompt}", seeds {seeds[0]}–{seeds[-1]}, {steps} steps, guidance {guidance:g}, model {revision}')
    print(check_person_bases())

    same_model = revision == labelled["model_revision"]
    if same_model:
        labels = labelled["labels"]
        agree = [s["person"] == e["person"] for s, e in zip(sorted_, labels, strict=True)]
        sure = [a for a, e in zip(agree, labels, strict=True) if not e.get("unsure")]
        print(
            f"person / not a person: sorter agrees with the eye on {sum(agree)}/{len(agree)} = {np.mean(agree):.1%} "
            f"({sum(sure)}/{len(sure)} = {np.mean(sure):.1%} of those the labeller was sure of)"
        )
        both = [(s, e) for s, e in zip(sorted_, labels, strict=True) if s["person"] and e["person"]]
        exact = sum(s["skin"] == e["skin"] for s, e in both)
        near = sum(
            abs(SKINS.index(s["skin"]) - SKINS.index(e["skin"])) <= 1
            for s, e in both
            if s["skin"] in SKINS and e["skin"] in SKINS and "yellow" not in (s["skin"], e["skin"])
        )
        near += sum(s["skin"] == e["skin"] == "yellow" for s, e in both)
        gendered = [(s, e) for s, e in both if e["gender"] in ("woman", "man")]
        print(
            f"skin tone, people both call a person: same tone {exact}/{len(both)}, same or next tone {near}/{len(both)}"
        )
        print(
            f"gender: the eye could tell on {len(gendered)}/{len(both)}; the sorter agrees on "
            f"{sum(s['gender'] == e['gender'] for s, e in gendered)}/{len(gendered)}"
        )
        eye_people = sum(e["person"] for e in labels) / len(labels)
    else:
        print(
            f"labels belong to {labelled['model_revision']}, not {revision}: no agreement printed "
            "(label this model's pictures by eye first)"
        )
        eye_people = None

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
