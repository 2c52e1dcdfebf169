/* Retentio website tracker: page views, campaign (UTM) tags, identify, custom events, cart.
 *
 * Paste on every page of the shop:
 *   <script src="https://crm.example/t.js" data-write-key="KEY" async></script>
 * Calls made before the script has loaded can be queued:
 *   window.retentio = window.retentio || []; retentio.push(["cartAdd", {id: "sku-1"}]);
 *
 * The visitor's anonymous id lives in a first-party cookie (localStorage as a fallback), the
 * campaign of the landing URL in sessionStorage. Events are batched and sent with fetch
 * keepalive (sendBeacon where fetch is missing) as text/plain, so no CORS preflight is needed.
 */
(function (window, document) {
  "use strict";

  var VERSION = "1";
  var COOKIE = "rt_aid";
  var ANON_KEY = "retentio.aid";
  var USER_KEY = "retentio.uid";
  var CAMPAIGN_KEY = "retentio.campaign";
  var UTM = {utm_source: "source", utm_medium: "medium", utm_campaign: "name",
             utm_content: "content", utm_term: "term"};
  var TYPE = /^[A-Za-z][A-Za-z0-9_.:\- ]{0,63}$/;
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var FLUSH_DELAY_MS = 300;
  var MAX_BATCH = 20;
  var YEAR_SECONDS = 365 * 24 * 3600;

  var previous = window.retentio;
  if (previous && previous.tracker) {
    return;  // the snippet was pasted twice: one tracker per page
  }
  var script = document.currentScript || document.querySelector("script[data-write-key]");
  var writeKey = script ? script.getAttribute("data-write-key") : null;
  if (!writeKey) {
    window.console && console.warn("retentio: the tracker script has no data-write-key");
    return;
  }
  var endpoint = new URL("collect", script.src).href;
  var queue = [];
  var timer = null;

  // Storage may be disabled or throw (private windows, blocked cookies): never break the page.
  function storage(kind) {
    try { return window[kind]; } catch (e) { return null; }
  }
  function getItem(kind, key) {
    try { return storage(kind).getItem(key); } catch (e) { return null; }
  }
  function setItem(kind, key, value) {
    try { storage(kind).setItem(key, value); } catch (e) { /* storage unavailable */ }
  }
  function removeItem(kind, key) {
    try { storage(kind).removeItem(key); } catch (e) { /* storage unavailable */ }
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        try { return decodeURIComponent(parts[i].slice(eq + 1)); } catch (e) { return null; }
      }
    }
    return null;
  }
  function writeCookie(name, value) {
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" +
      YEAR_SECONDS + "; SameSite=Lax" + secure;
  }

  function uuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      return c.randomUUID();
    }
    var bytes = new Uint8Array(16);
    if (c && c.getRandomValues) {
      c.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) { bytes[i] = Math.floor(Math.random() * 256); }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
    var hex = [];
    for (var j = 0; j < 16; j++) { hex.push((bytes[j] + 0x100).toString(16).slice(1)); }
    return hex.slice(0, 4).join("") + "-" + hex.slice(4, 6).join("") + "-" +
      hex.slice(6, 8).join("") + "-" + hex.slice(8, 10).join("") + "-" + hex.slice(10).join("");
  }

  function loadAnonymousId() {
    var id = readCookie(COOKIE) || getItem("localStorage", ANON_KEY) || uuid();
    // Written back every time: renews the cookie and heals whichever copy was lost.
    writeCookie(COOKIE, id);
    setItem("localStorage", ANON_KEY, id);
    return id;
  }

  function campaignFrom(search) {
    var params = new URLSearchParams(search);
    var found = null;
    for (var name in UTM) {
      var value = params.get(name);
      if (value) {
        found = found || {};
        found[UTM[name]] = value.slice(0, 200);
      }
    }
    return found;
  }
  function loadCampaign() {
    var landing = campaignFrom(window.location.search);
    if (landing) {
      setItem("sessionStorage", CAMPAIGN_KEY, JSON.stringify(landing));
      return landing;
    }
    try { return JSON.parse(getItem("sessionStorage", CAMPAIGN_KEY) || "null"); } catch (e) { return null; }
  }

  var anonymousId = loadAnonymousId();
  var campaign = loadCampaign();

  function pageInfo() {
    return {url: window.location.href, path: window.location.pathname,
            title: document.title, referrer: document.referrer};
  }
  function context() {
    var ctx = {page: pageInfo(), locale: navigator.language || null,
               library: {name: "retentio-t.js", version: VERSION}};
    if (campaign) { ctx.campaign = campaign; }
    return ctx;
  }
  function plainObject(value) {
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  }

  function build(type, properties, extra) {
    var event = {message_id: uuid(), type: type, occurred_at: new Date().toISOString(),
                 anonymous_id: anonymousId, properties: plainObject(properties),
                 context: context()};
    var userId = getItem("localStorage", USER_KEY);
    if (userId) { event.user_id = userId; }
    for (var key in extra) { event[key] = extra[key]; }
    return event;
  }
  function enqueue(type, properties) {
    if (typeof type !== "string" || !TYPE.test(type)) {
      // The server would refuse the whole batch for one bad type; drop only this event.
      window.console && console.warn("retentio: ignored an event with an invalid type", type);
      return;
    }
    queue.push(build(type, properties, {}));
    if (timer === null) { timer = window.setTimeout(flush, FLUSH_DELAY_MS); }
  }

  function send(events) {
    var body = JSON.stringify({writeKey: writeKey, sentAt: new Date().toISOString(), events: events});
    if (window.fetch) {
      window.fetch(endpoint, {method: "POST", body: body, keepalive: true, mode: "cors",
                              credentials: "omit",
                              headers: {"Content-Type": "text/plain;charset=UTF-8"}})
        .catch(function () { /* offline or blocked: tracking must never break the shop */ });
    } else if (navigator.sendBeacon) {
      navigator.sendBeacon(endpoint, body);
    }
  }
  function flush() {
    window.clearTimeout(timer);
    timer = null;
    while (queue.length) { send(queue.splice(0, MAX_BATCH)); }
  }

  function identify(userId, traits) {
    var extra = {};
    var rest = {};
    traits = plainObject(traits);
    if (userId !== null && userId !== undefined && userId !== "") {
      extra.user_id = String(userId).slice(0, 100);
      setItem("localStorage", USER_KEY, extra.user_id);
    }
    for (var key in traits) {
      if (key === "email") {
        var email = String(traits.email || "").trim();
        if (EMAIL.test(email)) { extra.email = email; }
      } else if (key === "phone") {
        if (traits.phone) { extra.phone = String(traits.phone).trim(); }
      } else {
        rest[key] = traits[key];
      }
    }
    extra.traits = rest;
    flush();
    // Alone in its batch: a phone the server rejects must not take page views down with it.
    send([build("identify", {}, extra)]);
  }

  var api = previous && typeof previous === "object" && !Array.isArray(previous) ? previous : {};
  api.tracker = VERSION;
  api.anonymousId = function () { return anonymousId; };
  api.campaign = function () { return campaign; };
  api.page = function (properties) {
    var info = pageInfo();
    var extra = plainObject(properties);
    for (var key in extra) { info[key] = extra[key]; }
    enqueue("page_view", info);
  };
  api.track = function (type, properties) { enqueue(type, properties); };
  api.identify = identify;
  api.cartAdd = function (product) { enqueue("cart_add", product); };
  api.cartRemove = function (product) { enqueue("cart_remove", product); };
  api.flush = flush;
  api.reset = function () {
    // On logout: the next person on this browser starts as a new visitor.
    removeItem("localStorage", USER_KEY);
    removeItem("localStorage", ANON_KEY);
    writeCookie(COOKIE, "");
    anonymousId = loadAnonymousId();
  };
  api.push = function (call) {
    if (call && typeof api[call[0]] === "function") { api[call[0]].apply(api, call.slice(1)); }
  };
  window.retentio = api;

  var waiting = Array.isArray(previous) ? previous : [];
  api.page();
  for (var i = 0; i < waiting.length; i++) { api.push(waiting[i]); }
  // The last chance to send what is queued before the page goes away.
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { flush(); }
  });
})(window, document);
