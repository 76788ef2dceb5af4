/* Presenter mode for a projector (index.html#present), and the facilitator's notes window.
   Classic script, no framework, works from file:// (folder, zip and single file alike).

   The page is the slide deck: presenting shows one section at a time (class "presenting" on
   <html>, style.css "Presenter mode"), its widget large and its text as a few big lines (the
   builder's .present-lines). → ↓ PageDown step through the lines, each one driving the section's
   widget a little further from noise to picture (the same scrubbers scrolling uses), then to the
   next section; ← ↑ PageUp go back, Esc leaves. With a workshop sequence the slides follow it and a
   timer counts each step's minutes. `N` or `W` opens the notes in a second window (the same file,
   at #present-notes?token=…) that follows along by postMessage and sends its own keys back; the
   bar's "Notes here" button shows them on this screen instead, over the slide. The data is the
   inline JSON #stepthrough-present (stepthrough/site/present.py).

   The two windows talk only to each other: a message counts when it comes from the other window,
   from this page's own origin, and (to the presenter) carries the presentation's random token;
   its fields are checked for type and range before use, and what it says is written as text. */
(function () {
  "use strict";

  var source = document.getElementById("stepthrough-present");
  if (!source) return;
  var data = JSON.parse(source.textContent);
  var slides = data.slides, steps = data.steps;
  var root = document.documentElement;
  // The page's own words (common.js); the phrase's key where common.js is missing.
  function T(key, values) { return window.Stepthrough ? Stepthrough.t(key, values) : key; }
  var STATE = "stepthrough:present-state", COMMAND = "stepthrough:present-command";
  var WINDOW_NAME = "stepthrough-notes";
  var ROOM_KEY = "stepthrough-room-tally:" + document.title;
  var COMMANDS = ["next", "prev", "timer", "hello"];  // what the notes window may ask of the presenter
  var MAX_COUNT = 100000;  // a room tally's count, as stored: more is not a room

  /* An element with a class and its text (always text: what a message says is never markup). */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* An element holding Markdown the builder rendered (stepthrough/site/present.py) from the
     content, read from this page's own inline JSON: the page's own markup, as trusted as the
     rest of it. Never a message's field, a link's or stored data. */
  function authored(tag, className, html) {
    var node = el(tag, className);
    node.innerHTML = html;
    return node;
  }

  function isWhole(value, low, high) {
    return typeof value === "number" && value % 1 === 0 && value >= low && value <= high;
  }

  /* Under file: every page's origin is opaque: a message from one says "null", and Chromium's
     location.origin says "file://" (others say "null"; a blob: page made from a file says "null"). */
  var OPAQUE = location.protocol === "file:" || location.origin === "null";

  /* A message from the other window of this presentation: the same page, so the same origin.
     "null" counts only where this page's own origin is opaque (a sandboxed frame of some other
     site says "null" too). */
  function fromOwnPage(event) {
    return OPAQUE ? event.origin === "null" : event.origin === location.origin;
  }

  /* Where this page posts: only to its own origin. An opaque origin cannot be named (postMessage
     refuses "null", and "file://" delivers nothing), so under file: "*" is the only target that
     reaches the other window. What goes that way is the slide and the timer, nothing secret, to
     the window this page opened or was opened by; the token goes only from the notes window to
     its opener, and the presenter checks the sender's window, origin and token. */
  var TARGET = OPAQUE ? "*" : location.origin;

  /* A button named by its visible text (what a voice-control user says), `title` only where it
     shows no words (an arrow), and its key, if any, as aria-keyshortcuts. */
  function button(label, action, title, keys) {
    var b = el("button", "present-action", label);
    b.type = "button";
    b.dataset.action = action;
    if (title) b.setAttribute("aria-label", title);
    if (keys) b.setAttribute("aria-keyshortcuts", keys);
    return b;
  }

  function sectionOf(slide) { return document.getElementById(slides[slide].section); }

  function titleOf(slide) {
    var heading = document.getElementById(slides[slide].section + "-title");
    return heading ? heading.textContent.trim() : slides[slide].section;
  }

  function linesOf(slide) {
    var section = sectionOf(slide);
    return section ? section.querySelectorAll(".present-lines > p") : [];
  }

  function clock(ms) {
    var s = Math.round(Math.abs(ms) / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  /* The timer: milliseconds spent on each step of the sequence, counted while presenting. */
  function Timer() {
    this.spent = steps.map(function () { return 0; });
    this.running = false;
    this.since = 0;
  }
  Timer.prototype.credit = function (step) {
    var now = Date.now();
    if (this.running && step !== null) this.spent[step] += now - this.since;
    this.since = now;
  };

  /* What the timer says for a step, given the milliseconds spent on each step. */
  function timerText(step, spent) {
    if (step === null || !steps.length) return { step: "", total: "", over: false };
    var left = steps[step].minutes * 60000 - spent[step];
    var total = spent.reduce(function (a, b) { return a + b; }, 0);
    return {
      step: T(left >= 0 ? "present.left" : "present.over", { time: clock(left) }),
      total: T("present.of", { time: clock(total), all: clock(data.minutes * 60000) }),
      over: left < 0
    };
  }

  /* ---- The notes: the current step's what-to-do and what-to-ask, and the room tally ---- */

  function Notes(container) {
    this.container = container;
    this.body = el("div", "notes-body");
    this.timer = el("p", "notes-timer");
    this.timer.setAttribute("role", "timer");
    container.appendChild(this.timer);
    container.appendChild(this.body);
    if (data.room) container.appendChild(roomTally());
    if (data.sheet) {
      var sheet = el("p", "notes-sheet"), link = el("a", "", T("present.sheet"));
      link.href = data.sheet;
      sheet.append(link, T("present.to_print"));
      container.appendChild(sheet);
    }
  }

  /* A list of the builder's rendered Markdown lines. */
  function authoredList(tag, className, items) {
    var list = el(tag, className);
    items.forEach(function (html) { list.appendChild(authored("li", "", html)); });
    return list;
  }

  Notes.prototype.show = function (slide, line) {
    var s = slides[slide], body = this.body;
    var lines = linesOf(slide).length;
    body.textContent = "";
    body.appendChild(el("p", "notes-where", T(lines > 1 ? "present.slide_line" : "present.slide",
      { slide: slide + 1, slides: slides.length, line: line + 1, lines: lines })));
    body.appendChild(el("h2", "notes-title", titleOf(slide)));
    if (s.step !== null) {
      var step = steps[s.step];
      var where = el("p", "notes-step", T("present.step", { step: s.step + 1, steps: steps.length }));
      where.append(el("strong", "", step.title), T("present.minutes", { n: step.minutes }));
      body.appendChild(where);
      if (step.do) body.appendChild(authored("p", "notes-do", step.do));
      if (step.ask.length) {
        body.appendChild(el("p", "notes-label", T("present.ask")));
        body.appendChild(authoredList("ul", "notes-ask", step.ask));
      }
    } else {
      body.appendChild(el("p", "notes-do", T("present.no_notes")));
    }
    if (s.section === data.lenses_at) lenses(body);
    var next = T("present.last");
    if (slide + 1 < slides.length) {
      var after = slides[slide + 1].step;
      next = T(after !== null && after !== s.step ? "present.next_step" : "present.next",
        { step: after !== null ? steps[after].title : "", title: titleOf(slide + 1) });
    }
    body.appendChild(el("p", "notes-next", next));
  };

  Notes.prototype.tick = function (step, spent) {
    var t = timerText(step, spent);
    this.timer.hidden = !t.step;
    this.timer.textContent = t.step ? t.step + " · " + t.total : "";
    this.timer.classList.toggle("is-over", t.over);
  };

  /* The page's own file name: index.html, or the single file's name. */
  function pageName() {
    var name = location.pathname.split("/").pop() || "index.html";
    try { return decodeURIComponent(name); } catch (e) { return name; }  // the browser's own escapes; never throw
  }

  function lenses(body) {
    if (!data.lenses.length && !data.debrief.length) return;
    var box = el("div", "notes-lenses");
    data.lenses.forEach(function (lens) {
      box.appendChild(el("p", "notes-label", lens.name));
      box.appendChild(authoredList("ul", "", lens.questions));
    });
    if (data.debrief.length) {
      box.appendChild(el("p", "notes-label", T("present.wrap_up")));
      box.appendChild(authoredList("ol", "", data.debrief));
    }
    body.appendChild(box);
  }

  /* The room tally as stored on this device, checked: another page of this origin (any local file,
     under file:) can write the same key, so only the tally's own counts are read, each a whole
     number from 0 to MAX_COUNT; anything else counts as nothing yet. */
  function readCounts(text, keys) {
    var stored = null, counts = {};
    try { stored = JSON.parse(text); } catch (e) { /* not JSON: start from nothing */ }
    if (!stored || typeof stored !== "object" || Array.isArray(stored)) return counts;
    keys.forEach(function (key) {
      var n = Object.prototype.hasOwnProperty.call(stored, key) ? stored[key] : 0;
      if (isWhole(n, 0, MAX_COUNT)) counts[key] = n;
    });
    return counts;
  }

  /* The room tally: the facilitator counts by hand what each device reports (kept on this device). */
  function roomTally() {
    var room = data.room, keys = [];
    Object.keys(room.count).forEach(function (group) {
      room.count[group].forEach(function (value) { keys.push(group + "\u0000" + value); });
    });
    var counts = {};
    try { counts = readCounts(localStorage.getItem(ROOM_KEY), keys); } catch (e) { /* storage off */ }
    var box = el("section", "notes-room");
    box.setAttribute("aria-label", T("present.room"));
    box.appendChild(el("h2", "notes-room-title", T("present.room")));
    var link = el("p", "notes-room-link", T("present.each_device"));
    link.appendChild(el("code", "", pageName() + room.link));
    box.appendChild(link);
    box.appendChild(authored("p", "notes-room-ask", room.ask));
    var outputs = [];
    Object.keys(room.count).forEach(function (group) {
      var set = el("fieldset", "room-group");
      set.appendChild(el("legend", "", group));
      var total = el("output", "room-total");
      room.count[group].forEach(function (value) {
        var key = group + "\u0000" + value;
        var row = el("div", "room-value");
        var name = el("span", "room-name");
        name.textContent = value;
        var count = el("output", "room-count");
        var minus = button("\u2212", "room-minus", T("present.one_fewer", { value: value }));
        var plus = button("+", "room-plus", T("present.one_more", { value: value }));
        row.appendChild(minus);
        row.appendChild(plus);
        row.appendChild(count);
        row.appendChild(name);
        set.appendChild(row);
        function add(n) {
          counts[key] = Math.max(0, Math.min(MAX_COUNT, (counts[key] || 0) + n));
          save();
        }
        minus.addEventListener("click", function () { add(-1); });
        plus.addEventListener("click", function () { add(1); });
        outputs.push(function () {
          count.textContent = T("number", { value: counts[key] || 0 });
        });
      });
      set.appendChild(total);
      outputs.push(function () {
        var sum = room.count[group].reduce(function (a, v) { return a + (counts[group + "\u0000" + v] || 0); }, 0);
        total.textContent = T("present.reported", { n: sum });
      });
      box.appendChild(set);
    });
    var clear = button(T("present.start_again"), "room-clear");
    clear.addEventListener("click", function () { counts = {}; save(); });
    box.appendChild(clear);
    function save() {
      try { localStorage.setItem(ROOM_KEY, JSON.stringify(counts)); } catch (e) { /* private mode: keep it in the page */ }
      render();
    }
    function render() { outputs.forEach(function (f) { f(); }); }
    window.addEventListener("storage", function (event) {
      if (event.key !== ROOM_KEY) return;
      counts = readCounts(event.newValue, keys);
      render();
    });
    render();
    return box;
  }

  /* ---- The notes window: follows the presenter, sends its keys back ---- */

  /* A presentation clicker sends PageDown / PageUp, some send the arrows or Space (Shift+Space
     goes back). In a form control the arrows and Space stay the control's own. N and W both
     open the notes in their own window: notes drawn over the slide would show on a mirrored
     projector, so the bar's "Notes here" button is the one explicit way to put them on this screen. */
  function keyCommand(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return null;
    var inControl = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    var k = window.Stepthrough ? Stepthrough.arrow(event.key) : event.key;  // ← is forward right to left
    if (!inControl && k === " ") return event.shiftKey ? "prev" : "next";
    if (k === "PageDown" || (!inControl && (k === "ArrowRight" || k === "ArrowDown"))) return "next";
    if (k === "PageUp" || (!inControl && (k === "ArrowLeft" || k === "ArrowUp"))) return "prev";
    if (inControl) return null;
    return { Escape: "leave", n: "window", N: "window", w: "window", W: "window", t: "timer", T: "timer" }[k] || null;
  }

  /* The presenter's state from a message, typed and ranged, or null when it is not one: a slide of
     this deck, one of its lines, a time spent on each step (missing: none yet), running or not. */
  function presenterState(message) {
    if (!message || typeof message !== "object" || message.kind !== STATE) return null;
    var slide = message.slide, line = message.line, spent = message.spent;
    if (!isWhole(slide, 0, slides.length - 1)) return null;
    if (!isWhole(line, 0, Math.max(linesOf(slide).length - 1, 0))) return null;
    var valid = Array.isArray(spent) && spent.length === steps.length && spent.every(function (ms) {
      return typeof ms === "number" && isFinite(ms) && ms >= 0;
    });
    return {
      slide: slide, line: line, running: message.running === true,
      spent: valid ? spent.slice() : steps.map(function () { return 0; })
    };
  }

  if (/^#present-notes(\?|$)/.test(location.hash)) {
    root.classList.add("notes-window");
    var panel = el("div", "present-notes is-window");
    panel.setAttribute("role", "main");  // this window's one content: its landmark, named by its <h1>
    panel.setAttribute("aria-label", T("present.notes"));
    panel.appendChild(el("h1", "visually-hidden", T("present.notes")));
    var controls = el("div", "notes-controls");
    controls.appendChild(button(T("present.back_button"), "prev"));
    controls.appendChild(button(T("present.next_button"), "next"));
    controls.appendChild(button(T("present.pause_timer"), "timer"));
    panel.appendChild(controls);
    var notesView = new Notes(panel);
    var waiting = el("p", "notes-waiting", T("present.waiting"));
    notesView.body.appendChild(waiting);
    document.body.appendChild(panel);
    // The presentation's token, from the link the presenter opened: without it, no command counts.
    var notesToken = new URLSearchParams(location.hash.slice("#present-notes?".length)).get("token") || "";
    var remote = null, received = 0;
    var send = function (command) {
      if (window.opener) window.opener.postMessage({ kind: COMMAND, command: command, token: notesToken }, TARGET);
    };
    controls.addEventListener("click", function (event) {
      var b = event.target.closest("button");
      if (b) send(b.dataset.action);
    });
    document.addEventListener("keydown", function (event) {
      var command = keyCommand(event);
      if (command === "next" || command === "prev" || command === "timer") {
        event.preventDefault();
        send(command);
      }
    });
    window.addEventListener("message", function (event) {
      if (!window.opener || event.source !== window.opener || !fromOwnPage(event)) return;
      var shown = presenterState(event.data);
      if (!shown) return;
      remote = shown;
      received = Date.now();
      controls.querySelector("[data-action=timer]").textContent = T(remote.running ? "present.pause_timer" : "present.start_timer");
      controls.querySelector("[data-action=timer]").hidden = !steps.length;
      notesView.show(remote.slide, remote.line);
    });
    setInterval(function () {
      if (!remote) return;
      var spent = remote.spent.slice(), step = slides[remote.slide].step;
      if (remote.running && step !== null) spent[step] += Date.now() - received;
      notesView.tick(step, spent);
    }, 250);
    send("hello");
    return;
  }

  /* ---- The presenter ---- */

  var state = { presenting: false, slide: 0, line: 0, notes: false };
  var timer = new Timer();
  var notesWindow = null;
  var token = randomToken();  // names this presentation to its notes window

  function randomToken() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  var bar, strip, where, timerOut, notes, roomLink;

  function currentStep() { return slides[state.slide].step; }

  function build() {
    // Each projector line's class is the script's to give: the page carries it on none (first-screen bytes).
    document.querySelectorAll(".present-lines > p").forEach(function (p) { p.classList.add("present-line"); });
    bar = el("div", "present-bar");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", T("present.presenter"));
    strip = el("ol", "present-strip");
    var weights = slides.map(function (s) {
      if (s.step === null) return 1;
      var shared = slides.filter(function (o) { return o.step === s.step; }).length;
      return steps[s.step].minutes / shared;
    });
    slides.forEach(function (s, i) {
      var item = el("li");
      item.style.flexGrow = weights[i];
      var jump = button("", "go", T("present.jump", { slide: i + 1, title: titleOf(i) }));
      jump.dataset.slide = i;
      item.appendChild(jump);
      strip.appendChild(item);
    });
    var row = el("div", "present-row");
    var rtl = window.Stepthrough && Stepthrough.rtl;  // ← goes forward right to left
    row.appendChild(button("\u2039", "prev", T("present.back"), rtl ? "PageUp ArrowRight Shift+Space" : "PageUp ArrowLeft Shift+Space"));
    row.appendChild(button("\u203A", "next", T("present.next_label"), rtl ? "PageDown ArrowLeft Space" : "PageDown ArrowRight Space"));
    where = el("p", "present-where");
    where.setAttribute("aria-live", "polite");
    row.appendChild(where);
    timerOut = el("p", "present-clock");
    timerOut.setAttribute("role", "timer");
    row.appendChild(timerOut);
    if (steps.length) row.appendChild(button(T("pause"), "timer", null, "T"));
    row.appendChild(button(T("present.notes_window"), "window", null, "N W"));
    row.appendChild(button(T("present.notes_here"), "notes"));  // over the slide: only when asked
    row.appendChild(button(T("present.exit"), "leave", null, "Escape"));
    bar.appendChild(strip);
    bar.appendChild(row);
    if (data.room) {  // a step that hands out the room link shows it to the room, big
      roomLink = el("p", "present-room", T("present.your_device"));
      roomLink.appendChild(el("code", "", pageName() + data.room.link));
      roomLink.hidden = true;
    }
    bar.addEventListener("click", function (event) {
      var b = event.target.closest("button");
      if (!b) return;
      if (b.dataset.action === "go") go(Number(b.dataset.slide), 0);
      else run(b.dataset.action);
    });
    notes = new Notes(el("div", "present-notes"));
    notes.container.setAttribute("role", "region");
    notes.container.setAttribute("aria-label", T("present.notes"));
    notes.container.hidden = true;
    document.body.appendChild(notes.container);
    // The projected page's banner: the bar, and the site's title for a screen reader (the page
    // header, with its <h1>, is off the slides).
    var head = el("header", "present-head"), h1 = document.querySelector("h1");  // the site header's
    head.append(el("h1", "visually-hidden", h1 ? h1.textContent : document.title), bar);
    document.body.appendChild(head);
    setInterval(tick, 250);
  }

  function run(command) {
    if (command === "next") next();
    else if (command === "prev") prev();
    else if (command === "leave") leave();
    else if (command === "notes") { state.notes = !state.notes; render(); }
    else if (command === "window") openNotesWindow();
    else if (command === "timer" && steps.length) {
      timer.credit(currentStep());
      timer.running = !timer.running;
      render();
    } else if (command === "hello") broadcast();
  }

  function enter(slide, line) {
    if (!slides.length) return;
    if (!bar) build();
    state.presenting = true;
    root.classList.add("presenting");
    if (steps.length && !timer.running) { timer.running = true; timer.since = Date.now(); }
    go(slide, line);
  }

  function leave() {
    if (!state.presenting) return;
    timer.credit(currentStep());
    timer.running = false;
    state.presenting = false;
    root.classList.remove("presenting");
    if (fitting) fitting.disconnect();
    if (fitted) unfit(fitted);
    fitting = fitted = null;
    var section = sectionOf(state.slide);
    document.querySelectorAll(".section.is-current").forEach(function (s) { s.classList.remove("is-current"); });
    history.replaceState(null, "", "#" + slides[state.slide].section);
    if (section) section.scrollIntoView();
    broadcast();
  }

  function go(slide, line) {
    timer.credit(currentStep());
    state.slide = Math.max(0, Math.min(slides.length - 1, slide));
    var count = linesOf(state.slide).length;
    state.line = Math.max(0, Math.min(Math.max(count - 1, 0), line < 0 ? count - 1 : line));
    scrubLine();
    render();
  }

  /* Drive the slide's widget to its line. */
  function scrubLine() {
    var count = linesOf(state.slide).length;
    var scrub = window.Stepthrough && Stepthrough.scrubbers[slides[state.slide].section];
    if (scrub) scrub(count > 1 ? state.line / (count - 1) : 1);
    // After the scrub: a widget may write its own state into the address.
    history.replaceState(null, "", "#present?slide=" + (state.slide + 1) + "&line=" + (state.line + 1));
  }

  // A widget whose data loads as its section comes into view starts after its slide showed.
  document.addEventListener("stepthrough:ready", function (event) {
    var section = state.presenting && sectionOf(state.slide);
    if (section && section.contains(event.target)) scrubLine();
  });

  function next() {
    if (state.line + 1 < linesOf(state.slide).length) go(state.slide, state.line + 1);
    else if (state.slide + 1 < slides.length) go(state.slide + 1, 0);
  }

  function prev() {
    if (state.line > 0) go(state.slide, state.line - 1);
    else if (state.slide > 0) go(state.slide - 1, -1);
  }

  function render() {
    var current = sectionOf(state.slide);
    document.querySelectorAll(".section.is-current").forEach(function (s) {
      if (s !== current) s.classList.remove("is-current");
    });
    if (current) current.classList.add("is-current");
    Array.prototype.forEach.call(linesOf(state.slide), function (line, i) {
      line.classList.toggle("is-shown", i <= state.line);
      line.classList.toggle("is-now", i === state.line);
    });
    Array.prototype.forEach.call(strip.children, function (item, i) {
      item.classList.toggle("is-done", i < state.slide);
      item.classList.toggle("is-current", i === state.slide);
      item.firstChild.setAttribute("aria-current", i === state.slide ? "step" : "false");
    });
    var s = slides[state.slide];
    where.textContent = (state.slide + 1) + " / " + slides.length + " · " +
      (s.step !== null ? steps[s.step].title + ": " : "") + titleOf(state.slide);
    notes.container.hidden = !state.notes;
    if (roomLink) {  // under the slide's title, above its lines
      roomLink.hidden = s.step === null || !steps[s.step].room;
      var heading = current && current.querySelector(".prose > h2");
      if (!roomLink.hidden && heading) heading.after(roomLink);
    }
    bar.querySelector("[data-action=notes]").setAttribute("aria-pressed", String(state.notes));
    var pause = bar.querySelector("[data-action=timer]");
    if (pause) pause.textContent = T(timer.running ? "pause" : "start");
    notes.show(state.slide, state.line);
    window.scrollTo(0, 0);
    fit(current);
    var now = current && current.querySelector(".present-line.is-now");
    if (now) now.scrollIntoView({ block: "nearest" });  // text taller than the screen scrolls in its column
    tick();
    broadcast();
  }

  /* Every slide fits the projector (1280 × 720, 1024 × 768 …): a column taller than its room (many
     lines, a tall widget) is shown smaller as a whole (a CSS scale, style.css .present-fit) rather
     than scroll or spill. Measured again when its widget starts, its pictures arrive or the window
     changes size (a scale changes no size, so measuring never loops). */
  var fitting = null, fitted = null;
  function unfit(section) {
    section.querySelectorAll(".present-fit").forEach(function (el) {
      el.classList.remove("present-fit");
      el.style.transform = "";
    });
  }
  function fit(section) {
    if (!section) return;
    if (fitted !== section) {
      if (fitted) unfit(fitted);
      if (fitting) fitting.disconnect();
      fitted = section;
      if ("ResizeObserver" in window) {
        fitting = new ResizeObserver(function () { if (state.presenting) fit(fitted); });
        section.querySelectorAll(".prose, .widget-column, .widget-column > *").forEach(function (el) { fitting.observe(el); });
      }
    }
    section.querySelectorAll(".prose, .widget-column > *").forEach(function (el) {
      el.classList.add("present-fit");  // its whole height, to measure
      var room = el.matches(".prose") ? section.clientHeight - parseFloat(getComputedStyle(section).paddingTop) -
        parseFloat(getComputedStyle(section).paddingBottom) : el.parentElement.clientHeight;
      var scale = Math.min(1, room / el.offsetHeight);
      if (scale >= 0.999) el.classList.remove("present-fit");
      el.style.transform = scale < 0.999 ? "scale(" + scale + ")" : "";
    });
  }

  function tick() {
    if (!state.presenting) return;
    timer.credit(currentStep());
    var t = timerText(currentStep(), timer.spent);
    timerOut.textContent = t.step ? t.step + " · " + t.total : "";
    timerOut.classList.toggle("is-over", t.over);
    notes.tick(currentStep(), timer.spent);
  }

  function broadcast() {
    if (!notesWindow || notesWindow.closed) return;
    timer.credit(currentStep());
    notesWindow.postMessage({
      kind: STATE, slide: state.slide, line: state.line, spent: timer.spent.slice(),
      running: timer.running && state.presenting
    }, TARGET);
  }

  function openNotesWindow() {
    var link = location.href.split("#")[0] + "#present-notes?token=" + token;
    notesWindow = window.open(link, WINDOW_NAME, "popup,width=760,height=720");
  }

  window.addEventListener("message", function (event) {
    if (!notesWindow || event.source !== notesWindow || !fromOwnPage(event)) return;
    var message = event.data;
    if (!message || typeof message !== "object" || message.kind !== COMMAND || message.token !== token) return;
    if (COMMANDS.indexOf(message.command) < 0) return;
    if (state.presenting || message.command === "hello") run(message.command);
  });

  // Capture: the presenter's keys come before a widget's own (a clicker must always turn the page),
  // except in a form control, where arrows still move the slider or the picker the reader is on.
  document.addEventListener("keydown", function (event) {
    if (!state.presenting) return;
    var command = keyCommand(event);
    if (!command) return;
    event.preventDefault();
    event.stopPropagation();
    run(command);
  }, true);

  function fromHash() {
    var hash = location.hash;
    if (hash !== "#present" && hash.indexOf("#present?") !== 0) return;
    var query = new URLSearchParams(hash.slice("#present?".length));
    var slide = (parseInt(query.get("slide"), 10) || 1) - 1, line = (parseInt(query.get("line"), 10) || 1) - 1;
    if (!state.presenting) enter(slide, line);
  }

  document.querySelectorAll(".present-button").forEach(function (b) { b.hidden = !slides.length; });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
