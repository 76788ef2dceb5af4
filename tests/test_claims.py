"""Notes that claim a fact about a picture are checked against the pictures: build warns, --strict fails."""

from __future__ import annotations

import itertools

import numpy as np
from click.testing import CliRunner
from conftest import write_content
from tiny_model import TinyModel

from stepthrough.bundle import read_manifest
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute
from stepthrough.site.claims import CLAIMS, Tile, check_claims, saturation, sharpness

SECTION = """
    ---
    title: Step counts
    widget: compare
    settings:
      label: steps
      notes: {{"1": "{one}", "4": "{four}"}}
    sweep:
      prompts: ["a cat"]
      steps: [1, 4]
    ---
    Text.
"""


def bundle_for(tmp_path, one: str, four: str):
    site = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\n'
    root = write_content(tmp_path / "content", {"01-steps.md": SECTION.format(one=one, four=four)}, site)
    content = load_content(root)
    return root, content, precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False)


def test_a_note_that_the_pictures_contradict_is_named_with_its_file_line_and_measurement(tmp_path):
    _, content, bundle = bundle_for(tmp_path, one="the reference", four="the reference")
    problems = check_claims(content, bundle, read_manifest(bundle))
    assert len(problems) == 1  # the 4-step picture is the reference; the 1-step one is not
    assert problems[0].startswith(f'{content.sections[0].path}:6: note "1": "the reference" claims')
    assert "it has 1 step, the reference 4" in problems[0]


def test_build_warns_and_strict_stops_before_writing_anything(tmp_path):
    root, _, _ = bundle_for(tmp_path, one="the reference", four="the reference")
    args = [
        "build",
        "--content",
        str(root),
        "--bundles",
        str(tmp_path / "bundles"),
        "--out",
        str(tmp_path / "site"),
    ]
    warned = CliRunner().invoke(main, args)
    assert warned.exit_code == 0, warned.output
    assert "warning: " in warned.output and 'note "1": "the reference"' in warned.output
    strict = CliRunner().invoke(main, [*args, "--strict", "--out", str(tmp_path / "strict")])
    assert strict.exit_code == 2 and 'warning: ' in strict.output and 'note "1": "the reference"' in strict.output
    assert strict.output.splitlines()[-1].endswith("and --strict turns warnings into errors")
    assert "Traceback" not in strict.output and not (tmp_path / "strict").exists()


def test_notes_without_claims_or_with_true_ones_pass(tmp_path):
    _, content, bundle = bundle_for(tmp_path, one="quick", four="the reference")
    assert check_claims(content, bundle, read_manifest(bundle)) == []


def test_the_measurements_mean_what_their_names_say():
    flat = np.full((16, 16, 3), 0.5, dtype=np.float32)
    stripes = flat.copy()
    stripes[::2] = 0.0
    vivid = np.zeros_like(flat)
    vivid[..., 0] = 1.0
    assert sharpness(stripes) > sharpness(flat) == 0
    assert saturation(vivid) == 1.0 and saturation(flat) == 0.0
    one = Tile(label="1", steps=1, seed=0, guidance=5.0, prompt="a", picture=stripes)
    many = Tile(label="8", steps=8, seed=0, guidance=5.0, prompt="a", picture=flat)
    far, measured = CLAIMS["mud"][1](one, [one, many])
    assert far and "distance 0.354 to the 8-step picture" in measured
    blur, _ = CLAIMS["a blur"][1](one, [one, many])
    assert not blur  # far off, but sharper than the reference: not a blur


def test_with_a_blend_sweep_a_claim_is_measured_against_the_reference_the_page_shows():
    from stepthrough.widgets.base import references

    flat = np.full((16, 16, 3), 0.5, dtype=np.float32)
    stripes = flat.copy()
    stripes[::2] = 0.0
    # Two blends of one prompt: the blend-0 picture's reference is its own 8-step one (flat), not
    # the 25-step picture of the other blend (stripes), which has more steps.
    tiles = [
        Tile(label="2", steps=2, seed=0, guidance=5.0, prompt="a", towards="b", blend=0.0, picture=flat),
        Tile(label="8", steps=8, seed=0, guidance=5.0, prompt="a", towards="b", blend=0.0, picture=flat),
        Tile(label="25", steps=25, seed=0, guidance=5.0, prompt="a", towards="b", blend=1.0, picture=stripes),
    ]
    page = references(dict(enumerate(tiles)))
    assert page == {0: 1, 1: 1, 2: 2}
    near, measured = CLAIMS["good enough"][1](tiles[0], tiles)
    assert near and "distance 0.000 to the 8-step picture" in measured
    assert CLAIMS["the reference"][1](tiles[1], tiles)[0]


