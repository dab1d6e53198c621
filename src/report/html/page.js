"use strict";
// Filters the findings by account, region, check, status and exception. The
// filter lives in the address (#status=FAIL&check=kms.key_state) so that a
// filtered view can be linked to. Only text and attributes are set here,
// never markup.
(function () {
  var form = document.getElementById("filters");
  var count = document.getElementById("matching");
  var accounts = Array.prototype.slice.call(document.querySelectorAll("details.acct"));
  var names = ["account", "region", "check", "status", "exception"];

  function values() {
    var v = {};
    names.forEach(function (name) { v[name] = form.elements[name].value.trim(); });
    return v;
  }

  function apply() {
    var v = values();
    var needle = v.account.toLowerCase();
    var active = names.some(function (name) { return v[name] !== ""; });
    var matching = 0;
    accounts.forEach(function (account) {
      var accountMatches = needle === "" ||
        account.dataset.account.toLowerCase().indexOf(needle) >= 0 ||
        account.dataset.name.toLowerCase().indexOf(needle) >= 0;
      var visible = 0;
      account.querySelectorAll("table.rows > tbody > tr").forEach(function (row) {
        var cells = row.cells;
        var show = accountMatches &&
          (v.region === "" || cells[0].textContent === v.region) &&
          (v.check === "" || cells[1].textContent === v.check) &&
          (v.status === "" || cells[2].textContent === v.status) &&
          (v.exception === "" || (row.className || "none") === v.exception);
        row.hidden = !show;
        if (show) { visible += 1; }
      });
      account.hidden = visible === 0;
      if (active && visible > 0) { account.open = true; }
      matching += visible;
    });
    count.textContent = active ? matching + " matching findings" : "";
  }

  function save() {
    var v = values();
    var parts = names.filter(function (name) { return v[name] !== ""; })
      .map(function (name) { return name + "=" + encodeURIComponent(v[name]); });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
  }

  // A fragment typed or cut by hand may not decode (#status=%E0): its
  // part is ignored rather than stopping the script.
  function decoded(text) {
    try { return decodeURIComponent(text); } catch (malformed) { return null; }
  }

  function load() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("acct-") === 0) {
      var id = decoded(hash);
      var target = id === null ? null : document.getElementById(id);
      if (target && target.tagName === "DETAILS") { target.open = true; }
      return;
    }
    if (hash.indexOf("=") < 0) { return; }
    var given = {};
    hash.split("&").forEach(function (part) {
      var at = part.indexOf("=");
      var value = at > 0 ? decoded(part.slice(at + 1)) : null;
      if (value !== null) { given[part.slice(0, at)] = value; }
    });
    names.forEach(function (name) { form.elements[name].value = given[name] || ""; });
    apply();
    document.getElementById("findings").scrollIntoView();
  }

  form.addEventListener("input", function () { apply(); save(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("reset", function () {
    setTimeout(function () { apply(); save(); }, 0);
  });
  window.addEventListener("hashchange", load);
  form.hidden = false;
  load();
}());
