/* Helpers every widget script shares: sprite frames, widget data, and state in the URL fragment.
   Classic script (no modules: the page must open from file://); exposes one global, `Stepthrough`. */
var Stepthrough = (function () {
  "use strict";

  /* Show frame k of a sprite sheet `view` ({src, columns, rows, width, height}) on element `el`. */
  function showFrame(el, view, k) {
    var col = k % view.columns, row = Math.floor(k / view.columns);
    el.style.backgroundImage = "url('" + view.src + "')";
    el.style.backgroundSize = view.columns * 100 + "% " + view.rows * 100 + "%";
    el.style.backgroundPosition = (view.columns > 1 ? (col / (view.columns - 1)) * 100 : 0) + "% " +
      (view.rows > 1 ? (row / (view.rows - 1)) * 100 : 0) + "%";
    el.style.aspectRatio = view.width + " / " + view.height;
  }

  function data(figure) {
    return JSON.parse(figure.querySelector(".widget-data").textContent);
  }

  /* The fragment "#<id>?a=1&b=2" as URLSearchParams when it addresses widget `id`, else null. */
  function readHash(id) {
    var hash = decodeURIComponent(location.hash.slice(1)), at = hash.indexOf("?");
    if (at < 0 || hash.slice(0, at) !== id) return null;
    return new URLSearchParams(hash.slice(at + 1));
  }

  function writeHash(id, values) {
    var query = new URLSearchParams();
    Object.keys(values).forEach(function (key) { query.set(key, values[key]); });
    history.replaceState(null, "", "#" + id + "?" + query.toString());
  }

  function clamp(value, low, high) { return Math.max(low, Math.min(high, value)); }

  /* Widgets that scrolling can drive register here: scrubbers[sectionId](fraction 0…1). */
  var scrubbers = {};

  return {
    showFrame: showFrame, data: data, readHash: readHash, writeHash: writeHash, clamp: clamp,
    scrubbers: scrubbers
  };
})();