def test_sampler_convergence_fails_for_a_sampler_that_does_not_close_in_or_ends_too_far():
    from stepthrough.bundle.ids import Job
    from stepthrough.site.claims import check_convergence

    reference = np.zeros((8, 8, 3), dtype=np.float32)

    def off(distance: float) -> np.ndarray:
        return reference + distance  # RMS distance `distance` from the reference

    jobs, pictures = [], []
    for name, distances in {
        "ddim": (0.2, 0.1, 0.04),  # closes in, ends near: holds
        "heun": (0.55, 0.5, 0.48),  # closes in, but ends far off (Heun out of σ ≈ 20,000, before issue 25)
        "euler": (0.2, 0.25, 0.04),  # wanders off on the way
    }.items():
        for steps, distance in zip((5, 10, 25), distances, strict=True):
            jobs.append(Job("red apple", 7, steps, 5.0, sampler=name))
            pictures.append(off(distance))
    jobs.append(Job("red apple", 7, 100, 5.0, sampler="dpm++2m"))
    pictures.append(reference)
    problems = check_convergence(jobs, pictures, within=0.1)
    assert problems == [
        "Heun ends 0.480 from the reference (needs ≤ 0.1): 0.550 at 8, 0.500 at 18, 0.480 at 48",
        "Euler does not get closer to the reference as its evaluations grow: 0.200 at 5, 0.250 at 10, 0.040 at 25",
    ]


SAMPLERS_CLAIM = """
    ---
    title: Samplers
    widget: samplers
    settings:
      reference_steps: 10
      converge_within: {within}
    sweep:
      prompts: ["a cat"]
      seeds: [3]
      steps: [2, 4]
      guidance: [4.0]
      schedulers: [ddim, heun]
    ---
    Text.
"""


def test_a_samplers_section_that_claims_convergence_is_checked_on_build(tmp_path):
    site = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\n'
    root = write_content(tmp_path / "content", {"01-race.md": SAMPLERS_CLAIM.format(within=0.001)}, site)
    content = load_content(root)
    bundle = precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False)
    problems = check_claims(content, bundle, read_manifest(bundle))
    assert problems and all(p.startswith(f"{content.sections[0].path}:6: ") for p in problems)
    assert {p.split(": ")[1].split()[0] for p in problems} <= {"DDIM", "Heun"}
    loose = load_content(write_content(tmp_path / "loose", {"01-race.md": SAMPLERS_CLAIM.format(within=1)}, site))
    assert [p for p in check_claims(loose, bundle, read_manifest(bundle)) if "ends" in p] == []


def test_paler_more_saturated_and_same_picture_from_here_on_are_measured():
    white = np.ones((16, 16, 3), dtype=np.float32)

    def apple(red: float) -> np.ndarray:
        picture = white.copy()
        picture[4:12, 4:12] = (1.0, 1.0 - red, 1.0 - red)  # a square on white, `red` its saturation
        return picture

    def tile(label: str, picture: np.ndarray, steps: int = 25) -> Tile:
        return Tile(label=label, steps=steps, seed=0, guidance=float(label), prompt="a", picture=picture)

    weak, middle, strong = tile("1", apple(0.3)), tile("5", apple(0.6)), tile("15", apple(0.9))
    tiles = [weak, middle, strong]
    assert CLAIMS["paler"][1](weak, tiles)[0] and not CLAIMS["paler"][1](strong, tiles)[0]
    assert CLAIMS["more saturated"][1](strong, tiles)[0] and not CLAIMS["more saturated"][1](middle, tiles)[0]
    # the white around the square does not dilute the colour of the thing drawn
    assert CLAIMS["paler"][1](weak, tiles)[1] == "colourfulness 0.30 against the section's median 0.60 (needs ≤ −0.05)"

    def steps_tile(steps: int, picture: np.ndarray) -> Tile:
        return Tile(label=str(steps), steps=steps, seed=0, guidance=5.0, prompt="a", picture=picture)

    runs = [steps_tile(1, white * 0.5), steps_tile(2, apple(0.6)), steps_tile(10, apple(0.62)), steps_tile(50, apple(0.6))]
    holds, measured = CLAIMS["same picture from here on"][1](runs[1], runs)
    assert holds, measured
    holds, measured = CLAIMS["same picture from here on"][1](runs[0], runs)
    assert not holds and measured.startswith("the 1 step picture is 0.")


