"""The training data behind a default: the data card (skin tone and gender from the names, one
thumbnail per picture), the nearest concepts by the model's own text encoder, and the panel the
build writes, from a card, from an author's summary, or saying the data is unknown."""

from __future__ import annotations

import re

import pytest
from conftest import write_content
from tiny_model import TinyModel
from training_data_card import APPLE, HEALTH, STYLES, CardModel, colour, tiny_card

from stepthrough.builtin.datacard import describe, gender, skin_tone
from stepthrough.content import ContentError, load_content
from stepthrough.precompute.run import precompute
from stepthrough.site.build import build_site

SECTION = """
    ---
    title: The pictures behind it
    widget: training-data
    settings:
      prompt: a doctor
    ---
    Where the default comes from.
"""

SUMMARY = """
    ---
    title: The pictures behind it
    widget: training-data
    settings:
      prompt: a doctor
      summary:
        about: A sample of 1,000 captioned photos, counted by hand.
        concepts:
          - name: doctor
            captions: [physician]
            pictures: 700
            counts: {gender: {woman: 210, man: 450, "can't tell": 40}}
          - name: apple
            pictures: 300
    ---
    Where the default comes from.
"""


@pytest.mark.parametrize(
    "name, tone, sex",
    [
        ("man health worker: medium skin tone", "medium", "man"),
        ("woman health worker", None, "woman"),
        ("kiss: woman, man, light skin tone, dark skin tone", "mixed", "mixed"),
        ("family: man, woman, boy", None, "mixed"),
        ("people holding hands: medium-dark skin tone", "medium-dark", "person"),
        ("woman’s hat", None, None),
        ("red apple", None, None),
    ],
)
def test_skin_tone_and_gender_come_from_the_unicode_name(name, tone, sex):
    assert (skin_tone(name), gender(name)) == (tone, sex)


def test_a_variant_that_names_no_tone_or_gender_is_the_default_of_its_group():
    names = ["health worker", "woman health worker: dark skin tone", "red apple"]
    groups = ["health worker", "health worker", "red apple"]
    assert describe(names, groups) == [("yellow", "person"), ("dark", "woman"), (None, None)]


