/* Scroll-driven sections: as the reader scrolls through a section's paragraphs, its sticky
   widget advances — paragraph i of n shows the trajectory i/(n−1) of the way from noise to
   picture. Once the reader drives a widget by hand, scrolling leaves it alone. */
(function () {
  "use strict";
  if (!("IntersectionObserver" in window)) return;

  document.querySelectorAll("section.has-widget").forEach(function (section) {
    var scrub = Stepthrough.scrubbers[section.id];
    var paragraphs = section.querySelectorAll(".prose > p, .prose > ul, .prose > ol");
    if (!scrub || paragraphs.length < 2) return;
    var touched = Stepthrough.readHash(section.id) !== null;  // a linked state stays as linked
    section.querySelector(".widget-column").addEventListener("pointerdown", function () { touched = true; });
    section.querySelector(".widget-column").addEventListener("keydown", function () { touched = true; });
    // A paragraph counts as "being read" when it crosses the middle band of the viewport.
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting || touched) return;
        var index = Array.prototype.indexOf.call(paragraphs, entry.target);
        scrub(index / (paragraphs.length - 1));
      });
    }, { rootMargin: "-45% 0px -45% 0px" });
    paragraphs.forEach(function (p) { observer.observe(p); });
  });
})();
