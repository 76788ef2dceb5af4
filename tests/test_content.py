"""The content format: what loads, and what a mistake looks like (file, line, key, expectation)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import STEPPER_SECTION, write_content

from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.errors import ContentError


def problems_for(tmp_path, sections=None, site=None) -> list[str]:
    root = write_content(tmp_path / "c", sections or {"01-watch.md": STEPPER_SECTION}, site)
    with pytest.raises(ContentError) as info:
        load_content(root)
    return info.value.problems


def test_valid_content_loads_with_sections_in_file_order(tmp_path):
    root = write_content(
        tmp_path / "c",
        {"10-later.md": "---\ntitle: Later\n---\ntext\n", "02-first.md": STEPPER_SECTION},
    )
    content = load_content(root)
    assert [s.id for s in content.sections] == ["first", "later"]
    sweep = content.sections[0].meta.sweep
    assert sweep.prompts == ["a doctor", "red apple"] and sweep.steps == [3] and sweep.guidance == [4.0]


def test_a_single_value_is_accepted_where_a_list_is_expected(tmp_path):
    text = "---\ntitle: T\nwidget: stepper\nsweep:\n  prompts: cat\n  seeds: 4\n---\n"
    content = load_content(write_content(tmp_path / "c", {"01-a.md": text}))
    assert content.sections[0].meta.sweep.prompts == ["cat"]
    assert content.sections[0].meta.sweep.seeds == [4]


def test_unknown_front_matter_key_names_file_line_and_allowed_keys(tmp_path):
    text = "---\ntitle: T\nwidget: stepper\nsweep:\n  prompts: [cat]\n  stepz: 3\n---\n"
    [problem] = problems_for(tmp_path, {"01-a.md": text})
    assert problem.endswith(
        "01-a.md:6: unknown key 'sweep.stepz'; expected one of: prompts, seeds, steps, guidance, "
        "word_by_word, towards, blend, schedulers"
    )


def test_wrong_type_names_the_key_and_the_value(tmp_path):
    text = "---\ntitle: T\nwidget: stepper\nsweep:\n  prompts: [cat]\n  seeds: [1, three]\n---\n"
    [problem] = problems_for(tmp_path, {"01-a.md": text})
    assert problem.endswith(
        "01-a.md:6: key 'sweep.seeds.1': expected a whole number from 0 to 4294967295 (got 'three')"
    )


def test_out_of_range_value_says_the_limit(tmp_path):
    text = "---\ntitle: T\nwidget: stepper\nsweep:\n  prompts: [cat]\n  steps: [0]\n---\n"
    [problem] = problems_for(tmp_path, {"01-a.md": text})
    assert problem.endswith("01-a.md:6: key 'sweep.steps.0': expected a whole number from 1 to 200 (got 0)")


def test_every_mistake_in_a_file_is_reported_at_once(tmp_path):
    text = (
        "---\ntitle: 7\nwidget: stepper\ncaption: [a, b]\nsettings:\n  views: [xt, xt]\n  speed: 2\n"
        "sweep:\n  prompts: [cat, '']\n  guidance: 45\n---\n"
    )
    problems = [p.split("01-a.md:", 1)[1] for p in problems_for(tmp_path, {"01-a.md": text})]
    assert sorted(problems) == [
        "10: key 'sweep.guidance.0': expected a number from 0 to 30 (got 45)",
        "2: key 'title': expected text (got 7); put it in quotes: \"7\"",
        "4: key 'caption': expected text",
        "6: key 'settings.views': 'xt' is listed twice; each view may be listed once",
        "7: unknown key 'settings.speed'; expected one of: views, axis, room",
        "9: key 'sweep.prompts.1': must not be empty",
    ]


def test_unknown_widget_lists_the_known_ones(tmp_path):
    [problem] = problems_for(tmp_path, {"01-a.md": "---\ntitle: T\nwidget: slider\n---\n"})
    assert "01-a.md:3: key 'widget'" in problem and "'stepper'" in problem


def test_widget_without_sweep_is_refused(tmp_path):
    [problem] = problems_for(tmp_path, {"01-a.md": "---\ntitle: T\nwidget: stepper\n---\n"})
    assert "01-a.md:3:" in problem and "needs a 'sweep:'" in problem


def test_missing_title_is_reported(tmp_path):
    [problem] = problems_for(tmp_path, {"01-a.md": "---\ncaption: hi\n---\n"})
    assert "01-a.md:2: missing key 'title'" in problem


def test_missing_front_matter_and_bad_yaml(tmp_path):
    problems = problems_for(
        tmp_path,
        {"01-a.md": "just text\n", "02-b.md": "---\ntitle: [unclosed\n---\n", "03-c.md": "---\ntitle: x\n"},
    )
    assert any("01-a.md:1: missing front matter" in p for p in problems)
    assert any("02-b.md:" in p and "not valid YAML" in p for p in problems)
    assert any("03-c.md:1: front matter is not closed" in p for p in problems)


def test_bad_section_file_name(tmp_path):
    [problem] = problems_for(tmp_path, {"intro.md": "---\ntitle: T\n---\n"})
    assert "intro.md: file name must look like NN-name.md" in problem


def test_site_toml_unknown_key_wrong_value_and_syntax(tmp_path):
    site = 'title = "T"\nbundle = "has space"\ncolour = "red"\n'
    problems = problems_for(tmp_path, site=site)
    assert any(
        p.endswith(
            "site.toml:3: unknown key 'colour'; expected one of: title, description, language, "
            "model, revision, bundle, allow_html, sections_per_page, languages, prompt_translations"
        )
        for p in problems
    )
    assert any("site.toml:2: key 'bundle': expected a folder name" in p for p in problems)
    [syntax] = problems_for(tmp_path / "x", site='title = "T\n')
    assert "site.toml:1: not valid TOML" in syntax


def test_missing_site_toml_and_sections(tmp_path):
    (tmp_path / "c").mkdir()
    with pytest.raises(ContentError) as info:
        load_content(tmp_path / "c")
    assert any("site.toml: file not found" in p for p in info.value.problems)
    assert any("sections: folder not found" in p for p in info.value.problems)


def test_cli_reports_content_errors_in_one_line_each_with_exit_code_2(tmp_path):
    root = write_content(tmp_path / "c", {"01-a.md": "---\ntitle: T\nwidjet: stepper\n---\n"})
    result = CliRunner().invoke(main, ["build", "--content", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "01-a.md:3: unknown key 'widjet'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_blend_without_towards_is_refused(tmp_path):
    text = "---\ntitle: T\nwidget: stepper\nsweep:\n  prompts: [cat]\n  blend: [0, 1]\n---\n"
    [problem] = problems_for(tmp_path, {"01-a.md": text})
    assert "01-a.md:4: key 'sweep': 'blend' needs 'towards:'" in problem


def test_unknown_or_wrong_widget_settings_are_refused(tmp_path):
    text = "---\ntitle: T\nwidget: stepper\nsettings:\n  speed: 3\nsweep:\n  prompts: [cat]\n---\n"
    [problem] = problems_for(tmp_path, {"01-a.md": text})
    assert "01-a.md:5: unknown key 'settings.speed'; expected one of: views, axis, room" in problem
    text = "---\ntitle: T\nwidget: stepper\nsettings:\n  views: [xt, pixels]\nsweep:\n  prompts: [cat]\n---\n"
    [problem] = problems_for(tmp_path / "v", {"01-a.md": text})
    assert "01-a.md:5: key 'settings.views.1'" in problem and "'latent'" in problem
    text = "---\ntitle: T\nsettings:\n  views: [xt]\n---\n"
    [problem] = problems_for(tmp_path / "n", {"01-a.md": text})
    assert "01-a.md:3: key 'settings' only applies to a section with a widget" in problem


def test_embedding_map_needs_groups_with_enough_prompts(tmp_path):
    text = "---\ntitle: T\nwidget: embedding-map\nsettings:\n  groups:\n    a: [x, y]\n---\n"
    [problem] = problems_for(tmp_path, {"01-a.md": text})
    assert "01-a.md:4: key 'settings': a map needs at least 4 different prompts" in problem
    bad_method = (
        "---\ntitle: T\nwidget: embedding-map\nsettings:\n  method: umap\n  groups: {a: [w, x, y, z]}\n---\n"
    )
    [problem] = problems_for(tmp_path / "m", {"01-a.md": bad_method})
    assert "01-a.md:5: key 'settings.method'" in problem and "'tsne' or 'pca'" in problem


def test_new_starts_an_explainer_that_loads_and_plans(tmp_path):
    from stepthrough.plan import plan_content

    result = CliRunner().invoke(main, ["new", str(tmp_path / "my explainer"), "--title", "Noise, then art"])
    assert result.exit_code == 0, result.output
    content = load_content(tmp_path / "my explainer" / "content")
    assert content.site.title == "Noise, then art" and content.site.bundle == "my-explainer"
    assert len(plan_content(content).jobs) == 3
    assert (
        content.practice is not None and content.practice.meta.order
    )  # the optional page, to edit or delete
    again = CliRunner().invoke(main, ["new", str(tmp_path / "my explainer")])
    assert again.exit_code == 1 and "already exists and is not empty" in again.output
