// The "Select all" box of django-import-export's export page, wired here rather than by an
// inline onchange attribute, which the Content Security Policy blocks
// (templates/admin/import_export/export.html).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".select-toggle").forEach((toggle) => {
    toggle.addEventListener("change", () => {
      document
        .querySelectorAll('.selectable-field-export-row input[type="checkbox"]')
        .forEach((checkbox) => {
          checkbox.checked = toggle.checked;
        });
    });
  });
});
