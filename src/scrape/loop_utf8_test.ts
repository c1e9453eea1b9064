/**
 * UTF-8 metric and label names end to end: a target on 127.0.0.1 (Deno.serve)
 * answers ferry's `Accept` (which offers `escaping=allow-utf-8`) with quoted
 * UTF-8 names in Prometheus text 1.0.0 and in OpenMetrics 1.0.0, and the
 * ScrapeLoop, with real fetch, stores the series under the exact names —
 * on the first scrape and on a steady one served from the scrape cache.
 * Invalid UTF-8 fails the scrape where Prometheus' does (names, label
 * values, HELP) and passes in comments: `decodeBody` keeps invalid bytes
 * visible as lone surrogates.
 */

import fc from "fast-check";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { realClock } from "../util/clock.ts";
import { decodeBody } from "./http.ts";
import { ScrapeLoop } from "./loop.ts";
import { RecordingDb, scrapeConfig } from "./testutil.ts";

/** The key RecordingDb files a sample under: the labels with the target's attached. */
const key = (labels: Record<string, string>) =>
  Labels.fromObject({ ...labels, job: "node", instance: "utf8" }).toString();

/**
 * Serves `bodies` in turn (the last one repeating) with `contentType`,
 * scrapes twice, and returns what the target saw and the storage got.
 */
async function scrapeTwice(contentType: string, bodies: (string | Uint8Array<ArrayBuffer>)[]) {
  const accepts: string[] = [];
  let i = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    accepts.push(req.headers.get("accept") ?? "");
    const body = bodies[Math.min(i++, bodies.length - 1)];
    return new Response(body, { headers: { "Content-Type": contentType } });
  });
  try {
    const cfg = scrapeConfig({ scrapeTimeoutMs: 5_000 });
    const db = new RecordingDb();
    const loop = new ScrapeLoop({
      labels: Labels.fromObject({ job: "node", instance: "utf8" }),
      discoveredLabels: Labels.fromObject({}),
      scrapeUrl: `http://127.0.0.1:${server.addr.port}/metrics`,
      intervalMs: 15_000,
      timeoutMs: cfg.scrapeTimeoutMs,
    }, {
      config: cfg,
      appendable: db,
      metricRules: compileRules([]),
      clock: realClock,
      offsetSeed: 0,
    });
    const scrapes: Map<string, number | "stale" | "histogram">[] = [];
    const errors: string[] = [];
    for (let n = 0; n < 2; n++) {
      await loop.scrapeOnce(Date.now());
      scrapes.push(db.last());
      errors.push(loop.status().lastError);
    }
    return { accepts, scrapes, errors, db };
  } finally {
    await server.shutdown();
  }
}

Deno.test("UTF-8 names: Prometheus text 1.0.0 with escaping=allow-utf-8 is scraped with exact names", async () => {
  const body = (v: number) =>
    [
      '# HELP "my.metric" A metric with a dot.',
      '# TYPE "my.metric" gauge',
      `{"my.metric", "label.name"="v", code="200"} ${v}`,
      '{"温度.°C", "ключ"="значение"} 21.5',
      `legacy_metric{"dotted.label"="x", "quote\\"d"="y"} 2`,
      '{"🌍 planet"} 3',
      "",
    ].join("\n");
  const r = await scrapeTwice("text/plain; version=1.0.0; escaping=allow-utf-8", [
    body(1),
    body(5),
  ]);
  assert(r.accepts[0].includes("text/plain;version=1.0.0;escaping=allow-utf-8"), r.accepts[0]);
  assertEquals(r.errors, ["", ""]);
  const want: [Record<string, string>, number, number][] = [
    [{ __name__: "my.metric", "label.name": "v", code: "200" }, 1, 5],
    [{ __name__: "温度.°C", "ключ": "значение" }, 21.5, 21.5],
    [{ __name__: "legacy_metric", "dotted.label": "x", 'quote"d': "y" }, 2, 2],
    [{ __name__: "🌍 planet" }, 3, 3],
  ];
  for (const [labels, first, second] of want) {
    assertEquals(r.scrapes[0].get(key(labels)), first, key(labels));
    assertEquals(r.scrapes[1].get(key(labels)), second, key(labels));
  }
  assertEquals(r.scrapes[0].get(key({ __name__: "up" })), 1);
  assertEquals(r.scrapes[0].get(key({ __name__: "scrape_samples_scraped" })), 4);
  // The steady scrape reuses the series refs from the scrape cache.
  const refs = (i: number) =>
    r.db.committed[i].filter((x) => x.series.includes("my.metric")).map((x) => x.ref);
  assertEquals(refs(1), refs(0));
  // The stored name is exactly the UTF-8 name.
  const names = new Set(
    r.db.committed[0].map((x) => x.series.match(/__name__="([^"]*)"/)?.[1]),
  );
  for (const n of ["my.metric", "温度.°C", "legacy_metric", "🌍 planet"]) assert(names.has(n), n);
});

