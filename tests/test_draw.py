"""The draw widget's Python side (issue 30): what the build hands the page to run the model.

Specifications:
- the captions' token states shipped with the widget are the frozen text encoder's (as float16),
  for the real tokens only (the UNet's mask gives padding no weight);
- so are the padding states a blend reads, up to the longest caption's length;
- the search index finds a caption by its emoji's aliases and keywords;
- the noise schedule the page gets is diffusers' own;
- a section must name one trajectory the page can draw, and says which key is wrong otherwise;
- a site without a draw section carries none of it (no model, engine or widget script), and its
  single-file export has no flag saying it left the model out.
"""

from __future__ import annotations

import numpy as np
import pytest

from stepthrough.widgets.draw import LIMITS, WIDGET, alphas_cumprod, search_index
from stepthrough.widgets.draw.captions import caption_texts, read_captions, read_pads


def test_the_shipped_caption_states_are_the_text_encoders():
    from stepthrough.builtin.text import TextEncoder

    captions = read_captions()
    assert captions.texts == caption_texts(), (
        "the vocabulary changed: python -m stepthrough.widgets.draw.captions"
    )
    encoder = TextEncoder()
    for text in ["", "ghost", "a doctor", "red apple"]:
        emb = encoder([text])
        real = emb.hidden[0][emb.mask[0].bool()].numpy()
        assert np.abs(captions.states(text).astype(np.float32) - real).max() < 4e-3


def test_the_shipped_padding_states_are_the_text_encoders():
    from stepthrough.builtin.text import TextEncoder

    captions, pads = read_captions(), read_pads()
    assert pads.length == np.diff(captions.offsets).max(), "a blend reads padding up to the longest caption"
    encoder = TextEncoder()  # padded to 24: the states up to pads.length do not depend on it
    for text in ["", "ghost", "a doctor", "smiling face with heart-eyes"]:
        i = captions.texts.index(text)
        emb = encoder([text])
        real = int(emb.mask[0].sum())
        expected = emb.hidden[0][real : pads.length].numpy()
        assert np.abs(pads.hidden[pads.offsets[i] : pads.offsets[i + 1]].astype(np.float32) - expected).max() < 4e-3


def test_a_keyword_finds_its_emojis_name():
    index = dict(search_index())
    assert "spooky" in index["ghost"].split()
    assert "" not in index  # the unconditional input is not a caption to pick


def test_the_pages_noise_schedule_is_diffusers_own():
    from stepthrough.builtin.nets import build_scheduler, scheduler_config

    expected = build_scheduler(scheduler_config()).alphas_cumprod.numpy()
    assert np.abs(alphas_cumprod(scheduler_config()) - expected).max() < 1e-6


@pytest.mark.parametrize(
    ("sweep", "key", "words"),
    [
        ({"prompts": ["a ghost riding a bicycle"]}, "sweep.prompts", "not a caption the page can draw"),
        ({"seeds": [1, 2]}, "sweep", "expected one prompt, seed"),
        ({"steps": [80]}, "sweep.steps", "expected 1 to 50 steps"),
        ({"schedulers": ["heun"]}, "sweep.schedulers", "the page draws with ddim or euler"),
        ({"towards": "a cat riding a bicycle", "blend": [0.5]}, "sweep.towards", "not a caption the page can blend"),
        ({"towards": "cat", "blend": None}, "sweep", "one 'blend:'"),
    ],
)
def test_a_sweep_the_page_cannot_draw_is_named(sweep, key, words):
    from types import SimpleNamespace

    base = {"prompts": ["ghost"], "seeds": [7], "steps": [25], "guidance": [5.0], "schedulers": [], "towards": None, "blend": None}
    problems = WIDGET.sweep_problems(SimpleNamespace(**{**base, **sweep}))
    assert any(k == key and words in text for k, text in problems), problems
    assert LIMITS["steps"] == [1, 50] and LIMITS["guidance"] == [0, 20]


def test_a_site_without_a_draw_section_carries_none_of_it(tmp_path):
    from conftest import tiny_site

    from stepthrough.site.single_file import LEAVES_OUT, single_file

    stepper = """
        ---
        title: Watch
        widget: stepper
        sweep:
          prompts: ["red apple"]
          seeds: [1]
          steps: [3]
        ---
        Words.
    """
    site = tiny_site(tmp_path, {"01-watch.md": stepper})
    files = [p for p in site.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name in ("draw.js", "draw-engine.js")]
    scripts = [p for p in files if p.suffix in (".js", ".html")]
    assert not [p for p in scripts if "StepthroughDraw" in p.read_text(encoding="utf-8")]
    assert sum(p.stat().st_size for p in files) < 2e6  # the model alone is 31 MB
    (main,) = single_file(site)
    assert LEAVES_OUT not in main.read_text(encoding="utf-8")
