
"use strict";
(function () {
  var root = document.documentElement;
  root.classList.add("js");
  var blob = document.getElementById("parity-data");

  // What is below the first screen is built once the page is interactive, a job per idle
  // moment, or at once where it is needed.
  var idleJobs = [];
  function whenIdle(job) { idleJobs.push(job); }
  function allBuilt() {
    // when everything below the first screen was built, in ms since navigation began
    if (!root.hasAttribute("data-built")) {
      root.setAttribute("data-built", String(Math.round(performance.now())));
    }
  }
  function runWhenIdle() {
    var idle = window.requestIdleCallback || function (then) { return setTimeout(then, 50); };
    idle(function () {
      var job = idleJobs.shift();
      if (!job) { allBuilt(); return; }
      job();
      runWhenIdle();
    });
  }
  function runAllNow() { while (idleJobs.length) idleJobs.shift()(); allBuilt(); }
  window.addEventListener("beforeprint", runAllNow);

  // The long tables below the first screen (known issues, every path, kinds x legs) are in
  // the page inside <noscript class="later">: a browser without script shows them as they
  // are, one with script parses them as text (cheaper than their elements by a tenth of a
  // ci report's time to interactive), and this builds them when idle, or all at once for a
  // filter or a link into them.
  var later = Array.prototype.slice.call(document.querySelectorAll("noscript.later"));
  var whenBuilt = [];
  function build(holder) {
    var parent = holder.parentNode;
    if (!parent) return;  // built already
    var parsed = document.createElement("template");
    parsed.innerHTML = holder.textContent;
    parent.replaceChild(parsed.content, holder);
    later.splice(later.indexOf(holder), 1);
    whenBuilt.forEach(function (then) { then(parent); });
  }
  function buildAll() { while (later.length) build(later[0]); }
  later.forEach(function (holder) { whenIdle(function () { build(holder); }); });

  function unpack(text) {
    // the data block is gzip-compressed JSON in base64 (harness/report/data.py, pack)
    var binary = atob(text.trim()), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  function unreadable(why) {
    var cases = document.getElementById("cases"), note = document.createElement("p");
    note.className = "warn";
    note.id = "data-unreadable";
    note.textContent = "The cases and the coverage are listed by the page's script, which " +
      "could not read the page's data: " + String(why).replace(/\.$/, "") + ". The failing " +
      "cases above are complete.";
    if (cases) cases.insertBefore(note, cases.children[1] || null);
  }
  function start(data) {
    // what is below the first screen is built even if listing the cases failed
    try { main(data); } finally { runWhenIdle(); }
  }
  if (!blob) {
    start({});
  } else if (typeof DecompressionStream !== "function") {
    unreadable("this browser has no DecompressionStream (Chromium 80, Firefox 113, Safari " +
      "16.4 and later have it)");
    start({});
  } else {
    // a block that is not base64 throws in atob: a rejection too, not an uncaught error
    new Promise(function (resolve) { resolve(unpack(blob.textContent)); }).then(start, function (error) {
      unreadable(String(error));
      start({});
    });
  }

  function main(data) {
    var RANK = {fail: 0, error: 1, xpass: 2, xfail: 3, skip: 4, pass: 5};
    var BAD = {fail: 1, error: 1, xpass: 1};
    var PAGE = 100;
    var SVG = "http://www.w3.org/2000/svg";
    var strings = data.strings || [], objects = data.objects || [];
    var fields = data.fields || {};
    var CASE_FIELDS = fields["case"] || [], LEG_FIELDS = fields.leg || [];
    var METRIC_FIELDS = fields.metrics || [], VERDICTS = data.verdicts || [];
    var kinds = data.kinds || [];

    function str(i) { return i === undefined || i === null ? "" : strings[i]; }
    function obj(i) { return i === undefined || i === null ? null : objects[i]; }
    function named(row, names) {
      var out = {};
      names.forEach(function (name, i) {
        if (row[i] !== undefined && row[i] !== null) out[name] = row[i];
      });
      return out;
    }
    function verdictOf(code) { return VERDICTS[code] || "?"; }
    function byRank(a, b) { return RANK[a] - RANK[b]; }
    function decodeCase(row) {
      // a case is a row of CASE_FIELDS (see harness/report/data.py); this makes it an object
      var entry = named(row, CASE_FIELDS), kind = kinds[entry.kind] || [];
      entry.kindName = str(kind[0]);
      entry.family = str(kind[1]);
      entry.source = str(kind[2]);
      entry.static = !entry.legs;
      var verdicts = entry.static ? (entry.verdicts || []).map(verdictOf) :
        entry.legs.map(function (leg) { return verdictOf(leg[1]); });
      entry.verdicts = verdicts.filter(function (v, i, all) { return all.indexOf(v) === i; })
        .sort(byRank);
      entry.worst = entry.verdicts[0] || "pass";
      return entry;
    }
    var entries = (data.case_list || []).map(decodeCase);
    // an opened case's spec, inputs and provenance are in a second block, unpacked when the
    // first case is opened (or the page is idle), not before the list is interactive
    var detailsBlob = document.getElementById("parity-details");
    var detailsRead = !detailsBlob || !data.case_list, detailsError = null, detailsWaiting = null;
    function withDetails(then) {
      if (detailsRead) { then(); return; }
      if (!detailsWaiting) {
        detailsWaiting = new Promise(function (resolve) {
          resolve(unpack(detailsBlob.textContent));
        }).then(function (block) {
          var names = block.fields || [];
          (block.details || []).forEach(function (row, i) {
            var entry = entries[i];
            if (!entry) return;
            names.forEach(function (name, j) {
              if (row[j] !== undefined && row[j] !== null) entry[name] = row[j];
            });
          });
        }, function (error) {
          detailsError = String(error);
        }).then(function () { detailsRead = true; });
      }
      detailsWaiting.then(then);
    }
    function decodeLeg(row) {
      // a leg is a row of LEG_FIELDS; this makes it an object
      var leg = named(row, LEG_FIELDS), where = obj(leg.where) || {};
      leg.leg = where.leg || "";
      leg.path = where.path || "";
      leg.stage = where.stage || "";
      leg.runner = where.runner || "";
      leg.device = where.device || "";
      leg.tolerance = where.tolerance || {};
      leg.v = verdictOf(leg.verdict);
      if (leg.category !== undefined) leg.category = str(leg.category);
      if (leg.message !== undefined) leg.message = str(leg.message);
      if (leg.blame !== undefined) leg.blame = str(leg.blame);
      if (leg.note !== undefined) leg.note = str(leg.note);
      leg.issue = obj(leg.issue);
      var m = leg.metrics ? named(leg.metrics, METRIC_FIELDS) : {};
      if (m.dtype !== undefined) m.dtype = str(m.dtype);
      if (m.expected_dtype !== undefined) m.expected_dtype = str(m.expected_dtype);
      if (m.histogram) {
        var h = m.histogram;
        m.histogram = h.length === 4 ? {counts: h[0], exact: h[1], lo: h[2], hi: h[3]} :
          {counts: h[0], exact: h[1], edges: h[2]};
      }
      // a passing leg keeps max_abs and max_rel only: the rest of its metrics stay undefined
      leg.full = leg.metrics !== undefined;
      if (leg.max_abs !== undefined) m.max_abs = leg.max_abs;
      if (leg.max_rel !== undefined) m.max_rel = leg.max_rel;
      leg.metrics = leg.full || leg.max_abs !== undefined || leg.max_rel !== undefined ? m : null;
      return leg;
    }
    function legsOf(entry) {
      if (!entry.decoded) entry.decoded = (entry.legs || []).map(decodeLeg);
      return entry.decoded;
    }

    // ------------------------------------------------------------ building DOM, as text only
    function el(tag, cls, content) {
      var node = document.createElement(tag);
      if (cls) node.className = cls;
      if (content !== undefined && content !== null) node.textContent = String(content);
      return node;
    }
    function add(parent, child) { parent.appendChild(child); return child; }
    function pill(verdict, title) {
      var node = el("span", "v v-" + verdict, verdict);
      if (title) node.title = title;
      return node;
    }
    function isNumber(x) { return typeof x === "number" && isFinite(x); }
    function general(x, digits) {
      // Python's "%.{digits}g": what the page's static half prints
      if (x === 0) return "0";
      var exponent = Math.floor(Math.log10(Math.abs(x)));
      if (exponent < -4 || exponent >= digits) {
        var parts = x.toExponential(digits - 1).split("e");
        var mantissa = parts[0].indexOf(".") >= 0 ? parts[0].replace(/\.?0+$/, "") : parts[0];
        var e = parseInt(parts[1], 10);
        return mantissa + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
      }
      return String(parseFloat(x.toPrecision(digits)));
    }
    function num(x) {
      if (x === undefined || x === null) return "\u2014";
      if (!isNumber(x)) return String(x);
      return Number.isInteger(x) ? String(x) : general(x, 4);
    }
    function asNumber(x) {
      if (isNumber(x)) return x;
      if (x === "inf") return Infinity;
      if (x === "-inf") return -Infinity;
      return null;
    }
    function indexText(v) { return Array.isArray(v) ? "[" + v.join(", ") + "]" : (v == null ? "" : String(v)); }
    function firstLine(s) {
      var lines = String(s || "").split("\n");
      for (var i = 0; i < lines.length; i++) if (lines[i].trim()) return lines[i].trim();
      return "";
    }
    function flat(v) {
      if (Array.isArray(v)) return "[" + v.map(flat).join(", ") + "]";
      if (v && typeof v === "object") {
        return "{" + Object.keys(v).sort().map(function (k) {
          return JSON.stringify(k) + ": " + flat(v[k]);
        }).join(", ") + "}";
      }
      return JSON.stringify(v);
    }
    function pretty(v, indent) {
      // objects broken over lines, short lists kept on one: specs read better
      var line = flat(v);
      if (line.length + indent <= 88 || v === null || typeof v !== "object") return line;
      var keys = Array.isArray(v) ? null : Object.keys(v).sort();
      if ((keys ? keys.length : v.length) === 0) return line;
      var pad = new Array(indent + 1).join(" "), inner = pad + "  ";
      if (keys) {
        return "{\n" + keys.map(function (k) {
          return inner + JSON.stringify(k) + ": " + pretty(v[k], indent + 2);
        }).join(",\n") + "\n" + pad + "}";
      }
      return "[\n" + v.map(function (x) { return inner + pretty(x, indent + 2); }).join(",\n") +
        "\n" + pad + "]";
    }
    function safeUrl(url) {
      return typeof url === "string" && /^https?:\/\/[^\/\s]/i.test(url.trim()) ? url.trim() : null;
    }

    // ------------------------------------------------------------ charts
    function svgNode(tag, attrs, content) {
      var node = document.createElementNS(SVG, tag);
      for (var k in attrs) node.setAttribute(k, attrs[k]);
      if (content !== undefined) node.textContent = content;
      return node;
    }
    function shortCount(n) {
      var scales = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
      for (var i = 0; i < scales.length; i++) {
        if (n >= scales[i][0]) return general(n / scales[i][0], 3) + scales[i][1];
      }
      return String(Math.round(n));
    }
    function histogram(h, atol) {
      // the same chart as harness/report/svg.py draws for the failing cases
      if (!h) return null;
      var counts = h.counts, exact = isNumber(h.exact) ? h.exact : 0, edges = h.edges;
      if (Array.isArray(counts) && isNumber(h.lo) && isNumber(h.hi)) {
        edges = [];
        for (var i = 0; i <= counts.length; i++) edges.push(h.lo + (h.hi - h.lo) * i / counts.length);
      }
      if (Array.isArray(edges) && edges.length === 0 && Array.isArray(counts) && counts.length === 0 && exact) {
        return el("p", "muted", "no error: all " + exact + " elements are exactly equal");
      }
      var ok = Array.isArray(edges) && Array.isArray(counts) && edges.length === counts.length + 1 &&
        edges.every(isNumber) && counts.every(isNumber) && edges[edges.length - 1] > edges[0];
      if (!ok) return el("p", "muted", "histogram unavailable");
      var W = 360, H = 120, L = 16, R = 16, T = 22, B = 16;
      var lo = edges[0], hi = edges[edges.length - 1], plotW = W - L - R, plotH = H - T - B;
      var base = T + plotH;
      var peak = Math.max.apply(null, counts.map(function (c) { return Math.log1p(Math.max(c, 0)); })) || 1;
      function x(edge) { return L + (edge - lo) / (hi - lo) * plotW; }
      var threshold = isNumber(atol) && atol > 0 ? Math.log10(atol) : null;
      var svg = svgNode("svg", {"class": "hist", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img"});
      add(svg, svgNode("title", {}, "histogram of log10 |error|: " + counts.map(function (c) { return shortCount(Math.max(c, 0)); }).join(", ")));
      var under = "", over = "", labels = svgNode("g", {"class": "cn"});
      counts.forEach(function (count, i) {
        var x0 = x(edges[i]), x1 = x(edges[i + 1]);
        var h = Math.log1p(Math.max(count, 0)) / peak * plotH;
        if (h <= 0) return;
        var bar = "M" + Math.round(x0 + 0.5) + " " + base + "v" + (-Math.round(h)) + "h" +
          Math.round(Math.max(x1 - x0 - 1, 1)) + "v" + Math.round(h) + "z";
        if (threshold !== null && edges[i] >= threshold) over += bar; else under += bar;
        add(labels, svgNode("text", {x: Math.round((x0 + x1) / 2), y: Math.round(base - h - 2)}, shortCount(count)));
      });
      if (under) add(svg, svgNode("path", {"class": "b", d: under}));
      if (over) add(svg, svgNode("path", {"class": "bo", d: over}));
      add(svg, labels);
      add(svg, svgNode("path", {"class": "ax", d: "M" + L + " " + base + "H" + (W - R)}));
      var ticks = add(svg, svgNode("g", {"class": "tk"}));
      var decades = [];
      for (var d = Math.ceil(lo); d <= Math.floor(hi); d++) decades.push(d);
      if (!decades.length) decades = [lo, hi];
      var step = Math.max(1, Math.ceil((decades.length - 1) / 5));
      for (var j = 0; j < decades.length; j += step) {
        var label = Number.isInteger(decades[j]) ? "1e" + decades[j] : "1e" + decades[j].toFixed(1);
        add(ticks, svgNode("text", {x: Math.round(x(decades[j])), y: base + 12}, label));
      }
      if (exact) add(ticks, svgNode("text", {x: L, y: T - 8, "class": "start"}, "+" + shortCount(exact) + " exact"));
      if (threshold !== null && lo <= threshold && threshold <= hi) {
        add(ticks, svgNode("path", {"class": "tol", d: "M" + Math.round(x(threshold)) + " " + (T - 6) + "V" + base}));
        add(ticks, svgNode("text", {x: Math.round(x(threshold)), y: T - 8, "class": "tl"}, "atol"));
      }
      return svg;
    }

    // ------------------------------------------------------------ one case
    function anchorOf(entry) { return entry.anchor || "case-" + entry.id; }

    function summaryLine(entry) {
      var bad = legsOf(entry).filter(function (l) { return l.v !== "pass"; });
      if (!bad.length) return "";
      bad.sort(function (a, b) { return RANK[a.v] - RANK[b.v]; });
      var first = bad[0], issue = first.issue || {};
      var message = first.message || issue.reason || "";
      var category = first.category || issue.id || first.v;
      var line = category + " @ " + (first.stage || "?") + ": " + String(message).split("\n")[0];
      return line.length > 200 ? line.slice(0, 200) + "\n... [" + (line.length - 200) + " more characters not shown]" : line;
    }

    function caseElement(entry) {
      var details = el("details", "case w-" + entry.worst);
      details.id = anchorOf(entry);
      details.setAttribute("data-kind", entry.kindName);
      details.setAttribute("data-source", entry.source);
      details.setAttribute("data-verdicts", entry.verdicts.join(" "));
      var summary = add(details, el("summary"));
      legsOf(entry).forEach(function (leg) { add(summary, pill(leg.v, leg.leg)); });
      add(summary, el("span", "kindname", entry.kindName));
      add(summary, el("code", null, entry.id));
      var line = summaryLine(entry);
      if (line) add(summary, el("span", "msg", line));
      details.addEventListener("toggle", function () {
        if (!details.open) return;
        withDetails(function () {
          if (!details.querySelector(".body")) add(details, caseBody(entry));
        });
      });
      return details;
    }

    function definitions(rows) {
      var list = el("dl");
      rows.forEach(function (row) {
        if (row[1] === undefined || row[1] === null || row[1] === "") return;
        add(list, el("dt", null, row[0]));
        add(list, el("dd", null, row[1]));
      });
      return list;
    }

    var LEG_HEAD = ["leg", "verdict", "max abs (at)", "max rel (at)", "ULP", "mismatched",
      "required atol", "required rtol", "policy atol / rtol", "time"];

    function legRow(leg) {
      var m = leg.metrics || {}, tol = leg.tolerance;
      var tr = el("tr");
      var first = add(tr, el("td"));
      add(first, el("code", null, leg.leg));
      add(first, el("br"));
      add(first, el("small", null, [leg.stage, leg.runner, leg.device].filter(Boolean).join(" \u00b7 ")));
      add(add(tr, el("td")), pill(leg.v));
      [["max_abs", "max_abs_index"], ["max_rel", "max_rel_index"]].forEach(function (pair) {
        var td = add(tr, el("td", null, num(m[pair[0]])));
        add(td, el("br"));
        add(td, el("small", null, indexText(m[pair[1]])));
      });
      add(tr, el("td", null, num(m.max_ulp)));
      var mismatch = "\u2014";
      if (m.total !== undefined && m.total !== null) {
        mismatch = num(m.mismatched) + " / " + num(m.total);
        if (isNumber(m.mismatched) && m.total > 0) mismatch += " (" + (100 * m.mismatched / m.total).toFixed(2) + "%)";
      }
      add(tr, el("td", null, mismatch));
      [["required_atol", tol.atol], ["required_rtol", tol.rtol]].forEach(function (pair) {
        var need = asNumber(m[pair[0]]), limit = asNumber(pair[1]);
        add(tr, el("td", need !== null && limit !== null && need > limit ? "bad" : null, num(m[pair[0]])));
      });
      var policy = add(tr, el("td", null, num(tol.atol) + " / " + num(tol.rtol)));
      add(policy, el("br"));
      add(policy, el("small", null, tol.rule || ""));
      add(tr, el("td", null, isNumber(leg.seconds) ? general(leg.seconds, 3) + " s" : "\u2014"));
      return tr;
    }

    function outputChecks(m) {
      var p = el("p", "small");
      var sameShape = m.expected_shape === undefined, sameDtype = m.expected_dtype === undefined;
      if (sameShape && sameDtype) {
        p.textContent = "output " + indexText(m.shape) + " " + (m.dtype || "");
      } else {
        add(p, el("span", sameShape ? null : "bad", "shape " + indexText(m.shape) + " (expected " + indexText(sameShape ? m.shape : m.expected_shape) + ")"));
        add(p, el("br"));
        add(p, el("span", sameDtype ? null : "bad", "dtype " + (m.dtype || "") + " (expected " + ((sameDtype ? m.dtype : m.expected_dtype) || "") + ")"));
      }
      if (m.nonfinite) {
        add(p, el("br"));
        add(p, el("span", "bad", "non-finite: " + Object.keys(m.nonfinite).sort().map(function (k) { return k + " " + m.nonfinite[k]; }).join(", ")));
      }
      return p;
    }

    function diagnosis(d, parent) {
      if (d.error) { add(parent, el("p", "muted", "per-layer diagnosis unavailable: " + d.error)); return; }
      add(parent, el("h4", null, "per layer"));
      if (d.summary) add(parent, el("p", "diag", d.summary));
      var first = d.first_divergence;
      if (first) {
        var alone = d.isolated || {};
        add(parent, definitions([
          ["first diverging layer", first.layer], ["layer kind", first.kind],
          ["max_abs there", num(first.max_abs)], ["introduced by stage", d.stage || "undetermined"],
          ["the layer alone", alone.error ? "could not be re-run: " + alone.error :
            (alone.passed ? "matches" : "diverges") + ", max_abs " + num(alone.max_abs)],
          ["layers mapped", d.mapped + " of " + d.layers]]));
      }
    }

    function legDetail(leg) {
      var box = el("div", "legdetail"), info = add(box, el("div"));
      add(info, el("h4", null, leg.leg));
      if (leg.category !== undefined) {
        add(info, el("h4", null, "failure: " + leg.category + " at stage " + (leg.stage || "?")));
        add(info, el("pre", null, leg.message || ""));
        if (leg.cut) {
          add(info, el("p", "small muted cut", "\u2026 " + leg.cut.toLocaleString("en-US") +
            " more characters: the full message is in results.jsonl (parity repro rebuilds the " +
            "case)"));
        }
      }
      var issue = leg.issue;
      if (issue) {
        add(info, el("h4", null, "known issue"));
        var p = add(info, el("p")), url = safeUrl(issue.url);
        var label = issue.id || issue.url || issue.raw_url || "known issue";
        if (url) {
          var a = add(p, el("a", null, label));
          a.href = url;
          a.rel = "noopener noreferrer";
        } else {
          p.appendChild(document.createTextNode(label));
        }
        if (issue.raw_url) { p.appendChild(document.createTextNode(" ")); add(p, el("code", null, issue.raw_url)); }
        p.appendChild(document.createTextNode(": " + (issue.reason || "")));
      }
      if (leg.blame !== undefined) {
        var blame = add(info, el("p", null, "diverged upstream, at stage "));
        add(blame, el("code", null, leg.blame));
      }
      if (leg.note) add(info, el("p", "small", leg.note));
      var m = leg.metrics;
      if (m && leg.full) add(info, outputChecks(m));
      if (leg.yardstick !== undefined) {
        var errors = m && (m.leg_error !== undefined || m.source_error !== undefined) ?
          " (leg error " + num(m.leg_error) + ", source's own error " + num(m.source_error) +
          ")" : "";
        add(info, el("p", "small yardstick", "yardstick: \u00d7" + num(leg.yardstick) +
          " the source's own float64 rounding error" + errors));
      }
      if (leg.outputs) {
        add(info, el("h4", null, "outputs"));
        var table = add(info, el("table")), head = add(add(table, el("thead")), el("tr"));
        ["#", "shape", "max abs", "max rel", "mismatch fraction"].forEach(function (h) { add(head, el("th", null, h)); });
        var body = add(table, el("tbody"));
        leg.outputs.forEach(function (o, i) {
          var tr = add(body, el("tr"));
          [i, indexText(o.shape), num(o.max_abs), num(o.max_rel), num(o.mismatch_fraction)].forEach(function (v, j) {
            add(tr, el("td", j > 1 ? "num" : null, v));
          });
        });
      }
      if (leg.diagnosis) diagnosis(leg.diagnosis, info);
      var chart = m ? histogram(m.histogram, leg.tolerance.atol) : null;
      if (chart) {
        var side = add(box, el("div"));
        var title = add(side, el("h4", null, "error histogram "));
        add(title, el("small", null, "(log10 |error| bins)"));
        add(side, chart);
      }
      return box;
    }

    function caseBody(entry) {
      var body = el("div", "body");
      if (detailsError) {
        add(body, el("p", "warn", "This case's spec, inputs and provenance could not be read " +
          "from the page's data (" + detailsError.replace(/\.$/, "") + "); results.jsonl has them."));
      }
      var repro = entry.repro || "parity repro " + entry.id;
      var line = add(body, el("div", "repro"));
      add(line, el("code", null, repro));
      var copy = add(line, el("button", "copy", "copy"));
      copy.type = "button";
      copy.setAttribute("data-copy", repro);
      var grid = add(body, el("div", "grid2"));
      var left = add(grid, el("div")), right = add(grid, el("div"));
      if (typeof entry.spec === "string") {
        // every leg passed: the page keeps the spec in one line, results.jsonl keeps all of it
        var specHead = add(left, el("h4", null, "spec "));
        add(specHead, el("small", null, "(in one line; all of it is in results.jsonl)"));
        add(left, el("pre", "oneline", entry.spec));
      } else {
        add(left, el("h4", null, "spec"));
        add(left, el("pre", null, pretty(entry.spec === undefined ? null : entry.spec, 0)));
      }
      add(right, el("h4", null, "inputs"));
      var inputs = add(right, el("ul"));
      (obj(entry.inputs) || []).forEach(function (i) {
        var li = add(inputs, el("li"));
        add(li, el("code", null, indexText((i || {}).shape)));
        li.appendChild(document.createTextNode(" " + ((i || {}).dtype || "")));
      });
      if (!inputs.firstChild) add(inputs, el("li", null, "\u2014"));
      var legs = legsOf(entry), hyp = obj(entry.hypothesis) || {}, golden = obj(entry.golden);
      var paths = legs.map(function (l) { return l.path; }).filter(Boolean)
        .filter(function (p, i, all) { return all.indexOf(p) === i; }).sort();
      var sources = {keras: "Keras", mat: "MATLAB", onnx: "ONNX", file: "Users' files"};
      var facts = [
        ["source", sources[entry.source] || entry.source], ["family", entry.family],
        ["paths", paths.join(", ")], ["test", str(entry.test).split("{id}").join(entry.id)],
        ["hypothesis", entry.hypothesis !== undefined ? "profile " + hyp.profile + ", seed " + hyp.seed : null],
        ["replay in Hypothesis", hyp.reproduce_failure], ["time", entry.time]];
      if (golden) {
        var made = golden.versions || {};
        facts.push(["golden, made with", Object.keys(made).map(function (k) { return k + " " + made[k]; }).join(", ")]);
        var drift = golden.drift || {};
        facts.push(["drift", Object.keys(drift).filter(function (k) { return Array.isArray(drift[k]) && drift[k].length === 2; })
          .map(function (k) { return k + " " + drift[k][0] + " \u2192 " + drift[k][1]; }).join(", ") || "none"]);
      }
      add(add(right, el("div", "env")), definitions(facts));
      add(body, el("h4", null, "legs"));
      var table = add(add(body, el("div", "scroll")), el("table", "legs"));
      var head = add(add(table, el("thead")), el("tr"));
      LEG_HEAD.forEach(function (h) { add(head, el("th", null, h)); });
      var tbody = add(table, el("tbody"));
      legs.forEach(function (leg) { add(tbody, legRow(leg)); });
      legs.forEach(function (leg) { add(body, legDetail(leg)); });
      if (legs.some(function (leg) { return leg.v === "pass"; })) {
        add(body, el("p", "small muted", "A passing leg keeps max abs and max rel only: its " +
          "other metrics, histogram and timing are in results.jsonl."));
      }
      return body;
    }

    // ------------------------------------------------------------ the case browser and filters
    var list = document.getElementById("case-list");
    var more = document.getElementById("case-more");
    var kindBox = document.getElementById("f-kind");
    var verdictBox = document.getElementById("f-verdict");
    var sourceBox = document.getElementById("f-source");
    var shown = document.getElementById("f-shown");
    var matrix = document.getElementById("matrix");
    function matrixRows() {
      return Array.prototype.slice.call(document.querySelectorAll("#matrix tbody tr"));
    }
    var elements = entries.map(function (entry) {
      return entry.static ? document.getElementById(anchorOf(entry)) : null;
    });
    var limit = PAGE;

    function filters() {
      return {
        text: kindBox ? kindBox.value.trim().toLowerCase() : "",
        verdict: verdictBox ? verdictBox.value : "",
        source: sourceBox ? sourceBox.value : ""
      };
    }
    function matches(kind, source, verdicts, f) {
      if (f.text && kind.toLowerCase().indexOf(f.text) < 0) return false;
      if (f.source && source !== f.source) return false;
      if (!f.verdict) return true;
      if (f.verdict === "bad") return verdicts.some(function (v) { return BAD[v] === 1; });
      return verdicts.indexOf(f.verdict) >= 0;
    }
    function elementAt(i) {
      if (!elements[i]) elements[i] = caseElement(entries[i]);
      return elements[i];
    }

    var rendering = false;
    function render() {
      var f = filters(), nRows = 0, picked = [];
      rendering = true;
      if (f.text || f.verdict || f.source) buildAll();
      rendering = false;
      var rows = matrixRows();  // none until the matrix is built: it gives its count till then
      var allRows = rows.length || (matrix && parseInt(matrix.getAttribute("data-rows"), 10)) || 0;
      if (!rows.length) nRows = allRows;
      rows.forEach(function (r) {
        var ok = matches(r.getAttribute("data-kind") || "", r.getAttribute("data-source") || "",
          (r.getAttribute("data-verdicts") || "").split(" "), f);
        r.hidden = !ok;
        if (ok) nRows++;
      });
      entries.forEach(function (entry, i) {
        if (matches(entry.kindName, entry.source, entry.verdicts, f)) picked.push(i);
      });
      if (list && data.case_list) {  // without the data, the cases in HTML stay as they are
        var fragment = document.createDocumentFragment();
        picked.slice(0, limit).forEach(function (i) { fragment.appendChild(elementAt(i)); });
        list.textContent = "";
        list.appendChild(fragment);
      }
      var listed = Math.min(limit, picked.length);
      if (more) {
        more.hidden = picked.length <= limit;
        more.textContent = "show " + Math.min(PAGE, picked.length - listed) + " more (" +
          (picked.length - listed) + " not listed)";
      }
      if (shown) {
        shown.textContent = nRows + " of " + allRows + " kinds, " + picked.length + " of " +
          entries.length + " cases shown" + (listed < picked.length ? " (" + listed + " listed)" : "");
      }
      return picked;
    }

    if (kindBox) kindBox.addEventListener("input", function () { limit = PAGE; render(); });
    if (verdictBox) verdictBox.addEventListener("change", function () { limit = PAGE; render(); });
    if (sourceBox) sourceBox.addEventListener("change", function () { limit = PAGE; render(); });
    if (more) more.addEventListener("click", function () { limit += PAGE; render(); });
    render();

    function setOpen(open) {
      if (!list) return;
      Array.prototype.forEach.call(list.children, function (c) { if (!c.hidden) c.open = open; });
    }
    var expand = document.getElementById("f-expand");
    var collapse = document.getElementById("f-collapse");
    if (expand) expand.addEventListener("click", function () { setOpen(true); });
    if (collapse) collapse.addEventListener("click", function () { setOpen(false); });

    // ------------------------------------------------------------ sorting the kind matrices
    function cellKey(cell) {
      // failing results first, then the most results; an empty cell last
      var pills = cell ? cell.querySelectorAll(".n") : [], failing = 0, total = 0;
      if (!pills.length) return -1;
      Array.prototype.forEach.call(pills, function (p) {
        var n = parseInt(p.textContent, 10) || 0;
        total += n;
        if (/\bv-(fail|error|xpass)\b/.test(p.className)) failing += n;
      });
      return failing * 1e7 + total;
    }
    function sortBy(table, th, col) {
      var body = table.tBodies[0];
      var mine = Array.prototype.slice.call(body.rows);
      var numeric = th.getAttribute("data-type") === "num";
      var current = th.getAttribute("aria-sort");
      var ascending = current ? current !== "ascending" : !numeric;
      Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      function key(r) { return numeric ? cellKey(r.cells[col]) : r.cells[col].textContent; }
      function name(r) { return r.cells[0].textContent; }
      mine.sort(function (a, b) {
        var d = numeric ? key(a) - key(b) : key(a).localeCompare(key(b));
        if (d === 0) return name(a).localeCompare(name(b));
        return ascending ? d : -d;
      });
      mine.forEach(function (r) { body.appendChild(r); });
    }
    function sortable(root) {
      Array.prototype.forEach.call(root.querySelectorAll("table.matrix"), function (table) {
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
          th.tabIndex = 0;
          th.title = (th.title ? th.title + ": " : "") + "sort";
          th.addEventListener("click", function () { sortBy(table, th, col); });
          th.addEventListener("keydown", function (e) {
            if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
          });
        });
      });
    }
    sortable(document);
    whenBuilt.push(function (parent) {
      sortable(parent);
      if (parent === matrix && !rendering) render();
    });

    // ------------------------------------------------------------ copy buttons
    function copied(button, ok) {
      button.textContent = ok ? "copied" : "select + Ctrl+C";
      setTimeout(function () { button.textContent = "copy"; }, 1500);
    }
    function fallbackCopy(button) {
      var range = document.createRange();
      range.selectNodeContents(button.previousElementSibling);
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

    // ------------------------------------------------------------ coverage, from the data block
    function chip(value, count, cls) {
      var node = el("span", "chip" + (cls ? " " + cls : ""), value);
      if (count !== undefined) add(node, el("i", null, "\u00d7" + count));
      return node;
    }
    function chips(parent, values, cls) {
      values.forEach(function (v) {
        add(parent, chip(str(v), undefined, cls));
        parent.appendChild(document.createTextNode(" "));
      });
    }
    function coverageTable(attributes, cases) {
      // an attribute: [name, drawn [value, count, ...], documented, never, odd, more]
      var wrap = el("div", "scroll"), table = add(wrap, el("table"));
      var head = add(add(table, el("thead")), el("tr"));
      ["attribute", "drawn values (\u00d7 cases)", "never drawn", "drawn but undocumented"]
        .forEach(function (h) { add(head, el("th", null, h)); });
      var body = add(table, el("tbody"));
      attributes.forEach(function (row) {
        var drawn = row[1] || [], never = row[3] || [], odd = row[4] || [], more = row[5];
        var tr = add(body, el("tr"));
        add(add(tr, el("td")), el("code", null, str(row[0])));
        var values = add(tr, el("td"));
        for (var i = 0; i < drawn.length; i += 2) {
          add(values, chip(str(drawn[i]), drawn[i + 1]));
          values.appendChild(document.createTextNode(" "));
        }
        if (!drawn.length) values.textContent = "\u2014";
        if (more) add(values, el("span", "muted", "\u2026 " + more + " more distinct"));
        var missing = add(tr, el("td"));
        if (!row[2]) {
          add(missing, el("span", "muted", "no documented values"));
        } else if (!drawn.length && cases) {
          add(missing, el("span", "bad", "in no spec's attrs:"));
          missing.appendChild(document.createTextNode(" "));
          chips(missing, never, "miss");
        } else if (never.length) {
          chips(missing, never, "miss");
        } else {
          missing.textContent = "\u2014";
        }
        chips(add(tr, el("td")), odd, "odd");
      });
      return wrap;
    }
    function renderCoverage() {
      // a kind: [label, cases, documented values never drawn, attributes]; its table is built
      // when it is opened
      var box = document.getElementById("coverage-list"), coverage = data.coverage;
      if (!box || !coverage) return;
      var fragment = document.createDocumentFragment();
      (coverage.kinds || []).forEach(function (row) {
        var details = add(fragment, el("details", "cov"));
        var summary = add(details, el("summary"));
        add(summary, el("b", null, str(row[0])));
        summary.appendChild(document.createTextNode(" "));
        add(summary, el("span", "muted", row[1] + " case(s), " + row[3].length + " attribute(s)"));
        if (row[2]) {
          add(summary, el("span", "bad", ", " + row[2] + " documented value(s) never drawn"));
        }
        details.addEventListener("toggle", function () {
          if (details.open && !details.querySelector("table")) {
            add(details, coverageTable(row[3], row[1]));
          }
        });
      });
      box.appendChild(fragment);
    }
    whenIdle(renderCoverage);  // far below the first screen

    // ------------------------------------------------------------ links to a case
    function openTarget() {
      var id = decodeURIComponent(location.hash.slice(1));
      if (!id) return;
      if (!document.getElementById(id)) buildAll();
      var target = document.getElementById(id);
      var at = -1;
      for (var i = 0; i < entries.length && at < 0; i++) if (anchorOf(entries[i]) === id) at = i;
      if (at >= 0 && (!target || !list.contains(target))) {
        if (kindBox) kindBox.value = "";
        if (verdictBox) verdictBox.value = "";
        if (sourceBox) sourceBox.value = "";
        limit = Math.max(limit, Math.ceil((at + 1) / PAGE) * PAGE);
        render();
        target = elementAt(at);
      }
      if (target && target.tagName === "DETAILS") {
        target.hidden = false;
        target.open = true;
        target.scrollIntoView();
      } else if (target) {
        target.scrollIntoView();
      }
    }
    window.addEventListener("hashchange", openTarget);
    openTarget();
    // when the page became interactive, in ms since navigation began (benchmarks read it)
    root.setAttribute("data-ready", String(Math.round(performance.now())));
    whenIdle(function () { withDetails(function () {}); });
  }
})();
