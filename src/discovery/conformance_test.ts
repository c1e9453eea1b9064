/**
 * One conformance suite, run against every Discoverer: the first report has
 * every source, changes are reported, vanished sources disappear, a failing
 * source keeps its last good targets (and the failure is counted and returned
 * by `discoverOnce`), recovery is reported, and `run` ends when aborted.
 *
 * Each harness maps an abstract state — source key → IPv4 addresses — onto
 * its kind of source: files in a directory, an HTTP SD endpoint, names on a
 * DNS server on 127.0.0.1, or fixed static groups.
 */

import { Registry } from "../metrics/registry.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { DnsDiscoverer } from "./dns.ts";
import { FileDiscoverer } from "./file.ts";
import { HttpDiscoverer } from "./http.ts";
import { createDnsSdMetrics, createFileSdMetrics, createHttpSdMetrics } from "./metrics.ts";
import { StaticDiscoverer } from "./static.ts";
import { eventually, TestDnsServer, UpdateRecorder } from "./testutil.ts";
import type { Discoverer } from "./types.ts";

/** Source key → IPv4 addresses; every target is `<address>:80`. */
type State = Record<string, string[]>;

interface Harness {
  /** Whether sources can change and fail (static ones cannot). */
  mutable: boolean;
  setup(state: State): Promise<Discoverer>;
  set(state: State): Promise<void>;
  /** Makes the source `key` fail. */
  break(key: string): Promise<void>;
  /** Failures counted so far in the discoverer's metric. */
  failures(): number;
  teardown(): Promise<void>;
}

const KEYS = ["a", "b", "c"];
const PORT = 80;

function addresses(state: State): string[] {
  return Object.values(state).flat().map((ip) => `${ip}:${PORT}`).sort();
}

const harnesses: Record<string, () => Harness> = {
  static: () => ({
    mutable: false,
    setup: (state) =>
      Promise.resolve(
        new StaticDiscoverer(
          Object.values(state).map((ips) => ({
            targets: ips.map((ip) => `${ip}:${PORT}`),
            labels: {},
          })),
          "conf",
        ),
      ),
    set: () => Promise.reject(new Error("static sources cannot change")),
    break: () => Promise.reject(new Error("static sources cannot fail")),
    failures: () => 0,
    teardown: () => Promise.resolve(),
  }),

  file: () => {
    let dir = "";
    const registry = new Registry();
    // Key "b" is YAML, the others JSON: both formats go through the same suite.
    const path = (k: string) => `${dir}/${k}.${k === "b" ? "yml" : "json"}`;
    const write = async (file: string, text: string) => {
      await Deno.writeTextFile(file + ".tmp", text);
      await Deno.rename(file + ".tmp", file); // atomic, as config management tools do
    };
    const set = async (state: State) => {
      for (const k of KEYS) {
        if (state[k]) {
          const targets = state[k].map((ip) => `${ip}:${PORT}`);
          await write(
            path(k),
            k === "b"
              ? `- targets: [${targets.join(", ")}]\n  labels: {key: ${k}}\n`
              : JSON.stringify([{ targets, labels: { key: k } }]),
          );
        } else await Deno.remove(path(k)).catch(() => {});
      }
    };
    return {
      mutable: true,
      async setup(state) {
        dir = await Deno.makeTempDir({ prefix: "ferry-conf-file-" });
        await set(state);
        return new FileDiscoverer(
          { files: [`${dir}/*.json`, `${dir}/*.yml`], refreshIntervalMs: 200 },
          { job: "conf", registry, settleMs: 20 },
        );
      },
      set,
      break: (k) => write(path(k), k === "b" ? "- targets: [unclosed\n" : "[{"),
      failures: () => createFileSdMetrics(registry).readErrors.value,
      teardown: () => Deno.remove(dir, { recursive: true }),
    };
  },

  http: () => {
    let state: State = {};
    let broken = false;
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    const registry = new Registry();
    return {
      mutable: true,
      setup(initial) {
        state = initial;
        server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
          if (broken) return new Response("oops", { status: 500 });
          const body = KEYS.filter((k) => state[k]).map((k) => ({
            targets: state[k].map((ip) => `${ip}:${PORT}`),
            labels: { key: k },
          }));
          return Response.json(body);
        });
        return Promise.resolve(
          new HttpDiscoverer(
            { url: `http://127.0.0.1:${server.addr.port}/sd`, ...HTTP_DEFAULTS },
            { job: "conf", registry },
          ),
        );
      },
      set(next) {
        state = next;
        broken = false;
        return Promise.resolve();
      },
      break() {
        broken = true;
        return Promise.resolve();
      },
      failures: () => createHttpSdMetrics(registry).failures.value,
      teardown: async () => await server?.shutdown(),
    };
  },

  dns: () => {
    let dns: TestDnsServer | undefined;
    const registry = new Registry();
    const set = (state: State) => {
      for (const k of KEYS) {
        dns!.set(
          `${k}.conf.test`,
          state[k] ? state[k].map((address) => ({ type: "A" as const, address })) : "NXDOMAIN",
        );
      }
      return Promise.resolve();
    };
    return {
      mutable: true,
      async setup(state) {
        dns = await TestDnsServer.start();
        await set(state);
        return new DnsDiscoverer(
          {
            names: KEYS.map((k) => `${k}.conf.test`),
            type: "A",
            port: PORT,
            refreshIntervalMs: 100,
          },
          { job: "conf", registry, nameServer: dns.nameServer, timeoutMs: 300 },
        );
      },
      set,
      break(k) {
        dns!.set(`${k}.conf.test`, "DROP"); // no answer at all: a lookup failure
        return Promise.resolve();
      },
      failures: () => createDnsSdMetrics(registry).failures.value,
      teardown: async () => await dns?.close(),
    };
  },
};

