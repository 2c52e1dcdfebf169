// The import pages' script. The job page polls the job once a second while it runs, moves the
// progress bar and the counts, and reloads when it ends so the rejected rows and final state
// show. The schedule form's presets fill in the cron expression.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-cron-picker]").forEach(cronPicker);
    var box = document.querySelector("[data-import-job]");
    if (!box || box.getAttribute("data-active") !== "true") { return; }
    var url = box.getAttribute("data-poll-url");
    var dryRun = box.getAttribute("data-dry-run") === "true";
    var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    var statusLabels = JSON.parse(box.getAttribute("data-status-labels") || "{}");
    var bar = box.querySelector("[data-progress]");
    var text = box.querySelector("[data-progress-text]");
    var status = box.querySelector("[data-status]");

    function show(job) {
      var queued = box.querySelector("[data-queued-note]");
      if (queued && job.total_rows !== null) { queued.hidden = true; }
      // A dry run writes its counts only at the end: keep its bar indeterminate until then.
      if (job.total_rows !== null && !dryRun) {
        bar.max = job.total_rows;
        bar.value = job.position;
        text.textContent = box.getAttribute("data-progress-template")
          .replace("{done}", numbers.format(job.position))
          .replace("{total}", numbers.format(job.total_rows));
      } else {
        text.textContent = box.getAttribute("data-progress-unknown")
          .replace("{done}", numbers.format(job.position));
      }
      ["rows_read", "inserted", "updated", "unchanged", "rejected"].forEach(function (name) {
        var cell = box.querySelector('[data-count="' + name + '"]');
        if (cell) { cell.textContent = numbers.format(job[name]); }
      });
      if (status && statusLabels[job.status]) {
        status.textContent = statusLabels[job.status];
        status.setAttribute("data-status", job.status);
        status.className = "status status-" + job.status;
      }
    }

    function poll() {
      window.fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (job) {
          show(job);
          if (job.status === "done" || job.status === "failed") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 1000);
  });
  // A preset fills the expression; typing an expression of one's own clears the preset.
  function cronPicker(box) {
    var preset = box.querySelector("[data-cron-preset]");
    var input = box.querySelector("[data-cron-input]");
    preset.addEventListener("change", function () { if (preset.value) { input.value = preset.value; } });
    input.addEventListener("input", function () { preset.value = ""; });
  }
})();
