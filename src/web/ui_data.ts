/**
 * JSON the UI pages poll beyond Prometheus' API (`/ui/api/*`): paginated and
 * filtered targets and service discovery (so 10,000 targets cost one page of
 * rows per refresh), remote write, the WAL and process status.
 *
 * @module
 */

import { runtimeVersion } from "./api.ts";
import type { AgentStatusProvider, TargetStatus } from "./status.ts";

const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

interface Paging {
  page: number;
  size: number;
}

function paging(q: URLSearchParams): Paging {
  const size = Math.min(
    MAX_PAGE_SIZE,
    Math.max(1, Math.floor(Number(q.get("size") ?? DEFAULT_PAGE_SIZE)) || DEFAULT_PAGE_SIZE),
  );
  const page = Math.max(1, Math.floor(Number(q.get("page") ?? 1)) || 1);
  return { page, size };
}

function slice<T>(items: T[], p: Paging): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / p.size));
  const page = Math.min(p.page, pages);
  return { items: items.slice((page - 1) * p.size, page * p.size), page, pages };
}

function poolOrder(a: { scrapePool: string }, b: { scrapePool: string }): number {
  return a.scrapePool < b.scrapePool ? -1 : a.scrapePool > b.scrapePool ? 1 : 0;
}

function labelsText(l: Record<string, string>): string {
  let s = "";
  for (const k of Object.keys(l)) s += `${k}="${l[k]}" `;
  return s;
}

/** Pools with counts of active targets by health and of dropped targets. */
function poolSummary(status: AgentStatusProvider, targets: TargetStatus[]) {
  const pools = new Map<string, { up: number; down: number; unknown: number; dropped: number }>();
  const get = (name: string) => {
    let p = pools.get(name);
    if (!p) pools.set(name, p = { up: 0, down: 0, unknown: 0, dropped: 0 });
    return p;
  };
  for (const name of status.scrapePools?.() ?? []) get(name);
  for (const t of targets) get(t.scrapePool)[t.health]++;
  const counts = status.droppedTargetCounts?.();
  if (counts) { for (const name of Object.keys(counts)) get(name).dropped = counts[name]; }
  else for (const d of status.droppedTargets()) get(d.scrapePool).dropped++;
  return [...pools.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([name, c]) => ({
    name,
    ...c,
  }));
}

/**
 * `GET /ui/api/targets?pool=&health=up|down|unknown&q=&page=&size=`: one page
 * of active targets (pool order, stable within a pool) and per-pool counts.
 */
export function uiTargets(status: AgentStatusProvider, q: URLSearchParams) {
  const all = status.targets();
  const pool = q.get("pool") ?? "";
  const health = q.get("health") ?? "";
  const search = (q.get("q") ?? "").toLowerCase();
  let list = all.filter((t) =>
    (pool === "" || t.scrapePool === pool) && (health === "" || t.health === health)
  );
  if (search !== "") {
    list = list.filter((t) =>
      (t.scrapeUrl + " " + labelsText(t.labels) + t.lastError).toLowerCase().includes(search)
    );
  }
  list.sort(poolOrder);
  const page = slice(list, paging(q));
  return {
    pools: poolSummary(status, all),
    total: list.length,
    page: page.page,
    pages: page.pages,
    targets: page.items,
  };
}

/**
 * `GET /ui/api/sd?pool=&show=active|dropped|&q=&page=&size=`: one page of
 * discovered targets with the labels relabeling gave them (null: dropped).
 */
export function uiServiceDiscovery(status: AgentStatusProvider, q: URLSearchParams) {
  const pool = q.get("pool") ?? "";
  const show = q.get("show") ?? "";
  const search = (q.get("q") ?? "").toLowerCase();
  const active = status.targets();
  type Row = {
    scrapePool: string;
    discoveredLabels: Record<string, string>;
    labels: Record<string, string> | null;
  };
  let rows: Row[] = [];
  if (show !== "dropped") {
    for (const t of active) {
      rows.push({
        scrapePool: t.scrapePool,
        discoveredLabels: t.discoveredLabels,
        labels: t.labels,
      });
    }
  }
  if (show !== "active") {
    for (const d of status.droppedTargets()) {
      rows.push({ scrapePool: d.scrapePool, discoveredLabels: d.discoveredLabels, labels: null });
    }
  }
  rows = rows.filter((r) => pool === "" || r.scrapePool === pool);
  if (search !== "") {
    rows = rows.filter((r) => labelsText(r.discoveredLabels).toLowerCase().includes(search));
  }
  rows.sort(poolOrder);
  const page = slice(rows, paging(q));
  return {
    pools: poolSummary(status, active),
    total: rows.length,
    page: page.page,
    pages: page.pages,
    items: page.items,
  };
}

/**
 * `GET /ui/api/remote_write`: every endpoint's status (counters, protocol in
 * use, shards) and WAL position.
 */
export function uiRemoteWrite(status: AgentStatusProvider, now: number) {
  const info = new Map((status.remoteWrite?.() ?? []).map((i) => [i.name, i]));
  const wal = status.wal?.();
  return {
    now,
    head: wal?.head ?? null,
    walDiskBytes: wal?.diskBytes ?? 0,
    endpoints: status.endpoints().map((e) => {
      const i = info.get(e.name);
      let segmentsBehind = 0, samplesBehind = 0;
      if (wal) {
        for (const s of wal.segments) {
          if (s.segment >= e.cursor.segment) {
            segmentsBehind++;
            samplesBehind += s.samples;
          }
        }
      }
      return {
        ...e,
        maxDiskBytes: i?.maxDiskBytes ?? 0,
        /** WAL segments from the endpoint's cursor to the head (what it keeps on disk). */
        segmentsHeld: segmentsBehind,
        /** Upper bound of samples not yet delivered: those of the held segments. */
        samplesHeld: samplesBehind,
      };
    }),
  };
}

/** `GET /ui/api/wal`. */
export function uiWal(status: AgentStatusProvider) {
  return { wal: status.wal?.() ?? null, walReplay: status.walReplay?.() ?? null };
}

const PERMISSIONS = ["read", "write", "net", "env", "sys", "run", "ffi", "import"] as const;

/** Deno permissions of the process: `granted`, `prompt` (partly or not granted) or `denied`. */
export function permissions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PERMISSIONS) {
    try {
      out[name] = Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state;
    } catch {
      out[name] = "unknown";
    }
  }
  return out;
}

/** `GET /ui/api/status`: version, uptime, runtime and permissions. */
export function uiStatus(status: AgentStatusProvider, now: number) {
  return {
    version: status.version,
    build: status.build ?? {},
    startTime: status.startTime,
    now,
    uptimeSeconds: Math.max(0, Math.floor((now - status.startTime) / 1000)),
    runtime: runtimeVersion(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    pid: Deno.pid,
    ready: status.ready(),
    configFile: status.configFile?.() ?? "",
    permissions: permissions(),
  };
}