const HTTP_DEFAULTS = { refreshIntervalMs: 100, httpHeaders: {}, followRedirects: true };

for (const [kind, make] of Object.entries(harnesses)) {
  Deno.test(`Discoverer conformance: ${kind}`, async (t) => {
    const h = make();
    const initial: State = { a: ["10.0.0.1", "10.0.0.2"], b: ["10.0.0.3"] };
    const d = await h.setup(initial);
    const rec = new UpdateRecorder();
    const ac = new AbortController();
    let running: Promise<void> | undefined;
    const expect = async (what: string, state: State) => {
      const want = addresses(state);
      await eventually(what, () => JSON.stringify(rec.addresses()) === JSON.stringify(want), {
        detail: () => `want ${want}, last update ${rec.addresses()}`,
      });
    };
    try {
      await t.step("discoverOnce returns every source and no errors", async () => {
        const r = await d.discoverOnce(ac.signal);
        assertEquals(r.errors, []);
        assertEquals(
          r.groups.flatMap((g) => g.targets.map((x) => x.__address__)).sort(),
          addresses(initial),
        );
      });

      await t.step("the first update has every source, with unique sources", async () => {
        running = d.run(ac.signal, rec.update);
        await eventually("a first update", () => rec.updates.length > 0);
        assertEquals(rec.addresses(), addresses(initial));
        const first = rec.updates[0];
        assertEquals(new Set(first.map((g) => g.source)).size, first.length);
        for (const g of first) for (const x of g.targets) assert(x.__address__, "has __address__");
      });

      await t.step({
        name: "changes are reported",
        ignore: !h.mutable,
        fn: async () => {
          const next = { a: ["10.0.0.1"], b: ["10.0.0.3", "10.0.0.4"] };
          await h.set(next);
          await expect("the changed targets", next);
        },
      });

      await t.step({
        name: "a vanished source's targets disappear",
        ignore: !h.mutable,
        fn: async () => {
          const next = { a: ["10.0.0.1"] };
          await h.set(next);
          await expect("b's targets gone", next);
        },
      });

      await t.step({
        name: "a failing source keeps its last good targets",
        ignore: !h.mutable,
        fn: async () => {
          const before = h.failures();
          const updatesBefore = rec.updates.length;
          await h.break("a");
          await eventually("a counted failure", () => h.failures() > before);
          // Let at least two more refreshes fail.
          const counted = h.failures();
          await eventually("another failure", () => h.failures() > counted);
          assertEquals(rec.addresses(), addresses({ a: ["10.0.0.1"] }));
          assertEquals(rec.updates.length, updatesBefore, "a failure is not an update");
          const once = await d.discoverOnce(ac.signal);
          assert(once.errors.length > 0, "discoverOnce reports the failure");
          assertEquals(
            once.groups.flatMap((g) => g.targets.map((x) => x.__address__)).sort(),
            addresses({ a: ["10.0.0.1"] }),
          );
        },
      });

      await t.step({
        name: "recovery is reported",
        ignore: !h.mutable,
        fn: async () => {
          const next = { a: ["10.0.0.5"], c: ["10.0.0.6"] };
          await h.set(next);
          await expect("the recovered targets", next);
        },
      });

      await t.step("run ends when aborted", async () => {
        ac.abort();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const ended = await Promise.race([
          running!.then(() => true),
          new Promise<boolean>((r) => timer = setTimeout(() => r(false), 5000)),
        ]);
        clearTimeout(timer);
        assert(ended, "run resolved within 5 s of the abort");
      });
    } finally {
      ac.abort();
      await running?.catch(() => {});
      await h.teardown();
    }
  });
}
