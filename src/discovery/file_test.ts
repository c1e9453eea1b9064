import { Registry } from "../metrics/registry.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { ManualClock } from "../util/clock.ts";
import { setupLogging } from "../util/log.ts";
import { FileDiscoverer, globRegExp } from "./file.ts";
import { eventually, UpdateRecorder } from "./testutil.ts";

const HOUR = 3_600_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-file-sd-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs a discoverer until `fn` returns. */
async function running(
  d: FileDiscoverer,
  fn: (rec: UpdateRecorder) => Promise<void>,
): Promise<void> {
  const rec = new UpdateRecorder();
  const ac = new AbortController();
  const done = d.run(ac.signal, rec.update);
  try {
    await fn(rec);
  } finally {
    ac.abort();
    await done;
  }
}

const targetsJson = (...addrs: string[]) => JSON.stringify([{ targets: addrs }]);

Deno.test("file_sd: a Kubernetes ConfigMap update (atomic ..data symlink swap) is seen at once", async () => {
  await withDir(async (dir) => {
    // The layout the kubelet writes: files are symlinks through ..data to a timestamped dir.
    await Deno.mkdir(`${dir}/..2026_01_01_a`);
    await Deno.writeTextFile(`${dir}/..2026_01_01_a/targets.json`, targetsJson("10.0.0.1:80"));
    await Deno.symlink("..2026_01_01_a", `${dir}/..data`);
    await Deno.symlink("..data/targets.json", `${dir}/targets.json`);

    // A one-hour refresh interval: only the directory watch can explain a quick update.
    const d = new FileDiscoverer({ files: [`${dir}/*.json`], refreshIntervalMs: HOUR }, {
      job: "k8s",
      registry: new Registry(),
    });
    await running(d, async (rec) => {
      await eventually("the first update", () => rec.updates.length === 1);
      assertEquals(rec.addresses(), ["10.0.0.1:80"]);
      assertEquals(rec.updates[0][0].labels.__meta_filepath, `${dir}/targets.json`);

      // The swap: new dir, new ..data_tmp symlink renamed over ..data, old dir removed.
      await Deno.mkdir(`${dir}/..2026_01_01_b`);
      await Deno.writeTextFile(
        `${dir}/..2026_01_01_b/targets.json`,
        targetsJson("10.0.0.2:80", "10.0.0.3:80"),
      );
      await Deno.symlink("..2026_01_01_b", `${dir}/..data_tmp`);
      await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
      await Deno.remove(`${dir}/..2026_01_01_a`, { recursive: true });

      await eventually("the swapped targets", () => rec.addresses().length === 2, {
        timeoutMs: 5000,
        detail: () => JSON.stringify(rec.addresses()),
      });
      assertEquals(rec.addresses(), ["10.0.0.2:80", "10.0.0.3:80"]);
    });
  });
});