def test_more_saturated_tells_apart_pictures_whose_colours_all_have_a_channel_at_zero():
    """HSV saturation is 1 wherever a channel is 0, so a dark red and a bright red both measured 1
    at the 90th percentile and "more saturated" could not tell them apart."""
    from stepthrough.site.claims import colourfulness

    def square(colour: tuple[float, float, float]) -> np.ndarray:
        picture = np.ones((16, 16, 3), dtype=np.float32)
        picture[4:12, 4:12] = colour
        return picture

    dull, rich, pure = square((0.35, 0.0, 0.0)), square((0.7, 0.0, 0.0)), square((1.0, 0.0, 0.0))
    assert np.percentile(saturation(dull[4:12, 4:12]), 90) == saturation(pure[4:12, 4:12]) == 1.0
    assert colourfulness(dull) < colourfulness(rich) < colourfulness(pure) == 1.0
    tiles = [
        Tile(label=label, steps=25, seed=0, guidance=g, prompt="a", picture=p)
        for label, g, p in (("1", 1.0, dull), ("5", 5.0, rich), ("15", 15.0, pure))
    ]
    assert CLAIMS["more saturated"][1](tiles[2], tiles)[0]
    assert not CLAIMS["more saturated"][1](tiles[1], tiles)[0]
    assert CLAIMS["paler"][1](tiles[0], tiles)[0]


def test_a_people_claim_on_a_tally_sorted_by_explicit_prompts_is_refused_naming_the_key(tmp_path):
    import pytest

    from stepthrough.errors import StepthroughError

    tally = """
        ---
        title: Counted
        widget: tally
        settings:
          people: more
          compare_with:
            - {prompt: "a cat", tags: {kind: cat}}
            - {prompt: "a dog", tags: {kind: dog}}
        sweep:
          prompts: ["a pet"]
          seeds: [0, 1]
        ---
        Text.
    """
    root = write_content(tmp_path / "content", {"01-tally.md": tally})
    with pytest.raises(StepthroughError, match="people: a claim about people needs the data card's sort"):
        load_content(root)


def test_in_a_section_of_several_seeds_each_picture_is_compared_with_its_own_seeds_others():
    def square(red: float) -> np.ndarray:
        picture = np.ones((16, 16, 3), dtype=np.float32)
        picture[4:12, 4:12] = (1.0, 1.0 - red, 1.0 - red)
        return picture

    tiles = [
        Tile(label=str(g), steps=25, seed=seed, guidance=float(g), prompt="a", picture=square(red))
        for seed, reds in ((0, (0.2, 0.3, 0.4)), (1, (0.6, 0.8, 0.9)))
        for g, red in zip((1, 5, 15), reds, strict=True)
    ]
    # seed 1 at guidance 1 (0.6) is more colourful than anything of seed 0, yet paler than seed 1's others
    holds, measured = CLAIMS["paler"][1](tiles[3], tiles)
    assert holds and measured == "colourfulness 0.60 against seed 1's median 0.80 (needs ≤ −0.05)"
    assert not CLAIMS["paler"][1](tiles[2], tiles)[0]  # seed 0's strongest, against its own seed


def test_a_spanish_site_claims_with_spanish_words_and_its_english_words_claim_nothing(tmp_path):
    site = 'title = "T"\nmodel = "tiny-test"\nbundle = "b"\nlanguage = "es"\n'
    sections = {"01-steps.md": SECTION.format(one="la referencia", four="la referencia")}
    content = load_content(write_content(tmp_path / "content", sections, site))
    bundle = precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False)
    problems = check_claims(content, bundle, read_manifest(bundle))
    assert len(problems) == 1  # the 1-step picture is not the reference
    assert problems[0].startswith(f'{content.sections[0].path}:6: note "1": "la referencia" ("the reference") claims')
    assert "it has 1 step, the reference 4" in problems[0]
    english = {"01-steps.md": SECTION.format(one="the reference", four="the reference")}
    unchecked = load_content(write_content(tmp_path / "english-words", english, site))
    assert check_claims(unchecked, bundle, read_manifest(bundle)) == []


def test_every_spanish_claim_word_makes_a_check_that_exists():
    from stepthrough.site.claims import TRANSLATED_CLAIMS, claim_words

    for words in TRANSLATED_CLAIMS.values():
        assert set(words.values()) <= set(CLAIMS)
        for shorter, longer in itertools.combinations(list(words), 2):
            assert shorter not in longer, f"'{longer}' must come before '{shorter}', which it contains"
    assert claim_words("es-MX")["barro"] == "mud" and claim_words("fr") == {w: w for w in CLAIMS}
