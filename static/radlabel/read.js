/* Keyboard flow of the confirmation screen (templates/annotation/read.html).
 * Every action is a real form or link; keys only focus rows, tick radios and submit forms,
 * so the page works the same without this file. Loaded with defer; no inline script (CSP). */
(function () {
  "use strict";
  var VALUE_KEYS = { p: "positive", n: "negative", u: "uncertain", a: "absent" };
  var busy = false;

  function panel() { return document.getElementById("read-panel"); }
  function rows() { var p = panel(); return p ? Array.prototype.slice.call(p.querySelectorAll(".label-row")) : []; }
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
  function setValue(value) {
    var all = rows();
    var index = currentIndex();
    var row = all[index];
    if (!row) { return; }
    var input = row.querySelector('input[type="radio"][value="' + value + '"]');
    if (input) { input.checked = true; }
    setCurrent(index + 1);
  }
  function submit(selector) {
    var p = panel();
    var button = p && p.querySelector(selector);
    if (!button || busy) { return; }
    var form = button.form;
    if (form && form.requestSubmit) { form.requestSubmit(button); } else if (form) { form.submit(); }
  }
  function follow(selector) {
    var p = panel();
    var link = p && p.querySelector(selector);
    if (link && !busy) { link.click(); }
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox");
  }

  document.addEventListener("keydown", function (event) {
    if (!panel() || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
    var key = event.key;
    var handled = true;
    if (key === "j" || key === "ArrowDown") { setCurrent(currentIndex() + 1); }
    else if (key === "k" || key === "ArrowUp") { setCurrent(currentIndex() - 1); }
    else if (VALUE_KEYS[key.toLowerCase()] && !event.shiftKey) { setValue(VALUE_KEYS[key.toLowerCase()]); }
    else if (key === "Enter") { submit('[data-action="confirm"]'); }
    else if (key === "s") { submit('[data-action="skip"]'); }
    else if (key === "z") { submit('[data-action="undo"]'); }
    else if (key === "b") { follow('[data-action="back"]'); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });

  // Clicking a row makes it the current one.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest(".label-row");
    if (row) { setCurrent(rows().indexOf(row)); }
  });

  // A conflict (409) or refused input (400) answers the panel with the reason and the reader's
  // choices: swap it in rather than dropping it, so nothing is lost silently.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 400) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  // Only the panel's own actions make it busy: the image strip loads beside the report after
  // every swap, and a key pressed meanwhile must still confirm.
  function panelAction(event) {
    var elt = event.detail && event.detail.elt;
    return !(elt && elt.closest && elt.closest("#study-images"));
  }
  document.addEventListener("htmx:beforeRequest", function (event) { if (panelAction(event)) { busy = true; } });
  document.addEventListener("htmx:afterRequest", function (event) { if (panelAction(event)) { busy = false; } });

  // Hide the undo bar when its window closes (the server refuses late undos anyway).
  function watchUndo() {
    var bar = document.querySelector(".undo-bar[data-undo-until]");
    if (!bar) { return; }
    var left = parseInt(bar.getAttribute("data-undo-until"), 10) - Date.now();
    window.setTimeout(function () { if (bar.parentNode) { bar.parentNode.removeChild(bar); } }, Math.max(0, left));
  }
  document.addEventListener("htmx:afterSettle", watchUndo);
  document.addEventListener("DOMContentLoaded", watchUndo);
})();
