/**
 * Push ingestion end to end (issue 11): ferry runs with
 * `--web.enable-remote-write-receiver` and one remote-write endpoint to a
 * receiver in this process. A client pushes numbered samples continuously,
 * rotating RW 1.0, RW 2.0 and the text format (sample n carries value n and
 * timestamp T0 + n). Meanwhile:
 *
 * 1. the downstream receiver fails (503) for a few seconds;
 * 2. during that outage ferry is SIGKILLed and restarted on the same storage
 *    directory (the backlog is only in its WAL);
 * 3. later, with everything flowing, ferry is SIGKILLed and restarted again.
 *
 * Pushes sent while ferry is down fail (connection refused) and are not
 * retried. At the end, every push that got a 2xx has arrived downstream, and
 * duplicates are counted: ferry resends after a crash what was delivered
 * since its cursor was last persisted (at most once a second), so a kill in
 * full flow may resend up to about a second of samples; a kill during an
 * outage resends nothing.
 */

import { protocolOf } from "../src/push/protocol.ts";
import { decodeRwBody } from "../src/push/protocol.ts";
import { Labels } from "../src/model/labels.ts";
import {
  encodeWriteRequest,
  encodeWriteRequestV2,
  snappyEncode,
  WriteBatch,
} from "../src/remote/codec.ts";
import { assert, assertEquals } from "../src/testing/assert.ts";
import { freePort, getText, type Proc, startAgent, waitFor } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PROTOS = ["rw1", "rw2", "text"] as const;

/** A RW receiver counting, per sample number, how often it arrived; 503 while `failing`. */
class Downstream {
  failing = false;
  readonly counts = new Map<number, number>();
  /** Sample numbers in arrival order, with the phase they arrived in. */
  readonly arrivals: { n: number; phase: string }[] = [];
  phase = "start";
  /** The label sets `push_seq` arrived with. */
  readonly labelSets = new Set<string>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = new Uint8Array(await req.arrayBuffer());
      if (this.failing) return new Response("down for the test", { status: 503 });
      const v = protocolOf(req.headers.get("content-type"));
      if (typeof v === "object") return new Response(v.reason, { status: 415 });
      const d = decodeRwBody(body, v);
      for (const s of d.series) {
        if (!s.labels.some(([k, val]) => k === "__name__" && val === "push_seq")) continue;
        this.labelSets.add(s.labels.map(([k, val]) => `${k}=${val}`).join(","));
        for (const value of s.values) {
          this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
          this.arrivals.push({ n: value, phase: this.phase });
        }
      }
      return new Response(null, { status: 204 });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/api/v1/write`;
  }

  stop(): Promise<void> {
    return this.#server.shutdown();
  }
}

/** The body and headers of push `n` in protocol `proto`. */
function pushRequest(
  proto: typeof PROTOS[number],
  n: number,
  t: number,
): { body: Uint8Array | string; headers: Record<string, string>; path: string } {
  if (proto === "text") {
    return {
      body: `# TYPE push_seq gauge\npush_seq{proto="text"} ${n} ${t}\n`,
      headers: { "content-type": "text/plain; version=0.0.4" },
      path: "/api/v1/import/prometheus?extra_label=client=test",
    };
  }
  const b = new WriteBatch(4);
  b.add(1, Labels.fromObject({ __name__: "push_seq", proto }), t, n, false);
  const raw = proto === "rw1" ? encodeWriteRequest(b) : encodeWriteRequestV2(b);
  return {
    body: snappyEncode(raw),
    headers: {
      "content-encoding": "snappy",
      "content-type": proto === "rw1"
        ? "application/x-protobuf"
        : "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    },
    path: "/api/v1/write?extra_label=client=test",
  };
}