Deno.test("file_sd: changes written in place and new files are seen through the watch", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.json`, targetsJson("10.0.0.1:80"));
    const d = new FileDiscoverer({ files: [`${dir}/*.json`], refreshIntervalMs: HOUR }, {
      job: "j",
      registry: new Registry(),
    });
    await running(d, async (rec) => {
      await eventually("the first update", () => rec.updates.length === 1);
      await Deno.writeTextFile(`${dir}/a.json`, targetsJson("10.0.0.1:80", "10.0.0.9:80"));
      await eventually("the rewritten file", () => rec.addresses().length === 2, {
        timeoutMs: 5000,
      });
      await Deno.writeTextFile(`${dir}/b.json`, targetsJson("10.0.1.1:80"));
      await eventually("the new file", () => rec.addresses().includes("10.0.1.1:80"), {
        timeoutMs: 5000,
      });
      await Deno.remove(`${dir}/a.json`);
      await eventually("the removed file's targets gone", () => rec.addresses().length === 1, {
        timeoutMs: 5000,
      });
      assertEquals(rec.addresses(), ["10.0.1.1:80"]);
    });
  });
});

Deno.test("file_sd: without events, the refresh interval re-reads the files", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.json`, targetsJson("10.0.0.1:80"));
    const clock = new ManualClock(0);
    const d = new FileDiscoverer({ files: [`${dir}/a.json`], refreshIntervalMs: 60_000 }, {
      job: "j",
      registry: new Registry(),
      clock,
      watch: false,
    });
    await running(d, async (rec) => {
      await eventually("the first update", () => rec.updates.length === 1);
      await Deno.writeTextFile(`${dir}/a.json`, targetsJson("10.0.0.2:80"));
      await new Promise((r) => setTimeout(r, 200));
      assertEquals(rec.updates.length, 1, "nothing before the interval");
      await clock.advance(59_000);
      await new Promise((r) => setTimeout(r, 100));
      assertEquals(rec.updates.length, 1, "nothing before the interval");
      await clock.advance(1_000);
      await eventually("the re-read", () => rec.updates.length === 2);
      assertEquals(rec.addresses(), ["10.0.0.2:80"]);
      // An unchanged re-read is not reported again.
      await clock.advance(60_000);
      await new Promise((r) => setTimeout(r, 100));
      assertEquals(rec.updates.length, 2);
    });
  });
});

Deno.test("file_sd: a directory created after start is picked up at the next refresh", async () => {
  await withDir(async (dir) => {
    const clock = new ManualClock(0);
    const d = new FileDiscoverer({ files: [`${dir}/later/*.yml`], refreshIntervalMs: 10_000 }, {
      job: "j",
      registry: new Registry(),
      clock,
    });
    await running(d, async (rec) => {
      await eventually("the first (empty) update", () => rec.updates.length === 1);
      assertEquals(rec.addresses(), []);
      await Deno.mkdir(`${dir}/later`);
      await Deno.writeTextFile(`${dir}/later/t.yml`, "- targets: ['10.0.0.7:80']\n");
      await clock.advance(10_000);
      await eventually("the new directory's file", () => rec.addresses().length === 1);
      // From now on the directory is watched: a change shows up without advancing the clock.
      await Deno.writeTextFile(`${dir}/later/u.yml`, "- targets: ['10.0.0.8:80']\n");
      await eventually("the watched change", () => rec.addresses().length === 2, {
        timeoutMs: 5000,
      });
    });
  });
});

Deno.test("file_sd: a broken file keeps its last good targets, is counted and logged with path and line", async () => {
  const lines: string[] = [];
  setupLogging({ level: "error", write: (l) => lines.push(l) });
  await withDir(async (dir) => {
    const registry = new Registry();
    await Deno.writeTextFile(`${dir}/a.yml`, "- targets: ['10.0.0.1:80']\n");
    await Deno.writeTextFile(`${dir}/b.json`, targetsJson("10.0.0.2:80"));
    const clock = new ManualClock(0);
    const d = new FileDiscoverer({
      files: [`${dir}/*.yml`, `${dir}/*.json`],
      refreshIntervalMs: 1000,
    }, {
      job: "j",
      registry,
      clock,
      watch: false,
    });
    await running(d, async (rec) => {
      await eventually("the first update", () => rec.updates.length === 1);
      assertEquals(rec.addresses(), ["10.0.0.1:80", "10.0.0.2:80"]);

      await Deno.writeTextFile(`${dir}/a.yml`, "- targets: ['10.0.0.1:80']\n  labelz: {}\n");
      await Deno.writeTextFile(`${dir}/b.json`, '[{"targets": ["10.0.0.2:80"]}\n  "x"]');
      await clock.advance(1000);
      await eventually(
        "two counted read errors",
        () => registry.expose().includes("prometheus_sd_file_read_errors_total 2"),
      );
      assertEquals(rec.updates.length, 1, "the failed re-read changes nothing");

      const log = lines.join("");
      assertStringIncludes(log, `${dir}/a.yml`);
      assertStringIncludes(log, 'group 0 (line 1): unknown field \\"labelz\\"');
      assertStringIncludes(log, `${dir}/b.json`);
      assertStringIncludes(log, "line 2 column 3");

      // A fixed file is read again.
      await Deno.writeTextFile(`${dir}/b.json`, targetsJson("10.0.0.3:80"));
      await clock.advance(1000);
      await eventually("the fixed file", () => rec.addresses().includes("10.0.0.3:80"));
      assertEquals(rec.addresses(), ["10.0.0.1:80", "10.0.0.3:80"]);
    });
    const r = await new FileDiscoverer({ files: [`${dir}/*.yml`], refreshIntervalMs: 1000 }, {
      job: "j",
      registry,
    }).discoverOnce(new AbortController().signal);
    assertEquals(r.groups, [], "a file that never parsed has no targets");
    assertEquals(r.errors.length, 1);
    assertStringIncludes(r.errors[0], `${dir}/a.yml: group 0 (line 1): unknown field "labelz"`);
  });
  setupLogging({ level: "error", write: () => {} });
});

Deno.test("file_sd: groups carry __meta_filepath and path:index sources; YAML keeps scalar text", async () => {
  await withDir(async (dir) => {
    const registry = new Registry();
    await Deno.writeTextFile(
      `${dir}/t.yaml`,
      `- targets: [10.0.0.1:9100, "[::1]:9100"]
  labels: {rack: 010, ok: yes, ratio: 1.50, __meta_filepath: spoofed}
- targets: []
- labels: {only: labels}
`,
    );
    await Deno.writeTextFile(
      `${dir}/t.JSON`,
      JSON.stringify([{
        targets: ["a:1"],
        labels: { x: "y" },
        extra: "ignored, as in Prometheus",
      }]),
    );
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a target file");
    await Deno.mkdir(`${dir}/dir.json`);
    const r = await new FileDiscoverer(
      { files: [`${dir}/*.yaml`, `${dir}/*.JSON`, `${dir}/*.json`], refreshIntervalMs: 1000 },
      { job: "j", registry },
    ).discoverOnce(new AbortController().signal);
    assertEquals(r.errors, []);
    assertEquals(r.groups, [
      {
        source: `${dir}/t.JSON:0`,
        targets: [{ __address__: "a:1" }],
        labels: { x: "y", __meta_filepath: `${dir}/t.JSON` },
      },
      {
        source: `${dir}/t.yaml:0`,
        targets: [{ __address__: "10.0.0.1:9100" }, { __address__: "[::1]:9100" }],
        labels: { rack: "010", ok: "yes", ratio: "1.50", __meta_filepath: `${dir}/t.yaml` },
      },
      { source: `${dir}/t.yaml:1`, targets: [], labels: { __meta_filepath: `${dir}/t.yaml` } },
      {
        source: `${dir}/t.yaml:2`,
        targets: [],
        labels: { only: "labels", __meta_filepath: `${dir}/t.yaml` },
      },
    ]);
    const metrics = registry.expose();
    assertStringIncludes(metrics, `prometheus_sd_file_mtime_seconds{filename="${dir}/t.yaml"}`);
    assertStringIncludes(metrics, "prometheus_sd_file_scan_duration_seconds_count 1");
  });
});

Deno.test("file_sd: an empty file has no groups; a missing plain path is no error", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/empty.yml`, "");
    const r = await new FileDiscoverer(
      { files: [`${dir}/empty.yml`, `${dir}/missing.json`], refreshIntervalMs: 1000 },
      { job: "j", registry: new Registry() },
    ).discoverOnce(new AbortController().signal);
    assertEquals(r, { groups: [], errors: [] });
  });
});

Deno.test("file_sd: a file over the size or target limit keeps its last good targets and is counted", async (t) => {
  await withDir(async (dir) => {
    const registry = new Registry();
    const file = `${dir}/t.json`;
    const d = new FileDiscoverer({ files: [file], refreshIntervalMs: 1000 }, {
      job: "j",
      registry,
      limits: { bytes: 200, targets: 3 },
    });
    const signal = new AbortController().signal;
    await Deno.writeTextFile(file, targetsJson("10.0.0.1:80"));
    assertEquals((await d.discoverOnce(signal)).errors, []);
    const steps: [string, () => Promise<void>, string][] = [
      [
        "over the byte limit",
        () => Deno.writeTextFile(file, targetsJson("10.0.0.9:80".padEnd(300, "0"))),
        "over the 200-byte limit of a file_sd file",
      ],
      [
        "over the target limit",
        () => Deno.writeTextFile(file, targetsJson("a:1", "b:1", "c:1", "d:1")),
        "4 targets, more than the limit of 3",
      ],
    ];
    let errors = 0;
    for (const [name, write, want] of steps) {
      await t.step(name, async () => {
        await write();
        const r = await d.discoverOnce(signal);
        assertEquals(r.errors.length, 1);
        assertStringIncludes(r.errors[0], `${file}: `);
        assertStringIncludes(r.errors[0], want);
        assertEquals(r.groups.flatMap((g) => g.targets), [{ __address__: "10.0.0.1:80" }]);
        assertStringIncludes(registry.expose(), `prometheus_sd_file_read_errors_total ${++errors}`);
      });
    }
    await t.step("a 50 MB file is refused by its size, without reading it", async () => {
      // Sparse: 50 MB that do not exist on disk, and would not parse.
      const big = `${dir}/big.json`;
      await Deno.writeTextFile(big, "[");
      await Deno.truncate(big, 50_000_000);
      const r = await new FileDiscoverer({ files: [big], refreshIntervalMs: 1000 }, {
        job: "j",
        registry,
      }).discoverOnce(signal);
      assertEquals(r.groups, []);
      assertEquals(r.errors, [
        `${big}: file of 50000000 bytes is over the 16777216-byte limit of a file_sd file`,
      ]);
    });
  });
});

Deno.test("globRegExp follows Go's filepath.Match for one path element", async (t) => {
  const table: [string, string, boolean][] = [
    ["*.json", "a.json", true],
    ["*.json", ".hidden.json", true],
    ["*.json", "a.yml", false],
    ["node-?.yml", "node-1.yml", true],
    ["node-?.yml", "node-10.yml", false],
    ["node-[0-9].yml", "node-7.yml", true],
    ["node-[^0-9].yml", "node-7.yml", false],
    ["node-[^0-9].yml", "node-x.yml", true],
    ["a+b(c).json", "a+b(c).json", true],
    ["\\*.json", "*.json", true],
    ["\\*.json", "x.json", false],
  ];
  for (const [glob, name, want] of table) {
    await t.step(`${glob} ~ ${name}: ${want}`, () => {
      assert(globRegExp(glob).test(name) === want);
    });
  }
});
