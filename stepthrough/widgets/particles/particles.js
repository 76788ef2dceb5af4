/* Reverse-process particles: a tiny 2-D diffusion model, run live in the page.
   Each .particles figure carries the model's weights and its settings as inline JSON (no fetch:
   the page must open from file://). This script is a port of stepthrough/particles/sample.py:
   the same seeded noise (common.js: mulberry32 + Box–Muller), the same features, the same
   DDIM sampler with classifier-free guidance, all in float64, so a seed gives the same
   particles as in Python.
   One state object, one render function; the steps of a run are computed a few at a time
   between frames and kept, so the step slider can go back and forth for free.
   State lives in the URL fragment, e.g. #reverse-particles?shape=star&guidance=3&seed=2&step=20.
   Needs common.js (the Stepthrough helpers) loaded first. */
(function () {
  "use strict";

  var PLAY_MS = 60;
  var BUDGET_MS = 24;  // compute per tick, so the page stays responsive while a run is worked out
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  // ---- the model: the same arithmetic as sample.py ----

  // Step 0: count seeded normal points, x and y interleaved, exactly as sample.py's start_noise.
  function startNoise(seed, count) {
    return Stepthrough.gaussian(2 * count, seed);
  }

  function decodeHalfs(blob) {
    // float16 little-endian in base64 → float64 (exact), as numpy's astype does.
    var bytes = atob(blob.data), out = new Float64Array(bytes.length / 2);
    for (var i = 0; i < out.length; i++) {
      var h = bytes.charCodeAt(2 * i) | (bytes.charCodeAt(2 * i + 1) << 8);
      var sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
      out[i] = exp === 0 ? sign * frac * Math.pow(2, -24)
        : exp === 31 ? (frac ? NaN : sign * Infinity)
        : sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
    }
    return out;
  }

  function Model(spec) {
    this.spec = spec;
    this.nullLabel = spec.shapes.length;
    this.layers = spec.layers.map(function (layer) {
      return { w: decodeHalfs(layer.weight), b: decodeHalfs(layer.bias), out: layer.weight.shape[0], in: layer.weight.shape[1] };
    });
    var widest = Math.max.apply(null, this.layers.map(function (l) { return Math.max(l.in, l.out); }));
    this.h = new Float64Array(widest);
    this.g = new Float64Array(widest);
  }

  Model.prototype.alphaBar = function (t) {
    var s = this.spec.cosine_s;
    var f = Math.pow(Math.cos(Math.PI / 2 * (t + s) / (1 + s)), 2);
    var f0 = Math.pow(Math.cos(Math.PI / 2 * s / (1 + s)), 2);
    return Math.max(f / f0, this.spec.min_alpha_bar);
  };

  // ε(x, t, label) for every particle, for one or two labels at once (labels[k] into outs[k]).
  // Input features, as sample.py's Inputs: [x, y, sin(b·p), cos(b·p) for each direction b,
  // sin(t·g), cos(t·g), one-hot label]. The time and label features are the same for every
  // particle, and the position features the same for both labels, so the first layer's share of
  // each is worked out once: the guided pair costs far less than two whole passes.
  Model.prototype.eps = function (x, t, labels, outs) {
    var dirs = this.spec.position_directions, tf = this.spec.time_frequencies;
    var nd = dirs.length, nt = tf.length, layers = this.layers, last = layers.length - 1;
    var first = layers[0], w0 = first.w, n0 = first.in, width = first.out, ownInputs = 2 + 2 * nd;
    var times = new Float64Array(2 * nt);
    for (var j = 0; j < nt; j++) {
      times[j] = Math.sin(t * tf[j]);
      times[nt + j] = Math.cos(t * tf[j]);
    }
    var bases = labels.map(function (label) {  // bias + weights · (time features, one-hot label)
      var base = new Float64Array(width);
      for (var o = 0; o < width; o++) {
        var sum = first.b[o], row = o * n0 + ownInputs;
        for (var k = 0; k < 2 * nt; k++) sum += w0[row + k] * times[k];
        base[o] = sum + w0[row + 2 * nt + label];
      }
      return base;
    });
    var features = new Float64Array(ownInputs), shared = new Float64Array(width);
    for (var p = 0; p < x.length / 2; p++) {
      var px = x[2 * p], py = x[2 * p + 1];
      features[0] = px;
      features[1] = py;
      for (var f = 0; f < nd; f++) {
        var along = px * dirs[f][0] + py * dirs[f][1];
        features[2 + f] = Math.sin(along);
        features[2 + nd + f] = Math.cos(along);
      }
      for (var o1 = 0; o1 < width; o1++) {
        var part = 0, row1 = o1 * n0;
        for (var i1 = 0; i1 < ownInputs; i1++) part += w0[row1 + i1] * features[i1];
        shared[o1] = part;
      }
      for (var k2 = 0; k2 < labels.length; k2++) {
        var input = this.h, output = this.g, base2 = bases[k2];
        for (var o2 = 0; o2 < width; o2++) {
          var pre = shared[o2] + base2[o2];
          input[o2] = last > 0 ? pre / (1 + Math.exp(-pre)) : pre;  // SiLU between layers
        }
        for (var l = 1; l <= last; l++) {
          var layer = layers[l], w = layer.w, n = layer.in;
          for (var o = 0; o < layer.out; o++) {
            var sum = layer.b[o], row = o * n;
            for (var i = 0; i < n; i++) sum += w[row + i] * input[i];
            output[o] = l < last ? sum / (1 + Math.exp(-sum)) : sum;
          }
          var swap = input; input = output; output = swap;
        }
        outs[k2][2 * p] = input[0];
        outs[k2][2 * p + 1] = input[1];
      }
    }
  };

  // One DDIM step from t to tNext with classifier-free guidance: ε = ε_none + w·(ε_shape − ε_none).
  // w = 0 is the "no shape" model alone, w = 1 the shape model alone.
  Model.prototype.step = function (x, t, tNext, label, w, work) {
    if (w === 0) this.eps(x, t, [this.nullLabel], [work.eps]);
    else if (w === 1) this.eps(x, t, [label], [work.eps]);
    else {
      this.eps(x, t, [this.nullLabel, label], [work.uncond, work.eps]);
      for (var i = 0; i < x.length; i++) work.eps[i] = work.uncond[i] + w * (work.eps[i] - work.uncond[i]);
    }
    var a = this.alphaBar(t), aNext = this.alphaBar(tNext), clip = this.spec.clip;
    var out = new Float64Array(x.length);
    for (var j = 0; j < x.length; j++) {
      var e = work.eps[j];
      var x0 = Math.min(clip, Math.max(-clip, (x[j] - Math.sqrt(1 - a) * e) / Math.sqrt(a)));
      out[j] = Math.sqrt(aNext) * x0 + Math.sqrt(1 - aNext) * e;
    }
    return out;
  };

  // ---- the widget ----

  function Particles(figure) {
    this.figure = figure;
    this.data = Stepthrough.data(figure);
    this.model = new Model(this.data.model);
    this.canvas = figure.querySelector(".particles-canvas");
    this.still = figure.querySelector(".particles-still");
    this.status = figure.querySelector(".particles-status");
    this.shapeSelect = figure.querySelector("select[data-param=shape]");
    this.guidance = figure.querySelector("input[data-param=guidance]");
    this.guidanceOut = figure.querySelector(".particles-guidance output");
    this.slider = figure.querySelector("input[data-param=step]");
    this.count = figure.querySelector(".particles-count");
    this.playButton = figure.querySelector("[data-action=play]");
    var d = this.data;
    this.state = { shape: d.shapes[0], guidance: d.guidance, seed: d.seed, step: d.steps, playing: false };
    this.run = null;  // { key, frames: [Float64Array per step computed so far] }
    this.timer = null;
    this.shown = -1;
    var self = this;
    // Read-only view for tests and curious readers: the step on the canvas and its positions.
    Object.defineProperty(figure, "particles", {
      get: function () {
        var frames = self.run ? self.run.frames : [];
        return { step: self.shown, done: frames.length === self.data.steps + 1, busyMs: self.run ? self.run.busyMs : 0,
                 positions: self.shown >= 0 ? Array.from(frames[self.shown]) : [] };
      }
    });
    this.bind();
    figure.querySelector(".particles-controls").hidden = false;
    window.addEventListener("resize", function () { if (self.run) { self.shown = -1; self.render(); } });
    if (this.readHash()) return;
    // The model runs only once the reader scrolls here; until then the build-time still shows.
    if (!("IntersectionObserver" in window)) return this.set({}, false);
    var observer = new IntersectionObserver(function (entries) {
      if (!entries.some(function (e) { return e.isIntersecting; })) return;
      observer.disconnect();
      if (!self.run) self.set({}, false);
    }, { rootMargin: "100% 0px" });  // start a screen ahead, so the run is ready when the reader arrives
    observer.observe(figure);
  }

  Particles.prototype.key = function () {
    return [this.state.shape, this.state.guidance, this.state.seed].join("|");
  };

  // Start a run when shape, guidance or seed changed; then work it out a few steps per tick.
  Particles.prototype.ensureRun = function () {
    if (this.run && this.run.key === this.key()) return;
    var count = this.data.count;
    this.run = {
      key: this.key(),
      label: this.data.model.shapes.indexOf(this.state.shape),
      guidance: this.state.guidance,
      frames: [startNoise(this.state.seed, count)],
      busyMs: 0,  // time spent computing, without the pauses between ticks
      work: { eps: new Float64Array(2 * count), uncond: new Float64Array(2 * count) }
    };
    this.shown = -1;
    this.compute(this.run);
  };

  Particles.prototype.compute = function (run) {
    if (run !== this.run) return;  // the reader changed something meanwhile: drop this run
    var self = this, steps = this.data.steps, started = performance.now();
    while (run.frames.length <= steps && performance.now() - started < BUDGET_MS) {
      var i = run.frames.length - 1;
      run.frames.push(this.model.step(run.frames[i], 1 - i / steps, 1 - (i + 1) / steps, run.label, run.guidance, run.work));
    }
    run.busyMs += performance.now() - started;
    if (run.frames.length <= steps) setTimeout(function () { self.compute(run); }, 0);
    this.render();
  };

  Particles.prototype.set = function (changes, fromUser) {
    for (var key in changes) this.state[key] = changes[key];
    this.state.step = Stepthrough.clamp(this.state.step, 0, this.data.steps);
    this.ensureRun();
    this.render(fromUser && !this.state.playing);
    if (fromUser) this.writeHash();
  };

  Particles.prototype.render = function (announce) {
    var s = this.state, d = this.data, frames = this.run.frames;
    var available = Math.min(s.step, frames.length - 1), behind = available < s.step;
    // The build-time still is this very state (same model, seed and sampler): it stays until the
    // live run has caught up, so the first screen is the finished shape, not a wait.
    var still = behind && s.shape === d.shapes[0] && s.guidance === d.guidance && s.seed === d.seed &&
      s.step === d.steps;
    // While the run is worked out the canvas shows each step as it comes, so the dots play up to
    // the step asked for; with reduced motion, no half-finished frames flash by.
    var step = still ? s.step : behind && !reducedMotion ? available : s.step;
    if (still) this.showStill();
    else if (!(behind && reducedMotion) && available !== this.shown) this.draw(available);
    var text = Stepthrough.t("particles.status", {
      step: step, steps: d.steps, shape: s.shape, guidance: s.guidance,
      what: Stepthrough.t(behind && !still && reducedMotion ? "particles.working"
        : step === 0 ? "particles.noise" : step === d.steps ? "particles.settled" : "particles.moving")
    });
    Stepthrough.say(this.status, text, announce);
    this.canvas.setAttribute("aria-label", Stepthrough.t("particles.canvas", { n: d.count, text: text }));
    this.slider.value = step;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("step_of", { step: step, steps: d.steps }));
    this.count.textContent = Stepthrough.t("count", { step: step, steps: d.steps });
    this.shapeSelect.value = s.shape;
    this.guidance.value = s.guidance;
    this.guidance.setAttribute("aria-valuetext", Stepthrough.t("particles.guidance", { guidance: s.guidance }));
    this.guidanceOut.textContent = Stepthrough.t("number", { value: s.guidance });
    this.playButton.setAttribute("aria-pressed", String(s.playing));
    this.playButton.setAttribute("aria-label", Stepthrough.t(s.playing ? "pause" : "play"));
    this.figure.dataset.step = this.shown;
  };

  Particles.prototype.showStill = function () {
    this.still.removeAttribute("hidden");
    this.canvas.hidden = true;
    this.shown = -1;
  };

  // Dots for this step, with a faint line back to where each particle was one step before.
  Particles.prototype.draw = function (step) {
    var canvas = this.canvas, ratio = window.devicePixelRatio || 1;
    if (canvas.hidden) {  // the first frame replaces the build-time still
      this.still.setAttribute("hidden", "");  // an SVG element has no .hidden property
      canvas.hidden = false;
    }
    var size = Math.round(canvas.clientWidth * ratio) || 300;
    if (canvas.width !== size) canvas.width = canvas.height = size;
    var ctx = canvas.getContext("2d"), v = this.data.view, scale = size / (2 * v);
    var x = this.run.frames[step], before = this.run.frames[Math.max(0, step - 1)];
    var colour = getComputedStyle(canvas).color, n = x.length / 2;
    ctx.clearRect(0, 0, size, size);
    ctx.strokeStyle = ctx.fillStyle = colour;
    if (step < this.data.steps) {  // the settled shape is drawn clean, without its last move
      ctx.globalAlpha = 0.15;
      ctx.lineWidth = Math.max(1, ratio * 0.75);
      ctx.beginPath();
      for (var i = 0; i < n; i++) {
        ctx.moveTo((before[2 * i] + v) * scale, (v - before[2 * i + 1]) * scale);
        ctx.lineTo((x[2 * i] + v) * scale, (v - x[2 * i + 1]) * scale);
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 0.85;
    var r = Math.max(1, size / 220);
    ctx.beginPath();
    for (var p = 0; p < n; p++) {
      var px = (x[2 * p] + v) * scale, py = (v - x[2 * p + 1]) * scale;
      ctx.moveTo(px + r, py);
      ctx.arc(px, py, r, 0, 2 * Math.PI);
    }
    ctx.fill();
    ctx.globalAlpha = 1;
    this.shown = step;
  };

  Particles.prototype.play = function (on) {
    var self = this;
    clearInterval(this.timer);
    this.timer = null;
    if (on) {
      if (this.state.step >= this.data.steps) this.state.step = 0;
      this.timer = setInterval(function () {
        if (self.state.step >= self.data.steps) return self.play(false);
        // Wait for the run to catch up rather than skip steps.
        if (self.state.step < self.run.frames.length - 1) self.set({ step: self.state.step + 1 }, false);
      }, PLAY_MS);
    }
    this.set({ playing: on }, !on);
  };

  Particles.prototype.bind = function () {
    var self = this;
    function stopThen(changes) { self.play(false); self.set(changes, true); }
    this.slider.addEventListener("input", function () {
      var step = Number(self.slider.value);  // read before play(false) re-renders the slider
      stopThen({ step: step });
    });
    this.shapeSelect.addEventListener("change", function () { self.set({ shape: self.shapeSelect.value }, true); });
    this.guidance.addEventListener("input", function () { self.set({ guidance: Number(self.guidance.value) }, true); });
    this.figure.querySelector("[data-action=noise]").addEventListener("click", function () {
      self.set({ seed: (self.state.seed + 1) >>> 0 }, true);
    });
    this.figure.querySelector("[data-action=prev]").addEventListener("click", function () {
      stopThen({ step: self.state.step - 1 });
    });
    this.figure.querySelector("[data-action=next]").addEventListener("click", function () {
      stopThen({ step: self.state.step + 1 });
    });
    this.playButton.addEventListener("click", function () { self.play(!self.state.playing); });
    // Arrow keys, Home/End and space on the canvas itself (the sliders handle their own keys).
    this.canvas.addEventListener("keydown", function (event) {
      var step = self.state.step;
      var moves = { ArrowLeft: step - 1, ArrowDown: step - 1, ArrowRight: step + 1, ArrowUp: step + 1, Home: 0, End: self.data.steps };
      var key = Stepthrough.arrow(event.key);
      if (key in moves) stopThen({ step: moves[key] });
      else if (event.key === " ") self.play(!self.state.playing);
      else return;
      event.preventDefault();
    });
  };

  Particles.prototype.writeHash = function () {
    var s = this.state;
    Stepthrough.writeHash(this.data.id, { shape: s.shape, guidance: s.guidance, seed: s.seed, step: s.step });
  };

  Particles.prototype.readHash = function () {
    var query = Stepthrough.readHash(this.data.id);
    if (!query) return false;
    var s = this.state;
    this.set({
      shape: Stepthrough.choice(query, "shape", this.data.shapes, s.shape),
      guidance: Stepthrough.number(query, "guidance", 0, 8, s.guidance),
      seed: Stepthrough.whole(query, "seed", 0, 4294967295, s.seed),
      step: Stepthrough.whole(query, "step", 0, this.data.steps, s.step)
    }, false);
    return true;  // common.js brings the widget into view
  };

  Stepthrough.widget("particles", function (figure) {
    var particles = new Particles(figure);
    // Scrolling through the section's paragraphs walks the dots from noise (first) to shape (last).
    Stepthrough.scrubbers[particles.data.id] = function (fraction) {
      particles.set({ step: Math.round(fraction * particles.data.steps) }, false);
    };
  });
})();
