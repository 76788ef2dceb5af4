/* Scroll-driven sections: as the reader scrolls through a section's paragraphs, its sticky
   widget advances — paragraph i of n shows the trajectory i/(n−1) of the way from noise to
   picture. Once the reader drives a widget by hand, scrolling leaves it alone.
   On one column (phones) the widget sits below the text, so while the reader is in a section's
   text a compact copy of its picture follows at the bottom of the screen ("is-following" in
   style.css); it turns back into the full widget where the text ends, or when tapped. */
(function () {
  "use strict";

  document.querySelectorAll("section.has-widget").forEach(function (section) {
    var column = section.querySelector(".widget-column");
    follow(section, column);
    var paragraphs = section.querySelectorAll(".prose > p, .prose > ul, .prose > ol");
    if (!section.querySelector("[data-widget]") || paragraphs.length < 2 || !("IntersectionObserver" in window)) return;
    var touched = Stepthrough.readHash(section.id) !== null;  // a linked state stays as linked
    // Driving it by hand: a change, a press or a key. (Not a touch: a swipe that starts on the
    // picture is the reader scrolling.)
    ["input", "change", "keydown"].forEach(function (type) {
      column.addEventListener(type, function () { touched = true; });
    });
    column.addEventListener("click", function (event) {
      if (event.target.closest("button, input, select, label, a")) touched = true;
    });
    // A paragraph counts as "being read" when it crosses the middle band of the viewport. The
    // widget registers its scrubber when it starts, which may be once the reader nears it: then
    // it starts at the paragraph being read.
    var reading = null;
    function drive() {
      var scrub = Stepthrough.scrubbers[section.id];
      if (scrub && reading !== null && !touched) scrub(reading);
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        reading = Array.prototype.indexOf.call(paragraphs, entry.target) / (paragraphs.length - 1);
        drive();
      });
    }, { rootMargin: "-45% 0px -45% 0px" });
    column.addEventListener("stepthrough:ready", drive);
    paragraphs.forEach(function (p) { observer.observe(p); });
  });

  /* Follow the text on one column: compact while the reader is in the section's text (stuck to
     the bottom of the screen while the text runs on below it, then in its place right after the
     text), full once the text has scrolled up past the top third of the screen. The compact
     widget turns full where it stands, growing downwards, so nothing jumps. */
  function follow(section, column) {
    var prose = section.querySelector(".prose");
    var pending = false;
    function update() {
      pending = false;
      var vh = window.innerHeight, on = section.classList.contains("is-following");
      var box = section.getBoundingClientRect();
      // Only a section on screen: measuring inside one that is not would lay it out (and fetch its frames).
      var want = Stepthrough.narrow.matches && box.top < 0.5 * vh && box.bottom > 0 &&
        prose.getBoundingClientRect().bottom > 0.3 * vh && !column.contains(document.activeElement);
      if (want !== on) section.classList.toggle("is-following", want);
    }
    function later() {
      if (!pending) { pending = true; requestAnimationFrame(update); }
    }
    window.addEventListener("scroll", later, { passive: true });
    window.addEventListener("resize", later);
    // Sections above render and change height without a scroll event.
    if ("ResizeObserver" in window) new ResizeObserver(later).observe(document.body);
    // Keyboard focus, or a tap on the compact picture, opens the full widget where it belongs.
    column.addEventListener("focusin", function () {
      if (!section.classList.contains("is-following")) return;
      section.classList.remove("is-following");
      column.scrollIntoView({ block: "nearest" });
    });
    column.addEventListener("click", function (event) {
      if (!section.classList.contains("is-following")) return;
      event.preventDefault();
      section.classList.remove("is-following");
      column.scrollIntoView({ block: "start" });
    });
    later();  // at the next frame: measuring now would lay the page out once per section, mid-load
  }
})();
