import { assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { parseLabelSet } from "./check.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("parseLabelSet reads Prometheus notation and JSON", () => {
  assertEquals(parseLabelSet('{b="2", a="1"}').toString(), '{a="1", b="2"}');
  assertEquals(parseLabelSet('{a="x\\"y\\\\z\\n", }').get("a"), 'x"y\\z\n');
  assertEquals(parseLabelSet('{a="\\t"}').get("a"), "\\t", "unknown escapes kept");
  assertEquals(parseLabelSet('{"a":"1","b":""}').toString(), '{a="1"}');
  assertEquals(parseLabelSet("{}").size, 0);
  for (const bad of ["a=1", '{a="1"', "{a=1}", '{"a":1}', '{1a="x"}']) {
    assertThrows(() => parseLabelSet(bad), SyntaxError, "labels:");
  }
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", MAIN, "check", "relabel", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test("check relabel prints every step and the outcome", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/a.config.ts`;
    await Deno.writeTextFile(
      file,
      `export default { scrapeConfigs: [{ jobName: "node",
        relabelConfigs: [
          { sourceLabels: ["__address__"], regex: "(.*):9100", targetLabel: "host" },
          { sourceLabels: ["env"], regex: "dev", action: "drop" },
        ],
        metricRelabelConfigs: [{ sourceLabels: ["__name__"], regex: "go_.*", action: "drop" }],
      }] };\n`,
    );
    const kept = await run(file, "--job", "node", '{__address__="db1:9100", env="prod"}');
    assertEquals(kept.code, 0, kept.err);
    assertStringIncludes(kept.out, "step 1: action=replace source_labels=[__address__]");
    assertStringIncludes(kept.out, 'host="db1"');
    assertStringIncludes(kept.out, "step 2: action=drop");
    assertStringIncludes(
      kept.out,
      'result: kept {env="prod", host="db1", instance="db1:9100", job="node"}, scraped at http://db1:9100/metrics',
    );

    const dropped = await run(file, "--job", "node", '{__address__="db1:9100", env="dev"}');
    assertStringIncludes(dropped.out, "  dropped\nresult: dropped");

    const metric = await run(file, "--job", "node", "--metric", "--json", '{__name__="go_gc"}');
    const j = JSON.parse(metric.out);
    assertEquals([j.kind, j.kept, j.output, j.steps.length], ["metric", false, null, 1]);

    const noJob = await run(file, "--job", "x", "{}");
    assertEquals(noJob.code, 1);
    assertStringIncludes(noJob.err, 'no job "x"');
    assertEquals((await run(file, "{}")).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
