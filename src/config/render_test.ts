import { assert, assertStringIncludes } from "../testing/assert.ts";
import { renderConfigYaml, SECRET } from "./render.ts";
import { resolveConfig } from "./resolve.ts";

Deno.test("renderConfigYaml hides secrets and speaks Prometheus' YAML", () => {
  const yaml = renderConfigYaml(resolveConfig({
    global: { scrapeInterval: "15s", externalLabels: { siteName: "x" } },
    scrapeConfigs: [{
      jobName: "a",
      basicAuth: { username: "u", password: "hunter2" },
      staticConfigs: [{ targets: ["h:1"] }],
    }],
    remoteWrite: [{
      url: "http://r/",
      authorization: { credentials: "tok3n" },
      headers: { "X-Scope-OrgID": "t1" },
    }],
  }));
  assert(!yaml.includes("hunter2") && !yaml.includes("tok3n"), yaml);
  assertStringIncludes(yaml, `password: ${SECRET}`);
  assertStringIncludes(yaml, `credentials: ${SECRET}`);
  assertStringIncludes(yaml, "scrape_interval: 15s");
  assertStringIncludes(yaml, "job_name: a");
  assertStringIncludes(yaml, "siteName: x");
  assertStringIncludes(yaml, "X-Scope-OrgID: t1");
  assertStringIncludes(yaml, "batch_send_deadline: 5s");
});
