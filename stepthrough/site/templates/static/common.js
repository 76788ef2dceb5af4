/* Helpers every widget script shares: sprite frames, widget data, and state in the URL fragment.
   Classic script (no modules: the page must open from file://); exposes one global, `Stepthrough`. */
var Stepthrough = (function () {
  "use strict";

  /* Show frame k of a sprite sheet `view` ({src, columns, rows, width, height}) on element `el`.
     Another frame of the sheet already shown moves only the background (a step slider's swap). */
  function showFrame(el, view, k) {
    var col = k % view.columns, row = Math.floor(k / view.columns);
    var sheet = view.src + " " + view.columns + " " + view.rows + " " + view.width + " " + view.height;
    if (el.stepthroughSheet !== sheet) {
      el.style.backgroundImage = "url('" + view.src + "')";
      el.style.backgroundSize = view.columns * 100 + "% " + view.rows * 100 + "%";
      el.style.aspectRatio = view.width + " / " + view.height;
      el.stepthroughSheet = sheet;
    }
    el.style.backgroundPosition = (view.columns > 1 ? (col / (view.columns - 1)) * 100 : 0) + "% " +
      (view.rows > 1 ? (row / (view.rows - 1)) * 100 : 0) + "%";
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

  /* The site folder keeps each widget's data in a script file of its own (assets/data/, run before
     the widget scripts: deferred, earlier in the page; or added when the reader nears the widget,
     see `widget`), which leaves it on its <script> element; the single file has it inline as JSON. */
  function data(figure) {
    var el = figure.querySelector(".widget-data");
    if (!el.src) return JSON.parse(el.textContent, inline);
    if (!el.stepthroughData) throw new Error("widget data " + el.getAttribute("src") + " did not load");
    return el.stepthroughData;
  }

  /* Links are input from anywhere (a chat, a worksheet, a mistyped address): reading one never
     throws, and a value is taken only when it is one the widget can show.
     `decode`: percent-decoding that keeps text with a broken escape ("#%", "%E0%A4%A") as written,
     where decodeURIComponent would throw "URI malformed" and stop every widget on the page. */
  function decode(text) {
    try { return decodeURIComponent(text); } catch (e) { return text; }
  }

  /* The section or widget id the fragment names: "seeds" in #seeds and in #seeds?seed=3. */
  function linkedId() {
    return decode(location.hash.slice(1).split("?")[0]);
  }

  /* The fragment "#<id>?a=1&b=2" as URLSearchParams when it addresses widget `id`, else null. */
  function readHash(id) {
    var hash = location.hash.slice(1), at = hash.indexOf("?");
    if (at < 0 || decode(hash.slice(0, at)) !== id) return null;
    return new URLSearchParams(hash.slice(at + 1));  // decodes the values itself ("a+b", "%26"), never throws
  }

  /* A whole number in the link (digits, an optional minus) within low…high, else `fallback`:
     "1.5", "", "0x1f", "1e3" or "constructor" are not a step. */
  function whole(query, key, low, high, fallback) {
    var text = query ? query.get(key) : null;
    if (text === null || !/^-?\d{1,16}$/.test(text)) return fallback;
    return clamp(Number(text), low, high);
  }

  /* A decimal number in the link within low…high, else `fallback` (never NaN or Infinity). */
  function number(query, key, low, high, fallback) {
    var text = query ? query.get(key) : null;
    if (text === null || !/^-?\d{1,16}(\.\d{1,16})?$/.test(text)) return fallback;
    return clamp(Number(text), low, high);
  }

  /* One of `choices` (strings) named in the link, else `fallback`. An own list, not an `in` check:
     "constructor" or "__proto__" is in every object. */
  function choice(query, key, choices, fallback) {
    var text = query ? query.get(key) : null;
    return text !== null && choices.indexOf(text) >= 0 ? text : fallback;
  }

  /* The place in `values` (a widget's choices: prompt texts, words, seeds) that the link names
     under `key`: by value ("a doctor", 7) or, in an old link, by place ("prompt=2"), else
     `fallback` (an unknown name lands on the widget's own default). `name` is the reverse: what
     a link writes for place `i`, its value, or its place where two choices share one value. */
  function named(query, key, values, fallback) {
    var text = query ? query.get(key) : null;
    if (text === null) return fallback;
    var i = values.findIndex(function (value) {
      return typeof value === "number" ? /^-?\d{1,16}(\.\d{1,16})?$/.test(text) && Number(text) === value : text === value;
    });
    if (i < 0 && /^\d{1,6}$/.test(text) && Number(text) < values.length) i = Number(text);
    return i >= 0 ? i : fallback;
  }
  function name(values, i) {
    return values.indexOf(values[i]) === values.lastIndexOf(values[i]) ? values[i] : i;
  }

  /* Write a widget's state into the fragment. With `settle`, the write waits until the widget has
     been still for SETTLE_URL_MS (a slider being dragged or stepped by key): history.replaceState
     costs a millisecond or more, at times ten, and would hold up every frame. A newer write, a
     followed link or leaving the page settles it at once. */
  var SETTLE_URL_MS = 150, pendingHash = null, hashTimer = null;
  function replaceHash(hash) {
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }
  function flushHash() {
    clearTimeout(hashTimer);
    if (pendingHash !== null) replaceHash(pendingHash);
    pendingHash = null;
  }
  var latest = {};  // each widget's latest link, for its "Copy link"
  function writeHash(id, values, settle) {
    var query = new URLSearchParams();
    Object.keys(values).forEach(function (key) { query.set(key, values[key]); });
    var hash = latest[id] = "#" + id + (query.toString() ? "?" + query.toString() : "");  // {}: the widget as it starts
    clearTimeout(hashTimer);
    pendingHash = null;
    if (!settle) return replaceHash(hash);
    pendingHash = hash;
    hashTimer = setTimeout(flushHash, SETTLE_URL_MS);
  }
  window.addEventListener("pagehide", flushHash);
  // A link followed meanwhile wins over the write still waiting.
  window.addEventListener("hashchange", function () { clearTimeout(hashTimer); pendingHash = null; });

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

  /* A step-through viewer's latest step, by its id ({step, steps}): what it announces with the
     event "stepthrough:step", kept for a widget that follows it and starts later (the schedule). */
  var steps = {};

  /* A widget's status line, and what a screen reader hears. The visible line follows every
     frame; the live region beside it (visually hidden) is written only when `announce` is true
     and the widget has then been still for SETTLE_MS, so playing, dragging and scrolling say
     one sentence at the end instead of ten a second. */
  var SETTLE_MS = 500;
  function say(el, text, announce) {
    if (el.textContent !== text) el.textContent = text;
    if (!el.stepthroughLive) {
      var live = document.createElement("span");
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      el.after(live);
      el.stepthroughLive = live;
    }
    clearTimeout(el.stepthroughTimer);
    if (!announce) return;
    el.stepthroughTimer = setTimeout(function () { el.stepthroughLive.textContent = text; }, SETTLE_MS);
  }

  /* Landing: a link to a section (#seeds) or to a widget state (#seeds?at=3) ends with its widget
     in view. Sections are `content-visibility: auto` (style.css): until a section renders it is
     laid out at a guessed height, so an offset computed once is wrong as soon as the sections
     near it render. So: jump (never animate: a smooth scroll renders every section it passes),
     then aim again each frame until the target stays put, unless the reader moves first. */
  var narrow = window.matchMedia("(max-width: 899.98px)");
  function landingTarget() {
    var hash = location.hash.slice(1), id = linkedId();
    var el = id && document.getElementById(id);
    if (!el) return null;
    var widget = el.matches("section") && el.querySelector("[data-widget]");
    // On one column a state link shows the widget itself (below the text); side by side, the
    // section's top shows both, and so does a narrow plain link (the widget follows the text).
    if (widget && narrow.matches && hash.indexOf("?") > 0) return { el: widget, margin: 8 };
    return { el: el, margin: 0 };
  }

  /* Once settled, the page may still grow (a widget's data arrives and its pictures go in, a
     section laid out at its placeholder height renders): for REAIM_MS, while nobody else has
     scrolled, each change of the page's size aims again. */
  var landing = 0, REAIM_MS = 10000;
  function land() {
    var target = landingTarget(), run = ++landing, still = 0, frames = 0, aiming = false, at = null;
    var until = Date.now() + REAIM_MS;
    if (!target) return;
    function aim() {
      if (run !== landing) return;  // the reader scrolled, or a newer link took over
      aiming = true;
      var before = target.el.getBoundingClientRect().top - target.margin;
      if (Math.abs(before) > 1) window.scrollBy({ top: before, behavior: "instant" });
      var after = target.el.getBoundingClientRect().top - target.margin;
      at = window.scrollY;
      still = Math.abs(after) <= 1 || Math.abs(after - before) <= 1 && Math.abs(before) > 1 ? still + 1 : 0;
      if (still < 6 && ++frames < 180) requestAnimationFrame(aim);
      else aiming = false;
    }
    aim();
    if (!("ResizeObserver" in window)) return;
    var grown = new ResizeObserver(function () {
      if (run !== landing || Date.now() > until || Math.abs(window.scrollY - at) > 2) return grown.disconnect();
      if (!aiming) { still = 0; frames = 0; aim(); }
    });
    grown.observe(document.body);
  }
  ["wheel", "touchstart", "keydown", "pointerdown"].forEach(function (type) {
    window.addEventListener(type, function () { landing += 1; }, { passive: true });
  });
  window.addEventListener("hashchange", land);
  // After every widget script has run (they sit above this event), and again once the page has
  // loaded, in case the browser's own jump to the fragment came late.
  document.addEventListener("DOMContentLoaded", land);
  window.addEventListener("load", function () { if (landing <= 1) land(); });

  /* Printing: a handout shows every widget in its lesson state (the static frame a reader without
     JavaScript sees), whatever the reader did or scrolled to, with its pictures.
     - A started widget keeps a copy of its static frame, taken before its script first changed
       it (`start`); printing shows that copy in its place.
     - Pictures drawn as CSS backgrounds (sprite frames) load only when a section is laid out on
       screen, and print does not wait for them: a section never neared would print blank. An
       <img> is waited for, so each background gets a print-only <img> of the same file, placed
       the same way (style.css `.print-picture`).
     - A printout has no buttons to open <details> (facilitator notes, references): open them.
     All of it goes again after printing. */
  var stills = [], printing = null;
  function stillOf(figure) {
    var still = figure.cloneNode(true);
    // A copy that never acts: no ids, radio groups, tab stops or live regions of its own.
    Array.prototype.forEach.call(still.querySelectorAll(".widget-data"), function (el) { el.remove(); });
    [still].concat(Array.prototype.slice.call(still.querySelectorAll("*"))).forEach(function (el) {
      ["id", "name", "for", "tabindex", "aria-live", "data-widget", "data-ready"].forEach(function (a) { el.removeAttribute(a); });
    });
    still.classList.add("widget-print");
    still.setAttribute("aria-hidden", "true");
    still.inert = true;
    return still;
  }
  function pictureFor(el) {
    var css = getComputedStyle(el), url = /^url\(["']?(.*?)["']?\)$/.exec(css.backgroundImage);
    if (!url) return;
    var size = css.backgroundSize.split(" "), at = css.backgroundPosition.split(" ");
    if (!/%$/.test(size[0]) || !/%$/.test(size[1] || "")) return;  // only what sprite_style / showFrame write
    var w = parseFloat(size[0]), h = parseFloat(size[1]), x = parseFloat(at[0]) || 0, y = parseFloat(at[1]) || 0;
    var img = document.createElement("img");
    img.className = "print-picture";
    img.alt = "";
    img.src = url[1];
    img.style.cssText = "width:" + w + "%;height:" + h + "%;left:" + (100 - w) * x / 100 + "%;top:" + (100 - h) * y / 100 + "%";
    el.insertBefore(img, el.firstChild);
    el.classList.add("has-print-picture");
  }
  window.addEventListener("beforeprint", function () {
    if (printing) return;
    printing = { details: [], figures: [], waiting: [] };
    stills.forEach(function (pair) {
      if (!pair.figure.isConnected) return;
      pair.figure.after(pair.still);
      pair.figure.classList.add("is-print-hidden");
      printing.figures.push(pair);
    });
    document.querySelectorAll("[data-widget] [style*=background], .widget-print [style*=background]").forEach(function (el) {
      if (!el.closest(".is-print-hidden")) pictureFor(el);
    });
    printing.details = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    if (!printing) return;
    printing.details.forEach(function (d) { d.open = false; });
    document.querySelectorAll(".print-picture").forEach(function (img) {  // the copies' too: they print again
      img.parentNode.classList.remove("has-print-picture");
      img.remove();
    });
    printing.figures.forEach(function (pair) {
      pair.still.remove();
      pair.figure.classList.remove("is-print-hidden");
    });
    var waiting = printing.waiting;
    printing = null;
    waiting.forEach(function (start) { start(); });
  });

  /* Decode sprite sheets before they are shown: a sheet first shown undecoded held its frame
     for up to 80 ms. Each is decoded once (Image.decode, off the main thread) and its image kept,
     so the browser keeps the decoded pixels; `decoded` lists what was asked, in order. */
  var decoded = [], kept = {};
  function decodeAhead(urls) {
    urls.forEach(function (url) {
      if (!url || kept[url]) return;
      var image = new Image();
      image.src = url;
      kept[url] = image;
      decoded.push(url);
      if (image.decode) image.decode().catch(function () {});  // a missing file shows as missing anyway
    });
  }

  /* Run start() once `el` comes within a screen of the viewport: a widget's work at load (reading
     pixels, drawing noise) waits until the reader nears it, so a phone does the first screen's
     work first. At once when the fragment links to its section (a linked state shows as linked),
     in presenter mode, and where the browser cannot tell. */
  function whenNear(el, start) {
    var section = el.closest("section"), linked = linkedId();
    if (!("IntersectionObserver" in window) || section && section.id === linked ||
        document.documentElement.classList.contains("presenting")) return start();
    var observer = new IntersectionObserver(function (entries) {
      if (!entries.some(function (entry) { return entry.isIntersecting; })) return;
      observer.disconnect();
      if (printing) printing.waiting.push(start);  // the print layout passed it: start after printing
      else start();
    }, { rootMargin: "100% 0px" });
    observer.observe(el);
  }

  /* Start widget `name`: init(figure) for each of its figures, once the figure's data is there.
     A data file marked to load later (<script type="text/plain" data-src=…>, site/build.py) joins
     the page when the reader nears the widget; the markup it carries (`later`) then replaces the
     lighter static frames that stood in for it, and init runs. */
  function widget(name, init) {
    document.querySelectorAll("[data-widget=" + name + "]").forEach(function (figure) {
      var el = figure.querySelector(".widget-data");
      if (!el || !el.hasAttribute("data-src")) return start(figure, init);
      whenNear(figure, function () {
        var script = document.createElement("script");
        script.className = "widget-data";
        script.onload = function () { start(figure, init); };
        script.src = el.getAttribute("data-src");
        el.replaceWith(script);
      });
    });
  }
  function start(figure, init) {
    var el = figure.querySelector(".widget-data"), parts = el && data(figure).later || [];
    figure.querySelectorAll(".widget-later").forEach(function (slot, i) {
      var template = document.createElement("template");
      template.innerHTML = parts[i];
      slot.replaceWith(template.content);
    });
    stills.push({ figure: figure, still: stillOf(figure) });  // its lesson state, for print
    var section = figure.closest("section[id]");
    if (section && readHash(section.id)) latest[section.id] = location.hash;  // landed from a link
    init(figure);
    if (section) linkControl(figure, section);
    figure.setAttribute("data-ready", "");  // started: a test (and a curious reader) can tell
    figure.dispatchEvent(new CustomEvent("stepthrough:ready", { bubbles: true }));  // scroll.js
  }

  /* "Copy link": the address of this widget as the reader left it (its latest link, else its
     section), to the clipboard where the browser allows, and always into a read-only field beside
     it, selected, to copy by hand where it does not (a file:// page, an older browser). */
  function linkControl(figure, section) {
    var row = document.createElement("p"), button = document.createElement("button");
    var said = document.createElement("span"), field = document.createElement("input");
    row.className = "widget-link";
    button.type = "button";
    button.className = "widget-link-copy";
    button.textContent = t("copy_link");
    var title = section.querySelector("h2[id]");
    if (title) button.setAttribute("aria-describedby", title.id);  // "Copy link, button, <section>"
    said.className = "widget-link-said";
    field.className = "widget-link-field";
    field.readOnly = true;
    field.hidden = true;
    field.setAttribute("aria-label", t("link_field"));
    button.addEventListener("click", function () {
      flushHash();
      field.value = location.href.split("#")[0] + (latest[section.id] || "#" + section.id);
      field.hidden = false;
      function byHand() {
        say(said, t("link_by_hand"), true);
        field.focus();
        field.select();
      }
      if (!navigator.clipboard || !window.isSecureContext) return byHand();
      navigator.clipboard.writeText(field.value).then(function () { say(said, t("link_copied"), true); }, byHand);
    });
    row.append(button, said, field);
    figure.appendChild(row);
  }

  /* The page's own words in its language: the phrase `key` of the table the builder writes into
     the page (#stepthrough-phrases, from site/locales/<language>.json), its {name} slots filled
     from `values`. A phrase that counts has plural forms, picked by `values.n` through
     Intl.PluralRules; numbers read as the page's language writes them (Intl.NumberFormat). */
  var phrases = null, language = document.documentElement.lang || "en", latin = true, plurals = null, numbers = null;
  function t(key, values) {
    if (phrases === null) {
      var table = document.getElementById("stepthrough-phrases");
      table = table ? JSON.parse(table.textContent) : { phrases: {} };
      phrases = table.phrases;
      if (table.numbers) {  // Arabic's own digits, as the build writes them
        language += "-u-nu-" + table.numbers;
        latin = false;
      }
    }
    var phrase = Object.prototype.hasOwnProperty.call(phrases, key) ? phrases[key] : key;
    values = values || {};
    if (typeof phrase === "object") phrase = phrase[pluralForm(values.n || 0)] || phrase.other;
    return phrase.replace(/\{(\w+)\}/g, function (slot, name) {
      if (!Object.prototype.hasOwnProperty.call(values, name)) return slot;
      return typeof values[name] === "number" ? written(values[name]) : String(values[name]);
    });
  }

  /* Intl's formats load on first use (on a slow phone a tenth of a second before the first
     picture), so a small whole number in Latin digits, and English's plurals, do without them. */
  function pluralForm(n) {
    if (language === "en") return n === 1 ? "one" : "other";
    plurals = plurals || new Intl.PluralRules(language);
    return plurals.select(n);
  }
  function written(value) {
    if (latin && Number.isInteger(value) && Math.abs(value) < 1000) return String(value);
    numbers = numbers || new Intl.NumberFormat(language, { maximumFractionDigits: 3 });
    return numbers.format(value);
  }

  /* `value` with exactly `places` decimals, as the page's language writes it (0.25 → "0,25" in Spanish). */
  var decimals = {};
  function fixed(value, places) {
    if (phrases === null) t("");
    if (!decimals[places]) {
      decimals[places] = new Intl.NumberFormat(language, {
        minimumFractionDigits: places, maximumFractionDigits: places, useGrouping: false
      });
    }
    return decimals[places].format(value);
  }

  /* Arrow keys in the page's reading direction. A right-to-left page (dir="rtl": Arabic, Hebrew…)
     reads and lays out its sliders from right to left, so there ← goes forward (the next step,
     the next thumbnail), as it does on the page's own range sliders: `arrow` turns the key pressed
     into the key a left-to-right page would have got. */
  var rtl = document.documentElement.dir === "rtl";
  function arrow(key) {
    if (!rtl) return key;
    return key === "ArrowLeft" ? "ArrowRight" : key === "ArrowRight" ? "ArrowLeft" : key;
  }

  /* The language switcher (page.html) takes the reader's place along: the same section, step and
     choices in the other language, whose sections keep their ids. */
  function carryState(event) {
    var link = event.target.closest && event.target.closest(".languages a[hreflang]");
    if (link) link.href = link.getAttribute("href").split("#")[0].split("?")[0] + location.search + location.hash;
  }
  document.addEventListener("click", carryState);
  document.addEventListener("focusin", carryState);

  return {
    t: t, fixed: fixed, arrow: arrow, rtl: rtl, decodeAhead: decodeAhead, decoded: decoded, whenNear: whenNear, widget: widget,
    showFrame: showFrame, data: data, readHash: readHash, writeHash: writeHash, clamp: clamp,
    decode: decode, whole: whole, number: number, choice: choice, named: named, name: name,
    gaussian: gaussian, scrubbers: scrubbers, steps: steps, say: say, narrow: narrow
  };
})();
