/* Retentio survey widget: shows a survey's answer page inside the shop's own page.
 *
 *   <div data-retentio-survey="https://crm.example/s/TOKEN"></div>
 *   <script src="https://crm.example/s/widget.js" async></script>
 *
 * The shop's backend gets the signed URL for one contact and one showing from
 * POST /api/v1/feedback/surveys/{id}/links; the token is the only credential, so the widget
 * needs no cookie and no write key. Each element becomes a frame of the answer page.
 */
(function () {
  "use strict";
  function mount(holder) {
    var url = holder.getAttribute("data-retentio-survey");
    if (!url || holder.getAttribute("data-retentio-mounted")) return;
    if (!/^https?:\/\/[^\s]+\/s\/[A-Za-z0-9_.=-]+$/.test(url)) return;
    var frame = document.createElement("iframe");
    frame.src = url;
    frame.title = holder.getAttribute("data-title") || "Survey";
    frame.loading = "lazy";
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.height = holder.getAttribute("data-height") || "360px";
    holder.appendChild(frame);
    holder.setAttribute("data-retentio-mounted", "1");
  }
  function mountAll() {
    var holders = document.querySelectorAll("[data-retentio-survey]");
    for (var i = 0; i < holders.length; i++) mount(holders[i]);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
