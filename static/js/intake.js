// Intake form: "Add a row" copies the empty row of the Django formset.
(function () {
  "use strict";
  const button = document.querySelector("[data-add-row]");
  if (!button) return;
  const prefix = button.dataset.addRow;
  const total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  const template = document.getElementById("intake-row-template");
  const rows = document.getElementById("intake-rows");
  button.addEventListener("click", function () {
    const index = parseInt(total.value, 10);
    const html = template.innerHTML
      .replace(/__prefix__/g, String(index))
      .replace(/__number__/g, String(index + 1));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    const first = rows.lastElementChild.querySelector("input");
    if (first) first.focus();
  });
})();
