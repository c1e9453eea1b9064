/**
 * The scrape-target farm's content: realistic exposition files (Prometheus text 0.0.4) whose
 * values change on every rewrite. Run as a program it is the farm's writer: it rewrites one file
 * per target every `--every` seconds (atomically, by rename) until stopped or `--max-seconds`.
 *
 * ```sh
 * deno run --allow-read --allow-write bench/farm.ts --dir /tmp/farm --targets 10 --series 1000 --every 2.5
 * ```
 *
 * Each target directory `t<i>/` gets `metrics.txt`; nginx serves it as `/metrics`.
 *
 * @module
 */

import { mulberry32 } from "../src/testing/prng.ts";
import { flagReader } from "./proc.ts";

/** How a series' value moves between rewrites. */
const enum Kind {
  Counter,
  Gauge,
  /** A histogram bucket, sum or count: moved together per histogram. */
  Hist,
}

/** One metric family: its header lines and its series' text up to the value. */
interface Family {
  header: string;
  prefixes: string[];
  kind: Kind;
}

/** The series layout of one target: the same for every target, values differ. */
export interface Layout {
  families: Family[];
  /** Series in the file. */
  series: number;
  /** For every histogram: index of its first bucket series, in file order. */
  histograms: number[];
  /** Buckets per histogram including `+Inf` (then `_sum`, `_count`). */
  buckets: number;
}

const SERVICES = [
  "checkout-frontend",
  "payment-gateway",
  "inventory-service",
  "user-profile-api",
  "search-indexer",
  "notification-dispatcher",
  "order-history",
  "recommendation-engine",
];
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const HANDLERS = [
  "/api/v1/orders",
  "/api/v1/orders/{id}",
  "/api/v1/orders/{id}/items",
  "/api/v1/cart",
  "/api/v1/cart/checkout",
  "/api/v1/users/{id}",
  "/api/v1/users/{id}/preferences",
  "/api/v1/products",
  "/api/v1/products/{id}",
  "/api/v1/products/{id}/reviews",
  "/api/v1/search",
  "/api/v1/payments",
  "/api/v1/payments/{id}/refund",
  "/api/v1/inventory/{sku}",
  "/healthz",
  "/readyz",
];
const STATUS = ["200", "201", "204", "400", "404", "500", "503"];
const GRPC_SERVICES = [
  "inventory.v1.StockService",
  "payments.v2.LedgerService",
  "users.v1.ProfileService",
  "search.v3.QueryService",
];
const GRPC_METHODS = ["Get", "List", "Create", "Update", "Delete", "Watch", "BatchGet", "Reserve"];
const GRPC_CODES = [
  "OK",
  "Canceled",
  "InvalidArgument",
  "NotFound",
  "DeadlineExceeded",
  "Internal",
];
const NAMESPACES = ["shop-prod", "payments-prod", "platform-observability", "search-prod"];
const CONTAINERS = ["app", "envoy-sidecar", "log-shipper", "istio-proxy"];
const NODES = [
  "ip-10-42-3-17.eu-west-1.compute.internal",
  "ip-10-42-7-201.eu-west-1.compute.internal",
  "ip-10-42-12-88.eu-west-1.compute.internal",
];
const DEVICES = ["/dev/nvme0n1p1", "/dev/nvme1n1", "/dev/mapper/vg0-data", "tmpfs", "overlay"];
const FSTYPES = ["ext4", "xfs", "tmpfs", "overlay"];
const MOUNTS = [
  "/",
  "/var/lib/containerd",
  "/var/lib/kubelet/pods",
  "/data/postgresql",
  "/run",
  "/boot/efi",
];
const TOPICS = ["orders.created.v1", "payments.settled.v2", "inventory.adjusted.v1", "audit.log"];
const GROUPS = ["order-projector", "ledger-writer", "search-feeder", "audit-archiver"];
const LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
const LE_BOUNDS = LE.map((le) => le === "+Inf" ? Infinity : Number(le));

/**
 * The `i`-th label combination over `pools`, the last pool growing without bound (its values
 * get a numeric suffix), so any number of distinct series can be made.
 */
