/**
 * Logs of a real agent run with a failing endpoint and a failing target,
 * both with credentials: every line carries its component (and job or
 * endpoint where relevant), and no secret of the config ever appears.
 */

import { assert, assertEquals } from "../src/testing/assert.ts";
import { Proc, ROOT, waitFor } from "./helpers.ts";

const DENO = Deno.execPath();
const SECRETS = ["PASS-s3cr3t", "TOKEN-abc123", "URLPASS-xyz", btoa("u:PASS-s3cr3t")];

Deno.test({
  name: "logs: component on every line, no secret from the config in the output",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ferry-logs-" });
    // A receiver and a target that both refuse (401 / 500).
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) =>
        new URL(req.url).pathname === "/metrics"
          ? new Response("unauthorized", { status: 401 })
          : new Response("server error", { status: 500 }),
    );
    const port = server.addr.port;
    const cfg = `${dir}/agent.config.ts`;
    await Deno.writeTextFile(
      cfg,
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{
    jobName: "sec",
    authorization: { credentials: "TOKEN-abc123" },
    staticConfigs: [{ targets: ["127.0.0.1:${port}"] }],
  }],
  remoteWrite: [{
    url: "http://user:URLPASS-xyz@127.0.0.1:${port}/api/v1/write",
    name: "failing",
    basicAuth: { username: "u", password: "PASS-s3cr3t" },
    queueConfig: { batchSendDeadline: "200ms", minBackoff: "50ms", maxBackoff: "100ms" },
  }],
};
`,
    );
    const procs: Proc[] = [];
    try {
      for (const format of ["logfmt", "json"]) {
        await t.step(format, async () => {
          const agent = new Proc("ferry", DENO, [
            "run",
            "-A",
            `${ROOT}main.ts`,
            cfg,
            `--storage.agent.path=${dir}/data-${format}`,
            "--web.listen-address=",
            "--log.level=debug",
            "--storage.remote.flush-deadline=1s",
            `--log.format=${format}`,
          ]);
          procs.push(agent);
          await waitFor(
            "a failed send and a failed scrape in the log",
            () =>
              Promise.resolve(
                agent.output().includes("remote write failed") &&
                    agent.output().includes("is down") || undefined,
              ),
            30_000,
          );
          assertEquals((await agent.stop("SIGTERM")).code, 0);
          const out = agent.output();
          for (const s of SECRETS) assert(!out.includes(s), `secret ${s} in the log:\n${out}`);
          const lines = out.split("\n").filter((l) => l.trim() !== "");
          assert(lines.length > 5);
          for (const line of lines) {
            if (format === "json") {
              const rec = JSON.parse(line);
              assert(typeof rec.properties.component === "string", line);
              if (rec.properties.component === "remote") {
                assertEquals(rec.properties.endpoint, "failing", line);
              }
            } else {
              assert(/ component=\w/.test(line), `no component: ${line}`);
              if (line.includes("component=remote ")) {
                assert(line.includes("endpoint=failing"), line);
              }
              if (line.includes("is down")) assert(line.includes("job=sec"), line);
            }
          }
        });
      }
    } finally {
      for (const p of procs) await p.stop();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
