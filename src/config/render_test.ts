import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { renderConfigYaml, SECRET } from "./render.ts";
import { redactUrl } from "../util/url.ts";
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

Deno.test("renderConfigYaml hides every kind of secret: OAuth 2.0, SigV4, SD clients, URL and proxy passwords", () => {
  const secrets = ["oauth-S3CRET", "sigv4-S3CRET", "sd-S3CRET", "url-S3CRET", "proxy-S3CRET"];
  const yaml = renderConfigYaml(resolveConfig({
    scrapeConfigs: [{
      jobName: "a",
      proxyUrl: "http://p:proxy-S3CRET@proxy.local:3128",
      httpSdConfigs: [{
        url: "http://sd.local/targets",
        basicAuth: { username: "u", password: "sd-S3CRET" },
      }],
    }],
    remoteWrite: [
      {
        url: "http://w:url-S3CRET@r.local/api/v1/write",
        oauth2: { clientId: "id", clientSecret: "oauth-S3CRET", tokenUrl: "http://t.local/token" },
      },
      {
        url: "http://r2.local/api/v1/write",
        sigv4: { region: "eu-west-1", accessKey: "AKID", secretKey: "sigv4-S3CRET" },
      },
    ],
  }));
  for (const s of secrets) assert(!yaml.includes(s), `${s} shown:\n${yaml}`);
  assertStringIncludes(yaml, `client_secret: ${SECRET}`);
  assertStringIncludes(yaml, `secret_key: ${SECRET}`);
});

Deno.test("redactUrl hides only a userinfo password", () => {
  assertEquals(redactUrl("http://u:p@h:1/x?y#z"), "http://u:xxxxx@h:1/x?y#z");
  assertEquals(redactUrl("https://u@h/"), "https://u@h/");
  assertEquals(redactUrl("http://h/a@b:c"), "http://h/a@b:c");
  assertEquals(redactUrl("not a url"), "not a url");
});
