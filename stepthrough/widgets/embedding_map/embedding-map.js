/* The prompt-embedding map: a legend button highlights one group (again to show all).
   State: #<id>?group=food, the group by name (an old link by place, group=1, still opens). */
(function () {
  "use strict";

  function EmbeddingMap(figure) {
    this.data = Stepthrough.data(figure);
    this.figure = figure;
    this.buttons = figure.querySelectorAll(".map-legend button");
    this.state = { group: -1 };
    var self = this;
    this.buttons.forEach(function (button) {
      button.disabled = false;
      button.addEventListener("click", function () {
        var group = Number(button.dataset.group);
        self.state.group = self.state.group === group ? -1 : group;
        self.render();
        var g = self.state.group;
        Stepthrough.writeHash(self.data.id, g < 0 ? {} : { group: Stepthrough.name(self.data.groups, g) });
      });
    });
    var query = Stepthrough.readHash(this.data.id);
    this.state.group = Stepthrough.named(query, "group", this.data.groups, -1);  // -1: every group
    this.render();
  }

  EmbeddingMap.prototype.render = function () {
    var group = this.state.group;
    this.figure.classList.toggle("is-filtered", group >= 0);
    this.figure.querySelectorAll(".map-point").forEach(function (point) {
      point.classList.toggle("is-highlighted", Number(point.dataset.group) === group);
    });
    this.buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.group) === group));
    });
  };

  Stepthrough.widget("embedding-map", function (figure) { new EmbeddingMap(figure); });
})();
