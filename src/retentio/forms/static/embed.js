/* Retentio embedded form: renders the form into <div data-retentio-form="ID"></div>, counts a
 * view and posts the answers to Retentio.
 *
 * Every text that comes from the form's definition is set with textContent, never innerHTML:
 * the definition is written by people and must not become markup on the shop's page.
 * The server puts the definition in place of the placeholder argument at the bottom.
 */
(function (window, document, form) {
  "use strict";

  var TEXTS = {
    en: {send: "Send", sending: "Sending…", thanks: "Thank you!",
         failed: "The form could not be sent. Please try again.",
         check: "Please check the highlighted fields.", invalid: "Please check this field.",
         email: "Enter a valid e-mail address.", phone: "Enter a valid phone number.",
         required: "This field is required."},
    ru: {send: "Отправить", sending: "Отправляем…", thanks: "Спасибо!",
         failed: "Не удалось отправить форму. Попробуйте ещё раз.",
         check: "Проверьте отмеченные поля.", invalid: "Проверьте это поле.",
         email: "Введите корректный адрес e-mail.", phone: "Введите корректный номер телефона.",
         required: "Это поле нужно заполнить."}
  };
  var INPUT_TYPES = {text: "text", email: "email", tel: "tel", date: "date", checkbox: "checkbox"};
  var STYLE = ".retentio-form{display:grid;gap:.75rem;max-width:28rem}" +
    ".retentio-field{display:grid;gap:.25rem}" +
    ".retentio-check{display:flex;gap:.5rem;align-items:flex-start}" +
    ".retentio-error{color:#b42318;font-size:.9em}" +
    ".retentio-form [aria-invalid=true]{border-color:#b42318}";

  var script = document.currentScript;
  var base = script ? script.src : form.script;
  var submitUrl = new URL(form.id + "/submit", base).href;
  var viewUrl = new URL(form.id + "/view", base).href;
  var lang = (document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var texts = TEXTS[lang] || TEXTS.en;
  var rendered = 0;

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    for (var name in attributes) { node.setAttribute(name, attributes[name]); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(name + "=") === 0) {
        try { return decodeURIComponent(parts[i].slice(name.length + 1)); } catch (e) { return null; }
      }
    }
    return null;
  }
  // The tracker (t.js) knows the visitor; sending its id lets Retentio join their history.
  function tracker() {
    var api = window.retentio;
    return api && typeof api.anonymousId === "function" ? api : null;
  }
  function anonymousId() {
    return tracker() ? tracker().anonymousId() : readCookie("rt_aid");
  }
  function campaign() {
    if (tracker() && typeof tracker().campaign === "function") { return tracker().campaign(); }
    try { return JSON.parse(window.sessionStorage.getItem("retentio.campaign") || "null"); } catch (e) { return null; }
  }

  function addStyle() {
    if (document.querySelector("style[data-retentio-form-style]")) { return; }
    var style = element("style", {"data-retentio-form-style": ""}, STYLE);
    (document.head || document.documentElement).appendChild(style);
  }

  function fieldRow(prefix, field) {
    var id = prefix + "-" + field.name;
    var input = element("input", {id: id, name: field.name, type: INPUT_TYPES[field.kind] || "text",
                                  "aria-describedby": id + "-error"});
    if (field.autocomplete) { input.setAttribute("autocomplete", field.autocomplete); }
    if (field.required) { input.required = true; }
    if (field.maxlength) { input.maxLength = field.maxlength; }
    var label = element("label", {"for": id}, field.label);
    var row = element("div", {"class": field.kind === "checkbox" ? "retentio-check" : "retentio-field"});
    if (field.kind === "checkbox") {
      row.appendChild(input);
      row.appendChild(label);
    } else {
      row.appendChild(label);
      row.appendChild(input);
    }
    row.appendChild(element("div", {id: id + "-error", "class": "retentio-error", hidden: ""}));
    return {row: row, input: input, field: field};
  }

  function consentRow(prefix, consent) {
    var id = prefix + "-consent-" + consent.key;
    var input = element("input", {id: id, name: "consents." + consent.key, type: "checkbox",
                                  "aria-describedby": id + "-error"});
    if (consent.required) { input.required = true; }
    var row = element("div", {"class": "retentio-check"});
    row.appendChild(input);
    row.appendChild(element("label", {"for": id}, consent.text));
    row.appendChild(element("div", {id: id + "-error", "class": "retentio-error", hidden: ""}));
    return {row: row, input: input, consent: consent};
  }

  function render(host) {
    var prefix = "retentio-" + form.id + "-" + (rendered += 1);
    var node = element("form", {"class": "retentio-form", "data-retentio-form-id": form.id});
    if (form.name) { node.setAttribute("aria-label", form.name); }
    var inputs = form.fields.map(function (field) { return fieldRow(prefix, field); });
    var consents = form.consents.map(function (consent) { return consentRow(prefix, consent); });
    inputs.concat(consents).forEach(function (item) { node.appendChild(item.row); });
    var status = element("div", {"class": "retentio-status", role: "status", "aria-live": "polite"});
    var button = element("button", {type: "submit"}, texts.send);
    node.appendChild(status);
    node.appendChild(button);
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      send({node: node, inputs: inputs, consents: consents, status: status, button: button});
    });
    host.appendChild(node);
  }

  function answers(parts) {
    var values = {};
    var consents = {};
    parts.inputs.forEach(function (item) {
      values[item.field.name] = item.field.kind === "checkbox" ? item.input.checked : item.input.value;
    });
    parts.consents.forEach(function (item) { consents[item.consent.key] = item.input.checked; });
    return {values: values, consents: consents, anonymous_id: anonymousId(),
            page_url: window.location.href.slice(0, 2000), campaign: campaign()};
  }

  function clearErrors(parts) {
    parts.inputs.concat(parts.consents).forEach(function (item) {
      item.input.removeAttribute("aria-invalid");
      var error = document.getElementById(item.input.id + "-error");
      error.textContent = "";
      error.hidden = true;
    });
    parts.status.textContent = "";
  }

  function markError(parts, field, code) {
    var all = parts.inputs.concat(parts.consents);
    for (var i = 0; i < all.length; i++) {
      if (all[i].input.name === field) {
        var message = code === "invalid_email" ? texts.email
          : code === "invalid_phone" ? texts.phone
          : all[i].input.required && !all[i].input.value ? texts.required : texts.invalid;
        var error = document.getElementById(all[i].input.id + "-error");
        all[i].input.setAttribute("aria-invalid", "true");
        error.textContent = message;
        error.hidden = false;
        return all[i].input;
      }
    }
    return null;
  }

  function showFailure(parts, body) {
    var error = body && body.error ? body.error : {};
    var details = Array.isArray(error.details) ? error.details : error.details ? [error.details] : [];
    var first = null;
    details.forEach(function (detail) {
      var input = detail && detail.field ? markError(parts, detail.field, error.code) : null;
      first = first || input;
    });
    parts.status.textContent = first ? texts.check : texts.failed;
    if (first) { first.focus(); }
  }

  function showSuccess(parts) {
    var done = element("div", {"class": "retentio-success", role: "status", tabindex: "-1"},
                       form.success || texts.thanks);
    parts.node.parentNode.replaceChild(done, parts.node);
    done.focus();
  }

  function send(parts) {
    clearErrors(parts);
    parts.button.disabled = true;
    parts.button.textContent = texts.sending;
    window.fetch(submitUrl, {method: "POST", mode: "cors", credentials: "omit",
                             headers: {"Content-Type": "application/json"},
                             body: JSON.stringify(answers(parts))})
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.ok) { showSuccess(parts); } else { showFailure(parts, body); }
        });
      })
      .catch(function () { parts.status.textContent = texts.failed; })
      .then(function () {
        parts.button.disabled = false;
        parts.button.textContent = texts.send;
      });
  }

  function countView() {
    // A simple request (no body, no custom header): no preflight for a counter.
    window.fetch(viewUrl, {method: "POST", mode: "cors", credentials: "omit", keepalive: true})
      .catch(function () { /* a lost view is not worth bothering the visitor */ });
  }

  function start() {
    var hosts = document.querySelectorAll("[data-retentio-form]");
    var found = 0;
    for (var i = 0; i < hosts.length; i++) {
      // Compared as text, not put into a selector: ids never become CSS or markup.
      var host = hosts[i];
      if (host.getAttribute("data-retentio-form") === form.id &&
          !host.hasAttribute("data-retentio-rendered")) {
        host.setAttribute("data-retentio-rendered", "");
        render(host);
        found += 1;
      }
    }
    if (found) {
      addStyle();
      countView();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window, document, __RETENTIO_FORM__);
