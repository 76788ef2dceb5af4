"""Every claim the default explainer makes about its pictures (the notes under them, the Default
Test's share of people, the samplers' convergence) holds for the bundle of the model it ships with:
when the model is retrained, this names each sentence that stopped being true."""

from __future__ import annotations

import shutil

from stepthrough.content import load_content
from stepthrough.site.claims import CLAIMS, check_claims


def test_every_claim_of_the_default_explainer_holds_for_its_bundle(default_bundle):
    content, bundle, manifest = default_bundle
    assert check_claims(content, bundle, manifest) == []


def test_the_default_explainer_claims_what_its_words_say_about_people_guidance_steps_and_samplers(
    default_bundle,
):
    content, _, _ = default_bundle
    by_widget = {}
    for section in content.sections:
        by_widget.setdefault(section.meta.widget, []).append(section)
    assert any(s.settings.people for s in by_widget["tally"])
    assert all(s.settings.converge_within for s in by_widget["samplers"])
    words = {
        word
        for section in by_widget["compare"]
        for note in (section.settings.notes or {}).values()
        for word in CLAIMS
        if word in note.lower()
    }
    assert {"same picture from here on", "paler", "darker", "redder", "a blur"} <= words, words


def test_claims_the_pictures_contradict_fail_against_the_same_bundle(default_bundle, tmp_path):
    content, bundle, manifest = default_bundle
    copy = tmp_path / "content"
    shutil.copytree(content.root, copy)
    tally = copy / "sections" / "35-default-test.md"
    tally.write_text(tally.read_text().replace("people: more", "people: fewer"))
    steps = copy / "sections" / "80-steps.md"
    steps.write_text(steps.read_text().replace('"50": "the reference"', '"50": "mud"'))
    race = copy / "sections" / "85-samplers.md"
    race.write_text(race.read_text().replace("converge_within: 0.1", "converge_within: 0.001"))
    guidance = copy / "sections" / "120-too-weak-too-strong.md"
    guidance.write_text(guidance.read_text().replace('"1": "weak: paler', '"1": "weak: redder'))
    problems = check_claims(load_content(copy), bundle, manifest)
    assert any(p.startswith(f"{tally}:") and "people: 'fewer' claims" in p for p in problems), problems
    assert any(p.startswith(f"{steps}:") and 'note "50": "mud" claims' in p for p in problems), problems
    for seed in (0, 1, 2):  # every seed the section shows is measured
        assert any(
            p.startswith(f"{guidance}:") and f'note "1" (seed {seed}): "redder"' in p for p in problems
        )
    assert any(p.startswith(f"{race}:") and "(needs ≤ 0.001)" in p for p in problems), problems


def test_every_claim_of_every_language_of_the_default_explainer_holds_for_its_bundle(default_bundle):
    from conftest import DEFAULT_CONTENT

    from stepthrough.site.languages import load_languages

    _, bundle, manifest = default_bundle
    for language in load_languages(DEFAULT_CONTENT):
        assert check_claims(language.content, bundle, manifest) == [], language.code
