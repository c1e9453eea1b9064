/**
 * `--web.config.file` against a running agent: HTTPS with the configured
 * certificate, basic auth on every path (health checks and /metrics
 * included), a bad password or plain HTTP refused, and a broken web config
 * refused at start with its line number.
 */

import bcrypt from "bcryptjs";
import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { sourceCommit } from "../src/version.ts";
import { freePort, startAgent, waitFor } from "./helpers.ts";

const TESTDATA = new URL("../src/web/testdata/", import.meta.url).pathname;

Deno.test({
  name: "web: TLS and basic auth from --web.config.file guard every path of a running agent",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-websec-" });
    const port = freePort();
    const hash = bcrypt.hashSync("s3cret", 4);
    await Deno.writeTextFile(
      `${dir}/web.yml`,
      `tls_server_config:
  cert_file: ${TESTDATA}web.crt
  key_file: ${TESTDATA}web.key
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  admin: ${hash}
`,
    );
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    );
    const agent = startAgent([
      `${dir}/prometheus.yml`,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.config.file=${dir}/web.yml`,
    ]);
    const client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(`${TESTDATA}ca.crt`)],
    });
    const get = async (path: string, auth?: string) => {
      const res = await fetch(`https://127.0.0.1:${port}${path}`, {
        client,
        headers: auth ? { authorization: `Basic ${btoa(auth)}` } : {},
        signal: AbortSignal.timeout(5000),
      });
      await res.body?.cancel();
      return res;
    };
    try {
      await waitFor("agent serving HTTPS", async () => {
        try {
          return (await get("/-/ready", "admin:s3cret")).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      }, 30_000).catch((e) => {
        throw new Error(`${(e as Error).message}\n${agent.output()}`);
      });
      for (const path of ["/-/healthy", "/-/ready", "/metrics", "/api/v1/targets", "/"]) {
        const anon = await get(path);
        assertEquals(anon.status, 401, path);
        assertEquals(anon.headers.get("www-authenticate"), 'Basic realm="ferry"');
        assertEquals((await get(path, "admin:wrong")).status, 401, path);
        const ok = await get(path, "admin:s3cret");
        assertEquals(ok.status, 200, path);
        assertEquals(ok.headers.get("x-frame-options"), "deny", path);
      }
      // Plain HTTP on the TLS port gets no answer from the API.
      let plainOk = false;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/-/healthy`, {
          signal: AbortSignal.timeout(3000),
        });
        await res.body?.cancel();
        plainOk = res.ok;
      } catch {
        // refused or reset: what we want
      }
      assert(!plainOk, "plain HTTP must not be served");
      // The commit of the checkout shows in buildinfo (read from .git, which this agent may read).
      const bi = await fetch(`https://127.0.0.1:${port}/api/v1/status/buildinfo`, {
        client,
        headers: { authorization: `Basic ${btoa("admin:s3cret")}` },
      });
      assertEquals((await bi.json()).data.revision, sourceCommit() ?? "");
      assert(!agent.output().includes("s3cret"), "the password never appears in the log");
      assert(!agent.output().includes(hash), "nor its hash");
    } finally {
      client.close();
      await agent.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "web: a broken web config stops the agent at start with its line number",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ferry-websec-" });
    try {
      await Deno.writeTextFile(`${dir}/web.yml`, "basic_auth_users:\n  admin: plaintext\n");
      await Deno.writeTextFile(`${dir}/prometheus.yml`, "scrape_configs: []\n");
      const agent = startAgent([
        `${dir}/prometheus.yml`,
        `--storage.agent.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${freePort()}`,
        `--web.config.file=${dir}/web.yml`,
      ]);
      const status = await agent.child.status;
      await agent.stop();
      assertEquals(status.code, 1, agent.output());
      assertStringIncludes(
        agent.output(),
        "web.yml:2:10: the password of admin must be a bcrypt hash",
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
