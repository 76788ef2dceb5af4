/* Draw it yourself: the builtin model runs in the page. One state object (caption, seed, steps,
   guidance, sampler, and a second caption to blend towards and by how much), kept in the URL
   fragment (#draw?prompt=ghost&seed=1234&steps=8&guidance=12, …&towards=cat&blend=0.5),
   so a teacher's link redraws the same picture on every device.
   Until the reader draws, the frame shows the section's precomputed trajectory (the static frame).
   The model (draw-model.js: engine, weights, captions; tens of MB) loads only when the reader
   draws, as a classic script, and runs in a Worker made from a blob: a page opened from file://
   may start no other. Where no Worker starts, the same code runs between frames on the page. */
(function () {
  "use strict";

  var VIEWS = ["xt", "x0", "noise"], SAMPLER_NAMES = { ddim: "DDIM", euler: "Euler" };
  var loading = null, worker = null, listeners = [];  // one model per page, shared by its figures

  function el(tag, attrs, parent) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  /* Load draw-model.js once and start its worker; ready(error) when it can draw. */
  function loadModel(src, ready) {
    if (worker) return ready(null);
    if (loading) return loading.push(ready);
    loading = [ready];
    function finish(error) {
      var waiting = loading;
      if (error && worker) {  // a worker without a model: the next Draw starts afresh
        if (worker.terminate) worker.terminate();
        worker = null;
      }
      loading = error ? null : loading;
      waiting.forEach(function (fn) { fn(error); });
      if (!error) loading = null;
    }
    var script = el("script", { src: src });
    script.onerror = function () { finish(phrase("draw.load_failed")); };
    script.onload = function () {
      var model = window.StepthroughDrawModel;
      worker = startWorker();
      worker.onmessage = function (event) {
        var m = event.data;
        if (m.type === "loaded") {
          if (m.why) console.info("draw: the CPU engine draws (" + m.why + ")");  // for the curious
          return finish(null);
        }
        if (m.type === "padsLoaded") return padsLoaded(m.error || null);
        if (m.type === "error" && loading) return finish(m.message);
        listeners.forEach(function (fn) { fn(m); });
      };
      worker.postMessage({ type: "load", files: model, engine: engineWanted() });
    };
    document.head.appendChild(script);
  }

  /* The page's address may ask for an engine: ?engine=cpu (never the GPU) or ?engine=webgl (the GPU
     or an error, for tests); otherwise the GPU where it works, else the CPU. */
  function engineWanted() {
    var wanted = /[?&]engine=(cpu|webgl)(&|$)/.exec(location.search);
    return wanted ? wanted[1] : "auto";
  }

  function startWorker() {
    var code = "var StepthroughDrawEngine = " + window.StepthroughDrawEngine.toString() + ";\n" +
      (window.StepthroughDrawWebGL ? "var StepthroughDrawWebGL = " + window.StepthroughDrawWebGL.toString() + ";\n" : "") +
      "(" + window.StepthroughDrawWorker.toString() + ")(self);";
    try {
      var real = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
      real.mode = "worker";
      return real;
    } catch (e) {
      // No worker (an old browser, a stricter policy): the same code on the page, a step per task.
      var page = { mode: "page", onmessage: null }, scope = {};
      scope.postMessage = function (m) { setTimeout(function () { if (page.onmessage) page.onmessage({ data: m }); }, 0); };
      window.StepthroughDrawWorker(scope);
      page.postMessage = function (m) { setTimeout(function () { scope.onmessage({ data: m }); }, 0); };
      return page;
    }
  }

  /* A blend's second script (draw-pads.js: the captions' padding states), once, after the model:
     ready(error) when the worker holds it. */
  var pads = null;  // null: not asked; a list: loading (its waiting callbacks); true: loaded
  function loadPads(src, ready) {
    if (pads === true) return ready(null);
    if (pads) return pads.push(ready);
    pads = [ready];
    var script = el("script", { src: src });
    script.onerror = function () { padsLoaded(phrase("draw.load_failed")); };
    script.onload = function () {
      worker.postMessage({ type: "pads", text: window.StepthroughDrawPads });
      window.StepthroughDrawPads = null;  // the worker keeps its own copy
    };
    document.head.appendChild(script);
  }
  function padsLoaded(error) {
    var waiting = pads || [];
    pads = error ? null : true;
    waiting.forEach(function (fn) { fn(error); });
  }

  /* The widget's words: its data carries them (draw/__init__.py), so the first screen does not.
     "{name}" slots are filled; numbers as the page's language writes them. */
  var phrases = {};
  function phrase(key, values) {
    var text = Object.prototype.hasOwnProperty.call(phrases, key) ? phrases[key] : key;
    return text.replace(/\{(\w+)\}/g, function (slot, name) {
      if (!values || !Object.prototype.hasOwnProperty.call(values, name)) return slot;
      return typeof values[name] === "number" ? Stepthrough.fixed(values[name], 0) : String(values[name]);
    });
  }

  function words(text) {
    return text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").match(/[a-z0-9]+/g) || [];
  }

  /* The controls' layout, added when the widget starts (style.css keeps only the static frame's):
     not a byte on the first screen. */
  var STYLE = [
    ".draw-frame canvas { position: absolute; inset: 0; width: 100%; height: 100%; image-rendering: pixelated; border-radius: 6px; }",
    ".draw-controls { margin-top: 0.75rem; display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: center; }",
    ".draw-controls label, .draw-buttons { display: flex; flex-wrap: wrap; gap: 0.3rem 0.5rem; align-items: center; }",
    ".draw-caption, .draw-caption input, .draw-scrub, .draw-scrub input { flex: 1 1 100%; }",
    /* a thumb's size (44 px) for every control, as everywhere on the page */
    ".draw-controls :is(input, select, button) { font: inherit; min-height: 2.75rem; min-width: 2.75rem; box-sizing: border-box; }",
    ".draw-controls :is(input[type=text], input[type=search], input[type=number], select, button) { padding: 0 0.6rem; }",
    ".draw-controls input[type=range], .draw-scrub input { accent-color: var(--accent); }",
    ".draw-blend input { flex: 1 1 8rem; } .draw-blend-help { flex: 1 1 100%; margin: 0; }"
  ].join("\n");
  function addStyle() {
    if (document.getElementById("draw-style")) return;
    el("style", { id: "draw-style" }, document.head).appendChild(document.createTextNode(STYLE));
  }

  function Draw(figure) {
    this.figure = figure;
    this.data = Stepthrough.data(figure);
    phrases = this.data.phrases;
    addStyle();
    var tr = this.data.trajectory;
    this.precomputed = { prompt: tr.prompt, seed: String(tr.seed), steps: tr.steps, guidance: tr.guidance, sampler: tr.sampler,
      towards: tr.towards || "", blend: tr.towards ? tr.blend : 0 };
    this.state = Object.assign({}, this.precomputed);
    this.frames = [];  // drawn frames so far: {xt, x0, noise} ImageData each
    this.drawing = null;  // the id of the drawing under way
    this.status = figure.querySelector(".draw-status");
    this.views = Array.prototype.map.call(figure.querySelectorAll(".draw-frame"), function (frame) {
      var canvas = el("canvas", { width: 64, height: 64, "aria-hidden": "true", hidden: "" }, frame);
      var name = frame.parentNode.querySelector(".draw-label").textContent;
      return { frame: frame, canvas: canvas, context: canvas.getContext("2d"), name: name, label: frame.getAttribute("aria-label") };
    });
    if (!this.data.model) {  // a bundle of another model: its precomputed picture only
      el("p", { "class": "widget-note", text: phrase("draw.other_model") }, this.figure);
      return;
    }
    this.build();
    var linked = this.readHash();
    this.render();
    figure.stepthroughDraw = this;  // for tests and the curious
    if (linked && !this.isPrecomputed()) this.draw();
  }

  Draw.prototype.build = function () {
    var self = this, t = phrase, id = this.figure.id, limits = this.data.limits;
    var form = el("form", { "class": "draw-controls widget-controls" });  // widget-controls: hidden while following and in print
    this.figure.querySelector("figcaption").after(form);
    var caption = el("label", { "class": "draw-caption" }, form);
    el("span", { text: t("draw.caption") }, caption);
    this.prompt = el("input", { type: "text", list: id + "-captions", autocomplete: "off", spellcheck: "false" }, caption);
    var list = el("datalist", { id: id + "-captions" }, form);
    this.data.index.forEach(function (entry) { el("option", { value: entry[0], label: entry[1] }, list); });
    this.match = el("span", { "class": "widget-note draw-match" }, caption);
    this.buildBlend(form);
    var seed = el("label", {}, form);
    el("span", { text: t("draw.seed") }, seed);
    this.seed = el("input", { type: "text", inputmode: "numeric", pattern: "-?[0-9]+", size: "10" }, seed);
    this.newSeed = el("button", { type: "button", text: t("draw.new_seed") }, form);
    function slider(key, step) {
      var label = el("label", {}, form);
      el("span", { text: t("draw." + key) }, label);
      var input = el("input", { type: "range", min: limits[key][0], max: limits[key][1], step: step }, label);
      return { input: input, output: el("output", {}, label) };
    }
    this.steps = slider("steps", 1);
    this.guidance = slider("guidance", 0.5);
    var sampler = el("label", {}, form);
    el("span", { text: t("draw.sampler") }, sampler);
    this.sampler = el("select", {}, sampler);
    this.data.samplers.forEach(function (name) { el("option", { value: name, text: SAMPLER_NAMES[name] || name }, self.sampler); });
    var buttons = el("div", { "class": "draw-buttons" }, form);
    this.button = el("button", { type: "submit", "class": "draw-go", text: t("draw.draw") }, buttons);
    this.stopButton = el("button", { type: "button", text: t("draw.stop"), disabled: "" }, buttons);
    this.progress = el("progress", { max: 1, value: 0, "aria-label": t("draw.progress") }, buttons);
    this.speed = el("output", { "class": "draw-speed" }, buttons);
    var scrub = el("label", { "class": "draw-scrub" }, form);
    el("span", { "class": "visually-hidden", text: t("draw.step_slider") }, scrub);
    this.scrub = el("input", { type: "range", min: 0, max: this.state.steps, value: this.state.steps, step: 1 }, scrub);
    this.scrubAt = null;  // null: follow the newest frame
    // The single-file export (site/single_file.py) leaves the model's file out, tens of MB in one
    // page, and flags the page so: the widget says so, and keeps the precomputed drawing.
    this.single = !!document.querySelector("meta[name=stepthrough-leaves-out]");
    el("span", { "class": "widget-note draw-size", text: t("draw." + (this.single ? "single_file" : "size"), { mb: Math.round(this.data.modelBytes / 1e6) }) }, form);

    form.addEventListener("submit", function (event) { event.preventDefault(); self.draw(); });
    this.prompt.addEventListener("input", function () { self.state.prompt = self.prompt.value; self.changed(); });
    this.seed.addEventListener("input", function () {
      if (/^-?\d{1,30}$/.test(self.seed.value.trim())) { self.state.seed = self.seed.value.trim(); self.changed(); }
    });
    this.newSeed.addEventListener("click", function () {
      self.state.seed = String(Math.floor(Math.random() * 1e6));
      self.changed();
      self.draw();
    });
    this.steps.input.addEventListener("input", function () { self.state.steps = Number(self.steps.input.value); self.changed(); });
    this.guidance.input.addEventListener("input", function () { self.state.guidance = Number(self.guidance.input.value); self.changed(); });
    this.sampler.addEventListener("change", function () { self.state.sampler = self.sampler.value; self.changed(); });
    this.towards.addEventListener("input", function () { self.state.towards = self.towards.value; self.changed(); });
    this.blend.input.addEventListener("input", function () { self.state.blend = Number(self.blend.input.value); self.changed(); });
    this.stopButton.addEventListener("click", function () { self.stop(); });
    this.scrub.addEventListener("input", function () {
      self.scrubAt = Number(self.scrub.value);
      self.showStep(self.scrubAt);
    });
  };

  /* "Or a blend of two": a second caption (searched as the first) and how far to blend towards it,
     0 (the first caption) to 1 (the second), as a sweep's `towards:` and `blend:` do. */
  Draw.prototype.buildBlend = function (form) {
    var t = phrase, towards = el("label", { "class": "draw-caption draw-towards" }, form);
    el("span", { text: t("draw.towards") }, towards);
    this.towards = el("input", { type: "text", list: this.figure.id + "-captions", autocomplete: "off", spellcheck: "false" }, towards);
    this.towardsMatch = el("span", { "class": "widget-note draw-match" }, towards);
    var blend = el("label", { "class": "draw-blend" }, form);
    el("span", { text: t("draw.blend") }, blend);
    this.blend = { input: el("input", { type: "range", min: 0, max: 1, step: 0.05 }, blend) };
    this.blend.output = el("output", {}, blend);
    el("span", { "class": "widget-note draw-blend-help", text: t("draw.blend_help") }, form);
  };

  /* The second caption's place (0: none, or no blend), -1 when the model never learned it. */
  Draw.prototype.resolveTowards = function () {
    var s = this.state;
    return s.towards.trim() === "" ? 0 : this.resolve(s.towards);
  };

  /* The blend's words for the status line and the towards field's note. */
  Draw.prototype.renderBlend = function () {
    var s = this.state, t = phrase, found = this.resolveTowards();
    if (this.towards.value !== s.towards) this.towards.value = s.towards;
    this.blend.input.value = s.blend;
    this.blend.output.textContent = Stepthrough.fixed(s.blend, 2);
    this.blend.input.setAttribute("aria-valuetext", t("draw.blend_value", { percent: Math.round(s.blend * 100) }));
    var name = found > 0 ? this.data.index[found - 1][0] : "";
    this.towardsMatch.textContent = found < 0 ? t("draw.unknown", { prompt: s.towards }) :
      found > 0 && name.toLowerCase() !== s.towards.trim().toLowerCase() ? t("draw.draws", { caption: name }) : "";
    return found;
  };

  /* What a drawing's caption is called: the caption, or "a, 25 % of the way to b". */
  Draw.prototype.blendLabel = function (found, towards, blend) {
    var name = function (i) { return i > 0 ? this.data.index[i - 1][0] : phrase("draw.no_words"); }.bind(this);
    if (!towards || towards === found || blend <= 0) return found ? name(found) : "";
    if (blend >= 1) return name(towards);
    return phrase("draw.blend_label", { a: name(found), b: name(towards), percent: Math.round(blend * 100) });
  };

  /* The caption the prompt names: a caption as written (case aside), else, among those whose name,
     aliases and keywords hold every word of it ("spooky" → "ghost"), those whose name holds them
     first, then the shortest (as vocabulary.py's search sorts); -1 when none. */
  Draw.prototype.resolve = function (prompt) {
    var text = prompt.trim().toLowerCase(), index = this.data.index, wanted = words(prompt), best = -1, bestScore = Infinity;
    for (var i = 0; i < index.length; i++) if (index[i][0].toLowerCase() === text) return i + 1;
    if (!wanted.length) return prompt.trim() === "" ? 0 : -1;
    function holds(have) {
      return wanted.every(function (w) { return have.indexOf(w) >= 0 || have.indexOf(w.replace(/s$/, "")) >= 0; });
    }
    for (i = 0; i < index.length; i++) {
      var name = index[i][0], score = (holds(words(name)) ? 0 : 1000) + name.length;
      if (score < bestScore && (score < 1000 || holds(words(name + " " + index[i][1])))) { best = i + 1; bestScore = score; }
    }
    return best;
  };

  Draw.prototype.isPrecomputed = function () {
    var a = this.state, b = this.precomputed;
    return a.prompt === b.prompt && a.seed === b.seed && a.steps === b.steps && a.guidance === b.guidance && a.sampler === b.sampler &&
      a.towards === b.towards && a.blend === b.blend;
  };

  Draw.prototype.readHash = function () {
    var q = Stepthrough.readHash(this.figure.closest("section").id), s = this.state, limits = this.data.limits;
    if (!q) return false;
    if (q.get("prompt") !== null) s.prompt = q.get("prompt").slice(0, 200);
    var seed = q.get("seed");
    if (seed !== null && /^-?\d{1,30}$/.test(seed)) s.seed = seed;
    if (seed === "room") s.seed = this.roomSeed();  // seeds across the room: one per device
    s.steps = Stepthrough.whole(q, "steps", limits.steps[0], limits.steps[1], s.steps);
    s.guidance = Stepthrough.number(q, "guidance", limits.guidance[0], limits.guidance[1], s.guidance);
    s.sampler = Stepthrough.choice(q, "sampler", this.data.samplers, s.sampler);
    if (q.get("towards") !== null) s.towards = q.get("towards").slice(0, 200);
    s.blend = Stepthrough.number(q, "blend", 0, 1, s.blend);
    return true;
  };

  /* This device's seed for a room link (#draw?seed=room): picked once at random, kept on the
     device, so each device in a class draws its own picture from one link. */
  Draw.prototype.roomSeed = function () {
    var key = "stepthrough-draw-room-seed:" + this.data.id, stored = null;
    try { stored = localStorage.getItem(key); } catch (e) { /* storage off: a new seed each visit */ }
    if (stored !== null && /^\d{1,10}$/.test(stored)) return (this.room = stored);
    var random = new Uint32Array(1);
    if (window.crypto) crypto.getRandomValues(random); else random[0] = Math.floor(Math.random() * 4294967296);
    this.room = String(random[0] % 10000);
    try { localStorage.setItem(key, this.room); } catch (e) { /* as above */ }
    return this.room;
  };

  Draw.prototype.changed = function () {
    var s = this.state;
    var values = { prompt: s.prompt, seed: s.seed, steps: s.steps, guidance: s.guidance, sampler: s.sampler };
    if (s.towards.trim() !== "") { values.towards = s.towards; values.blend = s.blend; }  // a blend's link only
    Stepthrough.writeHash(this.figure.closest("section").id, values, true);
    this.render();
  };

  Draw.prototype.render = function () {
    var s = this.state, t = phrase, found = this.resolve(s.prompt);
    if (this.prompt.value !== s.prompt) this.prompt.value = s.prompt;
    if (this.seed.value !== s.seed && document.activeElement !== this.seed) this.seed.value = s.seed;
    this.steps.input.value = s.steps;
    this.steps.output.textContent = String(s.steps);
    this.guidance.input.value = s.guidance;
    this.guidance.output.textContent = Stepthrough.fixed(s.guidance, 1);
    this.sampler.value = s.sampler;
    var name = found > 0 ? this.data.index[found - 1][0] : "";
    this.match.textContent = found < 0 ? t("draw.unknown", { prompt: s.prompt }) :
      this.room === s.seed ? t("draw.your_seed", { seed: s.seed }) :
      found === 0 ? t("draw.empty") : name.toLowerCase() !== s.prompt.trim().toLowerCase() ? t("draw.draws", { caption: name }) : "";
    var towards = this.renderBlend();
    this.button.disabled = found < 0 || towards < 0 || this.single;
    if (!this.frames.length && !this.drawing) this.showPrecomputed();
  };

  /* The static frame's trajectory, at its last step (or the step the scrubber names). */
  Draw.prototype.showPrecomputed = function () {
    var tr = this.data.trajectory;
    this.views.forEach(function (v, k) {
      v.canvas.hidden = true;
      v.frame.setAttribute("aria-label", v.label);
      Stepthrough.showFrame(v.frame, tr.views[VIEWS[k]], tr.steps);
    });
  };

  Draw.prototype.draw = function () {
    var self = this, s = this.state, found = this.resolve(s.prompt), t = phrase, towards = this.resolveTowards();
    if (found < 0 || towards < 0 || this.single) return;
    var seed = Number(((BigInt(s.seed) % 4294967296n) + 4294967296n) % 4294967296n);  // torch keeps the low 32 bits
    var job = { caption: found, seed: seed, steps: s.steps, guidance: s.guidance, sampler: s.sampler, towards: towards, blend: s.blend };
    var tokens = this.data.tokens, blended = towards > 0 && tokens[towards] !== tokens[found] && s.blend > 0 && s.blend < 1;  // needs the padding states
    var id = (this.drawing = {});
    this.frames = [];
    this.scrubAt = null;
    this.scrub.max = s.steps;
    this.progress.max = s.steps + 1;
    this.progress.value = 0;
    this.stopButton.disabled = false;
    this.button.disabled = true;
    this.times = [];
    // what is being drawn, for the status line while the reader moves the controls on
    this.drawn = { steps: s.steps, seed: s.seed, guidance: s.guidance, sampler: s.sampler, label: this.blendLabel(found, towards, s.blend) };
    if (!worker) Stepthrough.say(this.status, t("draw.loading", { mb: Math.round(this.data.modelBytes / 1e6) }), true);
    loadModel(this.data.model, function (error) {
      if (self.drawing !== id) return;
      if (error) return self.finish(t("draw.failed", { error: error }));
      if (blended && pads !== true) {
        Stepthrough.say(self.status, t("draw.loading_blend", { mb: Math.round(self.data.padsBytes / 1e6) }), true);
        return loadPads(self.data.pads, function (padsError) {
          if (self.drawing !== id) return;
          if (padsError) return self.finish(t("draw.failed", { error: padsError }));
          self.send(job);
        });
      }
      self.send(job);
    });
  };

  /* Hand the worker a job (the model, and a blend's padding states, loaded). */
  Draw.prototype.send = function (job) {
    var self = this;
    self.listener = self.listener || function (m) { self.heard(m); };
    if (listeners.indexOf(self.listener) < 0) listeners.push(self.listener);
    self.job = { id: Math.random(), caption: job.caption };
    self.mode = worker.mode;
    worker.postMessage({ type: "draw", id: self.job.id, job: job });
  };

  Draw.prototype.heard = function (m) {
    if (!this.job || m.id !== this.job.id) return;
    var t = phrase;
    if (m.type === "error") return this.finish(t("draw.failed", { error: m.message }));
    if (m.type === "done") return this.finish(t("draw.done", { steps: this.drawn.steps, seconds: Stepthrough.fixed(this.perStep(), 1) }));
    if (m.type !== "step") return;
    var frame = {};
    VIEWS.forEach(function (view) { frame[view] = new ImageData(new Uint8ClampedArray(m[view]), 64, 64); });
    this.frames[m.i] = frame;
    if (m.picture) this.result = { picture: Array.from(m.picture), latent: Array.from(m.latent) };
    if (m.i < m.steps) this.times.push(m.seconds);
    this.progress.value = m.i + 1;
    this.speed.textContent = t("draw.speed", { seconds: Stepthrough.fixed(this.perStep(), 1), engine: t("draw.engine." + m.engine) });
    if (this.scrubAt === null) { this.scrub.value = m.i; this.showStep(m.i); }
  };

  Draw.prototype.perStep = function () {
    var sorted = this.times.slice().sort(function (a, b) { return a - b; });
    return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
  };

  Draw.prototype.showStep = function (i) {
    var frame = this.frames[Math.min(i, this.frames.length - 1)], t = phrase, s = this.drawn;
    if (!frame) return;
    var at = Math.min(i, this.frames.length - 1), status = t("draw.status", {
      step: at, steps: s.steps, caption: s.label || t("draw.no_words"), seed: s.seed,
      guidance: Stepthrough.fixed(s.guidance, 1), sampler: SAMPLER_NAMES[s.sampler]
    });
    this.views.forEach(function (v, k) {
      v.canvas.hidden = false;
      v.context.putImageData(frame[VIEWS[k]], 0, 0);
      v.frame.setAttribute("aria-label", v.name + ": " + status);
    });
    Stepthrough.say(this.status, status, !this.drawing);
  };

  Draw.prototype.stop = function () {
    if (worker && this.job) worker.postMessage({ type: "stop" });
    this.finish(phrase("draw.stopped", { step: Math.max(0, this.frames.length - 1), steps: this.drawn.steps }));
  };

  Draw.prototype.finish = function (message) {
    this.drawing = null;
    this.job = null;
    this.stopButton.disabled = true;
    this.button.disabled = this.resolve(this.state.prompt) < 0 || this.resolveTowards() < 0 || this.single;
    this.figure.setAttribute("data-drawn", String(this.frames.length));
    Stepthrough.say(this.status, message, true);
  };

  Stepthrough.widget("draw", function (figure) { new Draw(figure); });
})();
