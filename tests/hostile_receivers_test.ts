/**
 * Issue 9, item 2: receivers that misbehave. One ferry (a subprocess) scrapes
 * one target whose `hostile_scrape_number` goes up by one on every scrape (so
 * every scrape is identifiable at the receivers) and forwards to one
 * remote-write endpoint per case, each answered by a programmable hostile
 * receiver in this process: `Deno.serve` for the status-code cases, a raw
 * `Deno.listen` TCP server for resets, early answers and hangs.
 *
 * Timeline: every receiver is healthy at first; then all turn hostile at once
 * (the fault phase, a few seconds, until each one has shown its fault); the
 * metrics are read during the fault; then all heal (but `forever`, and `413`,
 * whose size limit is permanent) and the test waits until every scrape made
 * up to a few after the heal has arrived everywhere. One step per case then
 * checks the retry/drop behaviour, the metrics that show it, and that nothing
 * acknowledged was lost (and how often a scrape arrived twice). The last step
 * stops ferry while `forever` still hangs (remote_timeout 5m, flush deadline
 * 2s) and restarts it with `forever` healed: the whole backlog arrives.
 *
 * A summary line per case (requests, duplicates) goes to stderr.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { decodeWriteRequest, snappyDecode } from "../src/remote/codec.ts";
import { freePort, getText, type Proc, startAgent, waitFor } from "./helpers.ts";

/** Filler series per scrape, so requests are a few KiB (the 413 case splits them). */
const FILLER = 300;
/** Series per scrape: the counter, the filler and the 5 report series (`up`, …). */
const PER_SCRAPE = 1 + FILLER + 5;
const FLUSH_DEADLINE_S = 2;
/** The 413 receiver refuses compressed bodies above this (ferry splits bodies ≥ 4 KiB). */
const LIMIT_413 = 5000;
const COUNTER = "hostile_scrape_number";

// ---------------------------------------------------------------------------
// Target

/** A target whose counter is the number of the scrape (1, 2, …), plus FILLER series. */
function startTarget(): { port: number; scrapes: () => number; stop: () => Promise<void> } {
  let n = 0;
  // Label values that do not compress away, fixed per series.
  const ids: string[] = [];
  let x = 0x2545f491;
  for (let i = 0; i < FILLER; i++) {
    let s = "";
    for (let j = 0; j < 3; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      s += (x >>> 0).toString(16).padStart(8, "0");
    }
    ids.push(s);
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    n++;
    let body = `# TYPE ${COUNTER} counter\n${COUNTER}_total ${n}\n`;
    for (let i = 0; i < FILLER; i++) body += `hostile_filler{i="${i}",id="${ids[i]}"} ${n * i}\n`;
    return new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4" } });
  });
  return { port: server.addr.port, scrapes: () => n, stop: () => server.shutdown() };
}

// ---------------------------------------------------------------------------
// Receivers

/** One request a receiver got, and what it did with it. */
interface Attempt {
  at: number;
  outcome: string;
  /** Scrape numbers in it (empty when the body was not read). */
  values: number[];
  /** Float samples in it (0 when the body was not read). */
  samples: number;
  bytes: number;
}

/** What one receiver saw; `faulty` is switched by the test. */
class Recorder {
  faulty = false;
  readonly attempts: Attempt[] = [];
  /** Scrape numbers of every request the receiver kept (with duplicates). */
  readonly stored: number[] = [];
  /** Scrape numbers in requests it refused for good (400, 429 without retries). */
  readonly rejected: number[] = [];
  /** Samples in those requests. */
  rejectedSamples = 0;

  constructor(readonly name: string) {}

  /** Records a request; `store` keeps its scrape numbers. */
  record(outcome: string, body: Uint8Array | null, store: boolean): Attempt {
    const d = body ? decode(body) : { values: [], samples: 0 };
    const a = { at: Date.now(), outcome, ...d, bytes: body?.length ?? 0 };
    this.attempts.push(a);
    if (store) this.stored.push(...d.values);
    return a;
  }

  /** Attempts whose outcome starts with `prefix`. */
  outcomes(prefix: string): Attempt[] {
    return this.attempts.filter((a) => a.outcome.startsWith(prefix));
  }

