/* Forms marked data-submit-once (the quality sample's draw buttons): the submit button disables
 * while the request runs, so a second click cannot send a second draw. The server returns the
 * pending sample to a repeat anyway (annotation.services.quality.unjudged_sample_or_job); this
 * only spares the wait. Loaded with defer; no inline script (CSP). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-submit-once")) { return; }
    if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    form.setAttribute("aria-busy", "true");
    // Disabled after the form data is read, so the button's own name and value still go.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    }, 0);
  });
  // Back from the next page (bfcache): the form is usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submit-once][aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
    });
  });
})();
