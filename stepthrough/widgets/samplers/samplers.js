/* Samplers side by side: radio buttons choose the step count whose paths the map shows; a run's
   button picks it out (its path drawn bold, its numbers in the status line). State:
   #<id>?steps=10&run=heun. */
(function () {
  "use strict";

  function Samplers(figure) {
    var self = this;
    this.data = Stepthrough.data(figure);
    this.paths = figure.querySelectorAll(".samplers-path");
    this.buttons = figure.querySelectorAll(".samplers-run");
    this.radios = figure.querySelectorAll(".samplers-steps input");
    this.cells = figure.querySelectorAll("[data-steps]");
    this.status = figure.querySelector(".samplers-status");
    this.radios.forEach(function (radio) {
      radio.addEventListener("change", function () { self.set(Number(radio.value), null, true); });
    });
    this.buttons.forEach(function (button) {
      button.disabled = false;
      button.addEventListener("click", function () {
        var run = self.data.runs[Number(button.dataset.run)];
        var chosen = self.state.run === run.scheduler && self.state.steps === run.steps;
        self.set(run.steps, chosen ? null : run.scheduler, true);
      });
    });
    figure.querySelector(".widget-controls").hidden = false;
    var query = Stepthrough.readHash(this.data.id), d = this.data;
    var steps = Number(Stepthrough.choice(query, "steps", d.steps.map(String), String(d.steps[0])));
    var runs = d.runs.map(function (run) { return run.scheduler; });
    this.state = {};
    this.set(steps, Stepthrough.choice(query, "run", runs, null), false);
  }

  Samplers.prototype.find = function (steps, scheduler) {
    for (var i = 0; i < this.data.runs.length; i++) {
      var run = this.data.runs[i];
      if (run.steps === steps && run.scheduler === scheduler) return i;
    }
    return -1;
  };

  Samplers.prototype.set = function (steps, scheduler, fromUser) {
    this.state.steps = steps;
    this.state.run = this.find(steps, scheduler) >= 0 ? scheduler : null;
    this.render(fromUser);
    if (fromUser) {
      var values = { steps: steps };
      if (this.state.run) values.run = this.state.run;
      Stepthrough.writeHash(this.data.id, values);
    }
  };

  Samplers.prototype.render = function (announce) {
    var s = this.state, d = this.data, chosen = this.find(s.steps, s.run);
    this.paths.forEach(function (path) {
      var run = d.runs[Number(path.dataset.run)];
      path.classList.toggle("is-off", run.steps !== s.steps);
      path.classList.toggle("is-chosen", run.steps === s.steps && run.scheduler === s.run);
    });
    this.buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.run) === chosen));
    });
    this.cells.forEach(function (cell) {
      cell.classList.toggle("is-current", Number(cell.dataset.steps) === s.steps);
    });
    this.radios.forEach(function (radio) { radio.checked = Number(radio.value) === s.steps; });
    var label = d.step_labels[d.steps.indexOf(s.steps)], text;
    if (chosen >= 0) {
      var run = d.runs[chosen];
      text = Stepthrough.t("samplers.run", {
        name: run.name, steps: label, n: run.evaluations, off: Stepthrough.fixed(run.distance, 3), ref: d.reference.steps
      });
    } else {
      text = Stepthrough.t("samplers.status", { steps: label });
    }
    Stepthrough.say(this.status, text, announce);
  };

  Stepthrough.widget("samplers", function (figure) { new Samplers(figure); });
})();
