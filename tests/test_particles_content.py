"""The particles widget in the content format and the builder: settings, errors, a site with no bundle."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import write_content

from stepthrough.content import load_content
from stepthrough.errors import ContentError
from stepthrough.particles.sample import load_model, sample
from stepthrough.site.build import build_site

PARTICLES = """
    ---
    title: Dots find their shape
    widget: particles
    caption: Press play.
    settings:
      shapes: [star, ring]
      count: 300
      steps: 12
      guidance: 2.5
      seed: 4
    ---
    Words beside the dots.
"""


def test_particles_settings_load_with_defaults_and_need_no_sweep(tmp_path):
    text = "---\ntitle: T\nwidget: particles\n---\n"
    content = load_content(write_content(tmp_path / "c", {"01-a.md": text, "02-b.md": PARTICLES}))
    defaults, chosen = (s.settings for s in content.sections)
    assert defaults.shapes == ["heart", "star", "spiral", "ring", "smile"] and defaults.count == 1000
    assert chosen.shapes == ["star", "ring"] and chosen.guidance == 2.5 and chosen.seed == 4


def test_unknown_shape_names_file_line_and_the_allowed_shapes(tmp_path):
    text = "---\ntitle: T\nwidget: particles\nsettings:\n  shapes: [heart, cat]\n---\n"
    root = write_content(tmp_path / "c", {"01-a.md": text})
    with pytest.raises(ContentError) as info:
        load_content(root)
    [problem] = info.value.problems
    assert "01-a.md:5: key 'settings.shapes.1'" in problem
    assert "'heart', 'star', 'spiral', 'ring' or 'smile'" in problem and "'cat'" in problem


def test_unknown_setting_and_out_of_range_count_are_reported(tmp_path):
    text = "---\ntitle: T\nwidget: particles\nsettings:\n  count: 5\n  colour: red\n---\n"
    with pytest.raises(ContentError) as info:
        load_content(write_content(tmp_path / "c", {"01-a.md": text}))
    problems = info.value.problems
    assert any("01-a.md:5: key 'settings.count'" in p and "100" in p for p in problems)
    assert any(
        p.endswith(
            "01-a.md:6: unknown key 'settings.colour'; expected one of: shapes, count, steps, guidance, seed"
        )
        for p in problems
    )


def test_a_particles_only_site_builds_without_a_bundle_and_shows_the_settled_shape(tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-dots.md": PARTICLES}))
    site = build_site(content, tmp_path / "bundles" / "none", tmp_path / "site")
    html = (site / "index.html").read_text()
    assert sorted(p.name for p in (site / "assets").iterdir() if p.is_file()) == [
        "common.js",
        "particles.js",
        "present.js",  # presenter mode, on every site
        "scroll.js",
        "style.css",
    ]
    assert 'class="particles-controls" hidden' in html and "Press play." in html
    assert "Step 12 of 12 · star · guidance 2.5 · the particles have settled" in html
    # The still is the same run the page would compute: the first shape, from the section's seed.
    final = sample(load_model(), "star", seed=4, count=300, steps=12, guidance=2.5)[-1]
    dots = re.search(r'<path d="([^"]+)"', html).group(1)
    drawn = np.array([[float(a), -float(b)] for a, b in re.findall(r"M(\S+) (\S+)h0", dots)])
    inside = final[(np.abs(final) <= 1.5).all(axis=1)]
    assert len(drawn) == len(inside) > 250
    assert np.abs(drawn - inside).max() <= 0.0051
