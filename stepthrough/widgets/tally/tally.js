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
    var self = this, total = this.data.total, T = Stepthrough.t;
    // Without scripts the values are plain text; here each becomes a button.
    this.data.tags.forEach(function (tag) {
      tag.values.forEach(function (v) {
        var span = figure.querySelector(".tally-value[data-tag='" + CSS.escape(tag.name) +
          "'][data-value='" + CSS.escape(v.value) + "']");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "tally-choose";
        var of = tag.of === undefined ? total : tag.of, label = v.label || v.value;
        var counted = tag.name === "who" || tag.of === undefined ? "tally.of_pictures" : "tally.of_people";
        button.textContent = label;
        button.setAttribute("aria-label", T("tally.choose", {
          tag: tag.title || tag.name, value: label, count: T(counted, { count: v.count, n: of })
        }));
        button.addEventListener("click", function () { self.choose(tag.name, v.value); });
        span.replaceWith(button);
        self.rows.push({ tag: tag.name, value: v.value, label: label, count: v.count, button: button, row: button.closest("tr") });
      });
    });
    this.roving(figure.querySelector(".tally-sheet"));
    this.pictures.forEach(function (li, i) {
      var picture = self.data.pictures[i];
      li.querySelector(".thumb").addEventListener("focus", function () {
        Stepthrough.say(self.status, self.data.method === "card"
          ? T("tally.seed_sorted", { seed: picture.seed, bucket: picture.nearest })
          : T("tally.seed_looks", { seed: picture.seed, prompt: picture.nearest }), false);
      });
    });
    var query = Stepthrough.readHash(this.data.id);
    if (query && this.find(query.get("tag"), query.get("value"))) {
      this.state = { tag: query.get("tag"), value: query.get("value") };
    }
    this.render();
  }

  /* The contact sheet is one tab stop, not one per picture: Tab reaches the picture last visited,
     the arrow keys (and Home / End) move between pictures, row by row as the sheet wraps. So it is
     a list box whose choice follows the focus (a picture in the tab order is a control). */
  Tally.prototype.roving = function (sheet) {
    var thumbs = Array.prototype.map.call(this.pictures, function (li) { return li.querySelector(".thumb"); });
    sheet.setAttribute("role", "listbox");
    this.pictures.forEach(function (li) { li.setAttribute("role", "none"); });
    thumbs.forEach(function (thumb) { thumb.setAttribute("role", "option"); });
    function current(i) {
      thumbs.forEach(function (thumb, j) {
        thumb.tabIndex = i === j ? 0 : -1;
        thumb.setAttribute("aria-selected", String(i === j));
      });
    }
    function columns() {
      var top = thumbs[0].offsetTop, n = 0;
      while (n < thumbs.length && thumbs[n].offsetTop === top) n += 1;
      return n;
    }
    current(0);
    sheet.setAttribute("aria-label", Stepthrough.t("tally.arrows", { label: sheet.getAttribute("aria-label") }));
    thumbs.forEach(function (thumb, i) {
      thumb.addEventListener("focus", function () { current(i); });
    });
    sheet.addEventListener("keydown", function (event) {
      var i = thumbs.indexOf(event.target);
      if (i < 0) return;
      var moves = { ArrowLeft: i - 1, ArrowRight: i + 1, ArrowUp: i - columns(), ArrowDown: i + columns(),
                    Home: 0, End: thumbs.length - 1 };
      var key = Stepthrough.arrow(event.key);  // the grid runs right to left on a right-to-left page
      if (!(key in moves)) return;
      event.preventDefault();
      var to = Stepthrough.clamp(moves[key], 0, thumbs.length - 1);
      current(to);
      thumbs[to].focus();
    });
  };

  Tally.prototype.find = function (tag, value) {
    return this.rows.filter(function (r) { return r.tag === tag && r.value === value; })[0] || null;
  };

  Tally.prototype.choose = function (tag, value) {
    var same = this.state.tag === tag && this.state.value === value;
    this.state = same ? { tag: null, value: null } : { tag: tag, value: value };
    this.render(true);
    Stepthrough.writeHash(this.data.id, same ? {} : this.state);
  };

  Tally.prototype.render = function (announce) {
    var state = this.state, self = this, data = this.data;
    this.rows.forEach(function (r) {
      var on = r.tag === state.tag && r.value === state.value;
      r.button.setAttribute("aria-pressed", on ? "true" : "false");
      r.row.classList.toggle("is-chosen", on);
    });
    var chosen = 0, row = this.find(state.tag, state.value);
    this.pictures.forEach(function (li, i) {
      var hit = state.tag !== null && data.pictures[i].tags[state.tag] === state.value;
      if (hit) chosen += 1;
      li.classList.toggle("is-chosen", hit);
      li.classList.toggle("is-dimmed", state.tag !== null && !hit);
    });
    var T = Stepthrough.t, tag = data.tags.filter(function (g) { return g.name === state.tag; })[0];
    Stepthrough.say(this.status, state.tag === null
      ? T("tally.all", { n: data.total })
      : data.method === "card"
        ? T("tally.chosen_sorted", { chosen: chosen, n: data.total,
            bucket: state.tag === "who" ? row.label : T("tally.tag_value", { tag: tag.short, value: row.label }) })
        : T("tally.chosen_looks", { chosen: chosen, n: data.total,
            bucket: T("tally.tag_value", { tag: state.tag, value: state.value }) }), announce);
  };

  Stepthrough.widget("tally", function (figure) { new Tally(figure); });
})();