def test_the_card_holds_each_concept_with_its_styles_and_one_thumbnail_per_picture(tmp_path):
    card = tiny_card(tmp_path / "card")
    concepts = {c["emoji"]: c for c in card.card["concepts"]}
    assert list(concepts) == [*HEALTH, APPLE] and card.card["styles"] == list(STYLES)
    assert concepts["👩🏿‍⚕️"] | {"pictures": None} == {
        "emoji": "👩🏿‍⚕️", "name": "woman health worker: dark skin tone", "group": "health worker",
        "words": ["doctor", "nurse"], "pictures": None, "skin": "dark", "gender": "woman",
    }  # fmt: skip
    for c, char in enumerate([*HEALTH, APPLE]):
        for s, style in enumerate(STYLES):
            (thumb,) = card.thumbnails([concepts[char]["pictures"][style]])
            centre = thumb.getpixel((thumb.width // 2, thumb.height // 2))
            assert max(abs(a - b) for a, b in zip(centre, colour(s, c))) < 24, (char, style)


def built(tmp_path, section, model):
    site = 'title = "Test site"\nmodel = "tiny-test"\nbundle = "test-bundle"\n'
    content = load_content(write_content(tmp_path / "content", {"01-data.md": section}, site=site))
    bundle = precompute(content, tmp_path / "bundles", model=model, progress=False)
    site_dir = build_site(content, bundle, tmp_path / "site")
    page = (site_dir / "index.html").read_text(encoding="utf-8")
    figure = re.search(r'<figure class="training-data".*?</figure>', page, re.DOTALL).group(0)
    from stepthrough.site.build import widget_data_of

    source = re.search(r'<script [^>]*src="([^"]+)" class="widget-data">', figure).group(1)
    data = widget_data_of((site_dir / source).read_text(encoding="utf-8"))
    # the figure as a reader with JavaScript sees it: the markup its data file carries put back
    parts = iter(data.pop("later", []))
    figure = re.sub(r'<div class="widget-later">.*?</div>', lambda _: next(parts), figure, flags=re.DOTALL)
    return site_dir, figure, data


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_every_emoji_that_carries_the_nearest_caption_is_shown_and_counted_people_first(tmp_path):
    site, figure, data = built(tmp_path, SECTION, CardModel(tiny_card(tmp_path / "card")))
    # "doctor" captions the health workers and the apple alike: both are what the model learned it from
    group, apple = data["groups"]
    assert (group["name"], group["caption"], group["pictures"]) == ("health worker", "doctor", 12)
    assert (apple["name"], apple["caption"], apple["pictures"]) == ("red apple", "doctor", 2)
    assert data["runners_up"] == [] and data["total"] == 14
    assert [s["style"] for s in group["styles"]] == list(STYLES)
    assert [p["name"] for p in group["styles"][0]["pictures"]] == [  # by skin tone, then gender
        "woman health worker", "man health worker", "health worker",
        "woman health worker: dark skin tone", "man health worker: dark skin tone", "health worker: dark skin tone",
    ]  # fmt: skip
    counts = {t["name"]: {v["value"]: v["count"] for v in t["values"]} for t in data["tags"]}
    assert [t["name"] for t in data["tags"]] == ["who", "skin", "gender"]
    assert counts["who"] == {"a person": 12, "not a person": 2}
    assert counts["skin"] == {
        "yellow": 6,
        "light": 0,
        "medium-light": 0,
        "medium": 0,
        "medium-dark": 0,
        "dark": 6,
    }  # the people only: the apple has no skin tone
    assert counts["gender"] == {"woman": 4, "man": 4, "person": 4}
    words = text(figure)
    assert "“doctor” is a caption of 14 training pictures of 2 different emoji" in words
    assert "is nearest to" not in words
    assert "14 training pictures behind “a doctor”" in words and "12 of 14" in words and "6 of 12" in words
    assert figure.count('role="img"') == 14 and "woman health worker: dark skin tone (3d)" in figure
    assert 'data-who="not a person"' in figure
    sheet = re.search(r"url\('(assets/frames/[0-9a-f]{16}\.webp)'\)", figure).group(1)
    assert (site / sheet).stat().st_size > 0


def test_a_model_without_a_card_or_summary_says_its_data_is_unknown(tmp_path):
    _, figure, data = built(tmp_path, SECTION, TinyModel())
    assert data["known"] is False and data["groups"] == []
    assert "This model's training data is unknown here." in text(figure) and "thumb" not in figure


def test_an_authors_summary_is_ranked_by_the_models_encoder_and_counted(tmp_path):
    _, figure, data = built(tmp_path, SUMMARY, TinyModel())
    assert [g["name"] for g in data["groups"]] == ["doctor"] and data["source"] == "summary"
    counts = {t["name"]: {v["value"]: v["count"] for v in t["values"]} for t in data["tags"]}
    assert counts == {"gender": {"woman": 210, "man": 450, "can't tell": 40}} and data["total"] == 700
    words = text(figure)
    assert "From the author's summary of the data: A sample of 1,000 captioned photos" in words
    assert "450 of 700" in words and "doctor: 700 pictures" in words


def test_a_wrong_summary_is_one_line_naming_the_file_and_key(tmp_path):
    broken = SUMMARY.replace("pictures: 700", "pictures: many")
    with pytest.raises(ContentError) as error:
        load_content(write_content(tmp_path / "content", {"01-data.md": broken}))
    message = str(error.value)
    assert "01-data.md" in message and "settings.summary.concepts" in message and "pictures" in message
    assert "expected a whole number" in message and len(message.splitlines()) == 1


def test_the_summary_is_part_of_the_projections_id(tmp_path):
    ids = []
    for section in (SECTION, SUMMARY, SUMMARY.replace("700", "701")):
        content = load_content(write_content(tmp_path / f"c{len(ids)}", {"01-data.md": section}))
        ids.append(content.sections[0].projection.content_id({"model": {}}))
    assert len(set(ids)) == 3
