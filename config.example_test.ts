/**
 * Unit tests for the relabel rules of config.example.ts: config as code means
 * rules can be tested like code. Run with `deno test config.example_test.ts`.
 */
import config from "./config.example.ts";
import { relabel, relabelTrace } from "./mod.ts";
import { assertEquals } from "./src/testing/assert.ts";

const job = config.scrapeConfigs!.find((j) => j.jobName === "ferry")!;
const rules = job.metricRelabelConfigs!;

Deno.test("config.example: go_* runtime series are dropped before the WAL", () => {
  assertEquals(relabel(rules, { __name__: "go_goroutines", job: "ferry" }), null);
});

Deno.test("config.example: other series pass unchanged", () => {
  const labels = { __name__: "prometheus_agent_active_series", job: "ferry", instance: "x:1" };
  assertEquals(relabel(rules, labels), labels);
});

Deno.test("relabelTrace shows which rule dropped a series", () => {
  const steps = relabelTrace(rules, { __name__: "go_gc_duration_seconds" });
  assertEquals(steps.length, 1);
  assertEquals(steps[0].rule.action, "drop");
  assertEquals(steps[0].after, null);
});

Deno.test("relabel applies Prometheus' defaults and Go's expansion rules", () => {
  assertEquals(
    relabel(
      [
        {
          sourceLabels: ["__address__"],
          regex: "(.*):(\\d+)",
          targetLabel: "host",
          replacement: "${1}",
        },
        {
          sourceLabels: ["__address__"],
          regex: "(.*):(\\d+)",
          targetLabel: "odd",
          replacement: "$1x",
        },
      ],
      { __address__: "db1:9100" },
    ),
    // `$1x` names the group "1x", which does not exist: the result is empty, so no label.
    { __address__: "db1:9100", host: "db1" },
  );
});
