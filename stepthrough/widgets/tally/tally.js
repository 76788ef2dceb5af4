/* Tally: the Default Test over many seeds. Choosing a bar (a tag's value) highlights the pictures
   sorted to it; choosing it again shows all. State: #<id>?tag=skin&value=dark. */
(function () {
  "use strict";

  function Tally(figure) {
    this.data = Stepthrough.data(figure);
    this.pictures = figure.querySelectorAll(".tally-picture");
    this.status = figure.querySelector(".tally-status");
    this.rows = [];
    this.state = { tag: null, value: null };
    var self = this, total = this.data.total;
    // Without scripts the values are plain text; here each becomes a button.
    this.data.tags.forEach(function (tag) {
      tag.values.forEach(function (v) {
        var span = figure.querySelector(".tally-value[data-tag='" + CSS.escape(tag.name) +
          "'][data-value='" + CSS.escape(v.value) + "']");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "tally-choose";
        button.textContent = v.value;
        button.setAttribute("aria-label", tag.name + ": " + v.value + ", " + v.count + " of " + total + " pictures");
        button.addEventListener("click", function () { self.choose(tag.name, v.value); });
        span.replaceWith(button);
        self.rows.push({ tag: tag.name, value: v.value, count: v.count, button: button, row: button.closest("tr") });
      });
    });
    this.pictures.forEach(function (li, i) {
      var picture = self.data.pictures[i];
      li.querySelector(".thumb").addEventListener("focus", function () {
        self.status.textContent = "Seed " + picture.seed + " looks most like “" + picture.nearest + "”.";
      });
    });
    var query = Stepthrough.readHash(this.data.id);
    if (query && this.find(query.get("tag"), query.get("value"))) {
      this.state = { tag: query.get("tag"), value: query.get("value") };
    }
    this.render();
  }

  Tally.prototype.find = function (tag, value) {
    return this.rows.filter(function (r) { return r.tag === tag && r.value === value; })[0] || null;
  };

  Tally.prototype.choose = function (tag, value) {
    var same = this.state.tag === tag && this.state.value === value;
    this.state = same ? { tag: null, value: null } : { tag: tag, value: value };
    this.render();
    if (same) history.replaceState(null, "", "#" + this.data.id);
    else Stepthrough.writeHash(this.data.id, this.state);
  };

  Tally.prototype.render = function () {
    var state = this.state, self = this, data = this.data;
    this.rows.forEach(function (r) {
      var on = r.tag === state.tag && r.value === state.value;
      r.button.setAttribute("aria-pressed", on ? "true" : "false");
      r.row.classList.toggle("is-chosen", on);
    });
    var chosen = 0;
    this.pictures.forEach(function (li, i) {
      var hit = state.tag !== null && data.pictures[i].tags[state.tag] === state.value;
      if (hit) chosen += 1;
      li.classList.toggle("is-chosen", hit);
      li.classList.toggle("is-dimmed", state.tag !== null && !hit);
    });
    this.status.textContent = state.tag === null
      ? data.total + " pictures, one per seed. Choose a bar to see which pictures it counts."
      : chosen + " of " + data.total + " pictures look most like a prompt with " + state.tag + ": " +
        state.value + ". They are outlined.";
  };

  document.querySelectorAll("[data-widget=tally]").forEach(function (figure) { new Tally(figure); });
})();
