/* Where each word acts: tap a word, see where the picture attends to it at this step. The map is a
   greyscale sprite (rows: steps, columns: word pieces) laid over the picture so that the picture
   shows through where the map is bright. Step k is the model's k-th look at the canvas: x_t is
   the canvas it saw, x̂0 its guess from it. State, by name: #<id>?prompt=a+doctor&word=doctor&step=7&view=xt
   (an old link by place, prompt=0&word=1, still opens). */
(function () {
  "use strict";

  function Attention(figure) {
    var self = this;
    this.figure = figure;
    this.data = Stepthrough.data(figure);
    this.picture = figure.querySelector(".attention-picture");
    this.spot = figure.querySelector(".attention-spot");
    this.map = figure.querySelector(".attention-map");
    this.word = figure.querySelector(".attention-word");
    this.status = figure.querySelector(".attention-status");
    this.shares = figure.querySelector(".attention-shares");
    this.tokens = figure.querySelector(".attention-tokens");
    this.slider = figure.querySelector("input[type=range]");
    this.count = figure.querySelector(".widget-count");
    this.select = figure.querySelector(".attention-prompt select");
    var maps = this.data.trajectories[0].attention;
    this.state = { prompt: 0, word: 0, step: maps.rows, view: "x0" };
    this.slider.addEventListener("input", function () { self.set({ step: Number(self.slider.value) }); });
    if (this.select) this.select.addEventListener("change", function () { self.set({ prompt: Number(self.select.value), word: 0 }); });
    figure.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () { self.set({ view: radio.value }); });
    });
    figure.querySelector(".attention-controls").hidden = false;
    this.shares.hidden = true;  // the buttons and the status say it now
    // The word is looked up in the prompt the link names; set() brings the step within its range.
    var query = Stepthrough.readHash(this.data.id), s = this.state, big = 9007199254740991;
    var prompt = Stepthrough.named(query, "prompt", this.prompts(), s.prompt);
    var tokens = (this.data.trajectories[prompt].attention || maps).tokens;
    this.set({
      prompt: prompt,
      word: Stepthrough.named(query, "word", tokens, s.word),
      step: Stepthrough.whole(query, "step", 0, big, s.step),
      view: Stepthrough.choice(query, "view", ["xt", "x0"], s.view)
    }, !query);
  }

  Attention.prototype.prompts = function () {
    return this.data.trajectories.map(function (t) { return t.prompt; });
  };

  Attention.prototype.trajectory = function () { return this.data.trajectories[this.state.prompt]; };

  Attention.prototype.set = function (changes, quiet) {
    for (var key in changes) this.state[key] = changes[key];
    var s = this.state;
    s.prompt = Stepthrough.clamp(s.prompt, 0, this.data.trajectories.length - 1);
    var maps = this.trajectory().attention;
    if (!maps) { s.prompt = 0; maps = this.trajectory().attention; }
    s.word = Stepthrough.clamp(s.word, 0, maps.tokens.length - 1);
    s.step = Stepthrough.clamp(s.step, 1, maps.rows);
    this.render();
    if (!quiet) Stepthrough.writeHash(this.data.id, {
      prompt: Stepthrough.name(this.prompts(), s.prompt), word: Stepthrough.name(maps.tokens, s.word), step: s.step, view: s.view
    });
  };

  Attention.prototype.buttons = function (maps) {
    var self = this;
    if (this.tokens.dataset.prompt === String(this.state.prompt)) return;
    this.tokens.dataset.prompt = String(this.state.prompt);
    this.tokens.textContent = "";
    maps.tokens.forEach(function (token, i) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = token;
      button.addEventListener("click", function () { self.set({ word: i }); });
      self.tokens.appendChild(button);
    });
  };

  Attention.prototype.render = function () {
    var s = this.state, t = this.trajectory(), maps = t.attention, i = s.step - 1;
    var token = maps.tokens[s.word], share = Stepthrough.fixed(100 * maps.share[i][s.word], 1);
    this.buttons(maps);
    this.tokens.querySelectorAll("button").forEach(function (button, k) {
      button.setAttribute("aria-pressed", String(k === s.word));
      button.setAttribute("aria-label", Stepthrough.t("attention.button", { word: maps.tokens[k], share: Stepthrough.fixed(100 * maps.share[i][k], 1) }));
    });
    Stepthrough.showFrame(this.picture, t.views[s.view], i);
    Stepthrough.showFrame(this.spot, maps, i * maps.columns + s.word);
    Stepthrough.showFrame(this.map, maps, i * maps.columns + s.word);
    var under = Stepthrough.t(s.view === "x0" ? "attention.guess" : "attention.canvas");
    this.word.textContent = token;
    this.map.setAttribute("aria-label", Stepthrough.t("attention.map", { word: token, step: s.step, steps: maps.rows, under: under }));
    this.status.textContent = Stepthrough.t("attention.status", { step: s.step, steps: maps.rows, prompt: t.label, word: token, share: share });
    this.slider.max = maps.rows;
    this.slider.value = s.step;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("step_of", { step: s.step, steps: maps.rows }));
    this.count.textContent = Stepthrough.t("count", { step: s.step, steps: maps.rows });
    if (this.select) this.select.value = String(s.prompt);
    var radio = this.figure.querySelector("input[type=radio][value=" + s.view + "]");
    if (radio) radio.checked = true;
  };

  Stepthrough.widget("attention", function (figure) {
    if (!figure.querySelector(".attention-controls")) return;  // the model offers no maps
    var widget = new Attention(figure);
    Stepthrough.scrubbers[widget.data.id] = function (fraction) {
      widget.set({ step: 1 + Math.round(fraction * (widget.trajectory().attention.rows - 1)) }, true);
    };
  });
})();
