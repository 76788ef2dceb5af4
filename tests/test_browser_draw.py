"""Draw it yourself (issue 30): the builtin model runs in the page, opened from file://, and draws
what PyTorch draws for the same caption, seed, steps, guidance and sampler.

Specifications:
- the widget's static frame is the section's precomputed trajectory; pressing Draw loads the model
  (a classic script, no fetch) into a Worker made from a blob and shows every step as it comes;
- the page's final picture matches the bundle's (its final latent decoded by PyTorch) within 2/255,
  on the GPU (WebGL: Chromium's SwiftShader here) and on the CPU engine alike, and the widget names
  the engine beside its seconds per step;
- a browser without WebGL draws with the CPU engine and says so; a page that asks for WebGL
  (?engine=webgl) where there is none says why it cannot draw; a GPU whose small convolution or
  UNet evaluation differs from the CPU engine's is not used; without a Worker, the page itself
  draws, on the GPU too;
- a deep link (#draw?prompt=…&seed=…&steps=…&guidance=…&sampler=…) redraws that picture: a word
  the model learned for an emoji finds its name, the seed keeps its low 32 bits as torch does, and
  Euler matches diffusers' Euler;
- Stop ends a drawing between steps, and the next drawing starts from its own noise;
- a blend of two captions (towards=…&blend=…) draws what Python's PromptEmbedding.blend draws,
  a short caption's padding states included (loaded, as a second script, only for a blend), and
  its controls keep the link;
- a room link (seed=room) gives each device its own seed, kept on the device;
- the single-file export leaves the model out, flags the page so, says so on the page and in the
  command's output, and keeps the precomputed drawing;
- a bundle made by another model keeps its precomputed picture, and the build warns in one line.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import numpy as np
import pytest
import torch
from browser import open_page
from conftest import write_content

from stepthrough.bundle import read_manifest
from stepthrough.bundle.ids import Job
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute
from stepthrough.site.build import build_site

TOLERANCE = 2 / 255
DRAW = """
    ---
    title: Draw
    widget: draw
    sweep:
      prompts: ["ghost"]
      seeds: [7]
      steps: [3]
      guidance: [5]
    ---
    Draw your own.
"""


@pytest.fixture(scope="module")
def builtin():
    from stepthrough.precompute.models.builtin import load_builtin

    return load_builtin()


@pytest.fixture(scope="module")
def draw_site(tmp_path_factory, builtin):
    root = tmp_path_factory.mktemp("draw")
    content = load_content(write_content(root / "content", {"01-draw.md": DRAW}))
    bundle = precompute(content, root / "bundles", model=builtin, progress=False)
    return build_site(content, bundle, root / "site"), bundle


def drawn(page, steps: int) -> dict:
    """Wait for the page's drawing of `steps` steps to finish; its final picture and latent."""
    page.wait_for_selector(f"[data-widget=draw][data-drawn='{steps + 1}']", timeout=600_000)
    return page.evaluate("document.querySelector('[data-widget=draw]').stepthroughDraw.result")


def python_picture(builtin, job: Job) -> tuple[np.ndarray, np.ndarray]:
    from stepthrough.precompute.sampler import sample

    latent = sample(builtin, [job])
    return builtin.decode(latent)[0].numpy(), latent[0].numpy()


@pytest.mark.parametrize(("engine", "named"), [("webgl", "(GPU, WebGL)"), ("cpu", "(CPU)")])
def test_the_page_draws_the_precomputed_trajectory_with_pythons_numbers(
    draw_site, builtin, browser, engine, named
):
    site, bundle = draw_site
    page, watch = open_page(browser, site, width=390, height=844, fragment=f"?engine={engine}#draw")
    page.wait_for_selector("[data-widget=draw][data-ready]")
    model_scripts = [u for u in watch.file_requests if "/assets/frames/" in u and u.endswith(".js")]
    assert model_scripts == [], "the model loads only when the reader draws"
    assert "Drawn in advance" in page.inner_text(".draw-status")
    page.get_by_role("button", name="Draw", exact=True).click()
    result = drawn(page, 3)

    manifest = read_manifest(bundle)
    (trajectory,) = manifest.trajectories.values()
    final = np.load(bundle / trajectory.latents)[-1].astype(np.float32)
    expected = builtin.decode(torch.from_numpy(final)[None])[0].numpy()
    picture = np.asarray(result["picture"], dtype=np.float32).reshape(expected.shape)
    assert np.abs(picture - expected).max() <= TOLERANCE
    assert np.abs(np.asarray(result["latent"]) - final.ravel()).max() < 2e-2  # the bundle keeps float16
    assert page.inner_text(".draw-status").startswith("Done: step 3 of 3")
    assert page.locator(".draw-speed").inner_text().endswith(f"s a step on this device {named}")
    assert watch.errors == [] and watch.outside_requests == []
    assert all(u.startswith("file://") for u in watch.file_requests)
    page.context.close()


