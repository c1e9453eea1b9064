/**
 * The UI pages besides home: Targets, Service discovery, Remote write, WAL,
 * Configuration, Flags and Status. Each is one self-contained HTML document
 * (inline CSS and script, no external assets, so `deno compile` carries it)
 * whose script polls the JSON API every few seconds and re-renders. Every
 * value from the agent is escaped before it reaches `innerHTML`.
 *
 * Targets and Service discovery are paginated on the server (`page`, `size`,
 * with the pool, state and search filters applied first), so a refresh
 * fetches and renders one page of rows whatever the number of targets. A
 * refresh that a newer one (a click, a filter) overtook is discarded, and a
 * hidden tab does not poll.
 *
 * @module
 */

/** A UI page: its path, nav title and the name the client script dispatches on. */
export interface PageDef {
  path: string;
  title: string;
  id: string;
}

/** The pages in nav order (home is rendered by `home.ts`). */
export const PAGES: readonly PageDef[] = [
  { path: "/targets", title: "Targets", id: "targets" },
  { path: "/service-discovery", title: "Service discovery", id: "sd" },
  { path: "/remote-write", title: "Remote write", id: "rw" },
  { path: "/wal", title: "WAL", id: "wal" },
  { path: "/config", title: "Configuration", id: "config" },
  { path: "/flags", title: "Flags", id: "flags" },
  { path: "/status", title: "Status", id: "status" },
];

/** Seconds between refreshes of a page's data. */
export const REFRESH_SECONDS = 5;

const CSS = `
:root{color-scheme:light dark;--fg:#1d1f21;--bg:#fff;--muted:#6a737d;--line:#d0d7de;--head:#f3f5f7;
--up:#1a7f37;--down:#cf222e;--unknown:#6e7781;--chip:#eef1f4;--sel:#dbe9ff}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8b949e;--line:#30363d;
--head:#161b22;--up:#3fb950;--down:#f85149;--unknown:#8b949e;--chip:#21262d;--sel:#1f3a5f}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4em 1.2em;padding:.7em 1.2em;border-bottom:1px solid var(--line);background:var(--head)}
header .brand{font-weight:700;font-size:1.2em;text-decoration:none}
header nav{display:flex;flex-wrap:wrap;gap:.2em .9em}
header nav a{text-decoration:none;color:var(--muted)}
header nav a.active{color:var(--fg);font-weight:600;border-bottom:2px solid var(--fg)}
main{padding:.5em 1.2em 2em}
h1{font-size:1.3em;margin:.6em 0 .4em}
h2{font-size:1.1em;margin:1.2em 0 .4em}
.muted{color:var(--muted)}
a{color:inherit}
.controls{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;margin:.4em 0}
.controls label{display:flex;gap:.3em;align-items:center}
select,input,button{font:inherit;padding:.15em .4em}
table{border-collapse:collapse;width:100%;margin:.3em 0}
th,td{border:1px solid var(--line);padding:.25em .5em;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.url,.err{word-break:break-all}
.err{color:var(--down)}
.label{display:inline-block;margin:0 .25em .2em 0;padding:0 .35em;border-radius:3px;background:var(--chip);font-size:.9em;word-break:break-all}
.label.changed{outline:1px solid var(--up)}
.health{display:inline-block;min-width:5.5em;padding:0 .4em;border-radius:3px;color:#fff;font-weight:600;text-align:center;text-transform:uppercase;font-size:.85em}
.health-up{background:var(--up)}.health-down{background:var(--down)}.health-unknown{background:var(--unknown)}
tr.clickable{cursor:pointer}tr.clickable:hover td{background:var(--sel)}
tr.steps td{background:var(--head)}
td.rule{white-space:nowrap;font-size:.9em}
pre{background:var(--head);border:1px solid var(--line);padding:.6em;overflow:auto;font-size:.9em}
#status-line{font-size:.85em}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dl.kv dt{font-weight:600}dl.kv dd{margin:0}
`;

