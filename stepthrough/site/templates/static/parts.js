/* A long explainer is written in parts, one page each (stepthrough/site/parts.py). A link to a
   section that another part holds (index.html#seeds, index.html#seeds?seed=3, or #seeds from a
   link inside this page) goes to that part's page, the widget's state along. The map section id →
   page is the data script #stepthrough-parts, deferred like this script, so it costs the first
   screen nothing. Classic script, works from file://. */
(function () {
  "use strict";

  var source = document.getElementById("stepthrough-parts");
  var pages = source && source.stepthroughData;
  if (!pages) return;

  function decode(text) {
    try { return decodeURIComponent(text); } catch (e) { return text; }
  }

  function follow() {
    var id = decode(location.hash.slice(1).split("?")[0]);
    if (!id || document.getElementById(id) || !Object.prototype.hasOwnProperty.call(pages, id)) return;
    location.replace(pages[id] + location.hash);  // replace: Back returns to the page the link was on
  }

  follow();
  window.addEventListener("hashchange", follow);
})();
