/* The forward process, live: x_t = sqrt(ᾱ_t)·x_0 + sqrt(1 − ᾱ_t)·ε, with a cosine schedule ᾱ.
   The noise ε is drawn once from a seeded generator, so the slider only changes how much of it
   is mixed in. The reader's own photo is read with FileReader and never leaves the page. */
(function () {
  "use strict";

  function keep(t) { return Math.pow(Math.cos(t * Math.PI / 2), 2); }  // ᾱ: share of the picture left

  function Forward(figure) {
    this.data = Stepthrough.data(figure);
    this.figure = figure;
    this.noisy = figure.querySelector(".forward-noisy").getContext("2d");
    this.noise = figure.querySelector(".forward-noise").getContext("2d");
    this.slider = figure.querySelector("input[type=range]");
    this.count = figure.querySelector(".widget-count");
    this.status = figure.querySelector(".forward-status");
    this.state = { step: 0, seed: 1 };
    var query = Stepthrough.readHash(this.data.id);
    this.state.step = Stepthrough.whole(query, "step", 0, this.data.steps, this.state.step);
    this.state.seed = Stepthrough.whole(query, "seed", 0, 4294967295, this.state.seed);
    var self = this;
    this.slider.addEventListener("input", function () { self.set({ step: Number(self.slider.value) }); });
    figure.querySelector(".forward-reseed").addEventListener("click", function () {
      self.set({ seed: self.state.seed + 1 });
    });
    figure.querySelector("input[type=file]").addEventListener("change", function (event) {
      if (event.target.files[0]) self.usePhoto(event.target.files[0]);
    });
    // Until the reader nears it, the stills show (the no-JavaScript frame): reading the picture's
    // pixels and drawing the noise is a tenth of a second of a slow phone's load.
    Stepthrough.whenNear(figure, function () {
      var picture = new Image();
      picture.onload = function () { self.setPicture(picture); };
      picture.src = self.data.picture;  // a data: URL: its pixels may be read even from file://
    });
  }

  Forward.prototype.setPicture = function (image) {
    var size = this.data.size, canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    var context = canvas.getContext("2d"), side = Math.min(image.width, image.height);
    context.drawImage(image, (image.width - side) / 2, (image.height - side) / 2, side, side, 0, 0, size, size);
    this.clean = context.getImageData(0, 0, size, size).data;
    this.figure.querySelectorAll(".forward-still").forEach(function (img) { img.hidden = true; });
    this.figure.querySelectorAll("canvas").forEach(function (c) { c.hidden = false; });
    this.figure.querySelector(".forward-noise-label").textContent = Stepthrough.t("forward.noise");
    this.figure.querySelector(".forward-controls").hidden = false;
    this.epsilon = null;
    this.render();
  };

  Forward.prototype.usePhoto = function (file) {
    var self = this, reader = new FileReader();
    reader.onload = function () {
      var image = new Image();
      image.onload = function () { self.setPicture(image); };
      image.src = reader.result;
    };
    reader.readAsDataURL(file);
  };

  Forward.prototype.set = function (changes) {
    if (changes.seed !== undefined && changes.seed !== this.state.seed) this.epsilon = null;
    Object.assign(this.state, changes);
    this.render(true);
    Stepthrough.writeHash(this.data.id, { step: this.state.step, seed: this.state.seed });
  };

  Forward.prototype.render = function (announce) {
    if (!this.clean) return;
    var size = this.data.size, n = size * size * 3;
    if (!this.epsilon) this.epsilon = Stepthrough.gaussian(n, this.state.seed);
    var t = this.state.step / this.data.steps, a = Math.sqrt(keep(t)), b = Math.sqrt(1 - keep(t));
    var noisy = this.noisy.createImageData(size, size), noise = this.noise.createImageData(size, size);
    for (var p = 0, e = 0; p < this.clean.length; p += 4) {
      for (var c = 0; c < 3; c++, e++) {
        var x0 = this.clean[p + c] / 127.5 - 1;  // pixel values from −1 to 1, as models use them
        noisy.data[p + c] = (a * x0 + b * this.epsilon[e] + 1) * 127.5;
        noise.data[p + c] = 128 + 48 * this.epsilon[e];
      }
      noisy.data[p + 3] = noise.data[p + 3] = 255;
    }
    this.noisy.putImageData(noisy, 0, 0);
    this.noise.putImageData(noise, 0, 0);
    var share = Math.round(100 * keep(t));
    this.slider.value = this.state.step;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("forward.valuetext", { step: this.state.step, n: share }));
    this.count.textContent = Stepthrough.t("count", { step: this.state.step, steps: this.data.steps });
    Stepthrough.say(this.status, this.state.step === 0 ? Stepthrough.t("forward.clean")
      : this.state.step === this.data.steps ? Stepthrough.t("forward.pure_noise")
      : Stepthrough.t("forward.status", { step: this.state.step, n: share, noise: 100 - share }), announce);
  };

  Stepthrough.widget("forward-process", function (figure) {
    var forward = new Forward(figure);
    Stepthrough.scrubbers[forward.data.id] = function (fraction) {
      forward.state.step = Math.round(fraction * forward.data.steps);
      forward.render();
    };
  });
})();
