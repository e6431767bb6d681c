/* Slice viewer beside the report: thumbnails pick a series, the wheel, the slider or , and .
   move through slices, 1-5 pick a window preset. Images are PNGs rendered by the server. */
(function () {
  "use strict";

  function viewer() { return document.getElementById("study-images"); }

  function show(root, index) {
    var image = root.querySelector("#viewer-image");
    var count = parseInt(image.dataset.count, 10);
    index = Math.max(0, Math.min(count - 1, index));
    image.dataset.index = String(index);
    var preset = image.dataset.preset;
    image.src = image.dataset.base + "?i=" + index + (preset === "auto" ? "" : "&preset=" + encodeURIComponent(preset));
    image.alt = "Slice " + (index + 1) + " of " + count;
    root.querySelector("#viewer-position").textContent = "Slice " + (index + 1) + " / " + count;
    root.querySelector("#viewer-slider").value = String(index + 1);
  }

  function step(root, delta) {
    var image = root.querySelector("#viewer-image");
    show(root, parseInt(image.dataset.index, 10) + delta);
  }

  function pick(buttons, chosen) {
    buttons.forEach(function (button) {
      var on = button === chosen;
      button.classList.toggle("current", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  function preset(root, button) {
    root.querySelector("#viewer-image").dataset.preset = button.dataset.preset;
    pick(Array.prototype.slice.call(root.querySelectorAll(".preset")), button);
    step(root, 0);
  }

  function series(root, button) {
    var image = root.querySelector("#viewer-image");
    image.dataset.base = button.dataset.src;
    image.dataset.count = button.dataset.count;
    root.querySelector("#viewer-slider").max = button.dataset.count;
    pick(Array.prototype.slice.call(root.querySelectorAll(".series-thumb")), button);
    show(root, Math.floor(parseInt(button.dataset.count, 10) / 2));
  }

  document.addEventListener("click", function (event) {
    var root = viewer();
    if (!root) { return; }
    var button = event.target.closest("#study-images .preset, #study-images .series-thumb");
    if (!button) { return; }
    if (button.classList.contains("preset")) { preset(root, button); } else { series(root, button); }
  });

  document.addEventListener("input", function (event) {
    var root = viewer();
    if (root && event.target.id === "viewer-slider") { show(root, parseInt(event.target.value, 10) - 1); }
  });

  document.addEventListener("wheel", function (event) {
    var root = viewer();
    if (!root || !event.target.closest("#study-images .viewer")) { return; }
    event.preventDefault();
    step(root, event.deltaY > 0 ? 1 : -1);
  }, { passive: false });

  document.addEventListener("keydown", function (event) {
    var root = viewer();
    var tag = (event.target.tagName || "").toLowerCase();
    if (!root || event.ctrlKey || event.metaKey || event.altKey || tag === "input" || tag === "textarea") { return; }
    if (event.key === ".") { step(root, 1); event.preventDefault(); }
    else if (event.key === ",") { step(root, -1); event.preventDefault(); }
    else if (/^[1-5]$/.test(event.key)) {
      var buttons = root.querySelectorAll(".preset");
      var chosen = buttons[parseInt(event.key, 10) - 1];
      if (chosen) { preset(root, chosen); event.preventDefault(); }
    }
  });
})();
