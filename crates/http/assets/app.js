// Guanxi web UI: small enhancements on top of pages that work without JavaScript.
// - Global search typeahead (ARIA combobox; arrow keys, Enter, Escape).
// - Inline field editing: focus the input of the field being edited, Escape closes it.
// - The company of a contact: matching companies offered while typing.
// - Forms being sent show it (and, when the server takes a moment, say so) and are not sent twice.
// The script holds no words of its own: every text comes from the server in the user's language.
(function () {
  "use strict";

  function typeahead(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var url = input.getAttribute("data-suggest");
    if (!list || !url) return;
    var timer = null, seq = 0, active = -1, items = [];

    function close() {
      // A suggestion request still pending (typed just before Escape or Tab) must not reopen the list.
      clearTimeout(timer);
      seq++;
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
      items = [];
    }

    function select(i) {
      var opts = list.querySelectorAll('[role="option"]:not([aria-disabled])');
      if (!opts.length) return;
      active = (i + opts.length) % opts.length;
      opts.forEach(function (o, j) { o.setAttribute("aria-selected", j === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({ block: "nearest" });
    }

    function show(data) {
      list.textContent = "";
      items = data.items || [];
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "empty";
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.textContent = data.empty || "";
        list.appendChild(none);
      }
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.id = "suggestion-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.url = it.url;
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = it.kind_label;
        var label = document.createElement("strong");
        label.textContent = " " + it.label;
        li.appendChild(badge);
        li.appendChild(label);
        if (it.detail) {
          var d = document.createElement("span");
          d.className = "detail";
          d.textContent = it.detail;
          li.appendChild(d);
        }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); window.location.href = it.url; });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function fetchNow() {
      var q = input.value.trim();
      if (!q) { close(); return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && mine === seq) show(data); })
        .catch(function () { /* the search page still works without suggestions */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchNow, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) fetchNow(); else select(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); select(active - 1); }
      // Escape closes an open list and keeps the typed words (a search box would clear them); pressed again, the
      // browser's own Escape clears the box.
      else if (e.key === "Escape" && !list.hidden) { e.preventDefault(); close(); }
      else if (e.key === "Enter" && active >= 0) {
        var opts = list.querySelectorAll('[role="option"]:not([aria-disabled])');
        if (opts[active]) { e.preventDefault(); window.location.href = opts[active].dataset.url; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  // The company field of a contact: while the user types a name, the select below offers the companies the
  // search finds (the first one chosen). Without this script the search button reloads the page with them.
  function companyPicker(input) {
    var select = document.getElementById(input.getAttribute("aria-controls"));
    var url = input.getAttribute("data-company-suggest");
    if (!select || !url) return;
    var timer = null, seq = 0;

    function offer(items) {
      // Keep "no company" and the company chosen now; replace earlier matches.
      Array.prototype.slice.call(select.options).forEach(function (o, i) {
        if (i > 0 && !o.defaultSelected) o.remove();
      });
      var first = null;
      items.forEach(function (it) {
        if (it.kind !== "company") return;
        var id = it.url.slice("/companies/".length);
        if (select.querySelector('option[value="' + id + '"]')) return;
        var o = document.createElement("option");
        o.value = id;
        o.textContent = it.detail ? it.label + " · " + it.detail : it.label;
        select.appendChild(o);
        if (!first) first = o;
      });
      if (first) first.selected = true;
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (!q) return;
        var mine = ++seq;
        fetch(url + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && mine === seq) offer(data.items || []); })
          .catch(function () { /* the search button still works */ });
      }, 150);
    });
  }

  // Progress: a form being sent is marked busy (the cursor and its buttons say so), and a second click does not
  // post it again while the server works (a bulk change or a delete can take a moment). Coming back to the page
  // from the history clears the mark.
  function markBusy(e) {
    var form = e.target;
    if (!form || form.tagName !== "FORM" || e.defaultPrevented) return;
    if (form.getAttribute("aria-busy") === "true" && form.method.toLowerCase() === "post") {
      e.preventDefault();
      return;
    }
    form.setAttribute("aria-busy", "true");
    // A bulk change, a delete or an import can take a while: after a moment, a status line says the work goes on.
    clearTimeout(busyTimer);
    busyTimer = setTimeout(function () {
      var busy = document.getElementById("busy");
      if (busy) busy.hidden = false;
    }, 400);
  }

  var busyTimer = null;

  function clearBusy() {
    clearTimeout(busyTimer);
    var busy = document.getElementById("busy");
    if (busy) busy.hidden = true;
    document.querySelectorAll('form[aria-busy="true"]').forEach(function (f) { f.removeAttribute("aria-busy"); });
  }

  function focusEditedField() {
    var form = null;
    if (location.hash.indexOf("#edit-") === 0) form = document.getElementById(location.hash.slice(1));
    if (!form) form = document.querySelector(".field.open .field-form");
    if (!form) return;
    var input = form.querySelector("input:not([type=hidden]), select");
    if (input) input.focus();
  }

  function closeOnEscape(e) {
    if (e.key !== "Escape") return;
    var form = e.target.closest && e.target.closest(".field-form");
    if (!form) return;
    var field = form.closest(".field");
    if (field) {
      field.classList.remove("open");
      location.hash = field.id;
      var link = field.querySelector(".edit-link");
      if (link) link.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(typeahead);
    document.querySelectorAll("input[data-company-suggest]").forEach(companyPicker);
    focusEditedField();
    window.addEventListener("hashchange", focusEditedField);
    document.addEventListener("keydown", closeOnEscape);
    document.addEventListener("submit", markBusy);
    window.addEventListener("pageshow", clearBusy);
  });
})();
