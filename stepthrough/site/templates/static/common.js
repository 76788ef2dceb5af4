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

  /* A widget's data. In the single-file export (stepthrough/build/single_file.py) each picture is
     kept once, in a CSS custom property, and the table #stepthrough-files names the property for
     each path the data mentions: such a path becomes the picture's data: URI. The site folder
     has no table, and its paths stay paths. */
  var files = null, inlined = {};
  function inline(key, value) {
    if (files === null) {
      var table = document.getElementById("stepthrough-files");
      files = table ? JSON.parse(table.textContent) : {};
    }
    if (typeof value !== "string" || !Object.prototype.hasOwnProperty.call(files, value)) return value;
    if (!(value in inlined)) {
      var css = getComputedStyle(document.documentElement).getPropertyValue(files[value]).trim();
      inlined[value] = css.replace(/^url\(\s*["']?|["']?\s*\)$/g, "");  // url("data:…") → data:…
    }
    return inlined[value];
  }

  function data(figure) {
    return JSON.parse(figure.querySelector(".widget-data").textContent, inline);
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

  /* `count` standard normal numbers from a seed: mulberry32 (a small seeded generator, so "new
     noise" is repeatable and linkable) and Box–Muller, two normal numbers from two uniform ones.
     stepthrough/particles/sample.py's start_noise makes the very same numbers in Python. */
  function gaussian(count, seed) {
    var a = seed >>> 0, out = new Float64Array(count);
    function random() {
      a = (a + 0x6d2b79f5) | 0;
      var t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    for (var i = 0; i < count; i += 2) {
      var r = Math.sqrt(-2 * Math.log(1 - random())), angle = 2 * Math.PI * random();
      out[i] = r * Math.cos(angle);
      if (i + 1 < count) out[i + 1] = r * Math.sin(angle);
    }
    return out;
  }

  /* Widgets that scrolling can drive register here: scrubbers[sectionId](fraction 0…1). */
  var scrubbers = {};

  return {
    showFrame: showFrame, data: data, readHash: readHash, writeHash: writeHash, clamp: clamp,
    gaussian: gaussian, scrubbers: scrubbers
  };
})();
