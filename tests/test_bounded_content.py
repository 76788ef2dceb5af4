"""Content files are bounded: a YAML alias bomb, nesting thousands deep or a huge front matter or
site.toml is one line naming the file and line (exit 2), in well under a second, never a hang or
a traceback."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from conftest import write_content

from stepthrough.cli import main

SITE = 'title = "Test site"\nmodel = "builtin"\nbundle = "test-bundle"\n'


def billion_laughs(levels: int = 9) -> str:
    lines = ["---", "title: Laughs", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join([*lines, "---", "Text.", ""])


def build(tmp_path, sections: dict[str, str], site: str = SITE):
    content = write_content(tmp_path / "content", sections, site=site)
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["build", "--content", str(content), "--out", str(tmp_path / "site")])
    return result, time.perf_counter() - started


def one_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_yaml_alias_bomb_is_one_line_naming_the_file(tmp_path):
    result, seconds = build(tmp_path, {"01-laughs.md": billion_laughs()})
    line = one_line(result)
    assert "01-laughs.md:" in line and "100,000 values once its aliases" in line
    assert seconds < 5


def test_a_few_aliases_still_read_as_yaml_shares_them(tmp_path):
    text = """
        ---
        title: Shared
        widget: compare
        sweep: &sweep
          prompts: ["a cat"]
          steps: [2]
        settings: {label: steps}
        ---
        Text.
    """
    from stepthrough.content import load_content

    content = load_content(write_content(tmp_path / "content", {"01-shared.md": text}, site=SITE))
    assert content.sections[0].meta.sweep.prompts == ["a cat"]


def test_front_matter_nested_thousands_deep_names_the_file_and_line(tmp_path):
    text = "---\ntitle: Deep\nx: " + "[" * 100_000 + "]" * 100_000 + "\n---\nText.\n"
    result, seconds = build(tmp_path, {"01-deep.md": text})
    line = one_line(result)
    assert line.endswith("01-deep.md:3: lists and keys nested more than 32 deep; flatten them")
    assert seconds < 5


def test_a_huge_front_matter_names_the_file(tmp_path):
    text = "---\ntitle: Big\ncaption: " + "x" * 1_100_000 + "\n---\nText.\n"
    line = one_line(build(tmp_path, {"01-big.md": text})[0])
    assert "01-big.md:" in line and "front matter is over 1000 kB" in line


@pytest.mark.parametrize("nest", ["[", "{a = "])
def test_site_toml_nested_thousands_deep_is_one_line_not_a_recursion_error(tmp_path, nest):
    close = "]" if nest == "[" else "}"
    site = SITE + "deep = " + nest * 5000 + close * 5000 + "\n"
    line = one_line(build(tmp_path, {"01-a.md": "---\ntitle: A\n---\nText.\n"}, site=site)[0])
    assert line.endswith("site.toml:4: arrays and tables nested more than 32 deep; flatten them")


def test_brackets_inside_toml_strings_and_comments_are_not_nesting(tmp_path):
    from stepthrough.content import _toml_over_bounds

    text = 'a = "' + "[" * 40 + '"\n'  # in a string
    text += "b = '''" + "{" * 40 + "'''  # " + "[" * 40 + "\n"  # in a literal string, in a comment
    text += 'c = """\\"""' + "[" * 40 + '"""\n'  # after an escaped quote
    assert _toml_over_bounds(text) is None
    assert _toml_over_bounds(text + "d = " + "[" * 33 + "]" * 33 + "\n") == (
        4,
        "arrays and tables nested more than 32 deep; flatten them",
    )