function combo(i: number, pools: string[][], last: string): string[] {
  const out: string[] = [];
  let rest = i;
  for (const pool of pools) {
    out.push(pool[rest % pool.length]);
    rest = Math.floor(rest / pool.length);
  }
  out.push(`${last}-${(rest * 7919 + 0x5bd1e).toString(36)}`);
  return out;
}

function labelText(names: string[], values: string[]): string {
  return names.map((n, i) => `${n}="${values[i]}"`).join(",");
}

interface Spec {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  /** Share of the target's series. */
  weight: number;
  names: string[];
  pools: string[][];
  last: string;
}

const SPECS: Spec[] = [
  {
    name: "http_request_duration_seconds",
    help: "Latency of HTTP requests by route.",
    type: "histogram",
    weight: 0.4,
    names: ["service", "method", "handler", "pod"],
    pools: [SERVICES, METHODS, HANDLERS],
    last: "web-7f9c8d6b5",
  },
  {
    name: "http_requests_total",
    help: "HTTP requests by route and status code.",
    type: "counter",
    weight: 0.2,
    names: ["service", "method", "handler", "status_code", "pod"],
    pools: [SERVICES, METHODS, HANDLERS, STATUS],
    last: "web-7f9c8d6b5",
  },
  {
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, regardless of success or failure.",
    type: "counter",
    weight: 0.1,
    names: ["grpc_service", "grpc_method", "grpc_type", "grpc_code", "instance_id"],
    pools: [GRPC_SERVICES, GRPC_METHODS, ["unary", "server_stream"], GRPC_CODES],
    last: "grpc",
  },
  {
    name: "container_memory_working_set_bytes",
    help: "Current working set of the container in bytes.",
    type: "gauge",
    weight: 0.15,
    names: ["namespace", "container", "node", "image", "id", "pod"],
    pools: [NAMESPACES, CONTAINERS, NODES, [
      "registry.example.internal/platform/checkout-service:v2.14.3",
      "registry.example.internal/platform/envoy:v1.29.1-distroless",
    ], [
      "/kubepods/burstable/pod3f2b9c1e-8d4a-4c55-9b1e-0a7d6e5f4c3b",
      "/kubepods/besteffort/pod91a7e2d4-5b3c-4f8e-a6d1-2c9b8e7f6a5d",
    ]],
    last: "app-6d8f7c9b5",
  },
  {
    name: "kafka_consumergroup_lag",
    help: "Current approximate lag of a consumer group at topic/partition.",
    type: "gauge",
    weight: 0.1,
    names: ["consumergroup", "topic", "partition"],
    pools: [GROUPS, TOPICS],
    last: "p",
  },
  {
    name: "node_filesystem_avail_bytes",
    help: "Filesystem space available to non-root users in bytes.",
    type: "gauge",
    weight: 0.05,
    names: ["device", "fstype", "mountpoint", "volume"],
    pools: [DEVICES, FSTYPES, MOUNTS],
    last: "vol",
  },
];

/** Builds the layout of a target with exactly `series` series. */
export function makeLayout(series: number): Layout {
  if (!Number.isInteger(series) || series < 1) throw new RangeError(`series: ${series}`);
  const families: Family[] = [];
  const histograms: number[] = [];
  const perHist = LE.length + 2;
  let used = 0;
  // The last spec takes whatever the rounding of the others left.
  SPECS.forEach((spec, k) => {
    let n = k === SPECS.length - 1
      ? series - used
      : Math.min(series - used, Math.round(series * spec.weight));
    if (spec.type === "histogram") n = Math.floor(n / perHist) * perHist;
    if (n <= 0) return;
    const header = `# HELP ${spec.name} ${spec.help}\n# TYPE ${spec.name} ${spec.type}\n`;
    const prefixes: string[] = [];
    if (spec.type === "histogram") {
      for (let h = 0; h < n / perHist; h++) {
        histograms.push(used + prefixes.length);
        const labels = labelText(spec.names, combo(h, spec.pools, spec.last));
        for (const le of LE) prefixes.push(`${spec.name}_bucket{${labels},le="${le}"} `);
        prefixes.push(`${spec.name}_sum{${labels}} `);
        prefixes.push(`${spec.name}_count{${labels}} `);
      }
    } else {
      for (let i = 0; i < n; i++) {
        prefixes.push(`${spec.name}{${labelText(spec.names, combo(i, spec.pools, spec.last))}} `);
      }
    }
    const kind = spec.type === "histogram"
      ? Kind.Hist
      : spec.type === "counter"
      ? Kind.Counter
      : Kind.Gauge;
    families.push({ header, prefixes, kind });
    used += n;
  });
  return { families, series: used, histograms, buckets: LE.length };
}

