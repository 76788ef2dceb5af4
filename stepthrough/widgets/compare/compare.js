/* Compare: one slider moves every tile through its own denoising steps at the same pace (a tile
   with fewer steps takes bigger ones). State: #<id>?at=k, k out of the longest trajectory's steps. */
(function () {
  "use strict";

  function Compare(figure) {
    this.data = Stepthrough.data(figure);
    this.slider = figure.querySelector("input[type=range]");
    this.count = figure.querySelector(".widget-count");
    this.status = figure.querySelector(".compare-status");
    this.thumbs = figure.querySelectorAll(".thumb");
    this.state = { at: this.data.steps };
    var self = this;
    this.slider.addEventListener("input", function () {
      self.state.at = Number(self.slider.value);
      self.render(true);
      Stepthrough.writeHash(self.data.id, { at: self.state.at });
    });
    figure.querySelector(".widget-controls").hidden = false;
    var query = Stepthrough.readHash(this.data.id);
    this.state.at = Stepthrough.whole(query, "at", 0, this.data.steps, this.data.steps);
    this.render();
  }

  Compare.prototype.render = function (announce) {
    var at = this.state.at, most = this.data.steps, self = this;
    this.data.tiles.forEach(function (tile, i) {
      var step = Math.floor(at * tile.steps / most);  // a step is shown once it is complete
      Stepthrough.showFrame(self.thumbs[i], tile.views.xt, step);
      self.thumbs[i].setAttribute("aria-label", Stepthrough.t("compare.tile", { name: tile.name, step: step, steps: tile.steps }));
    });
    var percent = Math.round(100 * at / most);
    this.slider.value = at;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("compare.valuetext", { n: percent }));
    this.count.textContent = Stepthrough.t("percent", { n: percent });
    Stepthrough.say(this.status, at === most ? Stepthrough.t("compare.finished") : at === 0 ? Stepthrough.t("compare.noise")
      : Stepthrough.t("compare.status", { n: percent }), announce);
  };

  Stepthrough.widget("compare", function (figure) {
    var compare = new Compare(figure);
    Stepthrough.scrubbers[compare.data.id] = function (fraction) {
      compare.state.at = Math.round(fraction * compare.data.steps);
      compare.render();
    };
  });
})();
