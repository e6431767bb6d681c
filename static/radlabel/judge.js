/* Keyboard judging on the quality pages (templates/annotation/matches.html, quality_judge.html).
 * Every action is a real form or link; keys only move the current row, click buttons and follow
 * links, so the pages work the same without this file. Loaded with defer; no inline script (CSP).
 *
 * Matches in context: j/k (or arrows) move, y right, n wrong, c focuses the row's note,
 * Enter in a note judges the match right, Esc leaves the note; [ and ] change page.
 * Quality sample: p / n / u / a give the correct value at once; b goes back one item. */
(function () {
  "use strict";
  var busy = false;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".match-row")); }
  function currentIndex() {
    var all = rows();
    for (var i = 0; i < all.length; i++) { if (all[i].classList.contains("current")) { return i; } }
    return 0;
  }
  function setCurrent(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("current", i === index); });
    all[index].scrollIntoView({ block: "nearest" });
  }
  function clickIn(root, selector) {
    var el = root && root.querySelector(selector);
    if (el && !busy) { el.click(); return true; }
    return false;
  }
  // Keys pressed while a verdict is still being saved wait their turn instead of being dropped:
  // a curator typing y y y fast judges every row, in order (each row is its own form).
  var queued = [];
  function judgeCurrent(action) {
    var all = rows();
    var index = currentIndex();
    var button = all[index] && all[index].querySelector('[data-action="' + action + '"]');
    if (!button) { return; }
    setCurrent(index + 1);
    if (busy) { queued.push(button); } else { button.click(); }
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox");
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (target && target.classList && target.classList.contains("note-input")) {
      if (event.key === "Escape") { target.blur(); event.preventDefault(); }
      else if (event.key === "Enter") {
        event.preventDefault();
        var row = target.closest(".match-row");
        setCurrent(rows().indexOf(row));
        target.blur();
        judgeCurrent("right");
      }
      return;
    }
    if (typing(target)) { return; }
    var key = event.key;
    var handled = true;
    var judgePanel = document.getElementById("judge-panel");
    if (judgePanel && judgePanel.querySelector("form.quality-judge")) {
      var value = { p: "positive", n: "negative", u: "uncertain", a: "absent" }[key];
      if (value) { clickIn(judgePanel, 'button[value="' + value + '"]'); }
      else if (key === "b") { clickIn(judgePanel, '[data-action="back"]'); }
      else { handled = false; }
    } else if (rows().length) {
      if (key === "j" || key === "ArrowDown") { setCurrent(currentIndex() + 1); }
      else if (key === "k" || key === "ArrowUp") { setCurrent(currentIndex() - 1); }
      else if (key === "y") { judgeCurrent("right"); }
      else if (key === "n") { judgeCurrent("wrong"); }
      else if (key === "c") {
        var note = rows()[currentIndex()].querySelector(".note-input");
        if (note) { note.focus(); }
      }
      else if (key === "]") { clickIn(document, '[data-action="next"]'); }
      else if (key === "[") { clickIn(document, '[data-action="prev"]'); }
      else { handled = false; }
    } else { handled = false; }
    if (handled) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    // Only a real click moves the current row; the keys' own (queued) clicks must not pull it back.
    var row = event.isTrusted && event.target.closest && event.target.closest(".match-row");
    if (row) { setCurrent(rows().indexOf(row)); }
  });
  // A refused judgement (400) answers a reason: show it rather than dropping it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  document.addEventListener("htmx:beforeRequest", function () { busy = true; });
  document.addEventListener("htmx:afterRequest", function () {
    busy = false;
    if (queued.length) { queued.shift().click(); }
  });
})();
