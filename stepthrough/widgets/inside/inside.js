/* One step, opened up: move the step, and every box shows that step's tensors. The tiles are
   palette sprite sheets (a row per step, a tile per channel); the scheduler's lines are written by
   the builder from the bundle's numbers, one set per step. Opening a box is the browser's own
   <details>; the open boxes are part of the state: #<id>?prompt=red+apple&step=7&open=text,scheduler
   (the prompt by name; an old link by place, prompt=0, still opens). */
(function () {
  "use strict";

  function Inside(figure) {
    var self = this;
    this.figure = figure;
    this.data = Stepthrough.data(figure);
    this.slider = figure.querySelector("input[type=range]");
    this.count = figure.querySelector(".widget-count");
    this.select = figure.querySelector(".inside-prompt select");
    this.boxes = Array.prototype.slice.call(figure.querySelectorAll("details.inside-box"));
    this.state = { prompt: 0, step: this.data.step, open: this.data.open.slice() };
    this.slider.addEventListener("input", function () { self.set({ step: Number(self.slider.value) }); });
    if (this.select) this.select.addEventListener("change", function () { self.set({ prompt: Number(self.select.value) }); });
    this.boxes.forEach(function (box) {
      box.addEventListener("toggle", function () {
        var shown = self.boxes.filter(function (b) { return !b.closest(".inside-trajectory").hidden; });
        var open = shown.filter(function (b) { return b.open; }).map(function (b) { return b.dataset.part; });
        if (open.join() !== self.state.open.join()) self.set({ open: open });
      });
    });
    figure.querySelector(".inside-controls").hidden = false;
    var query = Stepthrough.readHash(this.data.id), s = this.state, big = 9007199254740991;
    var parts = this.boxes.map(function (box) { return box.dataset.part; });
    var open = query && query.has("open") ? query.get("open").split(",").filter(function (part) {
      return parts.indexOf(part) >= 0;  // only boxes this widget has
    }) : s.open;
    this.set({
      prompt: Stepthrough.named(query, "prompt", this.prompts(), s.prompt),
      step: Stepthrough.whole(query, "step", 0, big, s.step),
      open: open
    }, !query);
  }

  Inside.prototype.trajectory = function () { return this.data.trajectories[this.state.prompt]; };
  Inside.prototype.prompts = function () {
    return this.data.trajectories.map(function (t) { return t.prompt; });
  };

  Inside.prototype.set = function (changes, quiet) {
    for (var key in changes) this.state[key] = changes[key];
    var s = this.state;
    s.prompt = Stepthrough.clamp(s.prompt, 0, this.data.trajectories.length - 1);
    s.step = Stepthrough.clamp(s.step, 1, this.trajectory().steps);
    this.render();
    if (!quiet) Stepthrough.writeHash(this.data.id, { prompt: Stepthrough.name(this.prompts(), s.prompt), step: s.step, open: s.open.join(",") });
  };

  function text(el, value) { if (el) el.textContent = value; }

  function lines(list, values) {
    if (!list) return;
    list.textContent = "";
    values.forEach(function (value) {
      var li = document.createElement("li");
      li.textContent = value;
      list.appendChild(li);
    });
  }

  function tiles(container, grid, row) {
    if (!container) return;
    container.querySelectorAll(".inside-tile .thumb").forEach(function (tile, c) {
      Stepthrough.showFrame(tile, grid, row * grid.columns + c);
    });
  }

  Inside.prototype.render = function () {
    var s = this.state, t = this.trajectory(), k = s.step - 1, n = t.numbers[k];
    var f = this.figure.querySelectorAll(".inside-trajectory")[s.prompt];
    this.figure.querySelectorAll(".inside-trajectory").forEach(function (el, i) { el.hidden = i !== s.prompt; });
    text(f.querySelector(".inside-step"), String(s.step));
    text(f.querySelector(".inside-t"), n.t);
    text(f.querySelector(".inside-schedule"), n.schedule);
    lines(f.querySelector(".inside-filled"), n.filled);
    lines(f.querySelector(".inside-followed"), n.followed);
    text(f.querySelector(".inside-x"), n.x);
    text(f.querySelector(".inside-p"), n.prediction);
    text(f.querySelector(".inside-next"), n.next);
    tiles(f.querySelector(".inside-latent"), t.latent, k);
    tiles(f.querySelector(".inside-prediction"), t.prediction, k);
    Stepthrough.showFrame(f.querySelector(".inside-guess"), t.views.x0, k);
    Stepthrough.showFrame(f.querySelector(".inside-canvas"), t.views.xt, k + 1);
    this.boxes.forEach(function (box) { box.open = s.open.indexOf(box.dataset.part) >= 0; });
    this.slider.max = t.steps;
    this.slider.value = s.step;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("inside.valuetext", { step: s.step, steps: t.steps, schedule: n.schedule }));
    this.count.textContent = s.step + " / " + t.steps;
    if (this.select) this.select.value = String(s.prompt);
  };

  Stepthrough.widget("inside", function (figure) {
    var widget = new Inside(figure);
    Stepthrough.scrubbers[widget.data.id] = function (fraction) {
      widget.set({ step: 1 + Math.round(fraction * (widget.trajectory().steps - 1)) }, true);
    };
  });
})();
