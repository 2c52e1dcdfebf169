// The segment pages' script. The builder edits a rule tree of groups (all / any / none of) and conditions, keeps
// the form's hidden `rule` field in the engine's JSON, and asks the preview endpoint for the
// live count, the reachable counts per channel and a few sample members as the rule changes.
// Everything it shows in words (field names, operators, choices, its own labels) comes from the
// page as JSON, already translated: the field catalogue lives in the engine, not here. The card
// draws the segment's size over time with the bundled Plotly.js, loaded only on that page.
(function () {
  "use strict";

  var DEBOUNCE_MS = 350;
  var DAY_OPS = ["within_last", "within_next", "more_than_days_ago", "anniversary_within_next"];
  var LIST_OPS = ["in", "not_in", "has_any", "has_all", "has_none"];
  var DATE_OPS = ["on", "before", "after"];
  // Keys each kind of condition edits; any other key of a loaded rule is kept as it was.
  var MANAGED = {
    field: ["field", "op", "value"],
    tags: ["tags", "match", "negate"],
    event: ["event", "within_days", "count", "negate"],
    bought: ["bought", "within_days", "count", "negate"],
    segment: ["segment", "negate"],
    reachable: ["reachable", "negate"],
    consent: ["consent", "status", "negate"]
  };
  var KINDS = Object.keys(MANAGED);

  function Builder(box, config) {
    this.box = box;
    this.config = config;
    this.text = config.text;
    this.fields = {};
    config.fields.forEach(function (f) { this.fields[f.name] = f; }, this);
    this.suffixes = {};
    config.suffixes.forEach(function (pair) { this.suffixes[pair[0]] = pair[1]; }, this);
    this.form = box.closest("form");
    this.output = this.form ? this.form.querySelector("input[name=rule]") : null;
    this.numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    this.sequence = 0;
    this.timer = null;
    this.uid = 0;
    this.root = this.fromJson(config.rule || {all: []});
    if (this.root.type !== "group") { this.root = this.group("all", [this.root]); }
    this.tree = box.querySelector("[data-rule-tree]");
    this.render();
    this.errors(config.errors || []);
    this.changed(true);
  }

  // --- the model: groups and conditions, to and from the engine's JSON -----------------------

  Builder.prototype.group = function (op, children) {
    return {type: "group", op: op, children: children || [], id: ++this.uid};
  };

  Builder.prototype.leaf = function (kind, raw) {
    return {type: "leaf", kind: kind, raw: raw || {}, id: ++this.uid};
  };

  Builder.prototype.fromJson = function (raw) {
    var self = this;
    if (raw && Array.isArray(raw.all)) { return this.group("all", raw.all.map(function (r) { return self.fromJson(r); })); }
    if (raw && Array.isArray(raw.any)) { return this.group("any", raw.any.map(function (r) { return self.fromJson(r); })); }
    if (raw && raw.not) {
      // "None of" is stored as not(any(...)); a lone negated condition becomes a one-item group.
      var inner = raw.not;
      var children = Array.isArray(inner.any) ? inner.any : [inner];
      return this.group("none", children.map(function (r) { return self.fromJson(r); }));
    }
    var kind = KINDS.filter(function (k) { return raw && k in raw; })[0];
    return this.leaf(kind || "field", Object.assign({}, raw));
  };

  // The rule as the engine reads it; conditions with nothing chosen yet are left out, and each
  // node remembers its JSON path so the engine's errors can be shown next to it.
  Builder.prototype.toJson = function (node, path) {
    var self = this;
    node.path = path;
    if (node.type === "group") {
      var key = node.op === "none" ? "any" : node.op;
      var base = node.op === "none" ? path + ".not.any" : path + "." + key;
      var items = [];
      node.children.forEach(function (child) {
        if (child.type === "leaf" && !self.complete(child)) { child.path = null; return; }
        items.push(self.toJson(child, base + "[" + items.length + "]"));
      });
      var body = {};
      body[key] = items;
      return node.op === "none" ? {not: body} : body;
    }
    return node.raw;
  };

  Builder.prototype.complete = function (leaf) {
    var value = leaf.raw[leaf.kind];
    if (Array.isArray(value)) { return value.length > 0; }
    return value !== undefined && value !== null && value !== "";
  };

  Builder.prototype.rule = function () { return this.toJson(this.root, "rule"); };

  // --- rendering -------------------------------------------------------------------------------

  Builder.prototype.render = function (focusId, focusSelector) {
    this.tree.textContent = "";
    this.tree.appendChild(this.renderGroup(this.root, null));
    if (focusId) {
      var holder = this.tree.querySelector('[data-node-id="' + focusId + '"]');
      var target = holder && holder.querySelector(focusSelector || "select, input, button");
      if (target) { target.focus(); }
    }
  };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; }
      else if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function options(select, pairs, chosen) {
    pairs.forEach(function (pair) {
      var option = el("option", {value: pair[0], text: pair[1]});
      if (String(pair[0]) === String(chosen)) { option.selected = true; }
      select.appendChild(option);
    });
    return select;
  }

  Builder.prototype.renderGroup = function (group, parent) {
    var self = this;
    var t = this.text;
    var box = el("fieldset", {"class": "rule-group", "data-node-id": group.id, "data-testid": "rule-group"});
    var combinator = options(el("select", {"aria-label": t.combinator, "data-combinator": ""}),
      [["all", t.all], ["any", t.any], ["none", t.none]], group.op);
    combinator.addEventListener("change", function () { group.op = combinator.value; self.changed(); });
    box.appendChild(el("legend", {}, [el("label", {}, [
      document.createTextNode(t.match + " "), combinator, document.createTextNode(" " + t.of_these)])]));
    var list = el("ol", {"class": "rule-children"});
    group.children.forEach(function (child) {
      list.appendChild(el("li", {}, [child.type === "group" ? self.renderGroup(child, group) : self.renderLeaf(child, group)]));
    });
    if (!group.children.length) { list.appendChild(el("li", {"class": "muted rule-empty", text: t.empty_group})); }
    box.appendChild(list);
    var add = el("button", {type: "button", "class": "small", "data-add-condition": "", text: "+ " + t.add_condition});
    add.addEventListener("click", function () {
      var leaf = self.leaf("field", {});
      group.children.push(leaf);
      self.render(leaf.id, "select[data-field-picker]");
      self.changed();
    });
    var nest = el("button", {type: "button", "class": "small", "data-add-group": "", text: "+ " + t.add_group});
    nest.addEventListener("click", function () {
      var inner = self.group("any", [self.leaf("field", {})]);
      group.children.push(inner);
      self.render(inner.children[0].id, "select[data-field-picker]");
      self.changed();
    });
    var actions = el("div", {"class": "rule-actions"}, [add, nest]);
    if (parent) { actions.appendChild(this.removeButton(group, parent, t.remove_group)); }
    box.appendChild(actions);
    box.appendChild(el("div", {"class": "rule-error field-error", "data-rule-error": "", role: "alert"}));
    return box;
  };

  Builder.prototype.removeButton = function (node, parent, label) {
    var self = this;
    var button = el("button", {type: "button", "class": "small danger", "data-remove": "", text: "✕ " + label});
    button.addEventListener("click", function () {
      var index = parent.children.indexOf(node);
      parent.children.splice(index, 1);
      var next = parent.children[Math.min(index, parent.children.length - 1)];
      self.render(next ? next.id : parent.id);
      self.changed();
    });
    return button;
  };

  Builder.prototype.renderLeaf = function (leaf, parent) {
    var box = el("div", {"class": "rule-leaf", "data-node-id": leaf.id, "data-testid": "rule-condition", role: "group", "aria-label": this.text.condition});
    var row = el("div", {"class": "rule-row"});
    row.appendChild(this.picker(leaf));
    this.editors(leaf, row);
    row.appendChild(this.removeButton(leaf, parent, this.text.remove));
    box.appendChild(row);
    box.appendChild(el("div", {"class": "rule-error field-error", "data-rule-error": "", role: "alert"}));
    return box;
  };

  // One picker for every kind of condition, grouped: fields by where they live, then tags,
  // events, orders, segments, consent and reachability.
  Builder.prototype.picker = function (leaf) {
    var self = this;
    var t = this.text;
    var select = el("select", {"aria-label": t.field, "data-field-picker": ""});
    select.appendChild(el("option", {value: "", text: t.choose_field}));
    var current = leaf.kind !== "field" ? "kind:" + leaf.kind : (leaf.raw.field ? "field:" + leaf.raw.field : "");
    this.config.groups.forEach(function (g) {
      var optgroup = el("optgroup", {label: g[1]});
      self.config.fields.filter(function (f) { return f.group === g[0]; }).forEach(function (f) {
        optgroup.appendChild(el("option", {value: "field:" + f.name, text: f.label}));
      });
      if (optgroup.children.length) { select.appendChild(optgroup); }
    });
    var others = el("optgroup", {label: t.behaviour});
    this.config.kinds.forEach(function (k) { others.appendChild(el("option", {value: "kind:" + k[0], text: k[1]})); });
    select.appendChild(others);
    select.value = current;
    if (select.value !== current && leaf.kind === "field" && leaf.raw.field) {
      // A field the catalogue no longer has (archived custom field): keep it visible.
      select.appendChild(el("option", {value: current, text: leaf.raw.field}));
      select.value = current;
    }
    select.addEventListener("change", function () {
      var parts = select.value.split(":");
      var kind = parts[0] === "field" ? "field" : parts[1];
      leaf.kind = kind || "field";
      leaf.raw = self.defaults(leaf.kind, parts[0] === "field" ? parts.slice(1).join(":") : null);
      self.render(leaf.id, "select[data-field-picker]");
      self.changed();
    });
    return select;
  };

  Builder.prototype.defaults = function (kind, fieldName) {
    var c = this.config;
    switch (kind) {
      case "field":
        if (!fieldName) { return {}; }
        var spec = this.fields[fieldName];
        var op = this.operators(spec)[0][0];
        return {field: fieldName, op: op, value: this.emptyValue(spec, op)};
      case "tags": return {tags: [], match: "any"};
      case "event": return {event: "", within_days: 30, count: {op: "ge", value: 1}};
      case "bought": return {bought: {}, within_days: 365, count: {op: "ge", value: 1}};
      case "segment": return {segment: c.segments.length ? c.segments[0][0] : null};
      case "reachable": return {reachable: c.channels[0][0]};
      case "consent": return {consent: c.channels[0][0], status: "granted"};
    }
    return {};
  };

  Builder.prototype.operators = function (spec) {
    return spec ? this.config.operators[spec.type] || [] : [];
  };

  Builder.prototype.emptyValue = function (spec, op) {
    if (this.config.no_value.indexOf(op) >= 0) { return null; }
    if (op === "between") { return [null, null]; }
    if (LIST_OPS.indexOf(op) >= 0) { return []; }
    if (op === "in_current") { return "month"; }
    if (DAY_OPS.indexOf(op) >= 0) { return 7; }
    if (spec && spec.type === "boolean") { return true; }
    if (spec && spec.type === "choice" && spec.choices.length) { return spec.choices[0][0]; }
    return spec && spec.type === "number" ? null : "";
  };

  Builder.prototype.valueKind = function (spec, op) {
    if (this.config.no_value.indexOf(op) >= 0) { return "none"; }
    if (op === "between" || op === "in_current") { return op; }
    if (LIST_OPS.indexOf(op) >= 0) { return "list"; }
    if (DAY_OPS.indexOf(op) >= 0) { return "days"; }
    if (DATE_OPS.indexOf(op) >= 0) { return "date"; }
    return "scalar";
  };

  Builder.prototype.editors = function (leaf, row) {
    var self = this;
    var t = this.text;
    var raw = leaf.raw;
    var update = function () { self.changed(); };
    var negate = function (yes, no) {
      var select = options(el("select", {"aria-label": t.negate, "data-negate": ""}), [["", yes], ["1", no]], raw.negate ? "1" : "");
      select.addEventListener("change", function () {
        if (select.value) { raw.negate = true; } else { delete raw.negate; }
        update();
      });
      return select;
    };
    switch (leaf.kind) {
      case "field": this.fieldEditors(leaf, row); return;
      case "tags":
        row.appendChild(negate(t.has, t.has_not));
        row.appendChild(this.select(t.match_label, [["any", t.any_of_tags], ["all", t.all_of_tags]], raw.match || "any", function (v) { raw.match = v; update(); }));
        row.appendChild(this.textList(t.tags, raw.tags || [], "segment-tags", function (v) { raw.tags = v; update(); }));
        return;
      case "event":
        row.appendChild(negate(t.did, t.did_not));
        row.appendChild(this.input(t.event_type, "text", raw.event || "", {list: "segment-event-types", "data-event-type": ""}, function (v) { raw.event = v; update(); }));
        this.countEditors(raw, row, t.times);
        this.windowEditor(raw, row);
        return;
      case "bought":
        row.appendChild(negate(t.bought, t.not_bought));
        raw.bought = raw.bought || {};
        row.appendChild(this.input(t.category, "text", raw.bought.category || "", {list: "segment-categories"}, function (v) {
          if (v) { raw.bought.category = v; } else { delete raw.bought.category; }
          update();
        }));
        row.appendChild(this.input(t.product, "text", raw.bought.product || "", {size: 10}, function (v) {
          if (v) { raw.bought.product = v; } else { delete raw.bought.product; }
          update();
        }));
        this.countEditors(raw, row, t.orders);
        this.windowEditor(raw, row);
        return;
      case "segment":
        row.appendChild(negate(t.in_segment, t.not_in_segment));
        row.appendChild(this.select(t.segment, this.config.segments, raw.segment, function (v) { raw.segment = Number(v); update(); }));
        return;
      case "reachable":
        row.appendChild(negate(t.reachable_by, t.not_reachable_by));
        row.appendChild(this.select(t.channel, this.config.channels, raw.reachable, function (v) { raw.reachable = v; update(); }));
        return;
      case "consent":
        row.appendChild(this.select(t.channel, this.config.channels, raw.consent, function (v) { raw.consent = v; update(); }));
        row.appendChild(this.select(t.status, this.config.consent_statuses, raw.status || "granted", function (v) { raw.status = v; update(); }));
        return;
    }
  };

  Builder.prototype.countEditors = function (raw, row, unit) {
    var self = this;
    var count = raw.count = raw.count || {op: "ge", value: 1};
    row.appendChild(this.select(this.text.how_many, this.config.comparisons, count.op, function (v) { count.op = v; self.changed(); }));
    row.appendChild(this.input(this.text.how_many, "number", count.value, {min: 0, step: 1, "class": "narrow"}, function (v) {
      count.value = v === "" ? null : Number(v);
      self.changed();
    }));
    row.appendChild(el("span", {"class": "muted", text: unit}));
  };

  Builder.prototype.windowEditor = function (raw, row) {
    var self = this;
    if (raw.between) { row.appendChild(el("span", {"class": "muted", text: raw.between.join(" – ")})); return; }
    row.appendChild(el("span", {"class": "muted", text: this.text.in_the_last}));
    row.appendChild(this.input(this.text.days, "number", raw.within_days || "", {min: 1, step: 1, "class": "narrow", "data-window": ""}, function (v) {
      if (v === "") { delete raw.within_days; } else { raw.within_days = Number(v); }
      self.changed();
    }));
    row.appendChild(el("span", {"class": "muted", text: this.text.days}));
  };

  Builder.prototype.fieldEditors = function (leaf, row) {
    var self = this;
    var raw = leaf.raw;
    var spec = this.fields[raw.field];
    if (!raw.field) { return; }
    var ops = this.operators(spec);
    if (!ops.length) { ops = [[raw.op, raw.op]]; }
    var op = this.select(this.text.operator, ops, raw.op, function (v) {
      // Keep what was typed when the new operator takes the same kind of value.
      if (self.valueKind(spec, v) !== self.valueKind(spec, raw.op)) { raw.value = self.emptyValue(spec, v); }
      raw.op = v;
      self.render(leaf.id, "select[data-operator]");
      self.changed();
    });
    op.querySelector("select").setAttribute("data-operator", "");
    row.appendChild(op);
    this.valueEditor(spec, raw, row);
  };

  Builder.prototype.valueEditor = function (spec, raw, row) {
    var self = this;
    var t = this.text;
    var op = raw.op;
    var type = spec ? spec.type : "string";
    var set = function (v) { raw.value = v; self.changed(); };
    if (this.config.no_value.indexOf(op) >= 0) { delete raw.value; return; }
    if (op === "between") {
      var kind = type === "number" ? "number" : "date";
      var pair = Array.isArray(raw.value) ? raw.value : [null, null];
      raw.value = pair;
      [0, 1].forEach(function (i) {
        row.appendChild(self.input(i ? t.to : t.from, kind, pair[i] === null ? "" : pair[i], {"data-value": ""}, function (v) {
          pair[i] = v === "" ? null : (kind === "number" ? Number(v) : v);
          self.changed();
        }));
      });
      return;
    }
    var suffix = this.suffixes[op];
    if (DAY_OPS.indexOf(op) >= 0) {
      row.appendChild(this.input(t.days, "number", raw.value === null ? "" : raw.value, {min: 0, step: 1, "class": "narrow", "data-value": ""}, function (v) { set(v === "" ? null : parseInt(v, 10)); }));
      row.appendChild(el("span", {"class": "muted", text: suffix || t.days}));
      return;
    }
    if (op === "in_current") {
      row.appendChild(this.select(t.period, this.config.periods, raw.value, set));
      return;
    }
    if (DATE_OPS.indexOf(op) >= 0) {
      row.appendChild(this.input(t.value, "date", raw.value || "", {"data-value": ""}, set));
      return;
    }
    if (type === "boolean") {
      row.appendChild(this.select(t.value, [["true", t.yes], ["false", t.no]], String(raw.value), function (v) { set(v === "true"); }));
      return;
    }
    if (spec && spec.choices.length && LIST_OPS.indexOf(op) >= 0) {
      row.appendChild(this.checkboxes(spec.choices, Array.isArray(raw.value) ? raw.value : [], set));
      return;
    }
    if (spec && spec.choices.length) {
      row.appendChild(this.select(t.value, spec.choices, raw.value, set));
      return;
    }
    if (LIST_OPS.indexOf(op) >= 0) {
      row.appendChild(this.textList(t.values, Array.isArray(raw.value) ? raw.value : [], null, set));
      return;
    }
    if (type === "number") {
      row.appendChild(this.input(t.value, "number", raw.value === null || raw.value === undefined ? "" : raw.value, {step: "any", "data-value": ""}, function (v) { set(v === "" ? null : Number(v)); }));
      if (suffix) { row.appendChild(el("span", {"class": "muted", text: suffix})); }
      return;
    }
    row.appendChild(this.input(t.value, "text", raw.value || "", {"data-value": ""}, set));
  };

  // --- inputs: each labelled for screen readers, each reporting on input ------------------------

  Builder.prototype.select = function (label, pairs, chosen, onChange) {
    var select = options(el("select", {"aria-label": label}), pairs, chosen);
    if (chosen === undefined || chosen === null) { select.selectedIndex = pairs.length ? 0 : -1; }
    select.addEventListener("change", function () { onChange(select.value); });
    return el("span", {"class": "rule-input"}, [select]);
  };

  Builder.prototype.input = function (label, type, value, attrs, onChange) {
    var input = el("input", Object.assign({type: type, "aria-label": label, value: value}, attrs || {}));
    input.addEventListener("input", function () { onChange(input.value.trim()); });
    return input;
  };

  Builder.prototype.textList = function (label, values, list, onChange) {
    var input = el("input", {type: "text", "aria-label": label, value: values.join(", "), placeholder: this.text.comma_separated, list: list, "data-value": ""});
    input.addEventListener("input", function () {
      onChange(input.value.split(/[,;\n]/).map(function (s) { return s.trim(); }).filter(Boolean));
    });
    return input;
  };

  Builder.prototype.checkboxes = function (choices, chosen, onChange) {
    var box = el("span", {"class": "rule-choices", role: "group", "aria-label": this.text.values});
    choices.forEach(function (pair) {
      var input = el("input", {type: "checkbox", value: pair[0]});
      input.checked = chosen.indexOf(pair[0]) >= 0;
      input.addEventListener("change", function () {
        onChange(Array.prototype.filter.call(box.querySelectorAll("input:checked"), function () { return true; })
          .map(function (i) { return i.value; }));
      });
      box.appendChild(el("label", {"class": "check"}, [input, document.createTextNode(" " + pair[1])]));
    });
    return box;
  };

  // --- the live preview ------------------------------------------------------------------------

  Builder.prototype.changed = function (now) {
    var self = this;
    var rule = this.rule();
    if (this.output) { this.output.value = JSON.stringify(rule); }
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.preview(rule); }, now ? 0 : DEBOUNCE_MS);
  };

  Builder.prototype.preview = function (rule) {
    var self = this;
    var ticket = ++this.sequence;
    var status = this.box.querySelector("[data-preview-status]");
    status.textContent = this.text.counting;
    var body = {rule: rule};
    window.retentio.fetch(this.config.preview_url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body)
    })
      .then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      })
      .then(function (answer) {
        if (ticket !== self.sequence) { return; }  // an older answer arriving late
        if (answer.ok) {
          self.errors([]);
          self.show(answer.data);
        } else {
          var error = answer.data.error || {};
          self.errors(Array.isArray(error.details) ? error.details : [{field: "rule", message: error.message || ""}]);
          status.textContent = self.text.fix_errors;
        }
      })
      .catch(function () {
        if (ticket === self.sequence) { status.textContent = self.text.preview_failed; }
      });
  };

  Builder.prototype.show = function (data) {
    var self = this;
    var box = this.box;
    box.querySelector("[data-preview-status]").textContent = "";
    box.querySelector("[data-preview-count]").textContent = this.numbers.format(data.count);
    var reach = data.reachable || {};
    box.querySelector("[data-preview-reachable]").textContent = this.config.channels.map(function (c) {
      return c[1] + " " + self.numbers.format(reach[c[0]] || 0);
    }).join(" · ");
    this.config.channels.forEach(function (c) {
      var cell = box.querySelector('[data-reachable="' + c[0] + '"]');
      if (cell) { cell.textContent = self.numbers.format(reach[c[0]] || 0); }
    });
    var rows = box.querySelector("[data-preview-sample]");
    rows.textContent = "";
    (data.sample || []).forEach(function (person) {
      rows.appendChild(el("tr", {"data-contact-id": person.id}, [
        el("td", {}, [el("a", {href: "/contacts/" + person.id, text: person.name})]),
        el("td", {text: person.email || ""}),
        el("td", {text: person.phone || ""}),
        el("td", {text: person.city || ""})
      ]));
    });
    if (!(data.sample || []).length) {
      rows.appendChild(el("tr", {}, [el("td", {colspan: 4, "class": "empty", text: this.text.nobody})]));
    }
  };

  // Each error goes to the deepest node whose path starts its `field`: a bad value shows beside
  // its condition, a bad group beside the group, anything else above the tree.
  Builder.prototype.errors = function (list) {
    var self = this;
    this.box.querySelectorAll("[data-rule-error]").forEach(function (node) { node.textContent = ""; });
    this.box.querySelectorAll(".rule-invalid").forEach(function (node) { node.classList.remove("rule-invalid"); });
    var nodes = [];
    (function walk(node) {
      if (node.path) { nodes.push(node); }
      if (node.type === "group") { node.children.forEach(walk); }
    })(this.root);
    list.forEach(function (item) {
      var field = String(item.field || "");
      var best = null;
      nodes.forEach(function (node) {
        var p = node.path;
        var matches = field === p || field.indexOf(p + ".") === 0 || field.indexOf(p + "[") === 0;
        if (matches && (!best || p.length > best.path.length)) { best = node; }
      });
      var holder = best ? self.tree.querySelector('[data-node-id="' + best.id + '"]') : null;
      var target = holder ? holder.querySelector(":scope > [data-rule-error]") : self.box.querySelector("[data-rule-errors]");
      if (holder) { holder.classList.add("rule-invalid"); }
      if (target) { target.textContent = (target.textContent ? target.textContent + " " : "") + item.message; }
    });
  };

  // --- the card's size chart ------------------------------------------------------------------

  function drawTrend(box, data) {
    var russian = box.getAttribute("data-locale") === "ru";
    var trace = {
      type: "scatter",
      mode: data.x.length > 1 ? "lines" : "markers",
      x: data.x,
      y: data.y,
      name: box.getAttribute("data-size-label") || "",
      line: {color: "#2f6fdf", width: 2},
      fill: "tozeroy",
      fillcolor: "rgba(47,111,223,0.08)",
      hovertemplate: "%{x|%d.%m.%Y}<br>%{y:,}<extra></extra>"
    };
    var layout = {
      margin: {t: 10, r: 10, b: 40, l: 60},
      height: 240,
      separators: russian ? ", " : ".,",
      xaxis: {type: "date", tickformat: "%d.%m"},
      yaxis: {tickformat: ",d", rangemode: "tozero"},
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)"
    };
    // Small segments: whole-number ticks only (Plotly would repeat 0 and 1 at fractional steps).
    if (Math.max.apply(null, data.y.concat([0])) < 6) { layout.yaxis.dtick = 1; }
    window.Plotly.newPlot(box, [trace], layout, {displayModeBar: false, responsive: true});
  }

  function trend() {
    var box = document.getElementById("segment-trend");
    var source = document.getElementById("segment-trend-data");
    if (!box || !source) { return; }
    var data = JSON.parse(source.textContent || "{}");
    if (window.Plotly) { drawTrend(box, data); return; }
    var script = document.createElement("script");
    script.src = box.getAttribute("data-plotly-src");
    script.onload = function () { drawTrend(box, data); };
    document.head.appendChild(script);
  }

  document.addEventListener("DOMContentLoaded", function () {
    trend();
    var box = document.querySelector("[data-segment-builder]");
    var source = document.getElementById("segment-builder-data");
    if (!box || !source) { return; }
    window.segmentBuilder = new Builder(box, JSON.parse(source.textContent || "{}"));
  });
})();