Deno.test("UTF-8 names: OpenMetrics 1.0.0 with escaping=allow-utf-8 is scraped with exact names", async () => {
  const body = (v: number) =>
    [
      '# TYPE "my.counter" counter',
      '# HELP "my.counter" Counts things.',
      `{"my.counter_total","label.name"="v"} ${v} # {"trace.id"="abc"} 1`,
      '{"my.counter_created","label.name"="v"} 1700000000',
      '# TYPE "req.duration_seconds" histogram',
      '# UNIT "req.duration_seconds" seconds',
      '{"req.duration_seconds_bucket","le"="1"} 4',
      '{"req.duration_seconds_bucket",le="+Inf"} 5',
      '{"req.duration_seconds_count"} 5',
      '{"req.duration_seconds_sum"} 2.5',
      "# EOF",
      "",
    ].join("\n");
  const r = await scrapeTwice(
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    [body(3), body(4)],
  );
  assert(
    r.accepts[0].startsWith("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;"),
    r.accepts[0],
  );
  assertEquals(r.errors, ["", ""]);
  const want: [Record<string, string>, number, number][] = [
    [{ __name__: "my.counter_total", "label.name": "v" }, 3, 4],
    [{ __name__: "my.counter_created", "label.name": "v" }, 1700000000, 1700000000],
    [{ __name__: "req.duration_seconds_bucket", le: "1.0" }, 4, 4],
    [{ __name__: "req.duration_seconds_bucket", le: "+Inf" }, 5, 5],
    [{ __name__: "req.duration_seconds_count" }, 5, 5],
    [{ __name__: "req.duration_seconds_sum" }, 2.5, 2.5],
  ];
  for (const [labels, first, second] of want) {
    assertEquals(r.scrapes[0].get(key(labels)), first, key(labels));
    assertEquals(r.scrapes[1].get(key(labels)), second, key(labels));
  }
  assertEquals(r.scrapes[0].get(key({ __name__: "up" })), 1);
});

Deno.test("UTF-8 names: a malformed quoted name fails the scrape with the parse error", async () => {
  const r = await scrapeTwice("text/plain; version=1.0.0; escaping=allow-utf-8", [
    '{"my.metric", ""="v"} 1\n',
  ]);
  assertEquals(r.scrapes[0].get(key({ __name__: "up" })), 0);
  assert(r.errors[0].includes("empty label name"), r.errors[0]);
});

/** Bytes of `parts`: strings as UTF-8, numbers as raw bytes. */
const bytes = (...parts: (string | number)[]) =>
  new Uint8Array(
    parts.flatMap((p) => typeof p === "number" ? [p] : [...new TextEncoder().encode(p)]),
  );

