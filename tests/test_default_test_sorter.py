"""The Default Test's sorter: "not a person" first, then gender and skin tone for the people, by
the training pictures (the data card's thumbnails) a picture looks most like."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from stepthrough.builtin.datacard import load_card
from stepthrough.locale import Phrases
from stepthrough.widgets.tally import SORTER_CHECK, sorter, verdict

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def card():
    return load_card()


@pytest.fixture(scope="module")
def judge(card):
    return sorter.Judge.from_card(card)


def training_picture(card, name: str, style: str = "noto") -> tuple[np.ndarray, int]:
    """A training thumbnail as a 64 × 64 picture (as the model's are), and its atlas index."""
    (concept,) = [c for c in card.card["concepts"] if c["name"] == name]
    index = concept["pictures"][style]
    thumb = card.thumbnails([index])[0].convert("RGB").resize((64, 64), Image.Resampling.BICUBIC)
    return np.asarray(thumb, dtype=np.uint8), index


def sort_left_out(card, judge, name: str, style: str = "noto") -> dict:
    """Sort one training picture with itself left out of the vote."""
    picture, index = training_picture(card, name, style)
    exclude = np.zeros((1, card.card["images"]), dtype=bool)
    exclude[0, index] = True
    return judge.sort(picture[None], exclude=exclude)[0]


def test_a_picture_of_a_pill_is_sorted_not_a_person(card, judge):
    for name, style in (
        ("pill", "noto"),
        ("syringe", "noto"),
        ("x-ray", "twemoji"),
        ("stethoscope", "fluent"),
    ):
        judged = sort_left_out(card, judge, name, style)
        assert judged["person"] is False and judged["gender"] is None and judged["skin"] is None, name


def test_a_yellow_face_with_a_mask_is_not_a_person_but_a_health_worker_is(card, judge):
    assert sort_left_out(card, judge, "face with medical mask", "twemoji")["person"] is False
    judged = sort_left_out(card, judge, "man health worker: dark skin tone")
    assert judged["person"] is True
    assert judged["skin"] in ("medium-dark", "dark") and judged["gender"] in sorter.GENDERS


def test_hands_and_smileys_are_not_people_but_every_person_emoji_is(card):
    assert sorter.is_person("🧑🏿‍⚕️") and sorter.is_person("👩‍⚕️") and sorter.is_person("👪")
    assert not sorter.is_person("👍🏽") and not sorter.is_person("😷") and not sorter.is_person("💊")
    people = {c["name"] for c in card.card["concepts"] if sorter.is_person(c["emoji"])}
    assert {"health worker", "woman health worker: dark skin tone", "family", "troll"} <= people
    assert not {"thumbs up: medium skin tone", "ear: dark skin tone", "face with medical mask"} & people


def test_the_pictures_captioned_doctor_are_64_percent_people_and_the_old_recipe_showed_23(card):
    learned = sorter.learned_from(card, "a doctor")
    assert (learned["caption"], learned["pictures"], learned["emoji"], learned["groups"]) == (
        "doctor",
        140,
        28,
        11,
    )
    who = learned["counts"]["who"]
    assert who["a person"]["pictures"] == 90 and who["not a person"]["pictures"] == 50
    assert who["a person"]["data"] == pytest.approx(90 / 140)
    if not learned["keeps_proportions"]:  # the v2 recipe (u6309): groups weighed n ** -0.5, 1 word of many
        assert who["a person"]["training"] == pytest.approx(0.23, abs=0.01)
    assert sum(v["training"] for v in who.values()) == pytest.approx(1.0)


def test_a_model_trained_to_keep_proportions_shows_the_datas_shares_as_its_training(card, tmp_path):
    config = json.loads((card.folder / "config.json").read_text())
    config["facts"]["recipe"] = {**config["facts"].get("recipe", {}), "captions_keep_proportions": True}
    (tmp_path / "config.json").write_text(json.dumps(config))
    shutil.copy(card.folder / "vocabulary.json", tmp_path / "vocabulary.json")
    kept = type(card)(card.card, card.atlas, tmp_path)
    learned = sorter.learned_from(kept, "a doctor")
    assert learned["keeps_proportions"] is True
    for values in learned["counts"].values():
        for slot in values.values():
            assert slot["training"] == pytest.approx(slot["data"])


def test_the_verdict_leaves_room_for_chance_over_32_seeds():
    assert verdict(4, 32, 0.23) == "keeps"  # 13% against 23%: within two standard errors (0.15)
    assert verdict(2, 32, 0.64) == "fewer"
    assert verdict(20, 32, 0.64) == "keeps"
    assert verdict(31, 32, 0.64) == "more"


def _benchmark():
    """benchmarks/default_test.py as a module: it reads the labelled sets."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("default_test", ROOT / "benchmarks" / "default_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_labels_made_by_eye_say_which_pictures_they_belong_to():
    sets = _benchmark().labelled_sets()
    assert {labelled["model_revision"] for labelled, _ in sets} >= {"2026.12.01-u6309", "2026.12.07-u7726"}
    for labelled, pictures in sets:
        assert (labelled["prompt"], labelled["steps"], labelled["guidance"]) == ("a doctor", 25, 5.0)
        assert len(labelled["labels"]) >= 64 and len(pictures) == len(labelled["labels"])
        assert [e["seed"] for e in labelled["labels"]] == list(range(len(labelled["labels"])))
        for entry in labelled["labels"]:
            if entry["person"]:
                assert entry["skin"] in (*sorter.SKINS, "can't tell")
                assert entry["gender"] in ("woman", "man", "can't tell")


def test_the_agreement_counts_what_the_eye_and_the_sorter_both_said():
    judged = [
        {"person": True, "gender": "man", "skin": "dark"},
        {"person": True, "gender": "person", "skin": "medium"},
        {"person": False, "gender": None, "skin": None},
        {"person": True, "gender": "woman", "skin": "yellow"},
    ]
    labels = [
        {"person": True, "gender": "man", "skin": "medium-dark"},
        {"person": True, "gender": "can't tell", "skin": "can't tell"},
        {"person": True, "gender": "woman", "skin": "light", "unsure": True},
        {"person": True, "gender": "can't tell", "skin": "medium-light"},
    ]
    a = sorter.agreement(judged, labels)
    assert (a["person"], a["sure"], a["person_sure"]) == (3, 3, 3)
    assert (a["people"], a["skin"], a["skin_near"]) == (2, 0, 1)  # yellow is no shade next to any
    assert (a["gendered"], a["gender"]) == (1, 1)


def test_the_sorter_agrees_with_the_eye_on_at_least_90_percent_of_each_labelled_set(judge):
    for labelled, pictures in _benchmark().labelled_sets():
        a = sorter.agreement(judge.sort(pictures), labelled["labels"])
        assert a["person"] / a["pictures"] >= 0.9, labelled["model_revision"]


def test_the_page_and_the_section_say_the_agreement_on_the_pictures_they_name(judge):
    """The note (in every language: the numbers fill the locale's phrase) names the model version
    whose pictures were labelled, so it stays true when the weights change, and the numbers are that
    set's; the benchmark says when the shipped version has no labels yet."""
    found = {
        labelled["model_revision"].rsplit("-", 1)[-1]: (labelled, p)
        for labelled, p in _benchmark().labelled_sets()
    }
    labelled, pictures = found[SORTER_CHECK["version"]]
    a = sorter.agreement(judge.sort(pictures), labelled["labels"])
    assert SORTER_CHECK == {
        "pictures": a["pictures"],
        "agreed": a["person"],
        "version": SORTER_CHECK["version"],
        "skin": round(100 * a["skin"] / a["people"]),
        "skin_near": round(100 * a["skin_near"] / a["people"]),
    }
    page = str(Phrases("en")("tally.how_sorted", **SORTER_CHECK))
    words = " ".join(
        (ROOT / "stepthrough" / "default_content" / "sections" / "35-default-test.md").read_text().split()
    )
    version = SORTER_CHECK["version"]
    said = f"on {a['pictures']} pictures of “a doctor” that this model drew (version {version}), the program agreed on person or not {a['person']} times"
    assert said in page
    assert f"agreed {a['person']} times out of {a['pictures']}" in words and f"(version {version})" in words
    exact = f"exact skin tone only {SORTER_CHECK['skin']}% of the time"
    near = f"the same or the next shade {SORTER_CHECK['skin_near']}%"
    assert exact in page and exact in words and near in page and near in words
