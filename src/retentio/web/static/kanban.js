// The deals board: drag a card to another column, or use its "Move to…" form (which also works
// without this script). Both post to the card's move route asking for JSON, with the version the
// board showed; a lost stage first asks for the reason. After a move, or when someone else moved
// the deal meanwhile (409), the board and the funnel are reloaded from the server.
(function () {
  "use strict";

  function board() { return document.querySelector("[data-testid=kanban]"); }

  function say(message, isError) {
    var status = document.getElementById("board-status");
    var error = document.getElementById("board-error");
    if (status) { status.textContent = message; }
    if (error) {
      error.textContent = isError ? message : "";
      error.hidden = !isError;
    }
  }

  function refresh(dealId) {
    return window.fetch(window.location.href, {credentials: "same-origin"})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["[data-testid=kanban]", "#funnel"].forEach(function (selector) {
          var old = document.querySelector(selector);
          var replacement = fresh.querySelector(selector);
          if (old && replacement) { old.replaceWith(replacement); }
        });
        var card = dealId && document.querySelector('.deal-card[data-deal-id="' + dealId + '"]');
        if (card) { card.focus(); }
      });
  }

  function askLostReason() {
    var dialog = document.getElementById("lost-dialog");
    return new Promise(function (resolve) {
      if (!dialog) { resolve(null); return; }
      dialog.addEventListener("close", function done() {
        dialog.removeEventListener("close", done);
        if (dialog.returnValue !== "ok") { resolve(null); return; }
        resolve({
          reason: dialog.querySelector("[name=lost_reason_id]").value,
          comment: dialog.querySelector("[name=lost_comment]").value
        });
      });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  function post(card, stageId, lost) {
    var form = card.querySelector("[data-move-form]");
    var body = new FormData(form);
    body.set("stage_id", stageId);
    if (lost) {
      body.set("lost_reason_id", lost.reason);
      body.set("lost_comment", lost.comment);
    }
    return window.retentio.fetch(form.action, {
      method: "POST", body: body, headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (response.ok) { say(card.getAttribute("aria-label") + " ✓", false); return; }
      return response.json().then(function (answer) {
        say(answer.error ? answer.error.message : String(response.status), true);
      });
    }).catch(function () {
      say(board().getAttribute("data-offline"), true);
    }).then(function () { return refresh(card.getAttribute("data-deal-id")); });
  }

  function move(card, column) {
    var stageId = column.getAttribute("data-stage-id");
    if (card.closest(".kanban-column") === column) { return; }
    if (column.getAttribute("data-stage-kind") === "lost") {
      askLostReason().then(function (lost) { if (lost) { post(card, stageId, lost); } });
      return;
    }
    post(card, stageId, null);
  }

  // Delegated handlers: the board is replaced after every move.
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) { return; }
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-column");
    if (!column) { return; }
    event.preventDefault();
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-column");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-column");
    if (!column) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    var id = event.dataTransfer.getData("text/plain");
    var card = document.querySelector('.deal-card[data-deal-id="' + id + '"]');
    if (card) { move(card, column); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-move-form]");
    if (!form) { return; }
    event.preventDefault();
    var stageId = form.querySelector("[name=stage_id]").value;
    var column = document.querySelector('.kanban-column[data-stage-id="' + stageId + '"]');
    if (column) { move(form.closest(".deal-card"), column); }
  });
  // The pipeline choice shows its board at once (no inline handler: the CSP forbids them).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
