"""The draw widget's model in headless Chromium: seconds per UNet evaluation and per guided step,
a whole 25-step trajectory, and what the page downloads for it.

Writes the model script the build makes (stepthrough/widgets/draw) beside a bare page, opens it
from file:// in Debian's Chromium (Playwright) and runs the page's engine (draw-engine.js) there,
in a Worker made from a blob as the widget does. The engine is plain JavaScript on the CPU; it has
no WebGL path, so there is one column. With --tfjs FILE (TensorFlow.js' classic build, tf.min.js)
it also times the UNet's convolutions alone (the shapes of one evaluation, 90 % of its work) in
TensorFlow.js' CPU and WebGL backends beside the engine's own, for the choice of engine.
Also checks the 25-step picture against PyTorch's (max abs difference, pixels in 0..1).

    python benchmarks/draw.py [--runs 5] [--steps 25] [--tfjs tf.min.js]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser import launch

PAGE = """<!doctype html><meta charset="utf-8"><title>draw benchmark</title>
<script src="model.js"></script>{extra}"""

# In the page: a Worker from a blob holding the engine, as draw.js makes it; timings inside it.
RUN = """async ([runs, steps, caption]) => {
  const code = "var StepthroughDrawEngine = " + StepthroughDrawEngine.toString() + ";\\n" + `
    var E = StepthroughDrawEngine(), M;
    onmessage = (e) => {
      const [runs, steps, caption] = e.data, now = () => performance.now(), out = {};
      let t = now(); M = E.load(e.data[3]); out.load = (now() - t) / 1000;
      const cond = M.caption(caption), uncond = M.caption(0), x = {c: 4, h: 16, w: 16, d: E.randn(1024, 7)};
      out.unet = []; out.decode = [];
      for (let r = 0; r < runs; r++) {
        t = now(); M.unet(x, 999, cond); out.unet.push((now() - t) / 1000);
        t = now(); M.decode(x); out.decode.push((now() - t) / 1000);
      }
      t = now();
      const tr = E.Trajectory(M, {seed: 7, steps: steps, guidance: 5, sampler: "ddim", cond: cond, uncond: uncond});
      let s, last;
      while ((s = tr.next())) last = s;
      out.trajectory = (now() - t) / 1000;
      out.picture = Array.from(M.decode(last.final).d);
      postMessage(out);
    };`;
  const worker = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  return await new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage([runs, steps, caption, window.StepthroughDrawModel]);
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
    print(
        f"model script: {len(script) / 1e6:.1f} MB ({len(gzip.compress(script, 6)) / 1e6:.1f} MB gzipped); "
        f"UNet {unet_bytes / 1e6:.1f} MB float16, captions {captions.hidden.nbytes / 1e6:.1f} MB float16 "
        f"({len(captions.texts)} captions, {len(captions.hidden)} tokens), base64 adds a third"
    )
    pads = pads_script()
    print(f"a blend's padding states: {len(pads) / 1e6:.1f} MB (a second script, loaded only when a blend is drawn)")

    with launch() as browser:
        page = browser.new_context().new_page()
        page.goto((folder / "index.html").as_uri())
        started = time.perf_counter()
        out = page.evaluate(RUN, [args.runs, args.steps, caption])
        wall = time.perf_counter() - started
        print(f"engine: plain JavaScript, CPU, one Worker (headless Chromium {browser.version})")
        print(f"  reading the weights: {out['load']:.2f} s")
        print(f"  one UNet evaluation: {spread(out['unet'])}")
        print(f"  one decode (16×16×4 → 64×64×3): {spread(out['decode'])}")
        print(
            f"  a {args.steps}-step DDIM trajectory, guidance 5 (2 UNet evaluations a step, no previews): "
            f"{out['trajectory']:.1f} s, {out['trajectory'] / args.steps:.2f} s a step (whole call {wall:.1f} s)"
        )
        print("  the widget also decodes x_t and x̂0 at every step: add two decodes a step")
        print("  WebGL: this engine has none (CPU only)")

        import numpy as np

        from stepthrough.bundle.ids import Job
        from stepthrough.precompute.models.builtin import load_builtin
        from stepthrough.precompute.sampler import sample

        model = load_builtin()
        expected = model.decode(sample(model, [Job("ghost", 7, args.steps, 5.0)]))[0].numpy().ravel()
        diff = float(np.abs(np.asarray(out["picture"]) - expected).max())
        print(
            f"  same numbers as PyTorch: max abs difference of the final picture {diff:.5f} ({diff * 255:.2f}/255)"
        )

        if args.tfjs:
            shapes = conv_shapes(BUILTIN_WEIGHTS / "unet.safetensors")
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
