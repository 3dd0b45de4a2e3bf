// Attendance of a workshop: a trainee who came was expected, and one no longer expected
// cannot have come. The header boxes tick or untick a whole column.
(function () {
  "use strict";
  function boxes(row) {
    return {
      expected: row.querySelector('input[name="trainees"]'),
      present: row.querySelector('input[name="present"]'),
    };
  }
  const rows = Array.from(document.querySelectorAll("[data-attendance-row]"));
  rows.forEach(function (row) {
    const box = boxes(row);
    box.present.addEventListener("change", function () {
      if (box.present.checked) box.expected.checked = true;
    });
    box.expected.addEventListener("change", function () {
      if (!box.expected.checked) box.present.checked = false;
    });
  });
  document.querySelectorAll("[data-attendance-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      rows.forEach(function (row) {
        const box = boxes(row);
        if (all.dataset.attendanceAll === "present") {
          box.present.checked = all.checked;
          if (all.checked) box.expected.checked = true;
        } else {
          box.expected.checked = all.checked;
          if (!all.checked) box.present.checked = false;
        }
      });
    });
  });
})();
