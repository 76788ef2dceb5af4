/* The noise schedule: one slider moves a marker along the two curves (picture left, noise left)
   and shows the canvas at that step. With `follow`, it also follows that step-through viewer's
   step (stepper.js announces it). State: #<id>?step=k. */
(function () {
  "use strict";

  function x(k, n) { return 10 + 86 * k / n; }
  function y(v) { return 50 - 42 * v; }
  function fixed(v) { return Stepthrough.fixed(v, 2); }

  function Schedule(figure) {
    var self = this;
    this.data = Stepthrough.data(figure);
    this.n = this.data.trajectory.steps;
    this.slider = figure.querySelector("input[type=range]");
    this.count = figure.querySelector(".widget-count");
    this.status = figure.querySelector(".schedule-status");
    this.frame = figure.querySelector(".schedule-frame");
    this.marker = figure.querySelector(".schedule-marker");
    this.dots = [figure.querySelector(".schedule-picture-dot"), figure.querySelector(".schedule-noise-dot")];
    this.numbers = [figure.querySelector(".schedule-a"), figure.querySelector(".schedule-b")];
    this.state = { step: this.n };
    this.slider.addEventListener("input", function () {
      self.set(Number(self.slider.value), true);
    });
    if (this.data.follow) {
      document.addEventListener("stepthrough:step", function (event) {
        var d = event.detail;
        if (d.id === self.data.follow) self.set(Math.round(d.step * self.n / d.steps), false);
      });
    }
    figure.querySelector(".widget-controls").hidden = false;
    // Its own link first; else the viewer it follows, where that one started first.
    var query = Stepthrough.readHash(this.data.id), followed = this.data.follow && Stepthrough.steps[this.data.follow];
    if (query && query.has("step")) this.set(Stepthrough.whole(query, "step", 0, this.n, this.n), false);
    else if (followed) this.set(Math.round(followed.step * this.n / followed.steps), false);
    else this.set(this.n, false);
  }

  Schedule.prototype.set = function (step, fromUser) {
    step = Stepthrough.clamp(step, 0, this.n);
    // Following a viewer: a step of the viewer that lands on the same step here changes nothing.
    var same = this.rendered && step === this.state.step;
    this.state.step = step;
    if (!same) this.render();
    this.rendered = true;
    if (fromUser) Stepthrough.writeHash(this.data.id, { step: this.state.step });
  };

  Schedule.prototype.render = function () {
    var k = this.state.step, n = this.n, d = this.data;
    var picture = d.picture[k], noise = d.noise[k], at = x(k, n);
    this.marker.setAttribute("x1", at);
    this.marker.setAttribute("x2", at);
    this.dots[0].setAttribute("cx", at);
    this.dots[0].setAttribute("cy", y(picture));
    this.dots[1].setAttribute("cx", at);
    this.dots[1].setAttribute("cy", y(noise));
    this.numbers[0].textContent = fixed(picture);
    this.numbers[1].textContent = fixed(noise);
    Stepthrough.showFrame(this.frame, d.trajectory.views.xt, k);
    var words = { step: k, steps: n, prompt: d.trajectory.label, picture: fixed(picture), noise: fixed(noise) };
    this.frame.setAttribute("aria-label", Stepthrough.t(k === 0 ? "schedule.noise_frame" : k === n ? "schedule.finished_frame" : "schedule.frame", words));
    this.status.textContent = Stepthrough.t("schedule.status", words);
    this.slider.value = k;
    this.slider.setAttribute("aria-valuetext", Stepthrough.t("schedule.valuetext", words));
    this.count.textContent = Stepthrough.t("count", { step: k, steps: n });
  };

  Stepthrough.widget("schedule", function (figure) {
    var schedule = new Schedule(figure);
    Stepthrough.scrubbers[schedule.data.id] = function (fraction) {
      schedule.set(Math.round(fraction * schedule.n), false);
    };
  });
})();