Deno.test({
  name: "push: pushes survive a receiver outage and SIGKILL restarts; acknowledged ones arrive",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const down = new Downstream();
    const dir = await Deno.makeTempDir({ prefix: "ferry-push-" });
    const webPort = freePort();
    const base = `http://127.0.0.1:${webPort}`;
    const config = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(
      config,
      `remote_write:
  - url: ${down.url}
    name: down
    queue_config: { batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms }
push_config:
  extra_labels: { pushed: "yes" }
`,
    );
    const args = [
      "--config.file",
      config,
      "--storage.agent.path",
      `${dir}/data`,
      "--web.listen-address",
      `127.0.0.1:${webPort}`,
      "--web.enable-remote-write-receiver",
      "--log.level=warn",
    ];
    let agent: Proc = startAgent(args);
    const ready = () =>
      waitFor("ferry ready", async () => (await getText(`${base}/-/ready`)) ? true : undefined);
    const T0 = Date.now();
    /** Push number → 2xx or not, and the phase it was sent in. */
    const acked = new Map<number, boolean>();
    const statuses = new Map<string, number>();
    let stop = false;
    let phase = "start";
    try {
      await ready();
      const client = (async () => {
        for (let n = 1; !stop; n++) {
          const proto = PROTOS[n % 3];
          const { body, headers, path } = pushRequest(proto, n, T0 + n);
          let ok = false;
          try {
            const res = await fetch(base + path, {
              method: "POST",
              body: body as BodyInit,
              headers,
              signal: AbortSignal.timeout(5000),
            });
            await res.body?.cancel();
            ok = res.status >= 200 && res.status < 300;
            const k = `${proto} ${res.status}`;
            statuses.set(k, (statuses.get(k) ?? 0) + 1);
          } catch {
            statuses.set(`${proto} error`, (statuses.get(`${proto} error`) ?? 0) + 1);
          }
          acked.set(n, ok);
          await sleep(ok ? 15 : 100);
        }
      })();

      await sleep(2000);
      // 1. Outage downstream; during it, a SIGKILL and a restart.
      phase = down.phase = "outage";
      down.failing = true;
      await sleep(1500);
      phase = "kill1";
      await agent.stop("SIGKILL");
      await sleep(300);
      agent = startAgent(args);
      await ready();
      phase = "outage";
      await sleep(1500);
      down.failing = false;
      phase = down.phase = "healed";
      await sleep(2500);
      // 2. A SIGKILL in full flow, and a restart.
      phase = down.phase = "kill2";
      await agent.stop("SIGKILL");
      await sleep(300);
      agent = startAgent(args);
      await ready();
      phase = down.phase = "after";
      await sleep(2000);
      stop = true;
      await client;

      const ackedNs = [...acked].filter(([, ok]) => ok).map(([n]) => n);
      await waitFor(
        "every acknowledged push downstream",
        () => Promise.resolve(ackedNs.every((n) => down.counts.has(n)) ? true : undefined),
        30_000,
      );
      await sleep(1500); // anything still in flight
      const missing = ackedNs.filter((n) => !down.counts.has(n));
      const dups = [...down.counts].filter(([, c]) => c > 1).map(([n]) => n);
      const unackedArrived = [...acked].filter(([n, ok]) => !ok && down.counts.has(n)).length;
      const report = {
        pushes: acked.size,
        acknowledged: ackedNs.length,
        unacknowledged: acked.size - ackedNs.length,
        unacknowledged_but_arrived: unackedArrived,
        missing: missing.length,
        duplicated: dups.length,
        duplicate_phases: [
          ...new Set(
            down.arrivals.filter((a) => dups.includes(a.n)).map((a) => a.phase),
          ),
        ],
        statuses: Object.fromEntries(statuses),
        phase,
      };
      // deno-lint-ignore no-console
      console.log("push_test:", JSON.stringify(report));
      assertEquals(missing, [], "acknowledged pushes missing downstream");
      // The request's extra_label and the config's extra_labels are on every series.
      assertEquals([...down.labelSets].sort(), [
        "__name__=push_seq,client=test,proto=rw1,pushed=yes",
        "__name__=push_seq,client=test,proto=rw2,pushed=yes",
        "__name__=push_seq,client=test,proto=text,pushed=yes",
      ]);
      assert(ackedNs.length > 100, `too few pushes acknowledged: ${ackedNs.length}`);
      for (const p of PROTOS) assert((statuses.get(`${p} 204`) ?? 0) > 10, `${p}: ${report}`);
      // Resends only come from the kill in full flow (cursor persisted ≤ 1 s before it).
      for (const n of dups) {
        const first = down.arrivals.find((a) => a.n === n)!;
        assert(
          first.phase === "healed",
          `sample ${n} duplicated although first delivered in ${first.phase}`,
        );
      }
      // ... and at most about a second's worth of pushes (~60 at one per 15 ms; ample margin).
      assert(dups.length <= 150, `${dups.length} duplicates`);
    } finally {
      stop = true;
      await agent.stop("SIGTERM");
      await down.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