def test_a_link_redraws_with_a_learned_word_any_seed_and_euler(draw_site, builtin, browser):
    site, _ = draw_site
    # "spooky" is one of the ghost's keywords; 2**32 + 1234 is seed 1234 to torch.
    link = f"#draw?prompt=spooky&seed={2**32 + 1234}&steps=2&guidance=12&sampler=euler"
    page, watch = open_page(browser, site, width=320, height=700, fragment=link)
    result = drawn(page, 2)
    assert "“ghost”" in page.inner_text(".draw-match")
    expected, latent = python_picture(builtin, Job("ghost", 1234, 2, 12.0, sampler="euler"))
    picture = np.asarray(result["picture"], dtype=np.float32).reshape(expected.shape)
    assert np.abs(picture - expected).max() <= TOLERANCE
    # the captions' token states travel as float16 (Python encodes in float32): close, not equal
    assert np.abs(np.asarray(result["latent"]) - latent.ravel()).max() < 2e-2
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 320  # fits a 320 px screen
    assert watch.errors == []
    page.context.close()


def in_workers(code: str) -> str:
    """A script for open_page's init_script: every Worker the page starts from a blob runs `code` first."""
    return f"""(() => {{
  const create = URL.createObjectURL;
  URL.createObjectURL = (blob) => create(new Blob([{json.dumps(code + chr(10))}, blob], {{type: blob.type}}));
}})();"""


# A browser without WebGL2: no "webgl2" context for the Worker's OffscreenCanvas.
NO_WEBGL = in_workers("if (self.OffscreenCanvas) OffscreenCanvas.prototype.getContext = () => null;")


# A GPU that computes otherwise: the floats it hands back are a little off, all of them, or only
# in reads of 1,024 floats or more (a UNet evaluation's; the small convolution's are fewer).
def wrong_gpu(smallest: int) -> str:
    return in_workers(
        "const read = WebGL2RenderingContext.prototype.readPixels;"
        "WebGL2RenderingContext.prototype.readPixels = function (...a) {"
        f"  read.apply(this, a); if (a[6].length >= {smallest}) a[6][0] += 0.01; }};"
    )


@pytest.mark.parametrize(
    ("init_script", "named", "mode"),
    [
        (NO_WEBGL, "(CPU)", "worker"),
        (wrong_gpu(0), "(CPU)", "worker"),  # its small convolution differs from the CPU engine's
        (wrong_gpu(1024), "(CPU)", "worker"),  # its UNet evaluation does
        ("delete window.Worker;", "(GPU, WebGL)", "page"),  # the page itself draws
    ],
    ids=["no-webgl", "wrong-gpu", "wrong-gpu-unet", "no-worker"],
)
def test_without_a_working_gpu_or_worker_the_page_still_draws_pythons_picture(
    draw_site, builtin, browser, init_script, named, mode
):
    site, _ = draw_site
    page, watch = open_page(
        browser, site, fragment="#draw?prompt=ghost&seed=11&steps=1&guidance=5", init_script=init_script
    )
    result = drawn(page, 1)
    assert page.locator(".draw-speed").inner_text().endswith(f"s a step on this device {named}")
    assert page.evaluate("document.querySelector('[data-widget=draw]').stepthroughDraw.mode") == mode
    expected, _ = python_picture(builtin, Job("ghost", 11, 1, 5.0))
    picture = np.asarray(result["picture"], dtype=np.float32).reshape(expected.shape)
    assert np.abs(picture - expected).max() <= TOLERANCE
    assert watch.errors == []
    page.context.close()


LONGER = "smiling face with heart-eyes"  # 8 tokens to the ghost's 3: the blend reads the ghost's padding


