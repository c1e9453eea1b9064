import { assertEquals } from "../testing/assert.ts";
import { Labels } from "../model/labels.ts";
import { compileRules } from "../relabel/relabel.ts";
import { ManualClock } from "../util/clock.ts";
import { ScrapeLoop } from "./loop.ts";
import { RecordingDb, scrapeConfig } from "./testutil.ts";

function loopWith(bodies: { body: string; type: string }[]): ScrapeLoop {
  let i = 0;
  const cfg = scrapeConfig({ scrapeIntervalMs: 15_000, scrapeTimeoutMs: 10_000 });
  return new ScrapeLoop({
    labels: Labels.fromObject({ job: "node", instance: "h:9100" }),
    discoveredLabels: Labels.fromObject({ __address__: "h:9100" }),
    scrapeUrl: "http://h:9100/metrics",
    intervalMs: 15_000,
    timeoutMs: 10_000,
  }, {
    config: cfg,
    appendable: new RecordingDb(),
    metricRules: compileRules(cfg.metricRelabelConfigs),
    clock: new ManualClock(1_000_000),
    offsetSeed: 0,
    fetch: () => {
      const b = bodies[Math.min(i++, bodies.length - 1)];
      return Promise.resolve(new Response(b.body, { headers: { "Content-Type": b.type } }));
    },
    userAgent: "ferry/test",
  });
}

const PROM = "text/plain; version=0.0.4";
const OM = "application/openmetrics-text; version=1.0.0";

Deno.test("scrape loop keeps TYPE/HELP/UNIT per family of the last scrape", async (t) => {
  await t.step(
    "text format: untyped is reported as unknown; families gone are forgotten",
    async () => {
      const loop = loopWith([
        {
          body:
            "# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n# TYPE b untyped\nb 2\nc 3\n",
          type: PROM,
        },
        { body: "# TYPE b gauge\nb 2\n", type: PROM },
      ]);
      await loop.scrapeOnce(1_000_000);
      const sorted = () => loop.metadata().sort((x, y) => (x.metric < y.metric ? -1 : 1));
      assertEquals(sorted(), [
        { metric: "a_total", type: "counter", help: "Requests.", unit: "" },
        { metric: "b", type: "unknown", help: "", unit: "" },
      ]);
      await loop.scrapeOnce(1_015_000);
      assertEquals(sorted(), [{ metric: "b", type: "gauge", help: "", unit: "" }]);
    },
  );
  await t.step("OpenMetrics: UNIT", async () => {
    const loop = loopWith([{
      body:
        "# TYPE t_celsius gauge\n# UNIT t_celsius celsius\n# HELP t_celsius Temp.\nt_celsius 20\n# EOF\n",
      type: OM,
    }]);
    await loop.scrapeOnce(1_000_000);
    assertEquals(loop.metadata(), [
      { metric: "t_celsius", type: "gauge", help: "Temp.", unit: "celsius" },
    ]);
  });
});
