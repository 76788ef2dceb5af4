/* Paths through latent space: one slider moves every trajectory's dot to step k, and the
   thumbnails show each trajectory's canvas at that step. State: #<id>?step=k */
(function () {
  "use strict";

  function Paths(figure) {
    this.data = Stepthrough.data(figure);
    this.figure = figure;
    this.slider = figure.querySelector("input[type=range]");
    this.count = figure.querySelector(".widget-count");
    this.status = figure.querySelector(".paths-status");
    this.spread = figure.querySelector(".paths-spread");
    this.dots = figure.querySelectorAll(".path-now");
    this.lines = figure.querySelectorAll(".path-line");
    this.thumbs = figure.querySelectorAll(".thumb");
    this.last = this.data.trajectories[0].steps;
    this.state = { step: this.last };
    var self = this;
    this.slider.addEventListener("input", function () {
      self.state.step = Number(self.slider.value);
      self.render(true);
      Stepthrough.writeHash(self.data.id, { step: self.state.step });
    });
    figure.querySelector(".widget-controls").hidden = false;
    var query = Stepthrough.readHash(this.data.id);
    this.state.step = Stepthrough.whole(query, "step", 0, this.last, this.last);
    this.render();
  }

  Paths.prototype.render = function (announce) {
    var k = this.state.step, data = this.data, self = this;
    data.paths.forEach(function (path, i) {
      self.dots[i].setAttribute("cx", path[k][0]);
      self.dots[i].setAttribute("cy", path[k][1]);
      // Solid up to step k: the path walked so far.
      self.lines[i].setAttribute("points", path.slice(0, k + 1).map(function (p) { return p.join(","); }).join(" "));
      Stepthrough.showFrame(self.thumbs[i], data.trajectories[i].views.xt, k);
      self.thumbs[i].setAttribute("aria-label", Stepthrough.t("paths.thumb", { seed: data.trajectories[i].seed, step: k }));
    });
    this.slider.value = k;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("step_of", { step: k, steps: this.last }));
    this.count.textContent = Stepthrough.t("count", { step: k, steps: this.last });
    Stepthrough.say(this.status, Stepthrough.t(k === 0 ? "paths.noise" : k === this.last ? "paths.finished" : "paths.step",
      { step: k, steps: this.last }), announce);
    this.spread.textContent = Stepthrough.t("paths.spread", { now: Math.round(data.spread[k]), start: Math.round(data.spread[0]) });
  };

  Stepthrough.widget("paths", function (figure) {
    var paths = new Paths(figure);
    Stepthrough.scrubbers[paths.data.id] = function (fraction) {
      paths.state.step = Math.round(fraction * paths.last);
      paths.render();
    };
  });
})();