@pytest.mark.parametrize(
    ("first", "second", "blend", "sampler"),
    [("ghost", LONGER, 0.4, "ddim"), (LONGER, "ghost", 0.7, "euler")],  # torch.lerp's two branches: w < 0.5, w ≥ 0.5
)
def test_a_blend_of_two_captions_draws_pythons_blend(draw_site, builtin, browser, first, second, blend, sampler):
    site, _ = draw_site
    query = urlencode({"prompt": first, "seed": 11, "steps": 2, "guidance": 5, "towards": second, "blend": blend})
    page, watch = open_page(browser, site, width=320, height=700, fragment=f"#draw?{query}&sampler={sampler}")
    result = drawn(page, 2)
    expected, latent = python_picture(builtin, Job(first, 11, 2, 5.0, second, blend, sampler))
    picture = np.asarray(result["picture"], dtype=np.float32).reshape(expected.shape)
    print(f"blend: max abs difference {np.abs(picture - expected).max() * 255:.2f}/255")
    assert np.abs(picture - expected).max() <= TOLERANCE
    assert np.abs(np.asarray(result["latent"]) - latent.ravel()).max() < 2e-2
    label = f"“{first}, {round(blend * 100)} % of the way to {second}”"
    assert label in page.get_attribute(".draw-frame", "aria-label")
    scripts = [u for u in watch.file_requests if "/assets/frames/" in u and u.endswith(".js")]
    assert len(scripts) == 2, "the model, then the padding states a blend needs"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 320
    assert watch.errors == []
    page.context.close()


def test_a_sweep_that_blends_starts_the_widget_on_that_blend_and_redraws_it(tmp_path, builtin, browser):
    blended = DRAW.replace("guidance: [5]", "guidance: [5]\n      towards: cat\n      blend: [0.5]")
    content = load_content(write_content(tmp_path / "content", {"01-draw.md": blended}))
    bundle = precompute(content, tmp_path / "bundles", model=builtin, progress=False)
    site = build_site(content, bundle, tmp_path / "site")
    page, watch = open_page(browser, site, fragment="#draw")
    page.wait_for_selector("[data-widget=draw][data-ready]")
    assert "Drawn in advance: “ghost, 50 % of the way to cat”" in page.inner_text(".draw-status")
    assert page.get_by_role("combobox", name="Or blend it with a second name").input_value() == "cat"
    page.get_by_role("button", name="Draw", exact=True).click()
    result = drawn(page, 3)
    scripts = [u for u in watch.file_requests if "/assets/frames/" in u and u.endswith(".js")]
    assert len(scripts) == 1, "ghost and cat are 3 tokens each: no padding states to load"
    (trajectory,) = read_manifest(bundle).trajectories.values()
    final = np.load(bundle / trajectory.latents)[-1].astype(np.float32)
    expected = builtin.decode(torch.from_numpy(final)[None])[0].numpy()
    picture = np.asarray(result["picture"], dtype=np.float32).reshape(expected.shape)
    assert np.abs(picture - expected).max() <= TOLERANCE
    assert watch.errors == []
    page.context.close()


def test_a_page_that_asks_for_webgl_where_there_is_none_says_why(draw_site, browser):
    site, _ = draw_site
    page, watch = open_page(
        browser, site, fragment="?engine=webgl#draw?prompt=ghost&steps=1", init_script=NO_WEBGL
    )
    page.wait_for_selector("[data-widget=draw][data-drawn]", timeout=600_000)
    assert page.inner_text(".draw-status") == "Drawing failed: no WebGL2"
    assert watch.errors == []
    page.context.close()


def test_the_blend_controls_work_by_keyboard_and_keep_the_link(draw_site, browser):
    site, _ = draw_site
    page, watch = open_page(browser, site, fragment="#draw")
    page.wait_for_selector("[data-widget=draw][data-ready]")
    towards = page.get_by_role("combobox", name="Or blend it with a second name")
    towards.fill("spooky")  # a keyword finds its name, as in the first field
    assert "“ghost”" in page.locator(".draw-towards .draw-match").inner_text()
    towards.fill("no such thing at all")
    assert page.get_by_role("button", name="Draw", exact=True).is_disabled()
    towards.fill("cat")
    blend = page.get_by_role("slider", name="Blend")
    blend.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert blend.get_attribute("aria-valuetext") == "30 % of the way to the second name"
    page.wait_for_function("() => location.hash.includes('blend=0.3')")
    assert "towards=cat" in page.evaluate("location.hash")
    assert page.get_by_role("button", name="Draw", exact=True).is_enabled()
    assert "only the first name" in page.inner_text(".draw-blend-help")
    assert watch.errors == []
    page.context.close()


