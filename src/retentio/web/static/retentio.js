// Retentio's small page script: the phone menu, and the CSRF header for scripted requests.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.getElementById("sidenav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    document.querySelectorAll("form[data-bulk]").forEach(bulkSelection);
  });
  // Lists with bulk actions: "select all" on the page and a count of selected rows.
  function bulkSelection(form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    var boxes = function () { return form.querySelectorAll("input[name=ids]"); };
    var update = function () {
      var n = form.querySelectorAll("input[name=ids]:checked").length;
      if (count) { count.textContent = String(n); }
      if (all) { all.checked = n > 0 && n === boxes().length; }
    };
    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", update);
    update();
  }
  // Buttons that destroy something ask first: <button data-confirm="Delete?">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.retentio = {
    // fetch() with the session's CSRF token, for pages that post JSON.
    fetch: function (url, options) {
      options = options || {};
      options.headers = Object.assign({"X-CSRF-Token": meta ? meta.content : ""}, options.headers || {});
      options.credentials = "same-origin";
      return window.fetch(url, options);
    }
  };
})();
