"""The page's one stylesheet and one script, inlined and pinned by hash in its CSP.

The script only enhances: the page is complete without it (the filter bar and copy buttons
appear once it runs, through the `js` class it sets on <html>).
"""

from __future__ import annotations

CSS = """\
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--link:#0969da;
--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--error:#bc4c00;
--error-bg:#fff1e5;--xfail:#8250df;--xfail-bg:#f3eefe;--xpass:#bf3989;--xpass-bg:#ffeff7;
--skip:#6e7781;--skip-bg:#eef1f4}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:#fff;
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1320px;margin:0 auto;padding:20px 32px 64px}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",
monospace;font-size:12.5px}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 10px;
margin:4px 0 8px;overflow:auto;max-height:480px;white-space:pre-wrap;word-break:break-word}
h1{font-size:24px;margin:0;font-weight:650;letter-spacing:-.01em}
h2{font-size:18px;margin:34px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}h4{font-size:13px;margin:12px 0 4px;color:var(--muted);
text-transform:uppercase;letter-spacing:.04em}
.muted{color:var(--muted)}.small{font-size:12.5px}
.head{display:flex;align-items:center;gap:16px;flex-wrap:wrap}
.overall{font-size:18px;font-weight:700;padding:4px 16px;border-radius:999px;color:#fff;
letter-spacing:.06em}
.overall.PASS{background:var(--pass)}.overall.FAIL{background:var(--fail)}
.overall.INCOMPLETE{background:var(--error)}
.totals{display:flex;gap:8px;flex-wrap:wrap;margin:12px 0 4px}
.tot{border-radius:6px;padding:4px 12px;font-weight:600;border:1px solid transparent}
.tot b{font-size:17px;margin-right:4px}
nav.toc{margin:10px 0 0;display:flex;gap:18px;font-size:13.5px;flex-wrap:wrap}
.envs{display:grid;gap:12px;margin-top:14px}
.env{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fff}
.env dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
.env dt{color:var(--muted)}.env dd{margin:0;word-break:break-word}
.versions{display:flex;flex-wrap:wrap;gap:4px 6px;align-items:center;margin-top:8px}
.cmd{margin:8px 0 0}.cmd code{margin-left:8px}
.chip{display:inline-block;background:var(--panel);border:1px solid var(--line);
border-radius:4px;padding:0 6px;font-size:12px;white-space:nowrap}
.chip.miss{background:var(--fail-bg);border-color:#ffcecb;color:var(--fail)}
.chip.odd{background:var(--error-bg);border-color:#ffd8b5;color:var(--error)}
.chip i{font-style:normal;color:var(--muted);margin-left:3px}
.warn{border:1px solid #ffd8b5;background:var(--error-bg);border-radius:8px;padding:8px 14px;
margin:14px 0}
table{border-collapse:collapse;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 10px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
table.matrix td.cell{text-align:center;white-space:nowrap;min-width:92px}
table.matrix td.kind{font-weight:600}
table.matrix tfoot td{font-weight:600;background:var(--panel)}
.js table.matrix thead th{cursor:pointer;user-select:none}
.js table.matrix thead th:hover{background:#e8ecf0}
.js table.matrix th::after{content:" \\2195";color:#aab2bb;font-weight:400}
.js table.matrix th[aria-sort=ascending]::after{content:" \\2191";color:var(--fg)}
.js table.matrix th[aria-sort=descending]::after{content:" \\2193";color:var(--fg)}
.n{display:inline-block;min-width:26px;padding:0 5px;margin:1px;border-radius:10px;
font-weight:650;font-size:12px;line-height:18px}
.v{display:inline-block;padding:0 7px;border-radius:10px;font-weight:650;font-size:11.5px;
line-height:18px;text-transform:uppercase;letter-spacing:.03em}
.v-pass{color:var(--pass);background:var(--pass-bg)}.v-fail{color:#fff;background:var(--fail)}
.v-error{color:#fff;background:var(--error)}.v-xfail{color:var(--xfail);background:var(--xfail-bg)}
.v-xpass{color:#fff;background:var(--xpass)}.v-skip{color:var(--skip);background:var(--skip-bg)}
.c-pass{background:#f1fbf3}.c-fail{background:var(--fail-bg)}.c-error{background:var(--error-bg)}
.c-xfail{background:var(--xfail-bg)}.c-xpass{background:var(--xpass-bg)}
.c-skip{background:var(--skip-bg)}
.legend{display:flex;gap:10px;flex-wrap:wrap;margin:6px 0 10px;font-size:12.5px}
.filters{display:none;gap:12px;align-items:center;flex-wrap:wrap;margin:4px 0 12px;
padding:8px 12px;background:var(--panel);border:1px solid var(--line);border-radius:8px;
position:sticky;top:0;z-index:2}
.js .filters{display:flex}
.filters input,.filters select,.filters button,button.copy{font:inherit;font-size:13px;
padding:3px 8px;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg)}
.filters input{width:240px}
.filters button:hover,button.copy:hover{background:#eef1f4;cursor:pointer}
button.copy{display:none;margin-left:8px;padding:1px 8px;font-size:12px}
.js button.copy{display:inline-block}
details.case{border:1px solid var(--line);border-radius:8px;margin:6px 0;background:#fff;
content-visibility:auto;contain-intrinsic-size:auto 40px}
details.case[open]{box-shadow:0 1px 6px rgba(31,35,40,.1)}
details.case>summary{cursor:pointer;padding:7px 12px;display:flex;gap:10px;align-items:center;
list-style-position:inside;flex-wrap:wrap}
details.case>summary:hover{background:var(--panel)}
details.case.w-fail{border-left:4px solid var(--fail)}
details.case.w-error{border-left:4px solid var(--error)}
details.case.w-xpass{border-left:4px solid var(--xpass)}
details.case.w-xfail{border-left:4px solid var(--xfail)}
details.case.w-pass{border-left:4px solid var(--pass)}
details.case.w-skip{border-left:4px solid var(--skip)}
.kindname{font-weight:650}
.msg{color:var(--muted);font-size:12.5px;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;max-width:640px}
.body{padding:4px 16px 14px;border-top:1px solid var(--line)}
.repro{margin:10px 0 6px}
.repro code{background:#1f2328;color:#f0f3f6;padding:3px 10px;border-radius:6px;
user-select:all}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
.legdetail{border-top:1px dashed var(--line);margin-top:10px;padding-top:6px;display:flex;
gap:20px;flex-wrap:wrap}
.legdetail>div{min-width:0;flex:1 1 360px}
.bad{color:var(--fail);font-weight:600}.good{color:var(--pass)}
td.num,table.legs td{font-variant-numeric:tabular-nums;white-space:nowrap}
small{color:var(--muted);font-size:12px}table.legs td.bad{color:var(--fail)}
svg.hist,svg.growth{display:block;background:#fbfcfd;border:1px solid var(--line);border-radius:6px}
svg.hist .b,svg.growth .b{fill:#8ea3bd}svg.hist .bo,svg.growth .bo{fill:#e5534b}
svg.hist .ax,svg.growth .ax{stroke:#8c959f;stroke-width:1}
svg.hist .tol{stroke:var(--fail);stroke-width:1.2;stroke-dasharray:3 2}
svg.hist text,svg.growth text{font:10px system-ui,sans-serif;fill:#59636e;text-anchor:middle}
svg.hist .cn text{font-size:9px;fill:#424a53}svg.hist .start,svg.growth .start{text-anchor:start}
svg.hist .tl{fill:var(--fail);font-weight:600}
details.cov{margin:4px 0}details.cov>summary{cursor:pointer;padding:3px 0}
footer{margin-top:48px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);
padding-top:10px}
@media (max-width:900px){main{padding:14px}.grid2{grid-template-columns:1fr}
}
@media print{.filters,button.copy{display:none!important}details.case{break-inside:avoid}}
"""