def test_stop_ends_a_drawing_and_the_next_one_starts_clean(draw_site, browser):
    site, _ = draw_site
    page, watch = open_page(browser, site, fragment="#draw?prompt=ghost&seed=5&steps=50&guidance=5")
    page.wait_for_selector(".draw-frame canvas:not([hidden])", timeout=300_000)  # its first step is shown
    page.get_by_role("button", name="Stop").click()
    assert page.inner_text(".draw-status").startswith("Stopped after step")
    assert page.get_by_role("button", name="Stop").is_disabled()
    page.get_by_role("slider", name="Steps").fill("1")
    page.get_by_role("button", name="Draw", exact=True).click()
    drawn(page, 1)
    assert page.inner_text(".draw-status").startswith("Done: step 1 of 1")
    assert watch.errors == []
    page.context.close()


def test_a_room_link_gives_each_device_its_own_seed_and_keeps_it(draw_site, browser):
    site, _ = draw_site
    page, watch = open_page(browser, site, fragment="#draw?prompt=ghost&seed=room&steps=1&guidance=5")
    drawn(page, 1)
    seed = page.evaluate("document.querySelector('[data-widget=draw]').stepthroughDraw.state.seed")
    assert f"Your own seed for this room: {seed}." in page.inner_text(".draw-match")
    page.reload()
    page.wait_for_selector("[data-widget=draw][data-ready]")
    assert page.evaluate("document.querySelector('[data-widget=draw]').stepthroughDraw.state.seed") == seed
    assert watch.errors == []
    page.context.close()


def test_the_single_file_says_it_leaves_the_model_out(draw_site, browser, capsys):
    from stepthrough.site.single_file import LEAVES_OUT, single_file

    site, _ = draw_site
    capsys.readouterr()
    (main, *_) = single_file(site)
    said = capsys.readouterr().err
    assert f"{main.name}: leaves out the draw widget's model (49 MB" in said  # the model and a blend's states
    text = main.read_text(encoding="utf-8")
    assert LEAVES_OUT in text and "function StepthroughDrawEngine" not in text  # the engine is in the model
    page, watch = open_page(browser, main, fragment="#draw?prompt=ghost&seed=3&steps=2&guidance=5")
    page.wait_for_selector("[data-widget=draw][data-ready]")
    assert "leaves the model out" in page.inner_text(".draw-size")
    assert page.get_by_role("button", name="Draw", exact=True).is_disabled()
    assert page.get_attribute("[data-widget=draw]", "data-drawn") is None
    assert watch.errors == []
    page.context.close()


def test_a_bundle_of_another_model_shows_its_picture_and_warns_in_one_line(tmp_path, browser, capsys):
    from tiny_model import TinyModel

    content = load_content(write_content(tmp_path / "content", {"01-draw.md": DRAW}))
    bundle = precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False)
    capsys.readouterr()
    site = build_site(content, bundle, tmp_path / "site")
    warned = [line for line in capsys.readouterr().err.splitlines() if "widget 'draw'" in line]
    assert len(warned) == 1 and "shows its precomputed picture only" in warned[0]
    assert not list((site / "assets" / "frames").glob("*.js")), (
        "no model file for a model the page cannot run"
    )
    page, watch = open_page(browser, site, fragment="#draw")
    page.wait_for_selector("[data-widget=draw][data-ready]")
    assert "another model" in page.inner_text("[data-widget=draw]")
    assert page.locator(".draw-controls").count() == 0
    assert watch.errors == []
    page.context.close()


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_every_draw_control_is_a_fingers_width_and_fits(draw_site, browser, width):
    from test_browser_handout import TARGETS

    site, _ = draw_site
    page, watch = open_page(browser, site, width=width, height=1200, fragment="#draw")
    page.wait_for_selector("[data-widget=draw][data-ready]")
    page.evaluate("() => document.documentElement.classList.remove('is-following')")  # the full widget, not its phone copy
    assert page.evaluate(TARGETS, "[data-widget=draw]") == []
    overflow = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-widget=draw] *')).filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5).map((e) => e.className)"
    )
    assert overflow == [] and watch.errors == []
    page.context.close()