Deno.test("decodeBody: invalid UTF-8 bytes become lone surrogates, losslessly", async (t) => {
  /** Encodes back: U+DC80–U+DCFF to the byte it stands for, the rest as UTF-8. */
  const encodeBack = (s: string) => {
    const out: number[] = [];
    for (const ch of s) {
      const c = ch.charCodeAt(0);
      if (ch.length === 1 && c >= 0xdc80 && c <= 0xdcff) out.push(c - 0xdc00);
      else out.push(...new TextEncoder().encode(ch));
    }
    return new Uint8Array(out);
  };
  const valid = (b: Uint8Array) => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(b);
      return true;
    } catch {
      return false;
    }
  };
  const table: [string, Uint8Array, string][] = [
    ["valid text is decoded as is", bytes("a 温度 🌍"), "a 温度 🌍"],
    ["a stray continuation byte", bytes("a", 0x80, "b"), "a\udc80b"],
    ["0xff", bytes(0xff), "\udcff"],
    ["an overlong encoding", bytes(0xc0, 0xaf), "\udcc0\udcaf"],
    ["an encoded surrogate", bytes(0xed, 0xa0, 0x80), "\udced\udca0\udc80"],
    ["beyond U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80), "\udcf4\udc90\udc80\udc80"],
    ["a truncated sequence at the end", bytes("x", 0xe6, 0xb8), "x\udce6\udcb8"],
    ["a truncated sequence before ASCII", bytes(0xf0, 0x9f, "a"), "\udcf0\udc9fa"],
    ["the byte order mark is kept", bytes(0xef, 0xbb, 0xbf, "a"), "\ufeffa"],
  ];
  for (const [name, input, want] of table) {
    await t.step(name, () => assertEquals(decodeBody(input), want));
  }
  await t.step("random bytes: lossless, and well-formed exactly when valid UTF-8", () => {
    const chunks = fc.oneof(
      fc.uint8Array({ maxLength: 8 }),
      fc.string({ unit: "binary", maxLength: 6 }).map((s) => new TextEncoder().encode(s)),
    );
    fc.assert(
      fc.property(fc.array(chunks, { maxLength: 8 }), (parts) => {
        const b = new Uint8Array(parts.flatMap((p) => [...p]));
        const s = decodeBody(b);
        assertEquals(encodeBack(s), b);
        assertEquals(s.isWellFormed(), valid(b));
      }),
      { numRuns: 2000 },
    );
  });
});

Deno.test("UTF-8 names: invalid UTF-8 fails the scrape where Prometheus' does, not in comments", async (t) => {
  const cases: [string, string, Uint8Array<ArrayBuffer>, string][] = [
    ["in a quoted metric name", "text", bytes('{"my', 0xff, '.metric"} 1\n'), "metric name"],
    ["in a quoted label name", "text", bytes('{"a", "b', 0xc0, 0xaf, '"="v"} 1\n'), "label name"],
    ["in a label value", "text", bytes('a{b="', 0xed, 0xa0, 0x80, '"} 1\n'), 'label "b"'],
    ["in HELP text", "text", bytes("# HELP a x", 0x80, "\na 1\n"), "HELP text"],
    ["in a HELP name", "text", bytes('# HELP "a', 0xfe, '" x\na 1\n'), "metric name"],
    ["in an OpenMetrics name", "om", bytes('{"a', 0xff, '"} 1\n# EOF\n'), "metric name"],
    ["in a comment (fine)", "text", bytes("# caf", 0xe9, "\na 1\n"), ""],
  ];
  const types: Record<string, string> = {
    text: "text/plain; version=1.0.0; escaping=allow-utf-8",
    om: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
  };
  for (const [name, format, body, error] of cases) {
    await t.step(name, async () => {
      const r = await scrapeTwice(types[format], [body]);
      assertEquals(r.scrapes[0].get(key({ __name__: "up" })), error === "" ? 1 : 0, r.errors[0]);
      if (error === "") assertEquals(r.scrapes[0].get(key({ __name__: "a" })), 1);
      else {
        assert(r.errors[0].includes(error), r.errors[0]);
        assert(r.errors[0].includes("not valid UTF-8"), r.errors[0]);
      }
    });
  }
});