// Plain ES2020 run by the browser as is (no build step). No template literals,
// so this TypeScript string needs no escaping.
const SCRIPT = String.raw`
"use strict";
var ESC = {"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"};
function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
function $(id) { return document.getElementById(id); }
function params() { return new URLSearchParams(location.search); }
function setParam(k, v) {
  var q = params();
  if (v === "" || v === null || v === undefined) q.delete(k); else q.set(k, v);
  if (k !== "page") q.delete("page");
  history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q.toString() : ""));
  refresh();
}
// Each refresh has a generation; data fetched for an older one is thrown away.
var gen = 0, SUPERSEDED = new Error("superseded");
async function getJson(path, anyGen) {
  var g = gen;
  var res = await fetch(path, { cache: "no-store", headers: { accept: "application/json" } });
  var body = await res.json();
  if (g !== gen && !anyGen) throw SUPERSEDED;
  if (!res.ok) throw new Error(path + ": " + res.status + " " + (body && body.error ? body.error : ""));
  return body && body.status === "success" ? body.data : body;
}
function labels(obj, base) {
  var names = Object.keys(obj || {}).sort(), out = "";
  for (var i = 0; i < names.length; i++) {
    var n = names[i], changed = base && base[n] !== obj[n];
    out += "<span class=\"label" + (changed ? " changed" : "") + "\">" + esc(n) + "=\"" + esc(obj[n]) + "\"</span>";
  }
  return out || "<span class=\"muted\">none</span>";
}
function health(h) { var c = h === "up" || h === "down" ? h : "unknown"; return "<span class=\"health health-" + c + "\">" + esc(c) + "</span>"; }
function ago(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "never";
  var s = (Date.now() - ms) / 1000;
  if (s < 0) s = 0;
  if (s < 60) return s.toFixed(1) + "s ago";
  if (s < 3600) return Math.floor(s / 60) + "m" + Math.floor(s % 60) + "s ago";
  return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m ago";
}
function isoAgo(iso) { var t = Date.parse(iso); return !isFinite(t) || t <= 0 ? "never" : ago(t); }
function secs(s) { if (!isFinite(s) || s < 0) return "–"; return s < 1 ? (s * 1000).toFixed(1) + "ms" : s.toFixed(3) + "s"; }
function bytes(n) {
  if (!isFinite(n)) return "–";
  var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
}
function duration(sec) {
  sec = Math.max(0, Math.floor(sec));
  var d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
  return (d ? d + "d" : "") + (h ? h + "h" : "") + (m ? m + "m" : "") + s + "s";
}
function link(u) { var e = esc(u); return /^https?:\/\//i.test(u) ? "<a href=\"" + e + "\">" + e + "</a>" : e; }
function poolOptions(pools, current) {
  var out = "<option value=\"\">all pools</option>";
  for (var i = 0; i < pools.length; i++) {
    var p = pools[i];
    out += "<option value=\"" + esc(p.name) + "\"" + (p.name === current ? " selected" : "") + ">" + esc(p.name) + "</option>";
  }
  return out;
}
// The count and the pager are part of the results, re-rendered with every refresh.
function pager(d) {
  return "<div class=\"controls pager\"><span class=\"muted matching\">" + d.total + " matching</span><span><button data-page=\"" + (d.page - 1) + "\"" + (d.page <= 1 ? " disabled" : "") +
    ">‹ prev</button> <span class=\"page-info\">page " + d.page + " of " + d.pages + "</span> <button data-page=\"" + (d.page + 1) + "\"" + (d.page >= d.pages ? " disabled" : "") + ">next ›</button></span></div>";
}
function bindControls() {
  document.querySelectorAll("[data-param]").forEach(function (el) {
    if (el.dataset.bound) return;
    el.dataset.bound = "1";
    var ev = el.tagName === "INPUT" ? "change" : "change";
    el.addEventListener(ev, function () { setParam(el.dataset.param, el.value); });
  });
  document.querySelectorAll("button[data-page]").forEach(function (b) {
    b.onclick = function () { setParam("page", b.dataset.page); };
  });
}
function controls(d, extra) {
  var q = params();
  return "<div class=\"controls\"><label>Pool <select data-param=\"pool\" id=\"pool\">" + poolOptions(d.pools, q.get("pool") || "") + "</select></label>" +
    extra + "<label>Search <input data-param=\"q\" id=\"search\" value=\"" + esc(q.get("q") || "") + "\" placeholder=\"labels, URL, error\"></label>" +
    "<label>Per page " + select("size", [["", "50"], ["100", "100"], ["200", "200"], ["500", "500"]]) + "</label></div>";
}
function select(param, opts) {
  var cur = params().get(param) || "", out = "<select data-param=\"" + param + "\" id=\"" + param + "\">";
  for (var i = 0; i < opts.length; i++) out += "<option value=\"" + opts[i][0] + "\"" + (opts[i][0] === cur ? " selected" : "") + ">" + opts[i][1] + "</option>";
  return out + "</select>";
}
// Controls keep focus and typed text across refreshes: only the results are re-rendered.
function renderInto(controlsHtml, bodyHtml) {
  var c = $("controls"), focused = document.activeElement && c.contains(document.activeElement);
  if (!focused) c.innerHTML = controlsHtml;
  $("results").innerHTML = bodyHtml;
  bindControls();
}

var PAGES = {};

PAGES.targets = async function () {
  var d = await getJson("/ui/api/targets?" + params().toString());
  var summary = d.pools.map(function (p) {
    return esc(p.name) + ": " + p.up + "/" + (p.up + p.down + p.unknown) + " up";
  }).join(" · ");
  var rows = d.targets.map(function (t) {
    return "<tr class=\"target target-" + esc(t.health) + "\"><td class=\"url\">" + link(t.scrapeUrl) + "<div class=\"muted\">" + esc(t.scrapePool) +
      "</div></td><td>" + health(t.health) + "</td><td>" + labels(t.labels) + "</td><td class=\"num\">" + ago(t.lastScrape) +
      "</td><td class=\"num\">" + (t.lastScrape === null ? "–" : secs(t.lastScrapeDurationSeconds)) + "</td><td class=\"err\">" + esc(t.lastError) + "</td></tr>";
  }).join("");
  renderInto(
    controls(d, "<label>State " + select("health", [["", "any"], ["up", "up"], ["down", "down"], ["unknown", "unknown"]]) + "</label>"),
    "<p class=\"muted\">" + (summary || "no scrape pools") + "</p>" + pager(d) + "<table id=\"targets-table\"><thead><tr><th>Endpoint</th><th>State</th><th>Labels</th><th>Last scrape</th><th>Duration</th><th>Error</th></tr></thead><tbody>" +
      (rows || "<tr><td colspan=\"6\" class=\"muted\">no targets</td></tr>") + "</tbody></table>" + (d.pages > 1 ? pager(d) : ""));
};

var openSteps = {}; // key → steps HTML (or "" while loading)
function ruleText(rule) {
  return Object.keys(rule).map(function (k) {
    var v = rule[k];
    return "<code>" + esc(k) + ": " + esc(Array.isArray(v) ? "[" + v.join(", ") + "]" : v) + "</code>";
  }).join("<br>");
}
function stepsHtml(steps, input) {
  var prev = input, out = "<table class=\"relabel-steps\"><thead><tr><th>#</th><th>Rule</th><th>Labels after the rule</th></tr></thead><tbody>";
  out += "<tr><td>0</td><td class=\"muted\">discovered</td><td>" + labels(input) + "</td></tr>";
  for (var i = 0; i < steps.length; i++) {
    var s = steps[i];
    out += "<tr class=\"relabel-step\"><td>" + (i + 1) + "</td><td class=\"rule\">" + ruleText(s.rule) + "</td><td>" +
      (s.keep ? labels(s.output, prev) : "<strong class=\"err\">dropped</strong>") + "</td></tr>";
    prev = s.output;
    if (!s.keep) break;
  }
  if (steps.length === 0) out += "<tr><td colspan=\"3\" class=\"muted\">no relabel_configs in this pool</td></tr>";
  return out + "</tbody></table>";
}
async function loadSteps(key, pool, disc) {
  try {
    var d = await getJson("/api/v1/targets/relabel_steps?scrapePool=" + encodeURIComponent(pool) + "&labels=" + encodeURIComponent(JSON.stringify(disc)), true);
    openSteps[key] = stepsHtml(d.steps, disc);
  } catch (e) {
    openSteps[key] = "<span class=\"err\">" + esc(e.message) + "</span>";
  }
  var cell = document.querySelector("tr.steps[data-key=\"" + CSS.escape(key) + "\"] td");
  if (cell) cell.innerHTML = openSteps[key];
}
PAGES.sd = async function () {
  var d = await getJson("/ui/api/sd?" + params().toString());
  var rows = d.items.map(function (r) {
    var key = r.scrapePool + "\u0000" + JSON.stringify(r.discoveredLabels), open = Object.prototype.hasOwnProperty.call(openSteps, key);
    var row = "<tr class=\"clickable sd-target" + (r.labels ? "" : " dropped") + "\" data-key=\"" + esc(key) + "\" title=\"Show relabel steps\"><td>" + esc(r.scrapePool) +
      "</td><td>" + labels(r.discoveredLabels) + "</td><td>" + (r.labels ? labels(r.labels) : "<strong class=\"err\">dropped</strong>") + "</td></tr>";
    if (open) row += "<tr class=\"steps\" data-key=\"" + esc(key) + "\"><td colspan=\"3\">" + (openSteps[key] || "loading…") + "</td></tr>";
    return row;
  }).join("");
  renderInto(
    controls(d, "<label>Show " + select("show", [["", "active and dropped"], ["active", "active"], ["dropped", "dropped"]]) + "</label>"),
    "<p class=\"muted\">" + d.pools.map(function (p) { return esc(p.name) + ": " + (p.up + p.down + p.unknown) + " active, " + p.dropped + " dropped"; }).join(" · ") +
      ". Click a target to see its relabel steps.</p>" + pager(d) + "<table id=\"sd-table\"><thead><tr><th>Pool</th><th>Discovered labels</th><th>Target labels</th></tr></thead><tbody>" +
      (rows || "<tr><td colspan=\"3\" class=\"muted\">no targets</td></tr>") + "</tbody></table>" + (d.pages > 1 ? pager(d) : ""));
  var items = d.items;
  document.querySelectorAll("tr.sd-target").forEach(function (tr, i) {
    tr.onclick = function () {
      var key = tr.dataset.key, r = items[i];
      if (Object.prototype.hasOwnProperty.call(openSteps, key)) {
        delete openSteps[key];
        var next = tr.nextElementSibling;
        if (next && next.classList.contains("steps")) next.remove();
        return;
      }
      openSteps[key] = "";
      var x = document.createElement("tr");
      x.className = "steps";
      x.dataset.key = key;
      x.innerHTML = "<td colspan=\"3\">loading…</td>";
      tr.after(x);
      loadSteps(key, r.scrapePool, r.discoveredLabels);
    };
  });
};

var lastSent = {};
PAGES.rw = async function () {
  var d = await getJson("/ui/api/remote_write");
  var rows = d.endpoints.map(function (e) {
    var prev = lastSent[e.name], rate = "–";
    if (prev && d.now > prev.t) rate = ((e.samplesSent - prev.v) / ((d.now - prev.t) / 1000)).toFixed(1) + "/s";
    lastSent[e.name] = { v: e.samplesSent, t: d.now };
    var lag = d.head ? (d.head.segment - e.cursor.segment) + " segment(s)" : "–";
    var proto = esc(e.protocol) + (e.fellBack ? "<div class=\"muted\">fell back from RW 2.0 (HTTP 415)</div>" : "");
    var shards = e.shards + " / " + e.maxShards + "<div class=\"muted\">desired " + e.desiredShards + ", min " + e.minShards + "</div>";
    var h = e.histograms, x = e.exemplars;
    var other = h.sent + " / " + x.sent + ((h.failed + x.failed + h.dropped + x.dropped) ? "<div class=\"muted\">failed " + (h.failed + x.failed) + ", dropped " + (h.dropped + x.dropped) + "</div>" : "");
    return "<tr class=\"endpoint" + (e.lastError ? " endpoint-failing" : "") + "\"><td><strong>" + esc(e.name) + "</strong><div class=\"url muted\">" + esc(e.url) + "</div></td><td class=\"protocol\">" + proto +
      "</td><td class=\"num shards\">" + shards + "</td><td class=\"num\">" + e.samplesPending + "</td><td class=\"num\">" + e.samplesSent + "</td><td class=\"num send-rate\">" + rate +
      "</td><td class=\"num\">" + e.samplesFailed + " / " + e.samplesRetried + " / " + e.samplesDropped + "</td><td class=\"num\">" + other + "</td><td class=\"num\">" + ago(e.lastSendTime) + "</td><td class=\"num\">" +
      e.cursor.segment + ":" + e.cursor.offset + "<div class=\"muted\">behind by " + lag + "</div></td><td class=\"num\">" + e.segmentsHeld + " seg" + (e.maxDiskBytes ? "<div class=\"muted\">cap " + bytes(e.maxDiskBytes) + "</div>" : "") +
      "</td><td class=\"err\">" + esc(e.lastError) + (e.lastErrorTime ? "<div class=\"muted\">" + ago(e.lastErrorTime) + "</div>" : "") + "</td></tr>";
  }).join("");
  renderInto("",
    "<p class=\"muted\">WAL head " + (d.head ? d.head.segment + ":" + d.head.offset : "–") + ", " + bytes(d.walDiskBytes) + " on disk. Send rate is measured between refreshes.</p>" +
      "<table id=\"rw-table\"><thead><tr><th>Endpoint</th><th>Protocol</th><th>Shards</th><th>Pending</th><th>Sent</th><th>Send rate</th><th>Failed / retried / dropped</th><th>Histograms / exemplars sent</th><th>Last send</th><th>WAL cursor</th><th>WAL held</th><th>Last error</th></tr></thead><tbody>" +
      (rows || "<tr><td colspan=\"12\" class=\"muted\">no remote_write endpoints configured</td></tr>") + "</tbody></table>");
};

PAGES.wal = async function () {
  var d = await getJson("/ui/api/wal"), w = d.wal;
  if (!w) { renderInto("", "<p class=\"muted\">no WAL</p>"); return; }
  var r = w.replay, done = r.current >= r.max;
  var segs = w.segments.map(function (s, i) {
    return "<tr><td class=\"num\">" + s.segment + (i === w.segments.length - 1 ? " (head)" : "") + "</td><td class=\"num\">" + s.samples + "</td></tr>";
  }).join("");
  renderInto("",
    "<dl class=\"kv\" id=\"wal-summary\"><dt>Directory</dt><dd>" + esc(w.dir) + "</dd><dt>Disk used</dt><dd>" + bytes(w.diskBytes) + "</dd><dt>Segments</dt><dd>" + w.segments.length +
      "</dd><dt>Head</dt><dd>" + w.head.segment + ":" + w.head.offset + "</dd><dt>Series</dt><dd>" + w.series + "</dd></dl>" +
      "<h2>Replay</h2><dl class=\"kv\" id=\"wal-replay\"><dt>Status</dt><dd>" + (done ? "done" : "replaying segment " + r.current) + "</dd><dt>Segments</dt><dd>" + (r.min < 0 ? "none" : r.min + "–" + r.max) +
      "</dd><dt>Took</dt><dd>" + secs(r.durationSeconds) + "</dd><dt>Series / samples</dt><dd>" + r.series + " / " + r.samples + "</dd><dt>Corruptions repaired</dt><dd>" + r.corruptions + "</dd></dl>" +
      "<h2>Segments</h2><table id=\"wal-segments\"><thead><tr><th>Segment</th><th>Samples</th></tr></thead><tbody>" + segs + "</tbody></table>");
};

PAGES.config = async function () {
  var c = await getJson("/api/v1/status/config"), s = await getJson("/ui/api/status");
  renderInto("",
    (s.configFile ? "<p>Source file: <code id=\"config-file\">" + esc(s.configFile) + "</code>" + (/\.(ts|mts|js|mjs)$/.test(s.configFile) ? " (TypeScript config, shown resolved)" : "") + "</p>" : "") +
      "<p class=\"muted\">The resolved configuration; secrets are shown as &lt;secret&gt;.</p><pre id=\"config-yaml\">" + esc(c.yaml) + "</pre>");
};

PAGES.flags = async function () {
  var f = await getJson("/api/v1/status/flags"), names = Object.keys(f).sort();
  renderInto("", "<table id=\"flags-table\"><thead><tr><th>Flag</th><th>Value</th></tr></thead><tbody>" +
    (names.map(function (n) { return "<tr><td>--" + esc(n) + "</td><td>" + esc(f[n]) + "</td></tr>"; }).join("") || "<tr><td colspan=\"2\" class=\"muted\">no flags reported</td></tr>") + "</tbody></table>");
};

PAGES.status = async function () {
  var s = await getJson("/ui/api/status"), rt = await getJson("/api/v1/status/runtimeinfo");
  var perms = Object.keys(s.permissions).map(function (n) { return "<tr><td>" + esc(n) + "</td><td>" + esc(s.permissions[n]) + "</td></tr>"; }).join("");
  renderInto("",
    "<dl class=\"kv\" id=\"status-info\"><dt>Version</dt><dd>ferry " + esc(s.version) + (s.build.revision ? " (" + esc(s.build.revision) + ")" : "") + "</dd><dt>Uptime</dt><dd id=\"uptime\">" + duration(s.uptimeSeconds) +
      "</dd><dt>Started</dt><dd>" + esc(new Date(s.startTime).toISOString()) + "</dd><dt>Ready</dt><dd>" + (s.ready ? "yes" : "no") + "</dd><dt>Deno</dt><dd>" + esc(s.deno) + " (V8 " + esc(s.v8) + ", TypeScript " + esc(s.typescript) +
      ")</dd><dt>Platform</dt><dd>" + esc(s.os) + "/" + esc(s.arch) + ", pid " + s.pid + "</dd><dt>Working directory</dt><dd>" + esc(rt.CWD) + "</dd><dt>Hostname</dt><dd>" + esc(rt.hostname || "(not permitted)") +
      "</dd><dt>Last config load</dt><dd>" + (rt.reloadConfigSuccess ? "successful" : "<span class=\"err\">failed</span>") + ", " + isoAgo(rt.lastConfigTime) + "</dd><dt>Config file</dt><dd>" + esc(s.configFile || "–") + "</dd></dl>" +
      "<h2>Permissions</h2><p class=\"muted\">\"granted\" means granted without restriction; \"prompt\" means not granted or granted only for some paths or hosts.</p><table id=\"permissions\"><thead><tr><th>Permission</th><th>State</th></tr></thead><tbody>" + perms + "</tbody></table>");
};

var timer = null;
async function refresh() {
  clearTimeout(timer);
  var mine = ++gen;
  // A hidden tab does not poll; becoming visible refreshes at once.
  if (document.hidden) return;
  try {
    await PAGES[PAGE]();
    $("status-line").textContent = "updated " + new Date().toLocaleTimeString();
    $("status-line").className = "muted";
  } catch (e) {
    if (e === SUPERSEDED || mine !== gen) return;
    $("status-line").textContent = "refresh failed: " + e.message;
    $("status-line").className = "err";
  }
  if (mine === gen) timer = setTimeout(refresh, REFRESH_MS);
}
document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
refresh();
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The navigation bar shared by every page (home included); `active` is a path. */
export function renderNav(active: string): string {
  const links = [{ path: "/", title: "Home" }, ...PAGES].map((p) =>
    `<a href="${p.path}"${p.path === active ? ' class="active" aria-current="page"' : ""}>${
      escapeHtml(p.title)
    }</a>`
  );
  return `<nav>${links.join("")}</nav>`;
}

/** The HTML document of one page. */
export function renderPage(page: PageDef): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${
    escapeHtml(page.title)
  } · ferry</title><link rel="icon" href="data:,"><style>${CSS}</style></head>
<body><header><a class="brand" href="/">ferry</a>${
    renderNav(page.path)
  }<span id="status-line" class="muted">loading…</span></header>
<main><h1>${escapeHtml(page.title)}</h1><div id="controls"></div><div id="results"></div></main>
<script>const PAGE = ${JSON.stringify(page.id)}; const REFRESH_MS = ${
    REFRESH_SECONDS * 1000
  };${SCRIPT}</script>
</body></html>`;
}
