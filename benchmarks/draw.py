"""The draw widget's model in headless Chromium, on the CPU engine and on the GPU (WebGL) side by
side: seconds per UNet evaluation, per decode and per 25-step trajectory, the GPU's time by kernel,
and what the page downloads for it.

Writes the model script the build makes (stepthrough/widgets/draw) beside a bare page, opens it
from file:// in Debian's Chromium (Playwright) and runs the page's engine there, in Workers made
from a blob as the widget does: one on the CPU engine (draw-engine.js), one on the GPU path
(draw-webgl.js). Repeats alternate between the two, so a machine busy with other work slows both
alike; medians with their spread, and CPU/GPU ratios. Headless Chromium without a GPU runs WebGL on
SwiftShader, a GPU emulated on the CPU: its column says what the GPU path's overhead costs on such
a machine, not what a real GPU does. With --tfjs FILE (TensorFlow.js' classic build, tf.min.js) it
also times the UNet's convolutions alone in TensorFlow.js' CPU and WebGL backends beside the
engine's own. Also checks both engines' 25-step pictures against PyTorch's (max abs difference).

    python benchmarks/draw.py [--runs 5] [--repeats 3] [--steps 25] [--tfjs tf.min.js]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser import launch

PAGE = """<!doctype html><meta charset="utf-8"><title>draw benchmark</title>
<script src="model.js"></script>{extra}"""

ENGINES = {"cpu": "CPU engine (plain JavaScript)", "webgl": "GPU path (WebGL2)"}

# In the page: one Worker from a blob per engine, holding the engine and its GPU path as draw.js
# makes it; it answers "load", "parts" (UNet and decode, runs times), "trajectory" and "kernels"
# (the GPU's seconds by kernel for one UNet evaluation and one decode, each pass waited for).
START = """async ([engine, caption]) => {
  const code = "var StepthroughDrawEngine = " + StepthroughDrawEngine.toString() + ";\\n" +
    "var StepthroughDrawWebGL = " + StepthroughDrawWebGL.toString() + ";\\n" + `
    var E = StepthroughDrawEngine(), M, cond, uncond, x, profile = {};
    const now = () => performance.now();
    onmessage = (e) => {
      const m = e.data, out = {};
      let t = now();
      if (m.type === "load") {
        M = E.load(m.files);
        if (m.engine === "webgl") StepthroughDrawWebGL(E, M, {strict: true});
        cond = M.caption(m.caption); uncond = M.caption(0); x = {c: 4, h: 16, w: 16, d: E.randn(1024, 7)};
        M.unet(x, 999, cond); M.decode(x);  // the GPU's weights go up on first use: count it in loading
        out.load = (now() - t) / 1000; out.engine = M.engine;
      } else if (m.type === "parts") {
        out.unet = []; out.decode = [];
        for (let r = 0; r < m.runs; r++) {
          t = now(); M.unet(x, 999, cond); out.unet.push((now() - t) / 1000);
          t = now(); M.decode(x); out.decode.push((now() - t) / 1000);
        }
      } else if (m.type === "trajectory") {
        const tr = E.Trajectory(M, {seed: 7, steps: m.steps, guidance: 5, sampler: "ddim", cond: cond, uncond: uncond});
        let s, last;
        while ((s = tr.next())) last = s;
        out.seconds = (now() - t) / 1000;
        out.picture = Array.from(M.decode(last.final).d);
        out.engine = M.engine;
      } else if (m.type === "kernels") {
        M.profile = {}; M.unet(x, 999, cond); out.unet = M.profile;
        M.profile = {}; M.decode(x); out.decode = M.profile;
        M.profile = null;
      }
      postMessage(out);
    };`;
  const worker = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  window.benchWorkers = window.benchWorkers || {};
  window.benchWorkers[engine] = worker;
  return await ask([engine, {type: "load", engine: engine, caption: caption, files: window.StepthroughDrawModel}]);
}"""

ASK = """() => {
  window.ask = ([engine, message]) => new Promise((resolve) => {
    const worker = window.benchWorkers[engine];
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage(message);
  });
}"""

# The 3×3 convolutions of one UNet evaluation (shapes from the weights), timed in one backend.
CONVS = """async ([backend, runs, shapes]) => {
  const out = {};
  if (backend === "engine") {
    const E = StepthroughDrawEngine(), times = [];
    const convs = shapes.map(([co, ci, side, stride]) => [
      {c: ci, h: side, w: side, d: new Float32Array(ci * side * side).fill(0.1)},
      {shape: [co, ci, 3, 3], d: new Float32Array(co * ci * 9).fill(0.01)}, stride]);
    const conv3 = E.conv3;
    for (let r = 0; r <= runs; r++) {
      const t = performance.now();
      convs.forEach(([x, w, s]) => conv3(x, w, null, s));
      if (r) times.push((performance.now() - t) / 1000);
    }
    return {times};
  }
  try {
    if (!(await tf.setBackend(backend))) return {error: "did not start"};
  } catch (e) {
    return {error: String(e.message || e)};  // wasm: a separate package whose .wasm file file:// cannot fetch
  }
  await tf.ready();
  const convs = shapes.map(([co, ci, side, stride]) => [tf.fill([1, side, side, ci], 0.1), tf.fill([3, 3, ci, co], 0.01), stride]);
  const times = [];
  for (let r = 0; r <= runs; r++) {
    const t = performance.now();
    const ys = convs.map(([x, w, s]) => tf.conv2d(x, w, s, "same"));
    await Promise.all(ys.map((y) => y.data()));
    ys.forEach((y) => y.dispose());
    if (r) times.push((performance.now() - t) / 1000);
  }
  return {times, backend: tf.getBackend()};
}"""


# The side of the input each 3×3 convolution of the UNet sees on a 16×16 latent, by name (first match).
SIDES = (
    ("down_blocks.0.downsamplers", 16),
    ("down_blocks.1.downsamplers", 8),
    ("up_blocks.0.upsamplers", 8),
    ("up_blocks.1.upsamplers", 16),
    ("down_blocks.1", 8),
    ("up_blocks.1", 8),
    ("down_blocks.2", 4),
    ("mid_block", 4),
    ("up_blocks.0", 4),
    ("", 16),
)


def conv_shapes(weights: Path) -> list[list[int]]:
    """(out, in, side, stride) of each 3×3 convolution in one UNet evaluation."""
    from safetensors import safe_open

    shapes = []
    with safe_open(weights, "numpy") as f:
        for name in f.keys():  # noqa: SIM118 (a safe_open file is not iterable)
            shape = f.get_slice(name).get_shape()
            if len(shape) == 4 and shape[2:] == [3, 3]:
                side = next(side for prefix, side in SIDES if name.startswith(prefix))
                shapes.append([shape[0], shape[1], side, 2 if "downsamplers" in name else 1])
    return shapes


def spread(values: list[float]) -> str:
    return (
        f"{statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="trajectories per engine")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--tfjs", type=Path, help="TensorFlow.js' classic build (tf.min.js) to time beside")
    args = parser.parse_args()

    from stepthrough.builtin.fingerprint import BUILTIN_WEIGHTS
    from stepthrough.widgets.draw import model_script, pads_script
    from stepthrough.widgets.draw.captions import read_captions

    script = model_script()
    captions = read_captions()
    caption = captions.texts.index("ghost")
    folder = Path(tempfile.mkdtemp(prefix="stepthrough-draw-bench-"))
    (folder / "model.js").write_bytes(script)
    extra = ""
    if args.tfjs:
        (folder / "tf.min.js").write_bytes(args.tfjs.read_bytes())
        extra = '<script src="tf.min.js"></script>'
    (folder / "index.html").write_text(PAGE.format(extra=extra), encoding="utf-8")

    unet_bytes = (BUILTIN_WEIGHTS / "unet.safetensors").stat().st_size
    decoder_bytes = (BUILTIN_WEIGHTS / "autoencoder.safetensors").stat().st_size
    print(
        f"model script: {len(script):,} bytes ({len(gzip.compress(script, 6)):,} gzipped); "
        f"UNet {unet_bytes:,} bytes float16, autoencoder {decoder_bytes:,}, captions {captions.hidden.nbytes / 1e6:.1f} MB float16 "
        f"({len(captions.texts)} captions, {len(captions.hidden)} tokens), base64 adds a third"
    )
    pads = pads_script()
    print(f"a blend's padding states: {len(pads) / 1e6:.1f} MB (a second script, loaded only when a blend is drawn)")

    with launch() as browser:
        page = browser.new_context().new_page()
        page.goto((folder / "index.html").as_uri())
        page.evaluate(ASK)
        print(f"headless Chromium {browser.version}; repeats alternate between the engines")
        report(measure(page, args, caption), args)
        if args.tfjs:
            time_tfjs(page, args, conv_shapes(BUILTIN_WEIGHTS / "unet.safetensors"))


def measure(page, args, caption: int) -> dict:
    """Both engines' loading, parts, trajectories (alternating) and the GPU's kernels."""
    loads = {engine: page.evaluate(START, [engine, caption]) for engine in ENGINES}
    for engine, got in loads.items():
        assert got["engine"] == engine, f"{engine} did not start: it ran on {got['engine']}"
    parts: dict[str, dict[str, list[float]]] = {e: {"unet": [], "decode": []} for e in ENGINES}
    for _ in range(args.runs):
        for engine in ENGINES:
            got = page.evaluate("ask", [engine, {"type": "parts", "runs": 1}])
            for what in ("unet", "decode"):
                parts[engine][what] += got[what]
    trajectories: dict[str, list[float]] = {e: [] for e in ENGINES}
    pictures = {}
    for _ in range(args.repeats):
        for engine in ENGINES:
            got = page.evaluate("ask", [engine, {"type": "trajectory", "steps": args.steps}])
            assert got["engine"] == engine, f"{engine} fell back to {got['engine']} mid-way"
            trajectories[engine].append(got["seconds"])
            pictures[engine] = got["picture"]
    kernels = page.evaluate("ask", ["webgl", {"type": "kernels"}])
    return {
        "loads": loads,
        "parts": parts,
        "trajectories": trajectories,
        "pictures": pictures,
        "kernels": kernels,
    }


def report(m: dict, args) -> None:
    import numpy as np

    from stepthrough.bundle.ids import Job
    from stepthrough.precompute.models.builtin import load_builtin
    from stepthrough.precompute.sampler import sample

    model = load_builtin()
    expected = model.decode(sample(model, [Job("ghost", 7, args.steps, 5.0)]))[0].numpy().ravel()
    parts, trajectories = m["parts"], m["trajectories"]
    for engine, name in ENGINES.items():
        diff = float(np.abs(np.asarray(m["pictures"][engine]) - expected).max())
        print(f"{name}:")
        print(
            f"  reading the weights (the GPU also compiles, uploads, checks one UNet pass): {m['loads'][engine]['load']:.2f} s"
        )
        print(f"  one UNet evaluation: {spread(parts[engine]['unet'])}")
        print(f"  one decode (16×16×4 → 64×64×3): {spread(parts[engine]['decode'])}")
        print(
            f"  a {args.steps}-step DDIM trajectory, guidance 5 (2 UNet evaluations a step, no previews): "
            f"{spread(trajectories[engine])}, {statistics.median(trajectories[engine]) / args.steps:.2f} s a step"
        )
        print(f"  final picture against PyTorch's: max abs difference {diff:.5f} ({diff * 255:.2f}/255)")
    for what, seconds in m["kernels"].items():
        total = sum(seconds.values())
        shares = ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(seconds.items(), key=lambda kv: -kv[1]))
        print(f"GPU time by kernel, one {what} ({total:.2f} s, waiting after every pass): {shares}")
    print("CPU / GPU (above 1: the GPU path is faster):")
    for what, cpu, gpu in (
        ("UNet evaluation", parts["cpu"]["unet"], parts["webgl"]["unet"]),
        ("decode", parts["cpu"]["decode"], parts["webgl"]["decode"]),
        (f"{args.steps}-step trajectory", trajectories["cpu"], trajectories["webgl"]),
    ):
        ratios = [c / g for c, g in zip(cpu, gpu)]
        print(
            f"  {what}: {statistics.median(cpu) / statistics.median(gpu):.2f}× "
            f"(pairwise min {min(ratios):.2f}, max {max(ratios):.2f})"
        )
    print("  the widget also decodes x_t and x̂0 at every step: add two decodes a step")


def time_tfjs(page, args, shapes: list[list[int]]) -> None:
    print(f"3×3 convolutions of one UNet evaluation ({len(shapes)}), median of {args.runs}:")
    for backend in ("engine", "cpu", "webgl", "wasm"):
        got = page.evaluate(CONVS, [backend, args.runs, shapes])
        if "error" in got:
            print(f"  tfjs {backend}: {got['error']}")
        else:
            print(
                f"  {'engine' if backend == 'engine' else 'tfjs ' + got['backend']}: {spread(got['times'])}"
            )


if __name__ == "__main__":
    main()
