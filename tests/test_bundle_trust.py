"""A forged bundle publishes nothing but pictures: every file a manifest names is a WebP or PNG
picture (JSON for projections, .npy for latents) known by its bytes, of the size the manifest
declares; every value the trajectory id does not cover is checked when read; every way a bundle
can be wrong is one line naming the bundle file and the key, never a traceback. Names from a
bundle reach the terminal as data, a local model's path never reaches a page, and the single-file
export takes only known path fields for paths.

The forger here seals the manifest again (a fresh digest) and lists each file with its real sha256:
only what these checks look at is left to stop them."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import random
import shutil
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import STEPPER_SECTION, tiny_site, write_content
from PIL import Image
from test_inside import INSIDE
from test_light_build import MAP
from test_project import PATHS
from test_samplers import SAMPLERS
from test_tally import TALLY
from tiny_model import TinyModel

from stepthrough.bundle import check_bundle, final_picture, manifest_digest, read_manifest
from stepthrough.bundle.formats import MAX_PIXELS, MAX_SIDE, Picture, opened_picture, picture_of
from stepthrough.bundle.ids import display_name
from stepthrough.cli import main
from stepthrough.errors import StepthroughError, printable

SITE_TOML = 'title = "Test site"\nmodel = "tiny-test"\nbundle = "test-bundle"\n'
ONE_TRAJECTORY = """
    ---
    title: {widget}
    widget: {widget}
    sweep:
      prompts: ["red apple"]
      seeds: [2]
      steps: [3]
      guidance: [4.0]
    ---
    Text.
"""
SECTIONS = {
    "01-watch.md": STEPPER_SECTION,
    "07-attention.md": ONE_TRAJECTORY.format(widget="attention"),
    "08-schedule.md": ONE_TRAJECTORY.format(widget="schedule"),
    "02-inside.md": INSIDE,
    "03-tally.md": TALLY,
    "04-samplers.md": SAMPLERS,
    "05-paths.md": PATHS,
    "06-map.md": MAP,
}


@pytest.fixture(scope="module")
def _rich_project(tmp_path_factory) -> Path:
    """A project of the tiny model whose bundle holds every kind of thing a bundle may: strips,
    attention maps, one step's tensors, and projections of four kinds; built once per module."""
    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute

    root = tmp_path_factory.mktemp("rich")
    write_content(root / "content", SECTIONS, site=SITE_TOML)
    precompute(load_content(root / "content"), root / "bundles", model=TinyModel(), progress=False)
    assert build(root).exit_code == 0
    return root


@pytest.fixture
def project(_rich_project, tmp_path) -> Path:
    shutil.copytree(_rich_project, tmp_path / "project")
    return tmp_path / "project"


def bundle(project: Path) -> Path:
    return project / "bundles" / "test-bundle"


def build(project: Path, *extra: str):
    args = ["--content", project / "content", "--bundles", project / "bundles", "--out", project / "build" / "site"]
    return CliRunner().invoke(main, ["build", *map(str, args), *extra])


def check(project: Path):
    return CliRunner().invoke(main, ["check", str(bundle(project))])


def load(project: Path) -> dict[str, Any]:
    return json.loads((bundle(project) / "manifest.json").read_text())


def seal(project: Path, data: dict[str, Any]) -> None:
    """Write the manifest with a fresh digest, as a careful forger would."""
    data["digest"] = manifest_digest(data)
    (bundle(project) / "manifest.json").write_text(json.dumps(data))


def forge_file(project: Path, data: dict[str, Any], rel: str, content: bytes, replaces: str | None = None) -> None:
    """Put `content` in the bundle as `rel`, listed with its real sha256 (in place of `replaces`)."""
    (bundle(project) / rel).write_bytes(content)
    if replaces is not None and replaces != rel:
        del data["files"][replaces]
        (bundle(project) / replaces).unlink()
    data["files"][rel] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}


