// Laptop tables: one box ticks or unticks every laptop of the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-tick-all]").forEach(function (box) {
    const name = box.dataset.tickAll;
    box.addEventListener("change", function () {
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (other) {
        other.checked = box.checked;
      });
    });
  });
})();
