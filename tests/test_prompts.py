"""`stepthrough prompts` and the build's check of prompts against what the builtin model learned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_content

from stepthrough import checks, vocabulary
from stepthrough.cli import main
from stepthrough.content import load_content

ROOT = Path(__file__).resolve().parents[1]
# What the builtin model v2 (the shipped weights) is taught:
# names, aliases, emojilib keywords and five styles.
V2 = ROOT / "stepthrough" / "builtin" / "weights" / "vocabulary.json"


@pytest.fixture(autouse=True)
def v2_vocabulary(monkeypatch):
    monkeypatch.setattr(vocabulary, "VOCABULARY", V2)


@pytest.fixture(scope="module")
def known() -> vocabulary.Vocabulary:
    return vocabulary.load(V2)


def prompts(*args: str) -> tuple[list[str], str]:
    """`stepthrough prompts ARGS`: the listed emoji (stdout, up to the caption's shares), and what it
    said about them (stderr)."""
    result = CliRunner().invoke(main, ["prompts", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.split("\n\n")[0].splitlines(), result.stderr


def test_prompts_for_a_caption_shared_by_people_and_objects_prints_each_emojis_share_in_data_and_training():
    result = CliRunner().invoke(main, ["prompts", "a", "doctor"])
    shares = result.stdout.split("\n\n")[1]
    assert "'a doctor' is carried by 140 training pictures" in shares
    [workers] = [line for line in shares.splitlines() if line.endswith("health worker (90 pictures)")]
    assert workers.split()[0] == "64.3%"  # 90 of the 140 pictures captioned "doctor"


def test_prompts_warns_when_the_words_are_known_but_no_caption_reads_so():
    _, said = prompts("smiling", "cat", "with", "heart", "eyes")
    assert "'smiling cat with heart eyes' is not a caption the builtin model was trained with" in said
    assert "nearest captions: 'smiling cat with heart-eyes'" in said
    _, said = prompts("smiling", "cat", "with", "heart-eyes")
    assert "not a caption" not in said


def test_prompts_lists_every_emoji_the_model_learned_once_with_its_skin_tones_folded_in(known):
    listed, said = prompts()
    taught = json.loads(vocabulary.VOCABULARY.read_text(encoding="utf-8"))["concepts"]
    names = {c["name"] for c in taught}
    # a variant folds into its base; one whose base was not taught ("couple with heart person
    # person: dark skin tone, light skin tone") keeps its own line
    folded = [c for c in taught if (vocabulary.skin_tone_variant(c["name"]) or ("",))[0] in names]
    assert len(folded) > 1000
    assert len(listed) == len(taught) - len(folded)
    assert f"learned {len(listed)} emoji ({len(taught)} with skin tones)" in said
    [worker] = [line for line in listed if line.split(" · ")[0].endswith("  health worker")]
    assert worker.endswith("skin tones: light; medium-light; medium; medium-dark; dark")
    assert "words: hospital, dentist, doctor" in worker


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ("doctor", "health worker"),  # a keyword
        ("scream cat", "weary cat"),  # an alias
        ("cats", "cat"),  # plural and singular alike
        ("heart eyes", "smiling cat with heart-eyes"),  # a hyphen is a space
    ],
)
def test_prompts_word_finds_names_aliases_and_keywords(query, finds):
    listed, said = prompts(*query.split())
    names = [line.split(" · ")[0].split("  ", 1)[1] for line in listed]
    assert finds in names and f"match {query!r}" in said


def test_prompts_with_no_match_names_the_nearest_emoji():
    listed, said = prompts("rockt")
    assert listed == [] and said.startswith(
        "No emoji the builtin model learned has the word 'rockt'; nearest: 'rocket'"
    )


def test_the_default_explainer_uses_only_prompts_the_builtin_model_knows():
    content = load_content(ROOT / "stepthrough" / "default_content")
    assert content.site.model == "builtin"
    assert checks.unknown_prompts(content) == []


@pytest.mark.parametrize(
    ("prompt", "knows"),
    [
        ("red apple", True),
        ("a 3d red apple", True),  # the styled captions it was taught
        ("a doctor", True),  # a keyword of the health workers
        ("woman health worker: dark skin tone", True),
        ("", True),  # the empty caption (word-by-word's first step)
        ("a cup of coffee on a wooden table", False),
        ("a cat wearing a hat", False),  # two emoji's words: no emoji was taught as both
        ("rockt", False),
    ],
)
def test_a_prompt_is_known_when_all_its_words_belong_to_one_emoji(known, prompt, knows):
    assert known.knows(prompt) is knows


def test_nearest_names_the_emoji_that_share_words_or_spelling(known):
    assert known.nearest("rockt")[0] == "rocket"
    assert "hot beverage" in known.nearest("a cup of hot coffee")
    assert known.nearest("a photo of an astronaut riding a horse", n=5)[:1] != []
    assert all(":" not in name for name in known.nearest("health worker with dark skin", n=5))


def test_warning_names_each_far_prompt_once_with_its_file_and_line(tmp_path):
    section = """
        ---
        title: Mixed
        widget: compare
        sweep:
          prompts: ["rocket", "a cup of coffee on a wooden table"]
          towards: "spaceship made of cheese"
        ---
        Words.
    """
    content = load_content(write_content(tmp_path / "c", {"01-mixed.md": section, "02-again.md": section}))
    found = checks.unknown_prompts(content)
    assert len(found) == 4  # two prompts in each of two sections; "rocket" is fine
    assert found[0].startswith(f"{tmp_path / 'c' / 'sections' / '01-mixed.md'}:5: prompt 'a cup of coffee")
    assert found[1].startswith(f"{tmp_path / 'c' / 'sections' / '01-mixed.md'}:6: prompt 'spaceship made of")
    assert checks.unknown_prompts(content, model="stabilityai/sd-turbo") == []  # other models: no list


def test_the_warning_names_the_line_of_the_key_that_holds_the_prompt_not_the_first_line_with_its_words(tmp_path):
    section = """
        ---
        title: A cup of coffee on a wooden table
        caption: a cup of coffee on a wooden table, twice
        widget: stepper
        sweep:
          prompts:
            - rocket
            - a cup of coffee on a wooden table
        ---
        A cup of coffee on a wooden table.
    """
    content = load_content(write_content(tmp_path / "c", {"01-cup.md": section}))
    [found] = checks.unknown_prompts(content)
    assert found.startswith(f"{tmp_path / 'c' / 'sections' / '01-cup.md'}:8: prompt 'a cup of coffee")


def test_the_build_warns_on_a_prompt_whose_words_it_knows_but_no_caption_reads_so(tmp_path):
    section = """
        ---
        title: Cat
        widget: stepper
        sweep:
          prompts: ["red apple", "smiling cat with heart eyes"]
        ---
        Words.
    """
    content = load_content(write_content(tmp_path / "c", {"01-cat.md": section}))
    [found] = checks.unknown_prompts(content)
    assert found.startswith(f"{tmp_path / 'c' / 'sections' / '01-cat.md'}:5: prompt 'smiling cat with heart eyes' "
                            "is no caption the builtin model was trained with")
    assert found.endswith("nearest captions: 'smiling cat with heart-eyes'")


def test_checking_prompts_loads_no_model_stack(tmp_path):
    content = write_content(
        tmp_path / "c", {"01-a.md": "---\ntitle: A\nwidget: stepper\nsweep:\n  prompts: [xyzzy]\n---\n"}
    )
    code = (
        "import sys; from stepthrough import checks; from stepthrough.content import load_content; "
        f"assert checks.unknown_prompts(load_content({str(content)!r})); "
        "print([m for m in ('torch', 'diffusers', 'transformers', 'sklearn') if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_long_list_of_shares_ends_in_one_row_that_sums_the_rest():
    from stepthrough.builtin import shares

    pictures = shares.from_vocabulary(vocabulary.load(V2).concepts)
    rows = shares.by_group(shares.of_caption(pictures, "a doctor", shares.Recipe()))
    shown = shares.head(rows, 4)
    assert len(shown) == 5 and shown[-1].name == f"{len(rows) - 4} more emoji"
    assert sum(r.pictures for r in shown) == 140
    assert sum(r.data for r in shown) == pytest.approx(1.0) and sum(r.signal for r in shown) == pytest.approx(1.0)
