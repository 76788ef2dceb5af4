/* Random pictures: every pixel an independent random colour, drawn straight into a canvas.
   Plays on its own unless the reader prefers reduced motion; "One more" always draws one. */
(function () {
  "use strict";

  function NoiseCanvas(figure) {
    this.data = Stepthrough.data(figure);
    this.canvas = figure.querySelector("canvas");
    this.context = null;  // made at the first picture (a canvas's first context is costly on a phone)
    this.count = figure.querySelector(".noise-count");
    this.toggle = figure.querySelector(".noise-toggle");
    this.state = { playing: false, shown: 0 };
    this.timer = null;
    this.still = figure.querySelector(".noise-still");
    figure.querySelector(".widget-controls").hidden = false;
    var self = this;
    this.toggle.addEventListener("click", function () { self.play(!self.state.playing); });
    figure.querySelector(".noise-one").addEventListener("click", function () { self.play(false); self.draw(); });
    // Off screen it draws nothing: a page that paints noise nobody sees keeps the phone busy.
    this.visible = true;
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(function (entries) {
        self.visible = entries[entries.length - 1].isIntersecting;
      }).observe(figure);
    }
    // The first picture once the page has laid out (the still shows until then), not while it loads.
    Stepthrough.whenNear(figure, function () {
      self.draw();
      var calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (!calm) self.play(true);
    });
  }

  NoiseCanvas.prototype.draw = function () {
    if (!this.context) {
      this.context = this.canvas.getContext("2d");
      this.image = this.context.createImageData(this.data.width, this.data.height);
      this.still.hidden = true;
      this.canvas.hidden = false;
    }
    var pixels = this.image.data;
    for (var i = 0; i < pixels.length; i += 4) {
      pixels[i] = Math.random() * 256;
      pixels[i + 1] = Math.random() * 256;
      pixels[i + 2] = Math.random() * 256;
      pixels[i + 3] = 255;
    }
    this.context.putImageData(this.image, 0, 0);
    this.state.shown += 1;
    this.render();
  };

  NoiseCanvas.prototype.play = function (on) {
    var self = this;
    clearInterval(this.timer);
    this.state.playing = on;
    if (on) this.timer = setInterval(function () { if (self.visible) self.draw(); }, 1000 / this.data.per_second);
    this.render();
  };

  NoiseCanvas.prototype.render = function () {
    this.toggle.textContent = Stepthrough.t(this.state.playing ? "pause" : "start");
    this.toggle.setAttribute("aria-pressed", String(this.state.playing));
    var shown = this.state.shown;
    this.count.textContent = Stepthrough.t("noise.count", { n: shown });
  };

  Stepthrough.widget("noise-canvas", function (figure) { new NoiseCanvas(figure); });
})();