def edit(project: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = load(project)
    change(data)
    seal(project, data)


def first(data: dict[str, Any], having: str = "views") -> dict[str, Any]:
    """The first trajectory that has `having` (views, attention, tensors)."""
    return next(t for t in data["trajectories"].values() if t.get(having))


def projection_file(project: Path, kind: str) -> str:
    return next(p["file"] for p in load(project)["projections"].values() if p["kind"] == kind)


def relist(project: Path, rel: str) -> None:
    """List a bundle file again with its real sha256 (after it was changed), and seal."""
    data = load(project)
    forge_file(project, data, rel, (bundle(project) / rel).read_bytes())
    seal(project, data)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(result) -> str:
    """The output of a command that failed as a user's mistake: exit 1, one line, no traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` × `height` pixels and whose data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# --- a bundle is pictures and data, nothing else -------------------------------------------------


def test_a_bundle_file_that_is_not_a_picture_is_refused_and_check_names_it(project):
    site_before = snapshot(project / "build" / "site")
    data = load(project)
    view = first(data)["views"]["xt"]
    evil = b"<html><script>alert(document.domain)</script></html>"
    forge_file(project, data, "frames/evil.webp", evil, replaces=view["file"])
    view["file"] = "frames/evil.webp"
    seal(project, data)

    line = one_line(check(project))
    assert "frames/evil.webp: not a WebP or PNG picture" in line and ".views.xt.file names it" in line
    line = one_line(build(project))
    assert "evil.webp: not a WebP or PNG picture" in line and "views.xt.file" in line
    assert snapshot(project / "build" / "site") == site_before


@pytest.mark.parametrize("name", ["frames/evil.html", "frames/evil.svg", "frames/a.webp');position:fixed;x.webp"])
def test_a_bundle_file_named_as_anything_but_a_picture_is_refused_before_anything_is_copied(project, name):
    site_before = snapshot(project / "build" / "site")
    data = load(project)
    view = first(data)["views"]["xt"]
    picture = (bundle(project) / view["file"]).read_bytes()  # real picture bytes: only the name is wrong
    forge_file(project, data, "frames/safe.webp", picture, replaces=view["file"])
    data["files"][name] = data["files"].pop("frames/safe.webp")
    view["file"] = name
    seal(project, data)

    for result in (check(project), build(project)):
        line = one_line(result)
        assert "manifest.json" in line and "frames/" in line
        assert "holds only .webp or .png files" in line or "expected a file name of letters" in line
    assert snapshot(project / "build" / "site") == site_before


def test_the_sites_file_suffix_comes_from_the_detected_format_not_the_manifests_name(project):
    data = load(project)
    view = first(data)["views"]["xt"]
    with Image.open(bundle(project) / view["file"]) as strip:
        buffer = io.BytesIO()
        strip.save(buffer, format="PNG")
    forge_file(project, data, view["file"], buffer.getvalue())  # PNG bytes under a .webp name
    seal(project, data)

    assert check(project).exit_code == 0
    assert build(project).exit_code == 0
    copied = project / "build" / "site" / "assets" / "frames" / f"{data['files'][view['file']]['sha256'][:16]}.png"
    assert copied.read_bytes() == buffer.getvalue()
    suffixes = {p.suffix for p in (project / "build" / "site" / "assets" / "frames").iterdir()}
    assert suffixes <= {".webp", ".png"}


def test_check_reports_every_listed_file_of_another_format(project):
    data = load(project)
    latents = first(data)["latents"]
    forge_file(project, data, latents, b"#!/bin/sh\nrm -rf ~\n")
    forge_file(project, data, projection_file(project, "paths"), b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    seal(project, data)
    result = check(project)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any(f"{latents}: not a NumPy array (.npy)" in line for line in lines), result.output
    assert any("not JSON (it holds a PNG picture)" in line for line in lines), result.output


# --- every value the id does not cover is checked when read ------------------------------------


def _views(t: dict) -> None:
    t["views"]["xt"]["columns"] = 0




def _unknown_prediction(t: dict) -> None:
    t["tensors"]["prediction_type"] = "constructor"


def _probe(t: dict) -> None:
    t["tensors"]["probe"]["x"] = t["tensors"]["probe"]["x"][:-1]


def _timesteps(t: dict) -> None:
    t["timesteps"] = t["timesteps"][:-1]


def _token_ids(t: dict) -> None:
    t["tensors"]["token_ids"].append(7)


def _probe_at(t: dict) -> None:
    t["tensors"]["probe_at"] = [0, 0, 99]


def _peak(t: dict) -> None:
    t["attention"]["peak"][0] = [0.5]


def _attention_text(t: dict) -> None:
    t["attention"] = "<script>alert(1)</script>"


def _records_key(t: dict) -> None:  # the name the types use, not a key of the format
    t["records"] = {"attention": t["attention"]}


def _unknown_recording(t: dict) -> None:
    t["sparkles"] = {"file": "frames/x.png"}


def _huge_view(t: dict) -> None:  # an honest declaration of a 13000 × 13000 strip
    t["views"]["xt"].update(width=13000, height=13000, columns=1)
    t["views"]["xt"]["frames"] = t["steps"] + 1


def _nan_scale(t: dict) -> None:
    t["tensors"]["latent"]["scale"] = float("nan")


TRAJECTORY_CASES = [
    ("columns: 0", "views", _views, ".views.xt.columns: expected a whole number from 1"),
    ("an unknown prediction type", "tensors", _unknown_prediction, ".tensors.prediction_type: expected one of"),
    ("a short probe", "tensors", _probe, ".tensors.probe.x: expected"),
    ("short timesteps", "views", _timesteps, ".timesteps: expected"),
    ("token_ids longer than tokens", "tensors", _token_ids, ".tensors.token_ids: expected"),
    ("probe_at outside the latent", "tensors", _probe_at, ".tensors.probe_at.2: expected a whole number from 0 to 7"),
    ("attention peaks of the wrong length", "attention", _peak, ".attention.peak.0: expected"),
    ("attention maps that are text", "attention", _attention_text, ".attention: expected keys and values (got '<script>"),
    ("a 'records' key", "attention", _records_key, ".records: unknown key"),
    ("a recording no recorder makes", "views", _unknown_recording, ".sparkles: unknown key"),
    ("a 13000 × 13000 strip declared", "views", _huge_view, f"one may be at most {MAX_SIDE} pixels a side"),
    ("a NaN colour scale", "tensors", _nan_scale, ".tensors.latent.scale: expected a number above 0"),
]


@pytest.mark.parametrize("case", TRAJECTORY_CASES, ids=[case[0] for case in TRAJECTORY_CASES])
def test_a_trajectory_value_out_of_range_is_one_line_naming_the_manifest_and_the_key(project, case):
    _, having, change, says = case
    edit(project, lambda data: change(first(data, having)))
    for result in (check(project), build(project)):
        line = one_line(result)
        assert "test-bundle/manifest.json: trajectories." in line and says in line, line


def schedule_of(data: dict[str, Any], having: str = "tensors") -> dict[str, Any]:
    """The schedule record of the first trajectory that has `having`."""
    t = first(data, having)
    return data["schedules"][f"{t['scheduler'] or 'model'}-{t['steps']}"]


def _alpha_bar(data: dict) -> None:
    schedule_of(data)["alpha_bar"][0] = 1.5


def _epsilon_alpha_bar_zero(data: dict) -> None:
    first(data, "tensors")["tensors"]["prediction_type"] = "epsilon"
    schedule_of(data)["alpha_bar"][0] = 0.0


def _short_schedule(data: dict) -> None:  # a schedule of 3 steps, whole in itself, for 4-step trajectories
    schedule = schedule_of(data)
    for name in ("timesteps", "alpha_bar", "alpha_bar_prev"):
        schedule[name].pop()


def _no_alpha_bar_prev(data: dict) -> None:
    schedule_of(data)["alpha_bar_prev"] = []


def _schedule_of_text(data: dict) -> None:
    key = next(iter(data["schedules"]))
    data["schedules"][key] = "DDIM"


SCHEDULE_CASES = [
    ("alpha_bar 1.5", _alpha_bar, ".alpha_bar.0: expected a number from 0 to 1 (got 1.5)"),
    ("alpha_bar 0 for an epsilon model", _epsilon_alpha_bar_zero, ".alpha_bar.0: expected a number above 0 to 1"),
    ("a schedule shorter than its trajectories", _short_schedule, ".timesteps: expected 4 entries (one per step of trajectory "),
    ("no alpha_bar_prev for the ddim update", _no_alpha_bar_prev,
     ".alpha_bar_prev: expected 4 entries (the ddim update reads it)"),
    ("a schedule that is text", _schedule_of_text, ": expected keys and values (got 'DDIM')"),
]


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=[case[0] for case in SCHEDULE_CASES])
def test_a_schedule_value_out_of_range_is_one_line_naming_the_manifest_and_the_key(project, case):
    _, change, says = case
    edit(project, change)
    for result in (check(project), build(project)):
        line = one_line(result)
        assert "test-bundle/manifest.json: schedules." in line and says in line, line


def test_a_v_prediction_bundle_whose_first_alpha_bar_is_zero_checks_and_builds(project):
    # a zero-SNR schedule (rescale_betas_zero_snr) starts at ᾱ = 0: pure noise; v and x̂₀
    # predictions never divide by √ᾱ
    def first_alpha_bar_zero(data):
        for t in data["trajectories"].values():  # every trajectory of that schedule (a model predicts one kind)
            if t.get("tensors"):
                t["tensors"]["prediction_type"] = "v_prediction"
        schedule_of(data)["alpha_bar"][0] = 0.0

    edit(project, first_alpha_bar_zero)
    assert check(project).exit_code == 0, check(project).output
    assert build(project).exit_code == 0, build(project).output


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda d: d["model"].pop("image_size"), "model.image_size: expected a list"),
        (lambda d: d["model"].update(latent_shape=[4, 0, 8]), "model.latent_shape.1: expected a whole number from 1"),
        (lambda d: d["scheduler"].update(config="DDIM"), "scheduler.config: expected keys and values"),
        (lambda d: d["scheduler"].pop("class"), "scheduler.class: expected text"),
        (lambda d: d["model"]["extra"].update(deep=json.loads("[" * 500 + "]" * 500)), "model.extra.deep.0.…: nested more than 32"),
    ],
    ids=["no image_size", "a latent side of 0", "a scheduler config that is text", "no scheduler class", "a deep extra"],
)
def test_the_model_and_scheduler_dicts_are_checked_when_read(project, change, says):
    edit(project, change)
    line = one_line(check(project))
    assert "manifest.json: " in line and says in line, line


def test_a_manifest_of_a_hundred_thousand_nested_brackets_is_one_line(project):
    (bundle(project) / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    for result in (check(project), build(project)):
        line = one_line(result)
        assert "manifest.json: not a readable manifest (nested more than 32 levels deep)" in line, line


@pytest.mark.parametrize(
    "kind, content, says",
    [
        ("paths", b"[" * 100_000 + b"]" * 100_000, "nested more than 32 levels deep"),
        ("paths", b'{"kind": "paths", "trajectories": ' + b"[" * 40 + b"]" * 40 + b"}", "trajectories.0.0.0.…: nested"),
        ("paths", "{\"kind\": \"paths\", \"x\": \"caf\xe9\"}".encode("latin-1"), "not UTF-8 text"),
        ("paths", None, "paths: expected 3 paths, one per trajectory (got 2)"),
        ("embedding-map", None, "points: expected 4 points, one per prompt (got 3)"),
        ("tally", None, "nearest.0.prompt: 'a dog' is not a compare_with prompt of the section"),
        ("samplers", None, "trajectories.0: names no trajectory of the manifest"),
    ],
    ids=["100,000 deep", "40 deep", "not UTF-8", "a path short", "a point short", "a prompt the section lacks", "an unknown trajectory"],
)
def test_a_projection_that_does_not_fit_is_one_line_naming_its_file_and_the_key(project, kind, content, says):
    rel = projection_file(project, kind)
    path = bundle(project) / rel
    if content is None:
        data = json.loads(path.read_text())
        if kind == "paths":
            data["paths"].pop()
        elif kind == "embedding-map":
            data["points"].pop()
        elif kind == "tally":
            data["nearest"][0]["prompt"] = "a dog"
        else:
            data["trajectories"][0] = "0" * 20
        content = json.dumps(data).encode()
    path.write_bytes(content)
    relist(project, rel)
    result = build(project)
    line = one_line(result)
    assert f"test-bundle/{rel}: " in line and says in line, line
    if kind != "tally":  # the tally's prompts are the section's business: check reads the file alone
        line = one_line(check(project))
        assert rel in line and says in line, line


# --- a picture's header before its pixels ------------------------------------------------------


def test_a_picture_whose_header_claims_more_pixels_than_declared_is_never_decoded(project, monkeypatch):
    data = load(project)
    view = first(data)["views"]["xt"]
    forge_file(project, data, view["file"], png_header_claiming(13000, 13000))  # 0.1 kB claiming 169 Mpx
    seal(project, data)
    decoded: list[str] = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append("decoded"))

    line = one_line(check(project))
    assert "header says 13000 × 13000 pixels, but the manifest declares" in line and view["file"] in line
    line = one_line(build(project))
    assert "header says 13000 × 13000 pixels" in line and view["file"] in line
    with pytest.raises(StepthroughError, match="header says 13000 × 13000"):
        final_picture(bundle(project), read_manifest(bundle(project)), next(iter(data["trajectories"])))
    assert decoded == []


@pytest.mark.parametrize(
    "mode, options, chunk",
    [("RGB", {"quality": 80}, b"VP8 "), ("RGB", {"lossless": True}, b"VP8L"), ("RGBA", {"quality": 80}, b"VP8X")],
)
def test_a_webp_pictures_size_is_read_from_its_header_in_each_of_its_three_forms(mode, options, chunk):
    buffer = io.BytesIO()
    Image.new(mode, (300, 17)).save(buffer, format="WEBP", **options)
    head = buffer.getvalue()[:32]
    assert head[12:16] == chunk
    assert picture_of(head) == Picture("webp", 300, 17)
    assert picture_of(png(300, 17)[:32]).format == "png" and picture_of(b"<svg></svg>" + bytes(30)) is None


def test_pillow_decodes_no_more_pixels_than_the_manifest_declares(tmp_path, monkeypatch):
    path = tmp_path / "strip.png"
    path.write_bytes(png(40, 30))
    seen: list[int | None] = []
    real_load = Image.Image.load

    def load(self):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", load)
    before = Image.MAX_IMAGE_PIXELS
    with opened_picture(path, (40, 30)) as picture:
        assert picture.size == (40, 30)
    assert seen[0] == 40 * 30 and Image.MAX_IMAGE_PIXELS == before
    assert 51 * 1024 * 1024 <= MAX_PIXELS  # SDXL's 51 frames of 1024 px still fit one strip


def test_a_truncated_strip_names_its_file(project):
    data = load(project)
    tid, trajectory = next((tid, t) for tid, t in data["trajectories"].items() if t["prompt"] == "a cat")
    rel = trajectory["views"]["xt"]["file"]
    path = bundle(project) / rel
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    relist(project, rel)
    assert picture_of(path.read_bytes()[:32]) is not None  # its header is whole: check calls it a picture
    with pytest.raises(StepthroughError) as caught:
        final_picture(bundle(project), read_manifest(bundle(project)), tid)
    assert str(path) in caught.value.message and "damaged or truncated" in caught.value.message
    line = one_line(build(project))  # the tally's sheet reads every finished picture
    assert rel in line and "damaged or truncated" in line


@pytest.mark.parametrize(
    "array, says",
    [
        (np.array([{"os": "system"}], dtype=object), "an array of object [1], expected numbers"),
        (np.zeros((2, 4, 8, 8), dtype=np.float16), "expected numbers of shape [4, 4, 8, 8]"),
    ],
    ids=["pickled objects", "another shape"],
)
def test_latents_are_read_only_as_number_arrays_of_the_declared_shape(project, array, says):
    from stepthrough.bundle.ids import Job
    from stepthrough.precompute.draw import BundleSource

    data = load(project)
    trajectory = first(data)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    forge_file(project, data, trajectory["latents"], buffer.getvalue())
    seal(project, data)
    source = BundleSource(bundle(project), read_manifest(bundle(project)))
    job = Job(trajectory["prompt"], trajectory["seed"], trajectory["steps"], trajectory["guidance"])
    with pytest.raises(StepthroughError) as caught:
        source.latents(job)
    assert trajectory["latents"] in caught.value.message and says in caught.value.message


# --- names from outside are shown as data --------------------------------------------------------

ESCAPES = "\x1b]0;pwned\x07\x1b[2K\r"


def test_names_from_a_bundle_reach_the_terminal_escaped(project):
    (bundle(project) / "frames" / f"x{ESCAPES}.webp").write_bytes(b"RIFF")
    result = check(project)
    assert result.exit_code == 1 and "\x1b" not in result.output and "\r" not in result.output
    assert "x\\x1b]0;pwned\\x07\\x1b[2K\\x0d.webp: not listed in the manifest" in result.output

    (bundle(project) / "frames" / f"x{ESCAPES}.webp").unlink()
    edit(project, lambda data: data["trajectories"].update({f"t{ESCAPES}": first(data)}))
    line = one_line(check(project))
    assert "\x1b" not in line and "trajectory t\\x1b]0;pwned\\x07\\x1b[2K\\x0d: its prompt" in line


def test_a_model_id_with_control_characters_is_escaped_in_the_builds_message(project):
    (project / "content" / "site.toml").write_text(SITE_TOML.replace("tiny-test", "other-model"))
    edit(project, lambda data: data["model"].update(id=f"evil{ESCAPES}"))
    result = build(project)
    assert result.exit_code == 1 and "\x1b" not in result.output and "evil\\x1b]0;pwned" in result.output


def test_printable_escapes_controls_and_bidi_marks_but_keeps_text():
    assert printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert printable("line\nnext") == "line\nnext" and printable("line\nnext", newlines=False) == "line\\x0anext"
    assert printable("café 🍎 ↔ ½") == "café 🍎 ↔ ½"


def test_a_local_models_path_is_never_published(tmp_path):
    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute

    local = "/home/me/client-x/sd15"
    model = TinyModel()
    model.info = dataclasses.replace(model.info, id=local)
    write_content(tmp_path / "content", {"01-watch.md": STEPPER_SECTION}, site=SITE_TOML.replace("tiny-test", local))
    precompute(load_content(tmp_path / "content"), tmp_path / "bundles", model=model, progress=False)
    assert read_manifest(tmp_path / "bundles" / "test-bundle").model["id"] == local  # the bundle's own record
    result = build(tmp_path, "--zip", "--single-file")
    assert result.exit_code == 0, result.output

    site = tmp_path / "build"
    page = (site / "site" / "index.html").read_text()
    assert "model <code>sd15</code>" in page
    published = [page, (site / "site.html").read_text()]
    with zipfile.ZipFile(site / "site.zip") as archive:
        published += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    assert not any("client-x" in text or "/home/me" in text for text in published)


@pytest.mark.parametrize(
    "model_id, shown",
    [
        ("stabilityai/sd-turbo", "stabilityai/sd-turbo"),
        ("builtin", "builtin"),
        ("/home/me/client-x/sd15", "sd15"),
        ("./models/sd15/", "sd15"),
        ("~/sd15", "sd15"),
        ("C:\\Users\\me\\sd15", "sd15"),
        ("\x1b]0;x\x07/", "]0;x"),  # controls left out
        ("/", "a local model"),
    ],
)
def test_a_model_is_shown_by_its_hub_id_or_its_folders_base_name(model_id, shown):
    assert display_name(model_id) == shown


# --- exports treat only known path fields as paths ------------------------------------------------


def test_a_data_string_that_looks_like_a_path_stays_data_in_the_single_file(tmp_path):
    from stepthrough.site.single_file import single_file

    section = STEPPER_SECTION.replace('["a doctor", "red apple"]', '["assets/red", "assets/frames"]')
    site = tiny_site(tmp_path, {"01-watch.md": section})
    [page] = single_file(site)
    text = page.read_text()
    assert '"prompt":"assets/red"' in text and '"prompt":"assets/frames"' in text


def test_every_site_file_a_widgets_data_names_sits_under_a_known_path_field(_rich_project):
    from stepthrough.site.assets import PATH_FIELDS
    from stepthrough.site.build import widget_data_of

    found: dict[str, set[str]] = {}

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and value.startswith("assets/"):
            found.setdefault(str(key), set()).add(value)

    for script in (_rich_project / "build" / "site" / "assets" / "data").iterdir():
        walk(widget_data_of(script.read_text(encoding="utf-8")), None)
    assert found and set(found) <= PATH_FIELDS, found


# --- fuzz: every mutation ends in success or one line ---------------------------------------------

VALUES: list[Any] = [
    0, -1, 1, 1.5, -0.5, 1e308, 10**30, float("nan"), float("inf"), True, None, "", "x", "frames/x.webp",
    "../../x", ESCAPES, [], [0], [[1, 2]], {}, {"kind": "paths"}, [[[[[[[[]]]]]]]],
]


def _mutate(value: Any, rng: random.Random) -> Any:
    """`value` with one entry anywhere in it (each list item and dict value as likely as another,
    so mostly the numbers of long lists) replaced, removed, shortened or doubled."""
    places: list[tuple[Any, Any]] = []  # (container, key)
    stack = [value]
    while stack:
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, child in pairs:
            places.append((item, key))
            stack.append(child)
    if not places:
        return rng.choice(VALUES)
    container, key = rng.choice(places)
    roll, child = rng.random(), container[key]
    if roll < 0.1:
        del container[key]
    elif roll < 0.2 and isinstance(child, list) and child:
        container[key] = child[:-1] if rng.random() < 0.5 else child + child[-1:]
    else:
        container[key] = rng.choice(VALUES)
    return value


def forge(project: Path, rng: random.Random) -> None:
    """One forger's change to a project's bundle: a picture cut short, or one entry of the manifest
    or of a projection mutated; every file listed with its sha256 and the manifest sealed."""
    data = load(project)
    target = rng.random()
    if target < 0.15:  # a picture cut short, listed with its new sha256
        rel = rng.choice(sorted(r for r in data["files"] if r.startswith("frames/")))
        whole = (bundle(project) / rel).read_bytes()
        forge_file(project, data, rel, whole[: rng.randrange(len(whole))])
    elif target < 0.65:
        data = _mutate(data, rng)
    else:
        rel = rng.choice([p["file"] for p in data["projections"].values()])
        mutated = _mutate(json.loads((bundle(project) / rel).read_text()), rng)
        forge_file(project, data, rel, json.dumps(mutated).encode())
    if isinstance(data, dict):
        seal(project, data)
    else:
        (bundle(project) / "manifest.json").write_text(json.dumps(data))


def test_fuzz_every_mutation_of_a_real_bundle_ends_in_success_or_one_line(_rich_project, tmp_path):
    """A seeded loop over the manifest, the projections and the pictures of a real bundle: each
    mutation, sealed and listed as a forger would, ends in `check` and `build` exiting 0, 1 or 2 with, on failure,
    one line: never a traceback. Bounded to 30 mutations or 40 s, whichever comes first."""
    rng = random.Random(26)
    project = tmp_path / "project"
    started, runs, failed = time.monotonic(), 0, 0
    while runs < 30 and time.monotonic() - started < 40:
        shutil.rmtree(project, ignore_errors=True)
        shutil.copytree(_rich_project, project)
        forge(project, rng)
        checked, built = check(project), build(project)
        for result in (checked, built):
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                f"mutation {runs}: {type(result.exception).__name__}: {result.exception}"
            )
            assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, result.output
        # check: one line per problem, each naming the bundle; build: one error (a missing render
        # adds the command that makes it, on lines of its own)
        assert all(line.startswith((f"{bundle(project)}", "Error: ")) for line in lines_of(checked)), checked.output
        errors = [line for line in lines_of(built) if line.startswith("Error: ")]
        assert not built.exit_code or len(errors) == 1, built.output
        failed += bool(checked.exit_code or built.exit_code)
        runs += 1
    assert runs >= 10 and failed, (runs, failed)  # it ran, and its mutations were caught


def lines_of(result) -> list[str]:
    return result.output.strip().splitlines() if result.exit_code else []


def test_a_bundle_precompute_wrote_passes_every_check(project):
    result = check(project)
    assert result.exit_code == 0 and f"OK, {len(load(project)['trajectories'])} trajectories" in result.output
    assert check_bundle(bundle(project)) == []
