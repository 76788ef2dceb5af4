/* The step-through viewer: one state object, one render function, no framework.
   Each .stepper figure carries its data as inline JSON (no fetch: the page must open from file://).
   The frame is a CSS sprite: one WebP sheet per trajectory and view, moved with background-position.
   State lives in the URL fragment, e.g. #step-through?prompt=red+apple&step=7&view=x0, so a
   teacher can link one exact picture. Choices are named by value (the prompt's text, the seed),
   not by their place in the list, so a link still means the same picture after the author adds
   a prompt; an old link by place (prompt=2) still opens. #step-through?seed=room gives each
   device its own seed from the room's seeds (settings `room:`), picked once and kept on the
   device, so a class compares results. */
(function () {
  "use strict";

  var PARAMS = ["prompt", "seed", "steps", "guidance", "blend"];
  var PLAY_MS = 140;

  function Stepper(figure) {
    this.figure = figure;
    this.data = Stepthrough.data(figure);
    this.frame = figure.querySelector(".stepper-frame");
    this.status = figure.querySelector(".stepper-status");
    this.slider = figure.querySelector(".stepper-step");
    this.count = figure.querySelector(".stepper-count");
    this.playButton = figure.querySelector("[data-action=play]");
    this.selects = figure.querySelectorAll("[data-param]");  // a <select>, or a slider for the axis
    this.roomBadge = figure.querySelector(".stepper-room");
    var first = this.data.trajectories[0], params = this.data.params, choice = {};
    PARAMS.forEach(function (key) { choice[key] = Math.max(0, params[key].indexOf(first[key])); });
    this.first = choice;  // the lesson state: the section's first trajectory (seeds are listed in order)
    this.state = { choice: choice, step: first.steps, view: this.data.views[0], playing: false };
    this.timer = null;
    this.engaged = false;  // the reader has pointed at, touched or focused it
    this.bind();
    figure.querySelector(".stepper-controls").hidden = false;
    // The picture takes the step keys too (bind): with them it is a slider, named by what it shows.
    this.frame.setAttribute("role", "slider");
    this.frame.setAttribute("aria-valuemin", "0");
    this.frame.tabIndex = 0;
    if (!this.readHash()) this.render();
  }

  Stepper.prototype.trajectory = function () {
    return this.find(this.state.choice) || this.data.trajectories[0];
  };

  Stepper.prototype.find = function (choice) {
    var params = this.data.params;
    return this.data.trajectories.find(function (t) {
      return PARAMS.every(function (key) { return t[key] === params[key][choice[key]]; });
    });
  };

  /* With room seeds the sweep is sparse (the room's seeds exist for its prompt only): after a
     change the choice moves to the trajectory that keeps `key` and most of the other choices. */
  Stepper.prototype.snap = function (choice, key) {
    var params = this.data.params, best = null, score = -1;
    this.data.trajectories.forEach(function (t) {
      if (t[key] !== params[key][choice[key]]) return;
      var s = PARAMS.filter(function (k) { return t[k] === params[k][choice[k]]; }).length;
      if (s > score) { best = t; score = s; }
    });
    if (!best) return choice;
    var snapped = {};
    PARAMS.forEach(function (k) { snapped[k] = params[k].indexOf(best[k]); });
    return snapped;
  };

  /* This device's seed for the room link: picked once, at random, and kept on the device. */
  Stepper.prototype.roomSeed = function () {
    var seeds = this.data.room.seeds, key = "stepthrough-room-seed:" + this.data.id, stored = null;
    try { stored = localStorage.getItem(key); } catch (e) { /* storage off: a new seed each visit */ }
    if (stored !== null && seeds.indexOf(Number(stored)) >= 0) return Number(stored);
    var random = new Uint32Array(1);
    if (window.crypto) crypto.getRandomValues(random); else random[0] = Math.floor(Math.random() * 4294967296);
    var seed = seeds[random[0] % seeds.length];
    try { localStorage.setItem(key, String(seed)); } catch (e) { /* as above */ }
    return seed;
  };

  /* `fromUser`: the reader did it, so the link follows. "step": a step move (slider, arrow keys,
     ← →), whose link is written once the steps settle, not on every frame. */
  Stepper.prototype.set = function (changes, fromUser) {
    for (var key in changes) this.state[key] = changes[key];
    var steps = this.trajectory().steps;
    this.state.step = Stepthrough.clamp(this.state.step, 0, steps);
    this.render(fromUser && !this.state.playing);
    if (fromUser) this.writeHash(fromUser === "step");
  };

  /* Write only what changed: a step moves the frame, the status line and the slider, and nothing
     else on the page needs laying out again (a frame swap stays well inside one frame). */
  function text(el, value) { if (el.textContent !== value) el.textContent = value; }
  function attr(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }

  Stepper.prototype.render = function (announce) {
    var s = this.state, t = this.trajectory();
    Stepthrough.showFrame(this.frame, t.views[s.view], s.step);
    var T = Stepthrough.t;
    var what = T({
      xt: s.step === 0 ? "stepper.pure_noise" : s.step === t.steps ? "stepper.finished" : "stepper.noisy",
      x0: "stepper.guess",
      noise: s.step === 0 ? "stepper.nothing_removed" : "stepper.noise_removed",
      latent: "stepper.latent"
    }[s.view]);
    var words = t.towards ? T("stepper.blend", {
      share: Math.round((1 - t.blend) * 100), prompt: t.label,
      other_share: Math.round(t.blend * 100), other: t.towards
    }) : T("stepper.prompt", { prompt: t.label });
    var line = T("stepper.status", { step: s.step, steps: t.steps, prompt: words, what: what });
    attr(this.frame, "aria-label", T("sentence", { text: line }));
    Stepthrough.say(this.status, line, announce);
    if (this.slider.max !== String(t.steps)) this.slider.max = t.steps;
    if (this.slider.value !== String(s.step)) this.slider.value = s.step;
    attr(this.slider, "aria-valuetext", T("stepper.valuetext", { step: s.step, steps: t.steps }));
    attr(this.frame, "aria-valuemax", String(t.steps));
    attr(this.frame, "aria-valuenow", String(s.step));
    attr(this.frame, "aria-valuetext", this.slider.getAttribute("aria-valuetext"));
    text(this.count, s.step + " / " + t.steps);
    attr(this.playButton, "aria-pressed", String(s.playing));
    attr(this.playButton, "aria-label", T(s.playing ? "pause" : "play"));
    var choice = s.choice;
    var labels = this.data.labels;
    this.selects.forEach(function (select) {
      var key = select.dataset.param;
      if (select.value !== String(choice[key])) select.value = String(choice[key]);
      if (select.type === "range") {
        var value = labels[key][choice[key]];
        text(select.nextElementSibling, String(value));
        attr(select, "aria-valuetext", key + " " + value);
      }
    });
    if (this.roomBadge) {
      var hidden = s.roomSeed === undefined || t.seed !== s.roomSeed;
      if (this.roomBadge.hidden !== hidden) this.roomBadge.hidden = hidden;
      text(this.roomBadge.querySelector("strong"), s.roomSeed === undefined ? "" : String(s.roomSeed));
    }
    var radio = this.figure.querySelector("input[type=radio][value=" + s.view + "]");
    if (radio && !radio.checked) radio.checked = true;
    // Widgets that follow this viewer's step (the noise schedule) listen for this.
    var detail = Stepthrough.steps[this.data.id] = { id: this.data.id, step: s.step, steps: t.steps };
    document.dispatchEvent(new CustomEvent("stepthrough:step", { detail: detail }));
    // The sheets one move away change only with the picture or the view, not with the step.
    var near = s.view + " " + JSON.stringify(s.choice);
    if (this.engaged && near !== this.decodedNear) {
      this.decodedNear = near;
      Stepthrough.decodeAhead(this.neighbours());
    }
  };

  /* The sheets one move away: this trajectory's other views, and the current view of the
     trajectories one choice up or down on each picker (the next prompt, seed, guidance …). */
  Stepper.prototype.neighbours = function () {
    var self = this, s = this.state, t = this.trajectory(), urls = [t.views[s.view].src];
    Object.keys(t.views).forEach(function (view) { urls.push(t.views[view].src); });
    PARAMS.forEach(function (key) {
      [-1, 1].forEach(function (delta) {
        var choice = Object.assign({}, s.choice);
        choice[key] += delta;
        if (choice[key] < 0 || choice[key] >= (self.data.params[key] || []).length) return;
        var other = self.find(choice);
        if (other && other.views[s.view]) urls.push(other.views[s.view].src);
      });
    });
    return urls;
  };

  Stepper.prototype.play = function (on) {
    var self = this;
    if (!on && !this.state.playing && this.timer === null) return;  // already still: nothing to redraw
    clearInterval(this.timer);
    this.timer = null;
    if (on) {
      if (this.state.step >= this.trajectory().steps) this.state.step = 0;
      this.timer = setInterval(function () {
        if (self.state.step >= self.trajectory().steps) return self.play(false);
        self.set({ step: self.state.step + 1 }, false);
      }, PLAY_MS);
    }
    this.set({ playing: on }, !on);
  };

  Stepper.prototype.bind = function () {
    var self = this;
    // Once the reader reaches for this widget, the sheets one move away are decoded ahead (not
    // before: fifteen widgets' neighbours would triple what the page loads).
    ["pointerenter", "focusin", "touchstart"].forEach(function (type) {
      self.figure.addEventListener(type, function () {
        if (self.engaged) return;
        self.engaged = true;
        Stepthrough.decodeAhead(self.neighbours());
      }, { passive: true });
    });
    this.slider.addEventListener("input", function () {
      var step = Number(self.slider.value);  // read before play(false) re-renders the slider
      self.play(false);
      self.set({ step: step }, "step");
    });
    this.selects.forEach(function (select) {
      select.addEventListener(select.type === "range" ? "input" : "change", function () {
        var choice = Object.assign({}, self.state.choice);
        choice[select.dataset.param] = Number(select.value);
        self.set({ choice: self.snap(choice, select.dataset.param) }, true);
      });
    });
    this.figure.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () { self.set({ view: radio.value }, true); });
    });
    this.figure.querySelector("[data-action=prev]").addEventListener("click", function () {
      self.play(false);
      self.set({ step: self.state.step - 1 }, "step");
    });
    this.figure.querySelector("[data-action=next]").addEventListener("click", function () {
      self.play(false);
      self.set({ step: self.state.step + 1 }, "step");
    });
    this.playButton.addEventListener("click", function () { self.play(!self.state.playing); });
    // Arrow keys, Home/End and space on the picture itself (the slider handles its own keys).
    this.frame.addEventListener("keydown", function (event) {
      var step = self.state.step, last = self.trajectory().steps;
      var moves = { ArrowLeft: step - 1, ArrowDown: step - 1, ArrowRight: step + 1, ArrowUp: step + 1, Home: 0, End: last };
      var key = Stepthrough.arrow(event.key);
      if (key in moves) {
        self.play(false);
        self.set({ step: moves[key] }, "step");
      } else if (event.key === " ") {
        self.play(!self.state.playing);
      } else {
        return;
      }
      event.preventDefault();
    });
  };

  Stepper.prototype.writeHash = function (settle) {
    var s = this.state, values = {};
    var params = this.data.params;
    var first = this.first;
    PARAMS.forEach(function (key) { if (s.choice[key] !== first[key]) values[key] = params[key][s.choice[key]]; });
    values.step = s.step;
    values.view = s.view;
    Stepthrough.writeHash(this.data.id, values, settle);
  };

  Stepper.prototype.readHash = function () {
    var query = Stepthrough.readHash(this.data.id), params = this.data.params;
    if (!query) return false;
    var choice = Object.assign({}, this.state.choice);
    PARAMS.forEach(function (key) {
      if (params[key]) choice[key] = Stepthrough.named(query, key, params[key], choice[key]);
    });
    if (query.get("seed") === "room" && this.data.room) {
      this.state.roomSeed = this.roomSeed();
      choice.prompt = this.data.room.prompt;
      choice.seed = params.seed.indexOf(this.state.roomSeed);
    }
    choice = this.snap(choice, "prompt");
    this.state.choice = choice;
    var view = Stepthrough.choice(query, "view", Object.keys(this.trajectory().views), this.state.view);
    var step = Stepthrough.whole(query, "step", 0, this.trajectory().steps, this.state.step);
    this.set({ choice: choice, view: view, step: step }, false);
    return true;  // common.js brings the widget into view
  };

  Stepthrough.widget("stepper", function (figure) {
    var stepper = new Stepper(figure);
    Stepthrough.scrubbers[stepper.data.id] = function (fraction) {
      stepper.play(false);
      stepper.set({ step: Math.round(fraction * stepper.trajectory().steps) }, false);
    };
  });
})();
