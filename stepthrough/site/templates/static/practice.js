/* The practice page: the ordering exercise and the flashcards. One state object; every change
   goes through it and the page is redrawn from it. Classic script (the page opens from file://).
   Without this script the page still works: answers are in <details>, cards show both sides. */
(function () {
  "use strict";

  var orderList = document.querySelector(".order-list");
  var cardList = document.querySelector(".flashcards");

  var state = {
    // The stages as the reader has arranged them, top to bottom; each entry is a stage's right place.
    order: orderList ? Array.prototype.map.call(orderList.children, function (li) { return +li.dataset.place; }) : [],
    checked: false,  // true after Check, until the reader moves a stage again
    flipped: {}      // card number → true while the card shows its back
  };

  function show(selector, visible) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = !visible; });
  }

  /* ---- Ordering exercise ---- */

  function stageAt(place) {
    return orderList.querySelector('[data-place="' + place + '"]');
  }

  function plain(li) {
    return li.querySelector(".order-text").textContent;
  }

  function renderOrder() {
    var right = 0, count = state.order.length;
    state.order.forEach(function (place, at) {
      var li = stageAt(place), isRight = place === at;
      orderList.appendChild(li);  // moves it to the end: appending in order rebuilds the list
      li.querySelector(".order-up").disabled = at === 0;
      li.querySelector(".order-down").disabled = at === count - 1;
      li.classList.toggle("is-right", state.checked && isRight);
      li.classList.toggle("is-wrong", state.checked && !isRight);
      li.querySelector(".order-mark").textContent = !state.checked ? "" : Stepthrough.t(isRight ? "practice.right_place" : "practice.not_here");
      if (isRight) right += 1;
    });
    var result = document.querySelector(".order-result");
    if (!state.checked) result.textContent = "";
    else if (right === count) result.textContent = Stepthrough.t("practice.all_right", { n: count });
    else result.textContent = Stepthrough.t("practice.some_right", { right: right, n: count });
  }

  function move(place, by) {
    var at = state.order.indexOf(place), to = at + by;
    if (to < 0 || to >= state.order.length) return;
    state.order[at] = state.order[to];
    state.order[to] = place;
    state.checked = false;
    renderOrder();
    document.querySelector(".order-moved").textContent =
      Stepthrough.t("practice.moved", { stage: plain(stageAt(place)), place: to + 1, n: state.order.length });
  }

  if (orderList) {
    orderList.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var li = button.closest("li");
      move(+li.dataset.place, button.classList.contains("order-up") ? -1 : 1);
      // Rebuilding the list took the focus away; give it back, to the other arrow at the list's ends.
      var other = li.querySelector(button.classList.contains("order-up") ? ".order-down" : ".order-up");
      (button.disabled ? other : button).focus();
    });
    document.querySelector(".order-check").addEventListener("click", function () {
      state.checked = true;
      renderOrder();
    });
    show(".order-moves, .order-controls, .order-how-js", true);
    show(".order-how-paper", false);
    renderOrder();
  }

  /* ---- Flashcards ---- */

  var cards = cardList ? cardList.querySelectorAll(".card") : [];

  function renderCards() {
    cards.forEach(function (card) {
      var flipped = !!state.flipped[card.dataset.card];
      card.classList.toggle("is-flipped", flipped);
      card.setAttribute("aria-pressed", String(flipped));
    });
  }

  function flip(number) {
    state.flipped[number] = !state.flipped[number];
    renderCards();
    var card = cardList.querySelector('[data-card="' + number + '"]');
    card.classList.add("was-turned");  // animate turns the reader makes, not the page loading
    var side = card.querySelector(state.flipped[number] ? ".card-back" : ".card-front");
    document.querySelector(".cards-status").textContent = Stepthrough.t("practice.card_side", { n: number, side: side.textContent });
    // The address names the card last turned to its back, so a link opens it that way.
    var hash = state.flipped[number] ? "#card-" + number : location.hash === "#card-" + number ? "" : location.hash;
    history.replaceState(null, "", location.href.split("#")[0] + hash);  // whole URL: also a blob: page
  }

  if (cardList) {
    cards.forEach(function (card) {
      card.setAttribute("role", "button");
      card.setAttribute("tabindex", "0");
      card.addEventListener("click", function () { flip(card.dataset.card); });
      card.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();  // Space would scroll the page
        flip(card.dataset.card);
      });
    });
    document.querySelector(".cards-print").addEventListener("click", function () { window.print(); });
    // How many cards a printed sheet holds (style.css: 6 without a choice, as without JavaScript).
    document.querySelector(".cards-per-page").addEventListener("change", function (event) {
      cardList.setAttribute("data-per-page", event.target.value);
    });
    var linked = /^#card-(\d+)$/.exec(location.hash);
    if (linked && cardList.querySelector('[data-card="' + linked[1] + '"]')) state.flipped[linked[1]] = true;
    cardList.classList.add("is-live");  // from now on a card shows one side at a time
    show(".cards-controls, .cards-how-js", true);
    renderCards();
  }
})();