  /** Samples in the attempts whose outcome starts with `prefix`. */
  samplesOf(prefix: string): number {
    return this.outcomes(prefix).reduce((s, a) => s + a.samples, 0);
  }

  /** Scrape numbers stored more than once (one per extra copy). */
  duplicates(): number {
    return this.stored.length - new Set(this.stored).size;
  }
}

function decode(body: Uint8Array): { values: number[]; samples: number } {
  const req = decodeWriteRequest(snappyDecode(body));
  const values: number[] = [];
  let samples = 0;
  for (const s of req.series) {
    samples += s.values.length;
    if (s.labels.some(([n, v]) => n === "__name__" && v === `${COUNTER}_total`)) {
      for (const v of s.values) if (!Number.isNaN(v)) values.push(v);
    }
  }
  return { values, samples };
}

/** A receiver's answer to one request. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Whether the receiver keeps the request's samples. */
  store: boolean;
  /** Waits this long before answering. */
  delayMs?: number;
  /** The batch is refused for good (counted in `rejected`). */
  rejects?: boolean;
}

/** An HTTP receiver (`Deno.serve`) that reads every body and answers as `answer` says. */
class HttpReceiver {
  readonly url: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(
    readonly rec: Recorder,
    answer: (rec: Recorder, values: number[], bytes: number) => Answer,
  ) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {}, onError: () => new Response(null) },
      async (req) => {
        const body = new Uint8Array(await req.arrayBuffer());
        const values = decode(body).values;
        const a = answer(rec, values, body.length);
        const kind = a.store ? "stored" : a.rejects ? "rejected" : "failed";
        const at = rec.record(`${kind} ${a.status}${a.delayMs ? " late" : ""}`, body, a.store);
        if (a.rejects) {
          rec.rejected.push(...at.values);
          rec.rejectedSamples += at.samples;
        }
        if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
        return new Response(a.status === 204 ? null : `hostile ${a.status}`, {
          status: a.status,
          headers: a.headers,
        });
      },
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}/api/v1/write`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

/** What the raw receiver does with one request. */
type RawMode =
  | "ok" // read, keep, 204, keep-alive
  | "reset" // close after the request headers with the body unread: the kernel resets
  | "close_after_read" // read and keep the body, then close without an answer
  | "early_2xx" // 204 right after the headers, then read and keep the body
  | "unread_2xx" // 204 right after the headers, then close without reading the body
  | "hang" // read the body, never answer
  | "hang_body"; // read and keep the body, send "200, 100 bytes follow", never send them

const NO_CONTENT = "HTTP/1.1 204 No Content\r\n\r\n";

/** A receiver on a raw TCP socket, for answers an HTTP server will not give. */
class RawReceiver {
  readonly url: string;
  /** How long after the request each hung connection was given up by ferry (ms). */
  readonly abandonedAfter: number[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.TcpConn>();
  #closing = false;
  #faultN = 0;

  constructor(readonly rec: Recorder, readonly faultMode: (n: number) => RawMode) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.url = `http://127.0.0.1:${this.#listener.addr.port}/api/v1/write`;
    this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#serve(conn).finally(() => {
          this.#conns.delete(conn);
          closeQuietly(conn);
        });
      }
    } catch {
      // closed
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    // Small reads, so that after the headers the rest of the body is still in the kernel.
    const chunk = new Uint8Array(1024);
    let buf = new Uint8Array(0);
    const more = async (): Promise<boolean> => {
      const n = await conn.read(chunk);
      if (n === null) return false;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      return true;
    };
    const write = (s: string) => conn.write(new TextEncoder().encode(s));
    const untilClosed = async (at: number) => {
      try {
        while ((await conn.read(chunk)) !== null) { /* ferry sends nothing more */ }
      } catch {
        // reset by ferry
      }
      if (!this.#closing) this.abandonedAfter.push(Date.now() - at);
    };
    try {
      for (;;) {
        let end = headerEnd(buf);
        while (end < 0) {
          if (!(await more())) return;
          end = headerEnd(buf);
        }
        const head = new TextDecoder("latin1").decode(buf.subarray(0, end));
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        const mode = this.rec.faulty ? this.faultMode(this.#faultN++) : "ok";
        const at = Date.now();
        if (mode === "reset") {
          this.rec.record("reset", null, false);
          return; // closed with unread data: RST
        }
        if (mode === "unread_2xx") {
          this.rec.record("unread_2xx", null, false);
          await write("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
          return;
        }
        if (mode === "early_2xx") await write(NO_CONTENT);
        while (buf.length < len) if (!(await more())) return;
        const body = buf.slice(0, len);
        buf = buf.subarray(len);
        switch (mode) {
          case "ok":
            this.rec.record("stored", body, true);
            await write(NO_CONTENT);
            continue;
          case "early_2xx":
            this.rec.record("early_2xx", body, true);
            continue;
          case "close_after_read":
            this.rec.record("close_after_read", body, true);
            return;
          case "hang":
            this.rec.record("hang", body, false);
            return await untilClosed(at);
          case "hang_body":
            this.rec.record("hang_body", body, true);
            await write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            return await untilClosed(at);
        }
      }
    } catch {
      // ferry went away
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#listener.close();
    for (const c of this.#conns) closeQuietly(c);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function headerEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

// ---------------------------------------------------------------------------
// Metrics

/** The value of `name` for endpoint `remote`, NaN when absent. */
function rm(text: string, name: string, remote: string): number {
  const full = `prometheus_remote_storage_${name}{`;
  for (const line of text.split("\n")) {
    if (line.startsWith(full) && line.includes(`remote_name="${remote}"`)) {
      return Number(line.slice(line.lastIndexOf("}") + 1).trim().split(" ")[0]);
    }
  }
  return NaN;
}

/** `…_samples_dropped_total` of endpoint `remote`, summed over reasons. */
function dropped(text: string, remote: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("prometheus_remote_storage_samples_dropped_total{") &&
      line.includes(`remote_name="${remote}"`)
    ) sum += Number(line.slice(line.lastIndexOf("}") + 1).trim().split(" ")[0]);
  }
  return sum;
}

/** Float samples committed to the WAL. */
function appended(text: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith("prometheus_agent_samples_appended_total{") && line.includes("float")) {
      return Number(line.slice(line.lastIndexOf("}") + 1).trim().split(" ")[0]);
    }
  }
  return NaN;
}

/** One endpoint's view in a metrics snapshot. */
interface View {
  failed: number;
  retried: number;
  total: number;
  pending: number;
  highestSent: number;
  highestQueued: number;
}

function view(text: string, remote: string): View {
  return {
    failed: rm(text, "samples_failed_total", remote),
    retried: rm(text, "samples_retried_total", remote),
    total: rm(text, "samples_total", remote),
    pending: rm(text, "samples_pending", remote),
    highestSent: rm(text, "queue_highest_sent_timestamp_seconds", remote),
    highestQueued: rm(text, "queue_highest_timestamp_seconds", remote),
  };
}

function missing(rec: Recorder, expected: number[]): number[] {
  const have = new Set(rec.stored);
  return expected.filter((v) => !have.has(v));
}

function say(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
}

// ---------------------------------------------------------------------------
// The run

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "hostile receivers (issue 9, item 2)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ferry-hostile-" });
    const target = startTarget();
    const rec = (name: string) => new Recorder(name);
    const ok: Answer = { status: 204, store: true };

    const good = new HttpReceiver(rec("good"), () => ok);
    const timeout = new HttpReceiver(
      rec("timeout"),
      (r) => r.faulty ? { status: 204, store: true, delayMs: 2000 } : ok,
    );
    const reset = new RawReceiver(
      rec("reset"),
      (n) => n % 2 === 0 ? "reset" : "close_after_read",
    );
    // Retry-After 0, in the past or unparsable must not cut the backoff short.
    const STORM: [number, Record<string, string>][] = [
      [500, {}],
      [502, { "Retry-After": "0" }],
      [503, { "Retry-After": new Date(Date.now() - 60_000).toUTCString() }],
      [504, { "Retry-After": "soon" }],
    ];
    let stormN = 0;
    const storm = new HttpReceiver(rec("storm"), (r) => {
      if (!r.faulty) return ok;
      const [status, headers] = STORM[stormN++ % STORM.length];
      return { status, headers, store: false };
    });
    const busy: Answer = { status: 429, headers: { "Retry-After": "1" }, store: false };
    const drop429 = new HttpReceiver(
      rec("drop429"),
      (r) => r.faulty ? { ...busy, rejects: true } : ok,
    );
    const retry429 = new HttpReceiver(rec("retry429"), (r) => r.faulty ? busy : ok);
    // A permanent body size limit, not a phase.
    const tooLarge = new HttpReceiver(
      rec("too_large"),
      (_r, _v, bytes) => bytes > LIMIT_413 ? { status: 413, store: false } : ok,
    );
    const bad400 = new HttpReceiver(
      rec("bad400"),
      (r, values) =>
        r.faulty && values.some((v) => v % 3 === 0)
          ? { status: 400, store: false, rejects: true }
          : ok,
    );
    const early = new RawReceiver(rec("early_2xx"), () => "early_2xx");
    const unread = new RawReceiver(rec("unread_2xx"), () => "unread_2xx");
    const hang = new RawReceiver(rec("hang"), () => "hang");
    const hangBody = new RawReceiver(rec("hang_body"), () => "hang_body");
    const forever = new RawReceiver(rec("forever"), () => "hang");
    forever.rec.faulty = true;
    const all = [
      good,
      timeout,
      reset,
      storm,
      drop429,
      retry429,
      tooLarge,
      bad400,
      early,
      unread,
      hang,
      hangBody,
      forever,
    ];
    const queue = { batch_send_deadline: "200ms", min_backoff: "50ms", max_backoff: "500ms" };
    const endpoint = (
      r: HttpReceiver | RawReceiver,
      extra: Record<string, unknown> = {},
      q: Record<string, unknown> = {},
    ) => ({
      url: r.url,
      name: r.rec.name,
      remote_timeout: "5s",
      ...extra,
      queue_config: { ...queue, ...q },
    });
    const config = {
      global: { scrape_interval: "500ms", scrape_timeout: "500ms" },
      scrape_configs: [{
        job_name: "hostile",
        static_configs: [{ targets: [`127.0.0.1:${target.port}`] }],
      }],
      remote_write: [
        endpoint(good),
        endpoint(timeout, { remote_timeout: "500ms" }),
        endpoint(reset),
        endpoint(storm, {}, { max_shards: 1, min_backoff: "200ms" }),
        endpoint(drop429, {}, { retry_on_http_429: false }),
        endpoint(retry429, {}, { retry_on_http_429: true, max_shards: 1 }),
        endpoint(tooLarge, {}, { max_samples_per_send: 5000, batch_send_deadline: "1s" }),
        endpoint(bad400),
        endpoint(early),
        endpoint(unread),
        // Small queues: the WAL reader pauses while these hang.
        endpoint(hang, { remote_timeout: "1s" }, { capacity: 1000, max_samples_per_send: 1000 }),
        endpoint(hangBody, { remote_timeout: "1s" }),
        endpoint(forever, { remote_timeout: "5m" }, { capacity: 500, max_samples_per_send: 500 }),
      ],
    };
    const cfgFile = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(cfgFile, JSON.stringify(config, null, 2));
    const webPort = freePort();
    const web = `http://127.0.0.1:${webPort}`;
    const args = [
      `--config.file=${cfgFile}`,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      `--storage.remote.flush-deadline=${FLUSH_DEADLINE_S}s`,
    ];
    let agent: Proc = startAgent(args);
    const metrics = () => getText(`${web}/metrics`);
    const healed = all.filter((r) => r !== forever);

    let fault = "", after = "", rss = NaN, healScrape = 0, last = 0, expected: number[] = [];
    let appendedBefore = NaN, appendedDuring = NaN, healthDuring = "";
    try {
      // Healthy phase: every receiver (but forever) has something.
      await waitFor("first deliveries", () =>
        Promise.resolve(
          good.rec.stored.length >= 3 && healed.every((r) => r.rec.stored.length > 0)
            ? true
            : undefined,
        ), 30_000);

      // Fault phase.
      for (const r of healed) r.rec.faulty = true;
      const faultFrom = Date.now();
      const shown: Record<string, () => boolean> = {
        timeout: () => timeout.rec.attempts.filter((a) => a.at >= faultFrom).length >= 3,
        reset: () =>
          reset.rec.outcomes("reset").length >= 2 &&
          reset.rec.outcomes("close_after_read").length >= 1,
        storm: () => storm.rec.outcomes("failed").length >= STORM.length,
        drop429: () => drop429.rec.outcomes("rejected").length >= 2,
        retry429: () => retry429.rec.outcomes("failed").length >= 3,
        too_large: () => tooLarge.rec.outcomes("failed 413").length >= 1,
        bad400: () => bad400.rec.outcomes("rejected").length >= 2,
        early_2xx: () => early.rec.outcomes("early_2xx").length >= 3,
        unread_2xx: () => unread.rec.outcomes("unread_2xx").length >= 3,
        hang: () => hang.abandonedAfter.length >= 2,
        hang_body: () => hangBody.abandonedAfter.length >= 2,
      };
      await waitFor("every receiver to show its fault", () =>
        Promise.resolve(
          Date.now() - faultFrom >= 3000 && Object.values(shown).every((f) => f())
            ? true
            : undefined,
        ), 30_000).catch((e) => {
          const not = Object.entries(shown).filter(([, f]) => !f()).map(([n]) => n);
          throw new Error(`${(e as Error).message}; not shown: ${not.join(", ")}`);
        });
      const m1 = await metrics();
      appendedBefore = appended(m1);
      await sleep(1000);
      fault = await metrics();
      appendedDuring = appended(fault);
      rss = agent.rssBytes();
      const targets = JSON.parse(await getText(`${web}/api/v1/targets`));
      healthDuring = targets.data.activeTargets[0]?.health ?? "";

      // Heal; every scrape committed up to a few after the heal must arrive. The control
      // receiver `good` says which were committed (a scrape that failed, say timed out on a
      // busy machine, has a number that is nowhere): the counter is one series, sent in
      // order, so once `good` has `last`, it has every committed scrape before it.
      healScrape = target.scrapes();
      for (const r of healed) r.rec.faulty = false;
      last = healScrape + 4;
      await waitFor(
        `scrape ${last} at the control receiver`,
        () => Promise.resolve(good.rec.stored.some((v) => v >= last) ? true : undefined),
        30_000,
      );
      expected = [...new Set(good.rec.stored)].filter((v) => v <= last).sort((a, b) => a - b);
      const want = (r: Recorder) => {
        if (r === unread.rec) return expected.filter((v) => v > healScrape);
        const rejected = new Set(r.rejected);
        return expected.filter((v) => !rejected.has(v));
      };
      await waitFor("every scrape at every healed receiver", () =>
        Promise.resolve(
          healed.every((r) => missing(r.rec, want(r.rec)).length === 0) ? true : undefined,
        ), 40_000).catch((e) => {
          const lines = healed.map((r) =>
            `${r.rec.name}: missing ${missing(r.rec, want(r.rec)).join(",")}`
          );
          throw new Error(`${(e as Error).message}\n${lines.join("\n")}`);
        });
      // The backlogs are gone: nothing more than about one scrape pending anywhere.
      after = await waitFor("the backlogs to drain", async () => {
        const m = await metrics();
        return healed.every((r) => view(m, r.rec.name).pending <= 2 * PER_SCRAPE) ? m : undefined;
      }, 20_000);
    } catch (e) {
      await agent.stop();
      await Promise.all(all.map((r) => r.close()));
      await target.stop();
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent.output().slice(-6000)}`);
    }

    const F = (r: { rec: Recorder }) => view(fault, r.rec.name);
    const H = (r: { rec: Recorder }) => view(after, r.rec.name);
    const summary = (r: { rec: Recorder }, extra = "") => {
      const kinds = new Map<string, number>();
      for (const a of r.rec.attempts) kinds.set(a.outcome, (kinds.get(a.outcome) ?? 0) + 1);
      say(
        `hostile ${r.rec.name}: ${[...kinds].map(([k, n]) => `${k}×${n}`).join(" ")}; ` +
          `duplicates ${r.rec.duplicates()}; ${extra}`,
      );
    };
    const lagging = (r: { rec: Recorder }) => {
      const f = F(r), h = H(r);
      assert(
        f.highestSent < f.highestQueued - 1,
        `highest sent ${f.highestSent} should lag highest queued ${f.highestQueued} during the fault`,
      );
      assert(h.highestSent >= f.highestQueued, "highest sent catches up after the heal");
    };
    const backlog = (r: { rec: Recorder }) =>
      assert(F(r).pending > 2 * PER_SCRAPE, `pending ${F(r).pending} during the fault`);
    const exactlyOnce = (r: { rec: Recorder }) =>
      assertEquals(r.rec.duplicates(), 0, `${r.rec.name} got scrapes twice`);

    await t.step("scraping is unaffected while receivers misbehave", () => {
      assert(
        appendedDuring > appendedBefore,
        `WAL appends stalled: ${appendedBefore} → ${appendedDuring}`,
      );
      assertEquals(healthDuring, "up");
      assert(expected.length >= last - 2, `only ${expected.length} of ${last} scrapes committed`);
      exactlyOnce(good);
      assert(rss < 400 * 2 ** 20, `RSS ${rss}`);
      summary(good, `rss ${(rss / 2 ** 20).toFixed(0)} MiB`);
    });

    await t.step("timeout: slower than remote_timeout is retried; nothing lost", () => {
      assertEquals(F(timeout).failed, 0);
      assert(F(timeout).retried > 0, "retries counted");
      assert(H(timeout).retried >= timeout.rec.samplesOf("stored 204 late"));
      backlog(timeout);
      lagging(timeout);
      assertEquals(H(timeout).failed, 0);
      assertEquals(missing(timeout.rec, expected), []);
      summary(timeout);
    });

    await t.step("connection reset mid-request (and closed after the body): retried", () => {
      assert(F(reset).retried > 0);
      assertEquals(H(reset).failed, 0);
      backlog(reset);
      lagging(reset);
      assertEquals(missing(reset.rec, expected), []);
      summary(reset);
    });

    await t.step("5xx storm: retried with backoff, delivered exactly once", () => {
      // One shard, one batch retried: never faster than min_backoff (200 ms), whatever
      // Retry-After says (0, in the past, garbage).
      const failed = storm.rec.outcomes("failed");
      for (let i = 1; i < failed.length; i++) {
        const gap = failed[i].at - failed[i - 1].at;
        assert(gap >= 150, `retry ${gap} ms after a ${failed[i - 1].outcome}`);
      }
      assertEquals(H(storm).failed, 0);
      assertEquals(H(storm).retried, storm.rec.samplesOf("failed"));
      backlog(storm);
      lagging(storm);
      assertEquals(missing(storm.rec, expected), []);
      exactlyOnce(storm);
      summary(storm);
    });

    await t.step("429 without retry_on_http_429: the batch is dropped and counted failed", () => {
      const rejected = drop429.rec.outcomes("rejected");
      assert(rejected.length >= 2);
      assertEquals(H(drop429).failed, drop429.rec.rejectedSamples);
      assertEquals(H(drop429).retried, 0);
      // Rejected by the receiver is `failed`; `dropped` is for what ferry never sends.
      assertEquals(dropped(after, "drop429"), 0);
      // Never sent again.
      const stored = new Set(drop429.rec.stored);
      assertEquals(drop429.rec.rejected.filter((v) => stored.has(v)), []);
      assertEquals(
        missing(drop429.rec, expected.filter((v) => !drop429.rec.rejected.includes(v))),
        [],
      );
      exactlyOnce(drop429);
      summary(drop429, `dropped scrapes ${drop429.rec.rejected.length}`);
    });

    await t.step("429 with retry_on_http_429: Retry-After is honoured, delivered once", () => {
      const a = retry429.rec.attempts;
      const busyAt = a.filter((x) => x.outcome.startsWith("failed")).map((x) => a.indexOf(x));
      for (const i of busyAt) {
        if (i + 1 < a.length) {
          const gap = a[i + 1].at - a[i].at;
          assert(gap >= 900, `retry ${gap} ms after a 429 with Retry-After: 1`);
        }
      }
      assertEquals(H(retry429).failed, 0);
      assertEquals(H(retry429).retried, retry429.rec.samplesOf("failed"));
      lagging(retry429);
      assertEquals(missing(retry429.rec, expected), []);
      exactlyOnce(retry429);
      summary(retry429);
    });

    await t.step("413: the batch is split until the parts fit; nothing lost", () => {
      const refused = tooLarge.rec.outcomes("failed 413");
      assert(refused.length > 0, "no request was too large: raise FILLER");
      assertEquals(H(tooLarge).failed, 0);
      assertEquals(H(tooLarge).retried, tooLarge.rec.samplesOf("failed 413"));
      assertEquals(missing(tooLarge.rec, expected), []);
      exactlyOnce(tooLarge);
      summary(tooLarge);
    });

    await t.step(
      "400 for a batch: dropped and counted failed, not retried; the rest arrives",
      () => {
        assertEquals(H(bad400).failed, bad400.rec.rejectedSamples);
        assertEquals(H(bad400).retried, 0);
        assertEquals(dropped(after, "bad400"), 0);
        const stored = new Set(bad400.rec.stored);
        assertEquals(bad400.rec.rejected.filter((v) => stored.has(v)), []);
        for (const v of bad400.rec.rejected) {
          const seen = bad400.rec.attempts.filter((a) => a.values.includes(v)).length;
          assertEquals(seen, 1, `scrape ${v} was sent ${seen} times`);
        }
        exactlyOnce(bad400);
        summary(bad400, `dropped scrapes ${bad400.rec.rejected.length}`);
      },
    );

    await t.step("2xx before reading the body: delivered, nothing lost", () => {
      assertEquals(H(early).failed, 0);
      assertEquals(missing(early.rec, expected), []);
      summary(early, `retried ${H(early).retried}`);
    });

    await t.step("2xx without ever reading the body: ferry does not hang", () => {
      assertEquals(H(unread).failed, 0);
      const lost = missing(unread.rec, expected);
      summary(unread, `retried ${H(unread).retried}; lost by the receiver ${lost.length}`);
    });

    await t.step("hanging forever (no answer): remote_timeout fires, retried, nothing lost", () => {
      // ferry gave up on every hung request (the receiver never closes), and not at once.
      for (const ms of hang.abandonedAfter) assert(ms >= 500, `gave up after ${ms} ms`);
      assert(F(hang).retried > 0);
      backlog(hang);
      lagging(hang);
      assertEquals(H(hang).failed, 0);
      assertEquals(missing(hang.rec, expected), []);
      exactlyOnce(hang);
      summary(hang, `gave up after ${hang.abandonedAfter.join(",")} ms`);
    });

    await t.step(
      "hanging in the body of a 2xx: delivered once remote_timeout ends the read",
      () => {
        for (const ms of hangBody.abandonedAfter) assert(ms >= 500, `gave up after ${ms} ms`);
        assertEquals(H(hangBody).failed, 0);
        assertEquals(H(hangBody).retried, 0);
        assertEquals(missing(hangBody.rec, expected), []);
        exactlyOnce(hangBody);
        summary(hangBody);
      },
    );

    await t.step(
      "hanging forever at shutdown: stops within the flush deadline, resends after a restart",
      async () => {
        try {
          assert(F(forever).pending > 0);
          assertEquals(F(forever).retried, 0);
          const t0 = Date.now();
          const status = await agent.stop("SIGTERM", 60_000);
          const took = Date.now() - t0;
          assertEquals(status.code, 0, agent.output().slice(-3000));
          assert(took < (FLUSH_DEADLINE_S + 10) * 1000, `shutdown took ${took} ms`);
          assertStringIncludes(agent.output(), "drain deadline passed");
          const committed = [...new Set(good.rec.stored)];
          forever.rec.faulty = false;
          agent = startAgent(args);
          await waitFor(
            "the backlog at forever",
            () => Promise.resolve(missing(forever.rec, committed).length === 0 ? true : undefined),
            40_000,
          );
          exactlyOnce(forever);
          summary(forever, `shutdown ${took} ms; ${committed.length} scrapes after the restart`);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent.output().slice(-6000)}`);
        }
      },
    );

    await agent.stop();
    await Promise.all(all.map((r) => r.close()));
    await target.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  },
});
