/**
 * The agent's home page: one self-contained HTML document (inline CSS, no
 * scripts, no external assets) rendered on the server from the status
 * provider and refreshed by the browser every 5 seconds.
 *
 * It stays small at any scale: every pool is summarised (targets up, down,
 * unknown, dropped), but at most {@link HOME_TARGET_ROWS} target rows are
 * listed in all; a pool with more links to its complete, paginated list on
 * the Targets page (and to its failing targets there). So 10,000 targets
 * cost a page of about a hundred rows every refresh, not 10,000.
 *
 * Every value that comes from the agent's state is escaped; links are only
 * emitted for http(s) URLs. The page is built as an array of parts joined
 * once, so rendering stays linear in the number of targets.
 *
 * @module
 */

import { formatDuration } from "../../model/duration.ts";
import { renderNav } from "./pages.ts";
import type { AgentStatusProvider, EndpointStatus, TargetStatus } from "../status.ts";

/** Target rows the home page lists at most, over all pools. */
export const HOME_TARGET_ROWS = 100;

/** Options for {@link renderHome}. */
export interface HomeOptions {
  /** The current time (ms epoch), for uptime and "ago" columns. */
  now: number;
  /** Seconds between automatic reloads; 0 disables them. @default 5 */
  refreshSeconds?: number;
  /** Target rows listed at most, over all pools. @default HOME_TARGET_ROWS */
  maxTargetRows?: number;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const HTML_SPECIAL = /[&<>"']/g;

/** Escapes text for use in HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(HTML_SPECIAL, (c) => HTML_ESCAPES[c]);
}

/** Formats an elapsed time the way the tables show it: `3.2s ago`, `2m5s ago`. */
export function formatAgo(ms: number): string {
  if (!(ms > 0)) return "0.0s ago";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s ago`;
  return `${formatDuration(Math.round(ms / 1000) * 1000)} ago`;
}

/** Formats a duration in seconds compactly: `12.3ms`, `1.234s`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "–";
  if (s < 1) return `${(s * 1000).toFixed(1)}ms`;
  return `${s.toFixed(3)}s`;
}

/** Formats an uptime in whole seconds as a Prometheus duration (`1h2m3s`). */
export function formatUptime(ms: number): string {
  return formatDuration(Math.max(0, Math.floor(ms / 1000)) * 1000);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d1f21;--bg:#fff;--muted:#6a737d;--line:#d0d7de;--head:#f3f5f7;
--up:#1a7f37;--down:#cf222e;--unknown:#6e7781;--chip:#eef1f4}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8b949e;--line:#30363d;
--head:#161b22;--up:#3fb950;--down:#f85149;--unknown:#8b949e;--chip:#21262d}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4em 1.5em;padding:.8em 1.2em;border-bottom:1px solid var(--line);background:var(--head)}
header h1{margin:0;font-size:1.3em}
header nav{margin-left:auto;display:flex;flex-wrap:wrap;gap:.2em .9em}
header nav a{text-decoration:none}
header nav a.active{font-weight:600}
main{padding:.5em 1.2em 2em}
h2{font-size:1.15em;margin:1.2em 0 .4em}
.muted{color:var(--muted)}
a{color:inherit}
details{margin:.6em 0}
summary{cursor:pointer;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.3em 0}
th,td{border:1px solid var(--line);padding:.25em .5em;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.url,.err{word-break:break-all}
.err{color:var(--down)}
.label{display:inline-block;margin:0 .25em .2em 0;padding:0 .35em;border-radius:3px;background:var(--chip);font-size:.9em;word-break:break-all}
.health{display:inline-block;min-width:5.5em;padding:0 .4em;border-radius:3px;color:#fff;font-weight:600;text-align:center;text-transform:uppercase;font-size:.85em}
.health-up{background:var(--up)}
.health-down{background:var(--down)}
.health-unknown{background:var(--unknown)}
tr.endpoint-failing td:first-child,tr.target-down td:first-child{box-shadow:inset 3px 0 var(--down)}
.ready{color:var(--up)}.not-ready{color:var(--down)}
tr.more td{background:var(--head)}
`;

function link(url: string): string {
  const text = escapeHtml(url);
  return /^https?:\/\//i.test(url) ? `<a href="${text}">${text}</a>` : text;
}

function pushLabels(out: string[], labels: Record<string, string>): void {
  const names = Object.keys(labels).sort();
  for (const n of names) {
    out.push(`<span class="label">${escapeHtml(n)}="${escapeHtml(labels[n])}"</span>`);
  }
}

function healthOf(h: string): "up" | "down" | "unknown" {
  return h === "up" || h === "down" ? h : "unknown";
}

function pushTargets(
  out: string[],
  status: AgentStatusProvider,
  opts: { now: number; maxRows: number },
): void {
  const { now } = opts;
  const targets = status.targets();
  const pools = new Map<string, TargetStatus[]>();
  let up = 0;
  let down = 0;
  for (const t of targets) {
    let list = pools.get(t.scrapePool);
    if (!list) pools.set(t.scrapePool, list = []);
    list.push(t);
    if (t.health === "up") up++;
    else if (t.health === "down") down++;
  }
  const droppedByPool = new Map<string, number>();
  let droppedTotal = 0;
  const counts = status.droppedTargetCounts?.();
  if (counts) {
    for (const name of Object.keys(counts)) {
      droppedByPool.set(name, counts[name]);
      droppedTotal += counts[name];
    }
  } else {
    for (const d of status.droppedTargets()) {
      droppedByPool.set(d.scrapePool, (droppedByPool.get(d.scrapePool) ?? 0) + 1);
      droppedTotal++;
    }
  }

  out.push(
    `<section id="targets"><h2>Targets</h2><p class="muted">${targets.length} active`,
    ` (${up} up, ${down} down, ${targets.length - up - down} unknown), ${droppedTotal} dropped`,
    ` in ${pools.size} pool${pools.size === 1 ? "" : "s"}.`,
    targets.length > opts.maxRows
      ? ` Showing the first ${opts.maxRows}; the <a href="/targets">Targets page</a> lists them all, page by page.`
      : "",
    `</p>`,
  );
  let budget = opts.maxRows;
  const names = [...pools.keys()].sort();
  for (const pool of names) {
    const list = pools.get(pool)!;
    let poolUp = 0, poolDown = 0;
    for (const t of list) {
      if (t.health === "up") poolUp++;
      else if (t.health === "down") poolDown++;
    }
    const poolDropped = droppedByPool.get(pool) ?? 0;
    const shown = Math.min(list.length, budget);
    budget -= shown;
    out.push(
      `<details class="pool"${shown > 0 ? " open" : ""} data-pool="${escapeHtml(pool)}">`,
      `<summary>${escapeHtml(pool)} <span class="muted">(${poolUp}/${list.length} up`,
      poolDropped > 0 ? `, ${poolDropped} dropped` : "",
      `)</span></summary><table><thead><tr><th>Endpoint</th><th>State</th><th>Labels</th>`,
      `<th>Last scrape</th><th>Duration</th><th>Error</th></tr></thead><tbody>`,
    );
    for (let i = 0; i < shown; i++) {
      const t = list[i];
      const h = healthOf(t.health);
      out.push(
        `<tr class="target target-${h}"><td class="url">`,
        link(t.scrapeUrl),
        `</td><td><span class="health health-${h}">${h}</span></td><td>`,
      );
      pushLabels(out, t.labels);
      out.push(
        `</td><td>`,
        t.lastScrape === null ? "never" : escapeHtml(formatAgo(now - t.lastScrape)),
        `</td><td class="num">`,
        t.lastScrape === null ? "–" : escapeHtml(formatSeconds(t.lastScrapeDurationSeconds)),
        `</td><td class="err">`,
        escapeHtml(t.lastError),
        `</td></tr>`,
      );
    }
    if (shown < list.length) {
      const q = `/targets?pool=${encodeURIComponent(pool)}`;
      out.push(
        `<tr class="more"><td colspan="6">${list.length - shown} more: `,
        `<a href="${escapeHtml(q)}">all ${list.length} targets of ${escapeHtml(pool)}</a>`,
        poolDown > 0
          ? ` · <a href="${escapeHtml(q + "&health=down")}">the ${poolDown} down</a>`
          : "",
        `</td></tr>`,
      );
    }
    out.push(`</tbody></table></details>`);
  }
  out.push(`</section>`);
}

function pushEndpoints(out: string[], endpoints: EndpointStatus[], now: number): void {
  out.push(`<section id="endpoints"><h2>Remote write</h2>`);
  if (endpoints.length === 0) {
    out.push(`<p class="muted">No remote write endpoints configured.</p></section>`);
    return;
  }
  out.push(
    `<table><thead><tr><th>Name</th><th>URL</th><th>Protocol</th><th>Shards</th>`,
    `<th>Sent</th><th>Pending</th><th>Failed</th>`,
    `<th>Retried</th><th>Dropped</th><th>Bytes sent</th><th>Last send</th><th>WAL position</th>`,
    `<th>Last error</th></tr></thead><tbody>`,
  );
  for (const e of endpoints) {
    const failing = e.lastError !== "" &&
      (e.lastSendTime === null || (e.lastErrorTime ?? 0) >= e.lastSendTime);
    out.push(
      `<tr class="endpoint${failing ? " endpoint-failing" : ""}"><td>${escapeHtml(e.name)}</td>`,
      `<td class="url">`,
      link(e.url),
      `</td><td class="protocol">${escapeHtml(e.protocol)}${
        e.fellBack ? ` <span class="muted">(fell back from RW 2.0)</span>` : ""
      }</td>`,
      `<td class="num shards">${num(e.shards)} / ${num(e.maxShards)}</td>`,
      `<td class="num">${num(e.samplesSent)}</td><td class="num">${num(e.samplesPending)}</td>`,
      `<td class="num">${num(e.samplesFailed)}</td><td class="num">${num(e.samplesRetried)}</td>`,
      `<td class="num">${num(e.samplesDropped)}</td><td class="num">${num(e.bytesSent)}</td><td>`,
      e.lastSendTime === null ? "never" : escapeHtml(formatAgo(now - e.lastSendTime)),
      `</td><td class="num">${num(e.cursor.segment)}:${num(e.cursor.offset)}</td><td class="err">`,
      escapeHtml(e.lastError),
      e.lastError !== "" && e.lastErrorTime !== null
        ? ` <span class="muted">(${escapeHtml(formatAgo(now - e.lastErrorTime))})</span>`
        : "",
      `</td></tr>`,
    );
  }
  out.push(`</tbody></table></section>`);
}

function num(n: number): string {
  return escapeHtml(String(n));
}

/** Renders the home page as a complete HTML document. */
export function renderHome(status: AgentStatusProvider, opts: HomeOptions): string {
  const now = opts.now;
  const refresh = opts.refreshSeconds ?? 5;
  const ready = status.ready();
  const out: string[] = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width,initial-scale=1">`,
    refresh > 0 ? `<meta http-equiv="refresh" content="${Math.floor(refresh)}">` : "",
    `<title>ferry</title><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>`,
    `<header><h1>ferry</h1><span>version <b id="version">${escapeHtml(status.version)}</b></span>`,
    `<span>up <b id="uptime">${escapeHtml(formatUptime(now - status.startTime))}</b></span>`,
    ready ? `<span class="ready">ready</span>` : `<span class="not-ready">not ready</span>`,
    renderNav("/").replace(
      "</nav>",
      `<a href="./metrics">/metrics</a><a href="./api/v1/targets">/api/v1/targets</a></nav>`,
    ),
    `</header><main>`,
  ];
  pushTargets(out, status, { now, maxRows: opts.maxTargetRows ?? HOME_TARGET_ROWS });
  pushEndpoints(out, status.endpoints(), now);
  out.push(`</main></body></html>\n`);
  return out.join("");
}
