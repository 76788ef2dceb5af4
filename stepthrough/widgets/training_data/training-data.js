/* The training data behind a default. Choosing a bar (a skin tone, a gender) outlines the
   pictures it counts and dims the rest; choosing it again shows all. */
(function () {
  "use strict";

  function TrainingData(figure) {
    this.data = Stepthrough.data(figure);
    this.thumbs = figure.querySelectorAll(".data-thumbs .thumb");
    this.status = figure.querySelector(".data-status");
    this.state = { tag: null, value: null };
    this.buttons = [];
    var self = this, total = this.data.total;
    if (!this.thumbs.length) return;  // an author's summary has counts but no pictures
    figure.querySelectorAll(".data-value").forEach(function (span) {
      var button = document.createElement("button"), tag = span.dataset.tag, value = span.dataset.value;
      var count = span.closest("tr").querySelector(".tally-count").firstChild.textContent;
      button.type = "button";
      button.className = "tally-choose";
      button.textContent = span.textContent;
      button.setAttribute("aria-pressed", "false");
      var of = total;
      self.data.tags.forEach(function (t) { if (t.name === tag && t.of !== undefined) of = t.of; });
      button.setAttribute("aria-label", Stepthrough.t("data.choose", { value: span.textContent, count: count, n: of }));
      button.addEventListener("click", function () { self.choose(tag, value); });
      span.replaceWith(button);
      self.buttons.push({ tag: tag, value: value, count: count, of: of, button: button });
    });
  }

  TrainingData.prototype.choose = function (tag, value) {
    var same = this.state.tag === tag && this.state.value === value;
    this.state = same ? { tag: null, value: null } : { tag: tag, value: value };
    var s = this.state, chosen = null;
    this.buttons.forEach(function (b) {
      var on = b.tag === s.tag && b.value === s.value;
      b.button.setAttribute("aria-pressed", String(on));
      b.button.closest("tr").classList.toggle("is-chosen", on);
      if (on) chosen = b;
    });
    this.thumbs.forEach(function (thumb) {
      var match = s.tag !== null && thumb.getAttribute("data-" + s.tag) === s.value;
      thumb.parentNode.classList.toggle("is-chosen", match);
      thumb.parentNode.classList.toggle("is-dimmed", s.tag !== null && !match);
    });
    var text = chosen ? Stepthrough.t("data.chosen", { count: chosen.count, n: chosen.of, value: chosen.button.textContent }) :
      Stepthrough.t("data.all", { n: this.data.total, prompt: this.data.prompt });
    Stepthrough.say(this.status, text, true);
  };

  Stepthrough.widget("training-data", function (figure) {
    new TrainingData(figure);
  });
})();