/** The values of one target, advanced on every rewrite. */
export class TargetValues {
  readonly values: Float64Array;
  readonly #layout: Layout;
  readonly #kinds: Uint8Array;
  #rand: () => number;

  constructor(layout: Layout, seed: number) {
    this.#layout = layout;
    this.values = new Float64Array(layout.series);
    this.#kinds = new Uint8Array(layout.series);
    let i = 0;
    for (const f of layout.families) {
      for (let j = 0; j < f.prefixes.length; j++) this.#kinds[i++] = f.kind;
    }
    this.#rand = mulberry32(seed);
    this.advance();
  }

  /** Moves every value: counters up, gauges anywhere, histograms by new observations. */
  advance(): void {
    const v = this.values, kinds = this.#kinds, r = this.#rand;
    for (let i = 0; i < v.length; i++) {
      if (kinds[i] === Kind.Counter) v[i] += 1 + Math.floor(r() * 40);
      else if (kinds[i] === Kind.Gauge) v[i] = Math.round(r() * 2e9) / 8;
    }
    const nb = this.#layout.buckets;
    for (const first of this.#layout.histograms) {
      // 1..100 new observations spread over the buckets; buckets are cumulative.
      const n = 1 + Math.floor(r() * 100);
      let sum = 0;
      for (let k = 0; k < n; k++) {
        const obs = r() * r() * 3;
        sum += obs;
        let b = 0;
        while (obs > LE_BOUNDS[b]) b++; // the last bound is +Inf: stops there
        for (let j = b; j < nb; j++) v[first + j] += 1;
      }
      v[first + nb] += sum; // _sum
      v[first + nb + 1] += n; // _count
    }
  }

  /** The exposition text of the current values. */
  render(): string {
    const parts: string[] = [];
    let i = 0;
    for (const f of this.#layout.families) {
      parts.push(f.header);
      for (const p of f.prefixes) {
        const x = this.values[i++];
        parts.push(p, Number.isInteger(x) ? String(x) : x.toPrecision(12), "\n");
      }
    }
    return parts.join("");
  }
}

/** Writes every target's file once, atomically (write a temporary file, rename). */
export async function writeAll(dir: string, targets: TargetValues[]): Promise<number> {
  let bytes = 0;
  for (let t = 0; t < targets.length; t++) {
    const text = targets[t].render();
    bytes += text.length;
    const path = `${dir}/t${t}/metrics.txt`;
    await Deno.writeTextFile(path + ".tmp", text, { mode: 0o644 });
    await Deno.rename(path + ".tmp", path);
  }
  return bytes;
}

/** Creates `t<i>/` directories and the first version of every file. */
export async function initFarm(
  dir: string,
  opts: { targets: number; series: number },
): Promise<TargetValues[]> {
  const layout = makeLayout(opts.series);
  const targets: TargetValues[] = [];
  for (let t = 0; t < opts.targets; t++) {
    await Deno.mkdir(`${dir}/t${t}`, { recursive: true, mode: 0o755 });
    targets.push(new TargetValues(layout, 1 + t));
  }
  await writeAll(dir, targets);
  return targets;
}

async function writerMain(args: string[]): Promise<number> {
  const flag = flagReader(args);
  const dir = flag("dir");
  const targets = await initFarm(dir, {
    targets: Number(flag("targets")),
    series: Number(flag("series")),
  });
  const everyMs = Number(flag("every")) * 1000;
  const deadline = Date.now() + Number(flag("max-seconds", "7200")) * 1000;
  let stopping = false;
  const onSignal = () => stopping = true;
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  // Ticks on a fixed schedule; a slow rewrite skips ahead rather than piling up.
  let next = Date.now() + everyMs;
  while (!stopping && Date.now() < deadline) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 500)));
    if (Date.now() < next) continue;
    for (const t of targets) t.advance();
    await writeAll(dir, targets);
    next += everyMs;
    if (next < Date.now()) next = Date.now() + everyMs;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await writerMain(Deno.args));
