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
