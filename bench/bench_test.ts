import { makeLayout, TargetValues } from "./farm.ts";
import { Metrics, parseText } from "./promtext.ts";
import { medianOf, promConfig, type RunResult, table } from "./compare.ts";
import { summarizeSnapshot } from "./profile.ts";
import { flagReader, sampleTree, sleepUnless } from "./proc.ts";
import { assertEquals, assertRejects, assertThrows } from "../src/testing/assert.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("farm: exact series count, unique series, valid histograms, values move", async (t) => {
  for (const n of [1, 13, 500, 1000, 2000, 5000]) {
    await t.step(`${n} series`, () => {
      const layout = makeLayout(n);
      assert(layout.series === n, `series ${layout.series} != ${n}`);
      const v = new TargetValues(layout, 7);
      const before = parseText(v.render());
      assert(before.length === n, `rendered ${before.length} samples`);
      const keys = before.map((l) => l.name + JSON.stringify(l.labels));
      assert(new Set(keys).size === n, "duplicate series");
      for (const l of before) {
        const labels = Object.keys(l.labels).filter((k) => k !== "le").length;
        assert(labels >= 3 && labels <= 6, `${l.name} has ${labels} labels`);
      }
      v.advance();
      const after = parseText(v.render());
      for (let i = 0; i < n; i++) {
        if (after[i].name.endsWith("_total")) {
          assert(after[i].value > before[i].value, `counter ${keys[i]} did not grow`);
        }
      }
      // Buckets are cumulative and end in +Inf == _count.
      for (let i = 0; i < after.length; i++) {
        const l = after[i];
        if (l.labels.le === "+Inf") {
          assert(after[i + 2].name.endsWith("_count"), "no _count after +Inf");
          assert(after[i + 2].value === l.value, "+Inf bucket != count");
        } else if (l.labels.le && after[i + 1].labels.le) {
          assert(after[i + 1].value >= l.value, "buckets not cumulative");
        }
      }
    });
  }
});

Deno.test("promtext: sums with label matchers, escapes, NaN", () => {
  const m = new Metrics(`# HELP x y
a_total{url="http://h/x",name="q\\"z"} 3
a_total{url="other"} 4
b 1e3
c NaN
`);
  assert(m.sum("a_total") === 7, "sum");
  assert(m.sum("a_total", { url: "other" }) === 4, "matcher");
  assert(m.sum("b") === 1000, "no labels");
  assert(m.has("c") && !m.has("d"), "has");
});

Deno.test("compare: medians and table", () => {
  const run = (cpu: number, ok: boolean): RunResult => ({
    workload: "S",
    agent: "ferry",
    repeat: 1,
    profiled: false,
    windowSeconds: 60,
    activeSeries: 10050,
    agentActiveSeries: 10050,
    scraped: 120600,
    forwarded: 120600,
    cpuSeconds: cpu,
    cpuMsPerMillion: cpu * 1e3,
    cpuPercent: 1,
    rssMaxBytes: 1 << 26,
    rssEndBytes: 1 << 26,
    rssBytesPerSeries: 6677,
    diskWriteBytes: 1e6,
    diskBytesPerSample: 8.3,
    dataDirBytes: 1e6,
    dataDirGrowthBytesPerSample: 8,
    wireBytesPerSample: 2.5,
    delivered: ok,
    undelivered: 0,
    deliveryLagSeconds: 1,
    farmCpuPercent: 0.5,
    sinkCpuPercent: 0.1,
    harnessCpuPercent: 0,
    otherCpuPercent: 3,
    load1: 1,
  });
  const m = medianOf([run(1, true), run(3, true), run(2, false)]);
  assert(m.cpuSeconds === 2 && m.repeat === 3 && m.delivered === false, JSON.stringify(m));
  const t = table([m]);
  assert(t.includes("| S | ferry | 2,000 |") && t.includes("NO: 0 not sent"), t);
});

Deno.test("compare: the generated prometheus.yml gets a queue_config only when asked", () => {
  const w = { name: "S", kind: "steady" as const, targets: 2, series: 10, intervalS: 5 };
  const plain = promConfig(w, "http://127.0.78.1:19201/write");
  assert(!plain.includes("queue_config"), plain);
  const tuned = promConfig(w, "http://127.0.78.1:19201/write", { maxSamplesPerSend: 10000 });
  assert(
    tuned.endsWith(
      "  - url: http://127.0.78.1:19201/write\n" +
        "    queue_config:\n      max_samples_per_send: 10000\n",
    ),
    tuned,
  );
});

Deno.test("profile: a heap snapshot is summed by constructor, strings and code apart", () => {
  // A hand-made snapshot in V8's format: nodes are flat rows of node_fields.
  const snapshot = {
    snapshot: {
      meta: {
        node_fields: ["type", "name", "id", "self_size", "edge_count"],
        node_types: [["hidden", "array", "string", "object", "code", "native"]],
      },
    },
    nodes: [
      [3, 0, 1, 96, 0], // Series (object), 96 B
      [3, 0, 3, 96, 0], // Series (object), 96 B
      [3, 1, 5, 48, 0], // Labels (object), 48 B
      [2, 2, 7, 40, 0], // a string, 40 B
      [2, 3, 9, 0, 0], // a string in read-only space: no size, left out
      [4, 4, 11, 20, 0], // code
      [5, 5, 13, 1000, 0], // an ArrayBuffer's contents
    ].flat(),
    strings: ["Series", "Labels", "abc", "def", "(code)", "system / JSArrayBufferData"],
  };
  const r = summarizeSnapshot(JSON.stringify(snapshot));
  assertEquals(r.totalBytes, 1300);
  assertEquals(r.kinds.map((k) => [k.what, k.count, k.bytes]), [
    ["system / JSArrayBufferData (native)", 1, 1000],
    ["Series (object)", 2, 192],
    ["Labels (object)", 1, 48],
    ["(strings)", 1, 40],
    ["(compiled code)", 1, 20],
  ]);
});

Deno.test("proc: the test process can read its own /proc entries", () => {
  const s = sampleTree(Deno.pid);
  assert(s.rssBytes > 1 << 20 && s.cpuSeconds >= 0 && s.pids.includes(Deno.pid), "sample");
});

Deno.test("flagReader() reads --name value and --name=value, else the default, else throws", () => {
  const flag = flagReader(["--a", "1", "--b=2", "--c"]);
  assertEquals([flag("a"), flag("b"), flag("d", "4")], ["1", "2", "4"]);
  assertThrows(() => flag("c"), Error, "missing --c");
});

Deno.test("sleepUnless() resolves after the delay and rejects at once on abort", async () => {
  const ctl = new AbortController();
  await sleepUnless(1, ctl.signal);
  const long = sleepUnless(60_000, ctl.signal);
  ctl.abort();
  await assertRejects(() => long, Error, "interrupted");
  await assertRejects(() => sleepUnless(1, ctl.signal), Error, "interrupted");
});