JS = """\
"use strict";
(function () {
  var root = document.documentElement;
  root.classList.add("js");
  var BAD = {fail: 1, error: 1, xpass: 1};
  var kindBox = document.getElementById("f-kind");
  var verdictBox = document.getElementById("f-verdict");
  var shown = document.getElementById("f-shown");
  var table = document.getElementById("matrix");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var cases = Array.prototype.slice.call(document.querySelectorAll("details.case"));

  function matches(el, text, verdict) {
    var kind = (el.getAttribute("data-kind") || "").toLowerCase();
    var verdicts = (el.getAttribute("data-verdicts") || "").split(" ");
    if (text && kind.indexOf(text) < 0) return false;
    if (!verdict) return true;
    if (verdict === "bad") return verdicts.some(function (v) { return BAD[v] === 1; });
    return verdicts.indexOf(verdict) >= 0;
  }

  function apply() {
    var text = kindBox.value.trim().toLowerCase();
    var verdict = verdictBox.value;
    var nRows = 0, nCases = 0;
    rows.forEach(function (r) {
      var ok = matches(r, text, verdict);
      r.hidden = !ok;
      if (ok) nRows++;
    });
    cases.forEach(function (c) {
      var ok = matches(c, text, verdict);
      c.hidden = !ok;
      if (ok) nCases++;
    });
    shown.textContent = nRows + " of " + rows.length + " kinds, " +
      nCases + " of " + cases.length + " cases shown";
  }

  if (kindBox && verdictBox) {
    kindBox.addEventListener("input", apply);
    verdictBox.addEventListener("change", apply);
    apply();
  }

  function name(row) { return row.cells[0].getAttribute("data-sort") || ""; }

  function sortBy(th, col) {
    var numeric = th.getAttribute("data-type") === "num";
    var current = th.getAttribute("aria-sort");
    var ascending = current ? current !== "ascending" : !numeric;
    Array.prototype.forEach.call(th.parentNode.cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute("data-sort") || "";
      var y = b.cells[col].getAttribute("data-sort") || "";
      var d = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      if (d === 0) return name(a).localeCompare(name(b));
      return ascending ? d : -d;
    });
    var body = table.tBodies[0];
    rows.forEach(function (r) { body.appendChild(r); });
  }

  if (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort";
      th.addEventListener("click", function () { sortBy(th, col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th, col); }
      });
    });
  }

  function setOpen(open) {
    cases.forEach(function (c) { if (!c.hidden) c.open = open; });
  }
  var expand = document.getElementById("f-expand");
  var collapse = document.getElementById("f-collapse");
  if (expand) expand.addEventListener("click", function () { setOpen(true); });
  if (collapse) collapse.addEventListener("click", function () { setOpen(false); });

  function copied(button, ok) {
    button.textContent = ok ? "copied" : "select + Ctrl+C";
    setTimeout(function () { button.textContent = "copy"; }, 1500);
  }
  function fallbackCopy(button) {
    var code = button.previousElementSibling;
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    copied(button, ok);
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button.copy") : null;
    if (!button) return;
    var value = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(
        function () { copied(button, true); },
        function () { fallbackCopy(button); });
    } else {
      fallbackCopy(button);
    }
  });

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.hidden = false;
      target.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
"""
